import { apiHandler } from '../shared/http/api-handler.js';
import { db } from '../shared/runtime/database.js';
import { deleteApiKey } from '../shared/services/api-keys.js';

export const handler = apiHandler('delete-api-key', (request) => deleteApiKey(db, request));
