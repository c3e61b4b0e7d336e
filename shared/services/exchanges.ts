import { EXCHANGE_NAME_CONSTRAINTS, insertExchangeReturningAll, selectExchange, selectExchanges, updateExchangeKind } from '../db/exchanges.js';
import { isUniqueViolation, type Queryable } from '../db/query.js';
import { conflict, notFound } from '../errors.js';
import type { CreateExchangeBody, Exchange, ExchangeList, ExchangePathParams, SetExchangeKindBody } from '../schemas/exchanges.js';

export const listExchanges = (db: Queryable): Promise<ExchangeList> => selectExchanges(db);

export async function getExchange(db: Queryable, params: ExchangePathParams): Promise<Exchange> {
  const exchange = await selectExchange(db, params.exchange_id);
  if (!exchange) throw notFound('Exchange not found.');
  return exchange;
}

export async function createExchange(db: Queryable, body: CreateExchangeBody): Promise<ExchangeList> {
  try {
    return await insertExchangeReturningAll(db, body.exchange_name, body.kind ?? null);
  } catch (error) {
    if (isUniqueViolation(error, EXCHANGE_NAME_CONSTRAINTS)) throw conflict(`Exchange '${body.exchange_name}' already exists.`);
    throw error;
  }
}

/** Names the exchange API an existing exchange speaks; the keys already stored there are not checked again. */
export async function setExchangeKind(db: Queryable, params: ExchangePathParams, body: SetExchangeKindBody): Promise<Exchange> {
  const exchange = await updateExchangeKind(db, params.exchange_id, body.kind);
  if (!exchange) throw notFound('Exchange not found.');
  return exchange;
}
