import type pg from 'pg';
import * as z from 'zod/mini';
import type { EnvelopeV3 } from '../crypto/envelope.js';
import { KID_PATTERN } from '../crypto/ring-document.js';
import { type Queryable, query } from '../db/query.js';
import { v1DigestColumns, v1DigestFields } from '../db/v1-bindings.js';
import { Unavailable } from '../errors.js';

/**
 * A pool the maintenance commands can take a client from, for one transaction per batch, and
 * optionally the statement limit each of those transactions sets for itself (`withStatementTimeout`).
 */
export type MaintenancePool = Queryable & Pick<pg.Pool, 'connect'> & { readonly statementTimeoutMs?: number };

export const V1_LABEL = '(v1)';
export const MALFORMED_LABEL = '(malformed)';

/**
 * A field's kid as a label: the kid of a version-2 or -3 envelope, `(v1)` for a seed envelope, and
 * `(malformed)` for anything else, including a kid no ring could hold (row data is not repeated
 * in reports unless it is a well-formed kid).
 */
const kidLabel = (column: 'public_key' | 'private_key'): string => `
  CASE ${column}->>'version'
    WHEN '1' THEN '${V1_LABEL}'
    WHEN '2' THEN CASE WHEN ${column}->>'kid' ~ '${KID_PATTERN.source}' THEN ${column}->>'kid' ELSE '${MALFORMED_LABEL}' END
    WHEN '3' THEN CASE WHEN ${column}->>'kid' ~ '${KID_PATTERN.source}' THEN ${column}->>'kid' ELSE '${MALFORMED_LABEL}' END
    ELSE '${MALFORMED_LABEL}'
  END`;

/** Rows (both fields) by kid; a row whose two fields differ is counted as `public / private`. */
export type KidCounts = Record<string, number>;

export async function countByKid(db: Queryable): Promise<KidCounts> {
  const { rows } = await query<{ public_kid: string; private_kid: string; rows: string }>(
    db,
    `SELECT ${kidLabel('public_key')} AS public_kid, ${kidLabel('private_key')} AS private_kid, count(*) AS rows
       FROM tb_exchange_api_keys GROUP BY 1, 2 ORDER BY 1, 2`,
  );
  const counts: KidCounts = {};
  for (const row of rows) {
    const label = row.public_kid === row.private_kid ? row.public_kid : `${row.public_kid} / ${row.private_kid}`;
    counts[label] = (counts[label] ?? 0) + Number(row.rows);
  }
  return counts;
}

/**
 * A row needs re-encryption unless it has a sealing, both fields are version-3 envelopes under
 * the primary, and both masks are set: version-1 and version-2 rows are upgraded. `$1` is the primary kid.
 */
const NEEDS_REENCRYPTION = `(
  sealing IS NULL
  OR NOT (public_key @> jsonb_build_object('version', 3, 'kid', $1::text)
          AND private_key @> jsonb_build_object('version', 3, 'kid', $1::text))
  OR (passphrase IS NOT NULL AND NOT passphrase @> jsonb_build_object('version', 3, 'kid', $1::text))
  OR public_key_masked IS NULL OR private_key_masked IS NULL)`;

export const storedRow = z.object({
  key_no: z.number().check(z.int()),
  user_no: z.number().check(z.int()),
  exchange_id: z.number().check(z.int()),
  public_key: z.unknown(),
  private_key: z.unknown(),
  /** null: the key has none (migration 011). */
  passphrase: z.unknown(),
  public_key_masked: z.nullable(z.string()),
  private_key_masked: z.nullable(z.string()),
  sealing: z.nullable(z.string()),
  ...v1DigestFields,
});
export type StoredRow = z.infer<typeof storedRow>;

const ROW_COLUMNS = `key_no, user_no, exchange_id, public_key, private_key, passphrase, public_key_masked, private_key_masked, sealing, ${v1DigestColumns('tb_exchange_api_keys')}`;

