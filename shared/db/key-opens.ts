import type { ExchangeKind } from '../exchanges/kinds.js';
import { type Queryable, query } from './query.js';
import { v1DigestColumns } from './v1-bindings.js';

/** Whose key, by exactly one of the two. */
export type KeyOwner = { readonly userNo: number; readonly subject?: undefined } | { readonly subject: string; readonly userNo?: undefined };

/** Which key, and who opens it, for the history: the engine function's name, its Lambda request id, the stated purpose. */
export interface OpenAttempt {
  readonly owner: KeyOwner;
  readonly exchangeId: number;
  readonly actorId: string;
  readonly requestId: string;
  readonly purpose: string;
}

export interface KeyForOpen {
  readonly keyNo: number;
  readonly userNo: number;
  /** The owner's subject; null for a seed user who never signed in. */
  readonly subject: string | null;
  readonly isActive: boolean;
  /** The key's last check at its exchange failed: it is refused (`check_failed`) whatever is_active says. */
  readonly checkFailed: boolean;
  /** The envelopes, only when the key may be opened (active, not failed its check): a refused key's ciphertext is never fetched. */
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

/** A key as the single and the batch read return it, before it is named in camel case. */
interface KeyForOpenRow {
  key_no: number;
  user_no: number;
  auth_subject: string | null;
  is_active: boolean;
  check_failed: boolean;
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
}

function keyForOpen(row: KeyForOpenRow): KeyForOpen {
  return {
    keyNo: row.key_no,
    userNo: row.user_no,
    subject: row.auth_subject,
    isActive: row.is_active,
    checkFailed: row.check_failed,
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

/**
 * Keys refused as they are read, over the `key` CTE of the reads below: a key whose last check
 * failed (it may be able to withdraw, or no longer work; paused too, unless its owner resumed it
 * since), then a key its owner paused.
 */
const REFUSED = `(key.check_failed OR NOT key.is_active)`;
const REFUSAL_REASON = `CASE WHEN key.check_failed THEN 'check_failed' ELSE 'inactive' END`;

/**
 * Reads the key to open. A key refused as it is read (REFUSED) is refused here, its `open_refused`
 * event (reason `check_failed` or `inactive`) written in the same statement; an open key's event waits for the decrypt
 * (recordOpen), so the history never says `opened` for a key that did not open. FOR SHARE makes a
 * change in flight finish first, so what is read is the newest committed key. Undefined: no such
 * key, and then no event (the history is of keys that exist). The owner is found by user_no or by
 * subject (the other parameter null), each through its unique index.
 */
export async function readKeyForOpen(db: Queryable, attempt: OpenAttempt): Promise<KeyForOpen | undefined> {
  const { rows } = await query<KeyForOpenRow>(
    db,
    `WITH key AS (
       SELECT k.key_no, k.user_no, k.exchange_id, k.is_active, k.check_status = 'failed' AS check_failed,
              k.public_key, k.private_key, k.passphrase, k.sealing, k.etag, k.key_version, k.update_date,
              u.auth_subject, ${v1DigestColumns('k')}
         FROM tb_exchange_api_keys k JOIN tb_users u ON u.user_no = k.user_no
        WHERE k.exchange_id = $2 AND (u.user_no = $1 OR u.auth_subject = $6)
          FOR SHARE OF k
     ), refusal AS (
       INSERT INTO tb_exchange_api_key_events (user_no, exchange_id, event, actor_kind, actor_id, request_id, purpose, reason)
       SELECT user_no, exchange_id, 'open_refused', 'engine', $3, $4, $5, ${REFUSAL_REASON} FROM key WHERE ${REFUSED}
       RETURNING key_event_no
     )
     SELECT key.key_no, key.user_no, key.auth_subject, key.is_active, key.check_failed,
            CASE WHEN NOT ${REFUSED} THEN key.public_key END AS public_key,
            CASE WHEN NOT ${REFUSED} THEN key.private_key END AS private_key,
            CASE WHEN NOT ${REFUSED} THEN key.passphrase END AS passphrase,
            (SELECT kind FROM tb_exchanges WHERE exchange_id = key.exchange_id) AS exchange_kind,
            key.sealing, key.etag, key.key_version, key.update_date, refusal.key_event_no AS refusal_event_no,
            key.public_key_v1_digest, key.private_key_v1_digest
       FROM key LEFT JOIN refusal ON true`,
    [attempt.owner.userNo ?? null, attempt.exchangeId, attempt.actorId, attempt.requestId, attempt.purpose, attempt.owner.subject ?? null],
  );
  const [row] = rows;
  if (!row) return undefined;
  return keyForOpen(row);
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
  key: Pick<KeyForOpen, 'keyNo' | 'userNo' | 'etag'>,
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
      key.userNo,
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

/** A batch's keys, as readKeysForOpen reads them: the item's place in the batch and its key, if there is one. */
export interface BatchKeyForOpen extends KeyForOpen {
  readonly item: number;
}

/** Who opens a batch, for each key's history: one function, request id and purpose for all of its keys. */
export interface BatchOpenAttempt {
  readonly keys: readonly { readonly owner: KeyOwner; readonly exchangeId: number }[];
  readonly actorId: string;
  readonly requestId: string;
  readonly purpose: string;
}

/**
 * readKeyForOpen for a whole batch in one statement: each item's key (by user_no or subject), FOR
 * SHARE, each inactive one's `open_refused` written by the same statement (one per item naming it).
 * Items without a key have no row; `item` is the index in `attempt.keys`.
 */
export async function readKeysForOpen(db: Queryable, attempt: BatchOpenAttempt): Promise<BatchKeyForOpen[]> {
  const { rows } = await query<KeyForOpenRow & { item: string }>(
    db,
    `WITH wanted AS (
       SELECT * FROM unnest($1::integer[], $2::text[], $3::integer[]) WITH ORDINALITY AS w(user_no, subject, exchange_id, item)
     ), key AS (
       SELECT w.item, k.key_no, k.user_no, k.exchange_id, k.is_active, k.check_status = 'failed' AS check_failed,
              k.public_key, k.private_key, k.passphrase, k.sealing, k.etag, k.key_version, k.update_date,
              u.auth_subject, ${v1DigestColumns('k')}
         FROM wanted w
         JOIN tb_users u ON u.user_no = w.user_no OR u.auth_subject = w.subject
         JOIN tb_exchange_api_keys k ON k.user_no = u.user_no AND k.exchange_id = w.exchange_id
          FOR SHARE OF k
     ), refusal AS (
       INSERT INTO tb_exchange_api_key_events (user_no, exchange_id, event, actor_kind, actor_id, request_id, purpose, reason)
       SELECT user_no, exchange_id, 'open_refused', 'engine', $4, $5, $6, ${REFUSAL_REASON} FROM key WHERE ${REFUSED} ORDER BY item
       RETURNING user_no, exchange_id, key_event_no
     )
     SELECT key.item - 1 AS item, key.key_no, key.user_no, key.auth_subject, key.is_active, key.check_failed,
            CASE WHEN NOT ${REFUSED} THEN key.public_key END AS public_key,
            CASE WHEN NOT ${REFUSED} THEN key.private_key END AS private_key,
            CASE WHEN NOT ${REFUSED} THEN key.passphrase END AS passphrase,
            (SELECT kind FROM tb_exchanges WHERE exchange_id = key.exchange_id) AS exchange_kind,
            key.sealing, key.etag, key.key_version, key.update_date,
            (SELECT max(r.key_event_no) FROM refusal r WHERE r.user_no = key.user_no AND r.exchange_id = key.exchange_id) AS refusal_event_no,
            key.public_key_v1_digest, key.private_key_v1_digest
       FROM key
      ORDER BY key.item`,
    [
      attempt.keys.map((key) => key.owner.userNo ?? null),
      attempt.keys.map((key) => key.owner.subject ?? null),
      attempt.keys.map((key) => key.exchangeId),
      attempt.actorId,
      attempt.requestId,
      attempt.purpose,
    ],
  );
  return rows.map((row) => ({ item: Number(row.item), ...keyForOpen(row) }));
}

/**
 * recordOpen for a batch in one statement: each opened key's event, written only while its row is
 * still the one read. The key_no of each key whose event was written (a key named twice, twice).
 */
export async function recordOpens(
  db: Queryable,
  attempt: Omit<BatchOpenAttempt, 'keys'>,
  opens: readonly { readonly key: Pick<KeyForOpen, 'keyNo' | 'etag'>; readonly outcome: OpenOutcome }[],
): Promise<number[]> {
  const { rows } = await query<{ key_no: number }>(
    db,
    `WITH opened AS (
       SELECT * FROM unnest($1::integer[], $2::uuid[], $3::text[], $4::text[]) WITH ORDINALITY AS o(key_no, etag, event, reason, item)
     ), key AS (
       SELECT o.item, k.key_no, k.user_no, k.exchange_id, o.event, o.reason
         FROM opened o JOIN tb_exchange_api_keys k ON k.key_no = o.key_no AND k.etag = o.etag AND k.is_active
          FOR SHARE OF k
     ), written AS (
       INSERT INTO tb_exchange_api_key_events (user_no, exchange_id, event, actor_kind, actor_id, request_id, purpose, reason)
       SELECT user_no, exchange_id, event, 'engine', $5, $6, $7, reason FROM key ORDER BY item
     )
     -- Every row of key has its event in written: the statement fails as a whole otherwise.
     SELECT DISTINCT key_no FROM key`,
    [
      opens.map((open) => open.key.keyNo),
      opens.map((open) => open.key.etag),
      opens.map((open) => open.outcome.event),
      opens.map((open) => (open.outcome.event === 'open_refused' ? open.outcome.reason : null)),
      attempt.actorId,
      attempt.requestId,
      attempt.purpose,
    ],
  );
  return rows.map((row) => row.key_no);
}
