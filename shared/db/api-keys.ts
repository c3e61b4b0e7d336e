import type { EnvelopeV2 } from '../crypto/envelope.js';
import { query, type Queryable } from './query.js';

export const API_KEY_UNIQUE_CONSTRAINT = 'uq_user_exchange';

export interface SealedApiKey {
  readonly subject: string;
  readonly userNo: number;
  readonly exchangeId: number;
  readonly publicKey: EnvelopeV2;
  readonly privateKey: EnvelopeV2;
  readonly publicKeyMasked: string;
  readonly privateKeyMasked: string;
}

export interface InsertOutcome {
  /** false: the remembered user_no no longer belongs to this subject. */
  readonly callerMatched: boolean;
  readonly exchangeFound: boolean;
  readonly inserted: boolean;
}

/**
 * One statement: checks the caller still owns user_no, checks the exchange, inserts. A duplicate
 * raises 23505 on uq_user_exchange, which the caller decides by code and constraint name.
 */
export async function insertApiKey(db: Queryable, key: SealedApiKey): Promise<InsertOutcome> {
  const { rows } = await query<{ caller_matched: boolean; exchange_found: boolean; inserted: boolean }>(
    db,
    `WITH caller AS (
       SELECT user_no FROM tb_users WHERE user_no = $1 AND auth_subject = $2
     ), exchange AS (
       SELECT exchange_id FROM tb_exchanges WHERE exchange_id = $3
     ), inserted AS (
       INSERT INTO tb_exchange_api_keys
         (user_no, exchange_id, public_key, private_key, public_key_masked, private_key_masked, is_active)
       SELECT caller.user_no, exchange.exchange_id, $4, $5, $6, $7, true FROM caller, exchange
       RETURNING key_no
     )
     SELECT EXISTS (SELECT 1 FROM caller) AS caller_matched,
            EXISTS (SELECT 1 FROM exchange) AS exchange_found,
            EXISTS (SELECT 1 FROM inserted) AS inserted`,
    [key.userNo, key.subject, key.exchangeId, key.publicKey, key.privateKey, key.publicKeyMasked, key.privateKeyMasked],
  );
  const [row] = rows;
  if (!row) throw new Error('insert returned no row');
  return { callerMatched: row.caller_matched, exchangeFound: row.exchange_found, inserted: row.inserted };
}

export interface MaskedKeyRow {
  user_no: number;
  exchange_id: number | null;
  exchange_name: string | null;
  public_key_masked: string | null;
  private_key_masked: string | null;
  is_active: boolean | null;
  create_date: Date | null;
  update_date: Date | null;
}

/**
 * The caller's user_no and masked keys in one indexed query, without reading an envelope. A
 * subject with no keys yields one row with null key columns; an unknown subject yields none.
 */
export async function selectMaskedKeys(db: Queryable, subject: string): Promise<MaskedKeyRow[]> {
  const { rows } = await query<MaskedKeyRow>(
    db,
    `SELECT u.user_no, k.exchange_id, e.exchange_name, k.public_key_masked, k.private_key_masked,
            k.is_active, k.create_date, k.update_date
       FROM tb_users u
       LEFT JOIN (tb_exchange_api_keys k JOIN tb_exchanges e ON e.exchange_id = k.exchange_id)
         ON k.user_no = u.user_no
      WHERE u.auth_subject = $1
      ORDER BY k.exchange_id`,
    [subject],
  );
  return rows;
}