/**
 * The next rows after `afterKeyNo` that need re-encryption, locked for this transaction. Rows a
 * live transaction holds are skipped, not waited for: the job comes back to them on a later pass.
 */
export async function lockRowsNeedingReencryption(
  client: Queryable,
  primaryKid: string,
  afterKeyNo: number,
  limit: number,
  exclude: readonly number[],
): Promise<StoredRow[]> {
  const { rows } = await query(
    client,
    `SELECT ${ROW_COLUMNS} FROM tb_exchange_api_keys
      WHERE key_no > $2 AND NOT (key_no = ANY ($4::int[])) AND ${NEEDS_REENCRYPTION}
      ORDER BY key_no LIMIT $3
      FOR UPDATE SKIP LOCKED`,
    [primaryKid, afterKeyNo, limit, exclude],
  );
  return z.array(storedRow).parse(rows);
}

export async function countNeedingReencryption(db: Queryable, primaryKid: string, exclude: readonly number[]): Promise<number> {
  const { rows } = await query<{ count: string }>(
    db,
    `SELECT count(*) AS count FROM tb_exchange_api_keys WHERE NOT (key_no = ANY ($2::int[])) AND ${NEEDS_REENCRYPTION}`,
    [primaryKid, exclude],
  );
  return Number(rows[0]?.count ?? 0);
}

export interface RewrittenRow {
  readonly keyNo: number;
  /** The new sealing both envelopes are bound to. */
  readonly sealing: string;
  readonly publicKey: EnvelopeV3;
  readonly privateKey: EnvelopeV3;
  readonly passphrase: EnvelopeV3 | null;
  readonly publicKeyMasked: string;
  readonly privateKeyMasked: string;
}

/** The maintenance command that rewrote the rows (the events' actor id), and the Lambda request id it ran in, if any. */
export interface MaintenanceRun {
  readonly command: string;
  readonly requestId: string | undefined;
}

/**
 * One statement for the batch, with one `reencrypted` event per row rewritten (actor
 * `maintenance`). update_date is the owner's, not ours: re-encryption leaves it.
 */
export async function updateRewrittenRows(client: Queryable, rewritten: readonly RewrittenRow[], run: MaintenanceRun): Promise<number> {
  if (rewritten.length === 0) return 0;
  const { rows } = await query<{ updated: number }>(
    client,
    `WITH updated AS (
       UPDATE tb_exchange_api_keys AS k
          SET public_key = u.public_key::jsonb, private_key = u.private_key::jsonb, passphrase = u.passphrase::jsonb,
              public_key_masked = u.public_key_masked, private_key_masked = u.private_key_masked, sealing = u.sealing
         FROM unnest($1::int[], $2::text[], $3::text[], $4::text[], $5::text[], $8::uuid[], $9::text[])
              AS u(key_no, public_key, private_key, public_key_masked, private_key_masked, sealing, passphrase)
        WHERE k.key_no = u.key_no
        RETURNING k.user_no, k.exchange_id
     ), event AS (
       INSERT INTO tb_exchange_api_key_events (user_no, exchange_id, event, actor_kind, actor_id, request_id)
       SELECT user_no, exchange_id, 'reencrypted', 'maintenance', $6, $7 FROM updated
     )
     SELECT count(*)::int AS updated FROM updated`,
    [
      rewritten.map((row) => row.keyNo),
      rewritten.map((row) => JSON.stringify(row.publicKey)),
      rewritten.map((row) => JSON.stringify(row.privateKey)),
      rewritten.map((row) => row.publicKeyMasked),
      rewritten.map((row) => row.privateKeyMasked),
      run.command,
      run.requestId ?? null,
      rewritten.map((row) => row.sealing),
      rewritten.map((row) => (row.passphrase === null ? null : JSON.stringify(row.passphrase))),
    ],
  );
  return rows[0]?.updated ?? 0;
}

