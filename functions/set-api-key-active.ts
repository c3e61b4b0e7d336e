import { apiHandler } from '../shared/http/api-handler.js';
import { db } from '../shared/runtime/database.js';
import { setApiKeyActive } from '../shared/services/api-keys.js';

export const handler = apiHandler('set-api-key-active', (request) => setApiKeyActive(db, request, request.body));
