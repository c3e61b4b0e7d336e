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
  readonly updateDate: Date | null;
  readonly eventId: string;
  /** What a version-1 envelope must match to open: the digests recorded at adoption (null where none was). */
  readonly publicKeyV1Digest: Buffer | null;
  readonly privateKeyV1Digest: Buffer | null;
}

/**
 * One statement reads the key and appends its `opened` or `open_refused` event, so an envelope
 * leaves the database only with its event written, and an event cannot be lost after the read.
 * FOR SHARE makes a replace, deactivation or deletion that is in flight finish first (the open then
 * reads what it left), and holds one that starts later until this statement is done: an open never
 * returns a key already replaced, paused or deleted when its statement ran. Undefined: no such key,
 * and then no event (the history is of keys that exist).
 */
export async function readKeyForOpen(db: Queryable, attempt: OpenAttempt): Promise<KeyForOpen | undefined> {
  const { rows } = await query<{
    key_no: number;
    is_active: boolean;
    public_key: unknown;
    private_key: unknown;
    update_date: Date | null;
    event_id: string;
    public_key_v1_digest: Buffer | null;
    private_key_v1_digest: Buffer | null;
  }>(
    db,
    `WITH key AS (
       SELECT key_no, user_no, exchange_id, is_active, public_key, private_key, update_date, ${v1DigestColumns('tb_exchange_api_keys')}
         FROM tb_exchange_api_keys
        WHERE user_no = $1 AND exchange_id = $2
          FOR SHARE
     ), event AS (
       INSERT INTO tb_exchange_api_key_events (user_no, exchange_id, event, actor_kind, actor_id, request_id, purpose)
       SELECT user_no, exchange_id, CASE WHEN is_active THEN 'opened' ELSE 'open_refused' END, 'engine', $3, $4, $5 FROM key
       RETURNING event_id
     )
     SELECT key.key_no, key.is_active,
            CASE WHEN key.is_active THEN key.public_key END AS public_key,
            CASE WHEN key.is_active THEN key.private_key END AS private_key,
            key.update_date, event.event_id, key.public_key_v1_digest, key.private_key_v1_digest
       FROM key CROSS JOIN event`,
    [attempt.userNo, attempt.exchangeId, attempt.actorId, attempt.requestId, attempt.purpose],
  );
  const [row] = rows;
  if (!row) return undefined;
  return {
    keyNo: row.key_no,
    isActive: row.is_active,
    publicKey: row.public_key,
    privateKey: row.private_key,
    updateDate: row.update_date,
    eventId: row.event_id,
    publicKeyV1Digest: row.public_key_v1_digest,
    privateKeyV1Digest: row.private_key_v1_digest,
  };
}