/** Every row in key_no order, a page at a time, without locks: for verify. */
export async function selectRowsAfter(db: Queryable, afterKeyNo: number, limit: number): Promise<StoredRow[]> {
  const { rows } = await query(db, `SELECT ${ROW_COLUMNS} FROM tb_exchange_api_keys WHERE key_no > $1 ORDER BY key_no LIMIT $2`, [afterKeyNo, limit]);
  return z.array(storedRow).parse(rows);
}

/** Rows that still need `kid`: a version-2 or -3 field under it, or, when it is the ring's v1 key, a version-1 field. */
export async function countRowsNeedingKid(db: Queryable, kid: string, readsVersion1: boolean): Promise<number> {
  const { rows } = await query<{ count: string }>(
    db,
    `SELECT count(*) AS count FROM tb_exchange_api_keys
      WHERE public_key->>'kid' = $1 OR private_key->>'kid' = $1
         OR ($2 AND (public_key @> '{"version": 1}' OR private_key @> '{"version": 1}'))`,
    [kid, readsVersion1],
  );
  return Number(rows[0]?.count ?? 0);
}

export async function countRowsWithoutMasks(db: Queryable): Promise<number> {
  const { rows } = await query<{ count: string }>(
    db,
    'SELECT count(*) AS count FROM tb_exchange_api_keys WHERE public_key_masked IS NULL OR private_key_masked IS NULL',
  );
  return Number(rows[0]?.count ?? 0);
}

/**
 * Runs `work` in one transaction on a client of its own. On any failure the transaction is rolled
 * back and the client discarded (its connection may be the thing that failed).
 */
export async function inTransaction<T>(pool: MaintenancePool, work: (client: Queryable) => Promise<T>): Promise<T> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (error) {
    throw new Unavailable('database', error instanceof Error ? error.message : 'connect failed');
  }
  // A checked-out client whose connection drops emits 'error'; unheard, that would end the
  // process. The statement in flight (or the next) fails too, and that failure is what we throw.
  let lost: Error | undefined;
  const onError = (error: Error): void => {
    lost = error;
  };
  client.on('error', onError);
  const release = (): void => {
    client.off('error', onError);
    client.release(lost ?? false);
  };
  try {
    await query(client, 'BEGIN');
    // SET LOCAL ends with the transaction: the session, which RDS Proxy may hand to another client next, keeps nothing.
    if (pool.statementTimeoutMs !== undefined) {
      const limitMs = Math.trunc(pool.statementTimeoutMs);
      await query(client, `SET LOCAL statement_timeout = ${limitMs}`);
      // The role's transaction bound (migration 009, PostgreSQL 17+) started counting at BEGIN and a
      // new value alone would not restart it: off, then on with room for a batch's two statements.
      await query(client, `SELECT set_config(name, '0', true), set_config(name, $1, true) FROM pg_settings WHERE name = 'transaction_timeout'`, [
        String(2 * limitMs),
      ]);
    }
    const result = await work(client);
    await query(client, 'COMMIT');
    release();
    return result;
  } catch (error) {
    if (!lost) await client.query('ROLLBACK').catch(() => undefined);
    lost ??= error instanceof Error ? error : new Error('transaction failed');
    release();
    throw error;
  }
}

/**
 * `pool` with a longer statement limit than its login role's (migration 006 gives vault_app a
 * request's 5 seconds; maintenance counts scan the table): every statement runs in a transaction of
 * its own that raises the limit with SET LOCAL, and so do the batches' transactions.
 */
export function withStatementTimeout(pool: pg.Pool, timeoutMs: number): MaintenancePool {
  const limited: MaintenancePool = {
    statementTimeoutMs: timeoutMs,
    connect: pool.connect.bind(pool),
    query: ((text: string, values?: unknown[]) => inTransaction(limited, (client) => client.query(text, values))) as pg.Pool['query'],
  };
  return limited;
}
