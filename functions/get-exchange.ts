import { apiHandler } from '../shared/http/api-handler.js';
import { db } from '../shared/runtime/database.js';
import { getExchange } from '../shared/services/exchanges.js';

export const handler = apiHandler('get-exchange', (request) => getExchange(db, request.params));
