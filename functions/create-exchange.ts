import { apiHandler } from '../shared/http/api-handler.js';
import { db } from '../shared/runtime/database.js';
import { createExchange } from '../shared/services/exchanges.js';

export const handler = apiHandler('create-exchange', ({ body }) => createExchange(db, body));
