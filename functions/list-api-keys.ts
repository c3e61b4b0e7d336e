import { apiHandler } from '../shared/http/api-handler.js';
import { db } from '../shared/runtime/database.js';
import { listApiKeys } from '../shared/services/api-keys.js';

export const handler = apiHandler('list-api-keys', ({ caller, query }) => listApiKeys(db, caller, query));
