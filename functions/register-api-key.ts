import { apiHandler } from '../shared/http/api-handler.js';
import { db, kinds, users } from '../shared/runtime/database.js';
import { keyChecker } from '../shared/runtime/key-checker.js';
import { keyRingSource } from '../shared/runtime/key-ring.js';
import { registerApiKey } from '../shared/services/api-keys.js';

export const handler = apiHandler('register-api-key', ({ caller, body, query, requestId }) =>
  registerApiKey({ db, users, kinds, keyRingSource, checker: keyChecker }, caller, body, query, requestId),
);
