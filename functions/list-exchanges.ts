import { apiHandler } from '../shared/http/api-handler.js';
import { db } from '../shared/runtime/database.js';
import { listExchanges } from '../shared/services/exchanges.js';

export const handler = apiHandler('list-exchanges', () => listExchanges(db));
