import type { ExchangeKind } from '../exchanges/kinds.js';
import { type Queryable, query } from './query.js';
import { v1DigestColumns } from './v1-bindings.js';

/** Who opens, for the history: the engine function's name, its Lambda request id, the stated purpose. */
export interface OpenAttempt {
  readonly userNo: number;
  readonly exchangeId: number;
  readonly actorId: string;
  readonly requestId: string;
  readonly purpose: string;
}

export interface KeyForOpen {
  readonly keyNo: number;
  readonly isActive: boolean;
  /** The envelopes, only when the key is active: a refused key's ciphertext is never fetched. */
  readonly publicKey: unknown;
  readonly privateKey: unknown;
  /** The passphrase's envelope; null when the key has none (or is not active). */
  readonly passphrase: unknown;
  /** The exchange's kind: which exchange API the engine speaks with the key. */
  readonly exchangeKind: ExchangeKind | null;
  /** The row's sealing (null: not sealed since migration 008) and tag, which the open's event is then written against. */
  readonly sealing: string | null;
  readonly etag: string;
  readonly keyVersion: number;
  readonly updateDate: Date | null;
  /** The `open_refused` event written for an inactive key; undefined for an active one (its event comes after the decrypt). */
  readonly refusalEventNo: string | undefined;
  /** What a version-1 envelope must match to open: the digests recorded at adoption (null where none was). */
  readonly publicKeyV1Digest: Buffer | null;
  readonly privateKeyV1Digest: Buffer | null;
}

/**
 * Reads the key to open. An inactive key is refused here, its `open_refused` event (reason
 * `inactive`) written in the same statement; an active key's event waits for the decrypt
 * (recordOpen), so the history never says `opened` for a key that did not open. FOR SHARE makes a
 * change in flight finish first, so what is read is the newest committed key. Undefined: no such
 * key, and then no event (the history is of keys that exist).
 */
export async function readKeyForOpen(db: Queryable, attempt: OpenAttempt): Promise<KeyForOpen | undefined> {
  const { rows } = await query<{
    key_no: number;
    is_active: boolean;
    public_key: unknown;
    private_key: unknown;
    passphrase: unknown;
    exchange_kind: ExchangeKind | null;
    sealing: string | null;
    etag: string;
    key_version: number;
    update_date: Date | null;
    refusal_event_no: string | null;
    public_key_v1_digest: Buffer | null;
    private_key_v1_digest: Buffer | null;
  }>(
    db,
    `WITH key AS (
       SELECT key_no, user_no, exchange_id, is_active, public_key, private_key, passphrase, sealing, etag, key_version, update_date,
              ${v1DigestColumns('tb_exchange_api_keys')}
         FROM tb_exchange_api_keys
        WHERE user_no = $1 AND exchange_id = $2
          FOR SHARE
     ), refusal AS (
       INSERT INTO tb_exchange_api_key_events (user_no, exchange_id, event, actor_kind, actor_id, request_id, purpose, reason)
       SELECT user_no, exchange_id, 'open_refused', 'engine', $3, $4, $5, 'inactive' FROM key WHERE NOT is_active
       RETURNING key_event_no
     )
     SELECT key.key_no, key.is_active,
            CASE WHEN key.is_active THEN key.public_key END AS public_key,
            CASE WHEN key.is_active THEN key.private_key END AS private_key,
            CASE WHEN key.is_active THEN key.passphrase END AS passphrase,
            (SELECT kind FROM tb_exchanges WHERE exchange_id = key.exchange_id) AS exchange_kind,
            key.sealing, key.etag, key.key_version, key.update_date, refusal.key_event_no AS refusal_event_no,
            key.public_key_v1_digest, key.private_key_v1_digest
       FROM key LEFT JOIN refusal ON true`,
    [attempt.userNo, attempt.exchangeId, attempt.actorId, attempt.requestId, attempt.purpose],
  );
  const [row] = rows;
  if (!row) return undefined;
  return {
    keyNo: row.key_no,
    isActive: row.is_active,
    publicKey: row.public_key,
    privateKey: row.private_key,
    passphrase: row.passphrase,
    exchangeKind: row.exchange_kind,
    sealing: row.sealing,
    etag: row.etag,
    keyVersion: row.key_version,
    updateDate: row.update_date,
    refusalEventNo: row.refusal_event_no ?? undefined,
    publicKeyV1Digest: row.public_key_v1_digest,
    privateKeyV1Digest: row.private_key_v1_digest,
  };
}

/** What became of an active key's open, once its envelopes were tried. */
export type OpenOutcome = { readonly event: 'opened' } | { readonly event: 'open_refused'; readonly reason: 'integrity' };

/**
 * Appends the open's event, but only while the key is still the active row that was read (same
 * key_no and tag: not replaced, paused, re-sealed or deleted since), locking it FOR SHARE so no
 * change lands before the event. The event number, or undefined when the key changed: then nothing
 * is written and nothing may be returned.
 */
export async function recordOpen(
  db: Queryable,
  attempt: OpenAttempt,
  key: Pick<KeyForOpen, 'keyNo' | 'etag'>,
  outcome: OpenOutcome,
): Promise<string | undefined> {
  const { rows } = await query<{ key_event_no: string }>(
    db,
    `WITH key AS (
       SELECT user_no, exchange_id FROM tb_exchange_api_keys
        WHERE key_no = $1 AND etag = $2 AND is_active AND user_no = $3 AND exchange_id = $4
          FOR SHARE
     )
     INSERT INTO tb_exchange_api_key_events (user_no, exchange_id, event, actor_kind, actor_id, request_id, purpose, reason)
     SELECT user_no, exchange_id, $5, 'engine', $6, $7, $8, $9 FROM key
     RETURNING key_event_no`,
    [
      key.keyNo,
      key.etag,
      attempt.userNo,
      attempt.exchangeId,
      outcome.event,
      attempt.actorId,
      attempt.requestId,
      attempt.purpose,
      outcome.event === 'open_refused' ? outcome.reason : null,
    ],
  );
  return rows[0]?.key_event_no;
}
