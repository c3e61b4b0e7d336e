import { apiHandler } from '../shared/http/api-handler.js';
import { db } from '../shared/runtime/database.js';
import { listApiKeyEvents } from '../shared/services/api-keys.js';

export const handler = apiHandler('list-api-key-events', (request) => listApiKeyEvents(db, request));
