import { apiHandler } from '../shared/http/api-handler.js';
import { db } from '../shared/runtime/database.js';
import { setExchangeKind } from '../shared/services/exchanges.js';

export const handler = apiHandler('set-exchange-kind', ({ params, body }) => setExchangeKind(db, params, body));
