import type { ExchangeKind } from '../exchanges/kinds.js';
import type { Exchange, ExchangeList } from '../schemas/exchanges.js';
import { type Queryable, query } from './query.js';

export const EXCHANGE_NAME_CONSTRAINTS = ['uq_tb_exchanges_exchange_name_ci', 'ix_tb_exchanges_exchange_name'] as const;

export async function selectExchanges(db: Queryable): Promise<ExchangeList> {
  const { rows } = await query<Exchange>(db, 'SELECT exchange_id, exchange_name, kind FROM tb_exchanges ORDER BY exchange_id');
  return rows;
}

export async function selectExchange(db: Queryable, exchangeId: number): Promise<Exchange | undefined> {
  const { rows } = await query<Exchange>(db, 'SELECT exchange_id, exchange_name, kind FROM tb_exchanges WHERE exchange_id = $1', [exchangeId]);
  return rows[0];
}

/**
 * Inserts and returns the whole list in one round trip. A statement's CTE writes are invisible to
 * its own reads of the table, so the new row is added to the result explicitly.
 */
export async function insertExchangeReturningAll(db: Queryable, exchangeName: string, kind: ExchangeKind | null = null): Promise<ExchangeList> {
  const { rows } = await query<Exchange>(
    db,
    `WITH inserted AS (
       INSERT INTO tb_exchanges (exchange_name, kind) VALUES ($1, $2) RETURNING exchange_id, exchange_name, kind
     )
     SELECT exchange_id, exchange_name, kind FROM tb_exchanges
     UNION ALL
     SELECT exchange_id, exchange_name, kind FROM inserted
     ORDER BY exchange_id`,
    [exchangeName, kind],
  );
  return rows;
}

/** The exchange with its new kind; undefined for an unknown id. */
export async function updateExchangeKind(db: Queryable, exchangeId: number, kind: ExchangeKind | null): Promise<Exchange | undefined> {
  const { rows } = await query<Exchange>(db, 'UPDATE tb_exchanges SET kind = $2 WHERE exchange_id = $1 RETURNING exchange_id, exchange_name, kind', [
    exchangeId,
    kind,
  ]);
  return rows[0];
}

/**
 * The kinds this container last saw its exchanges have, as a guess that costs no statement: a key
 * is checked against the remembered kind (null where none is), and the write that stores it goes
 * through only if the exchange still has that kind (shared/db/api-keys.ts, CheckedKind), so a
 * stale guess costs one more statement, never an unchecked key.
 */
export interface ExchangeKindMemory {
  remembered(exchangeId: number): ExchangeKind | null | undefined;
  remember(exchangeId: number, kind: ExchangeKind | null): void;
}

export function createExchangeKindMemory(capacity = 1000): ExchangeKindMemory {
  const known = new Map<number, ExchangeKind | null>();
  return {
    remembered: (exchangeId) => known.get(exchangeId),
    remember(exchangeId, kind) {
      if (!known.has(exchangeId) && known.size >= capacity) known.delete(known.keys().next().value as number);
      known.set(exchangeId, kind);
    },
  };
}
