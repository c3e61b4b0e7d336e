import { apiHandler } from '../shared/http/api-handler.js';
import { db, kinds, users } from '../shared/runtime/database.js';
import { keyChecker } from '../shared/runtime/key-checker.js';
import { keyRingSource } from '../shared/runtime/key-ring.js';
import { replaceApiKey } from '../shared/services/api-keys.js';

export const handler = apiHandler('replace-api-key', (request) =>
  replaceApiKey({ db, users, kinds, keyRingSource, checker: keyChecker }, request, request.body),
);
