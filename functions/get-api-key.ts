import { apiHandler } from '../shared/http/api-handler.js';
import { db } from '../shared/runtime/database.js';
import { getApiKey } from '../shared/services/api-keys.js';

export const handler = apiHandler('get-api-key', (request) => getApiKey(db, request));
