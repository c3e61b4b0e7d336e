import type { Exchange, ExchangeList } from '../schemas/exchanges.js';
import { type Queryable, query } from './query.js';

export const EXCHANGE_NAME_CONSTRAINTS = ['uq_tb_exchanges_exchange_name_ci', 'ix_tb_exchanges_exchange_name'] as const;

export async function selectExchanges(db: Queryable): Promise<ExchangeList> {
  const { rows } = await query<Exchange>(db, 'SELECT exchange_id, exchange_name FROM tb_exchanges ORDER BY exchange_id');
  return rows;
}

export async function selectExchange(db: Queryable, exchangeId: number): Promise<Exchange | undefined> {
  const { rows } = await query<Exchange>(db, 'SELECT exchange_id, exchange_name FROM tb_exchanges WHERE exchange_id = $1', [exchangeId]);
  return rows[0];
}

/**
 * Inserts and returns the whole list in one round trip. A statement's CTE writes are invisible to
 * its own reads of the table, so the new row is added to the result explicitly.
 */
export async function insertExchangeReturningAll(db: Queryable, exchangeName: string): Promise<ExchangeList> {
  const { rows } = await query<Exchange>(
    db,
    `WITH inserted AS (
       INSERT INTO tb_exchanges (exchange_name) VALUES ($1) RETURNING exchange_id, exchange_name
     )
     SELECT exchange_id, exchange_name FROM tb_exchanges
     UNION ALL
     SELECT exchange_id, exchange_name FROM inserted
     ORDER BY exchange_id`,
    [exchangeName],
  );
  return rows;
}
