import type { EnvelopeV3 } from '../crypto/envelope.js';
import type { ExchangeKind } from '../exchanges/kinds.js';
import { checkColumns, type KeyCheckColumns, type StoredCheck } from './key-checks.js';
import { type Queryable, query } from './query.js';

export const API_KEY_UNIQUE_CONSTRAINT = 'uq_user_exchange';

/** Who acted and in which request: what a key's history records beside each change. */
export interface UserAction {
  /** The token's `sub`: the event's actor id. */
  readonly subject: string;
  /** API Gateway's request id; absent only when a service is called outside a request. */
  readonly requestId: string | undefined;
}

/** Every half of a key sealed in one sealing, and the masks of two. */
export interface SealedPair {
  /** The sealing the envelopes are bound to; the database refuses one it has stored before. */
  readonly sealing: string;
  readonly publicKey: EnvelopeV3;
  readonly privateKey: EnvelopeV3;
  /** null: the key has none. */
  readonly passphrase: EnvelopeV3 | null;
  readonly publicKeyMasked: string;
  readonly privateKeyMasked: string;
}

/**
 * The exchange kind the credentials were checked against: a write goes through only if the
 * exchange still has it, so a kind an admin changed meanwhile never lets an unchecked key in.
 */
export interface CheckedKind {
  readonly checkedKind: ExchangeKind | null;
  /** What the key's exchange, of that kind, said of the credentials: stored with them. */
  readonly check: StoredCheck;
}

export interface SealedApiKey extends UserAction, SealedPair, CheckedKind {
  readonly userNo: number;
  readonly exchangeId: number;
}

/** What the exchange's kind is now, when it is not the one the credentials were checked against (nothing was written then). */
export interface KindOutcome {
  readonly exchangeKind: ExchangeKind | null | undefined;
}

export interface InsertOutcome extends KindOutcome {
  /** false: the remembered user_no no longer belongs to this subject. */
  readonly callerMatched: boolean;
  readonly exchangeFound: boolean;
  readonly inserted: boolean;
}

/**
 * One statement: checks the caller still owns user_no, checks the exchange and its kind, inserts,
 * and records the `registered` event. A duplicate raises 23505 on uq_user_exchange, which the
 * caller decides by code and constraint name; the event is then not written either.
 */
export async function insertApiKey(db: Queryable, key: SealedApiKey): Promise<InsertOutcome> {
  const { rows } = await query<{ caller_matched: boolean; exchange_found: boolean; exchange_kind: ExchangeKind | null; inserted: boolean }>(
    db,
    `WITH caller AS (
       SELECT user_no FROM tb_users WHERE user_no = $1 AND auth_subject = $2
     ), exchange AS (
       SELECT exchange_id, kind FROM tb_exchanges WHERE exchange_id = $3
     ), inserted AS (
       INSERT INTO tb_exchange_api_keys
         (user_no, exchange_id, public_key, private_key, passphrase, public_key_masked, private_key_masked, is_active, sealing,
          check_status, checked_at, check_permissions, check_ip_restricted, check_expires_at, check_reason)
       SELECT caller.user_no, exchange.exchange_id, $4, $5, $10, $6, $7, true, $9,
              $12, CASE WHEN $12 <> 'unchecked' THEN statement_timestamp() END, $13, $14, $15, $16
         FROM caller, exchange
        WHERE exchange.kind IS NOT DISTINCT FROM $11::text
       RETURNING user_no, exchange_id
     ), event AS (
       INSERT INTO tb_exchange_api_key_events (user_no, exchange_id, event, actor_kind, actor_id, request_id)
       SELECT user_no, exchange_id, 'registered', 'user', $2, $8 FROM inserted
     )
     SELECT EXISTS (SELECT 1 FROM caller) AS caller_matched,
            EXISTS (SELECT 1 FROM exchange) AS exchange_found,
            (SELECT kind FROM exchange) AS exchange_kind,
            EXISTS (SELECT 1 FROM inserted) AS inserted`,
    [
      key.userNo,
      key.subject,
      key.exchangeId,
      key.publicKey,
      key.privateKey,
      key.publicKeyMasked,
      key.privateKeyMasked,
      key.requestId ?? null,
      key.sealing,
      key.passphrase,
      key.checkedKind,
      ...checkValues(key.check),
    ],
  );
  const [row] = rows;
  if (!row) throw new Error('insert returned no row');
  return {
    callerMatched: row.caller_matched,
    exchangeFound: row.exchange_found,
    exchangeKind: row.exchange_found ? row.exchange_kind : undefined,
    inserted: row.inserted,
  };
}

/** A check's values as the statements below take them: status, permissions, IP binding, expiry, reason. */
const checkValues = (check: StoredCheck): unknown[] => [check.status, check.permissions, check.ipRestricted, check.expiresAt, check.reason];

export interface MaskedKeyRow extends KeyCheckColumns {
  user_no: number;
  exchange_id: number | null;
  exchange_name: string | null;
  exchange_kind: ExchangeKind | null;
  public_key_masked: string | null;
  private_key_masked: string | null;
  has_passphrase: boolean | null;
  is_active: boolean | null;
  key_version: number | null;
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
    `SELECT u.user_no, k.exchange_id, e.exchange_name, e.kind AS exchange_kind, k.public_key_masked, k.private_key_masked, k.has_passphrase,
            k.is_active, k.key_version, k.create_date, k.update_date, ${checkColumns('k')}
       FROM tb_users u
       LEFT JOIN (tb_exchange_api_keys k JOIN tb_exchanges e ON e.exchange_id = k.exchange_id)
         ON k.user_no = u.user_no
      WHERE u.auth_subject = $1
      ORDER BY k.exchange_id`,
    [subject],
  );
  return rows;
}

/**
 * A key's entity tag: the random value the database draws again whenever anything its owner sees
 * changes (migration 008), so it tells that the key changed and nothing else. Quoted, as the ETag
 * header carries it.
 */
const etagOf = (k: string): string => `'"' || replace(${k}.etag::text, '-', '') || '"'`;

const SHOWN_COLUMNS = (k: string): string =>
  `${k}.key_no, ${k}.user_no, ${k}.exchange_id, ${k}.public_key_masked, ${k}.private_key_masked, ${k}.has_passphrase, ${k}.is_active, ${k}.key_version, ${k}.create_date, ${k}.update_date, ${checkColumns(k)}, ${etagOf(k)} AS etag`;

export interface KeyRow extends MaskedKeyRow {
  etag: string | null;
}

/** The caller's key at one exchange and its tag; one row with null key columns when they have none there, none for an unknown subject. */
export async function selectApiKey(db: Queryable, subject: string, exchangeId: number): Promise<KeyRow | undefined> {
  const { rows } = await query<KeyRow>(
    db,
    `SELECT u.user_no, k.exchange_id, e.exchange_name, e.kind AS exchange_kind, k.public_key_masked, k.private_key_masked, k.has_passphrase,
            k.is_active, k.key_version, k.create_date, k.update_date, ${checkColumns('k')}, CASE WHEN k.key_no IS NOT NULL THEN ${etagOf('k')} END AS etag
       FROM tb_users u
       LEFT JOIN (tb_exchange_api_keys k JOIN tb_exchanges e ON e.exchange_id = k.exchange_id)
         ON k.user_no = u.user_no AND k.exchange_id = $2
      WHERE u.auth_subject = $1`,
    [subject, exchangeId],
  );
  return rows[0];
}

/** Which key a change is for, on whose behalf, and under which precondition. */
export interface KeyChangeTarget extends UserAction {
  readonly exchangeId: number;
  /** A user_no the request named (or the one the envelopes are bound to): nothing is written unless it is the caller's. */
  readonly userNo: number | undefined;
  /** If-Match's tags; undefined: no precondition. */
  readonly ifMatch: readonly string[] | undefined;
}

export interface KeyChangeOutcome extends KindOutcome {
  /** The subject has a user row (and it is `userNo`, when one was named). */
  readonly callerMatched: boolean;
  /** The caller has a key at the exchange. */
  readonly found: boolean;
  /** The key was there and If-Match, when given, was its tag: the change applied (or was not needed). */
  readonly applied: boolean;
  /** The key as it now is; undefined after a delete or when nothing applied. */
  readonly key: KeyRow | undefined;
}

/**
 * One statement for a change and its event: it locks the caller's key if If-Match (when given)
 * is still its tag (re-checked on the newest version of the row once a concurrent change commits),
 * applies `change` to the locked row, and inserts the event for each row changed. A key another
 * request deleted meanwhile is not locked, so nothing is written: never a change without its
 * event or an event without its change.
 *
 * `change` is an UPDATE of `tb_exchange_api_keys k` joined to `locked` on key_no, RETURNING the
 * shown columns, or a delete of the locked row yielding them; `event` is the event name as SQL over the changed row `changed`.
 * $1 subject, $2 exchange_id, $3 user_no or null, $4 If-Match tags or null, $5 request id; the
 * change's own values follow.
 */
async function changeKey(db: Queryable, target: KeyChangeTarget, change: string, event: string, values: readonly unknown[]): Promise<KeyChangeOutcome> {
  const { rows } = await query<
    KeyRow & { caller_matched: boolean; found: boolean; applied: boolean; current_kind: ExchangeKind | null; exchange_found: boolean }
  >(
    db,
    `WITH caller AS (
       SELECT user_no FROM tb_users WHERE auth_subject = $1 AND ($3::int IS NULL OR user_no = $3)
     ), locked AS (
       SELECT ${SHOWN_COLUMNS('k')}
         FROM tb_exchange_api_keys k JOIN caller ON caller.user_no = k.user_no
        WHERE k.exchange_id = $2 AND ($4::text[] IS NULL OR ${etagOf('k')} = ANY ($4::text[]))
          FOR UPDATE OF k
     ), changed AS (
       ${change}
     ), event AS (
       INSERT INTO tb_exchange_api_key_events (user_no, exchange_id, event, actor_kind, actor_id, request_id)
       SELECT changed.user_no, changed.exchange_id, ${event}, 'user', $1, $5 FROM changed
     ), shown AS (
       SELECT * FROM changed
       UNION ALL
       SELECT * FROM locked WHERE NOT EXISTS (SELECT 1 FROM changed)
     )
     SELECT EXISTS (SELECT 1 FROM caller) AS caller_matched,
            EXISTS (SELECT 1 FROM tb_exchange_api_keys k JOIN caller ON caller.user_no = k.user_no WHERE k.exchange_id = $2) AS found,
            EXISTS (SELECT 1 FROM locked) AS applied,
            EXISTS (SELECT 1 FROM tb_exchanges WHERE exchange_id = $2) AS exchange_found,
            (SELECT kind FROM tb_exchanges WHERE exchange_id = $2) AS current_kind,
            shown.user_no, shown.exchange_id, e.exchange_name, e.kind AS exchange_kind, shown.public_key_masked, shown.private_key_masked, shown.has_passphrase,
            shown.is_active, shown.key_version, shown.create_date, shown.update_date, ${checkColumns('shown')}, shown.etag
       FROM (SELECT 1) AS one
       LEFT JOIN shown ON true
       LEFT JOIN tb_exchanges e ON e.exchange_id = shown.exchange_id`,
    [target.subject, target.exchangeId, target.userNo ?? null, target.ifMatch ?? null, target.requestId ?? null, ...values],
  );
  const [row] = rows;
  if (!row) throw new Error('key change returned no row');
  const { caller_matched: callerMatched, found, applied, current_kind: currentKind, exchange_found: exchangeFound, ...key } = row;
  return { callerMatched, found, applied, exchangeKind: exchangeFound ? currentKind : undefined, key: key.exchange_id === null ? undefined : key };
}

/**
 * Every envelope and mask replaced in a new sealing (a passphrase the new key lacks is removed),
 * the key's version up by one, update_date now, is_active kept; the event `replaced`. Only while
 * the exchange has the kind the credentials were checked against: otherwise nothing changes, and
 * the caller sees `applied` with the kind it now has.
 */
export const replaceKeyRow = (db: Queryable, target: KeyChangeTarget, key: SealedPair & CheckedKind): Promise<KeyChangeOutcome> =>
  changeKey(
    db,
    target,
    `UPDATE tb_exchange_api_keys k
        SET public_key = $6, private_key = $7, passphrase = $11, public_key_masked = $8, private_key_masked = $9, sealing = $10,
            key_version = k.key_version + 1, update_date = statement_timestamp(),
            check_status = $13, checked_at = CASE WHEN $13 <> 'unchecked' THEN statement_timestamp() END,
            check_permissions = $14, check_ip_restricted = $15, check_expires_at = $16, check_reason = $17
       FROM locked JOIN tb_exchanges e ON e.exchange_id = locked.exchange_id
      WHERE k.key_no = locked.key_no AND e.kind IS NOT DISTINCT FROM $12::text
     RETURNING ${SHOWN_COLUMNS('k')}`,
    `'replaced'`,
    [key.publicKey, key.privateKey, key.publicKeyMasked, key.privateKeyMasked, key.sealing, key.passphrase, key.checkedKind, ...checkValues(key.check)],
  );

/**
 * The flag set, update_date now; the event `deactivated` or `reactivated`. Setting the value the
 * key already has changes nothing (no write, no event, the same update_date and tag): nothing happened.
 */
export const setKeyRowActive = (db: Queryable, target: KeyChangeTarget, isActive: boolean): Promise<KeyChangeOutcome> =>
  changeKey(
    db,
    target,
    `UPDATE tb_exchange_api_keys k
        SET is_active = $6, update_date = statement_timestamp()
       FROM locked WHERE k.key_no = locked.key_no AND k.is_active <> $6
     RETURNING ${SHOWN_COLUMNS('k')}`,
    `CASE WHEN changed.is_active THEN 'reactivated' ELSE 'deactivated' END`,
    [isActive],
  );

/**
 * The row gone, envelopes and masks with it; the event `deleted`, which outlives it. Through
 * delete_api_key_row (migration 009): a DELETE grant on the table would let the role lock it.
 */
export const deleteKeyRow = (db: Queryable, target: KeyChangeTarget): Promise<KeyChangeOutcome> =>
  changeKey(db, target, `SELECT ${SHOWN_COLUMNS('k')} FROM locked CROSS JOIN LATERAL delete_api_key_row(locked.key_no) k`, `'deleted'`, []);

export interface KeyEventRow {
  caller_user_no: number;
  event_id: string | null;
  event: string | null;
  at: Date | null;
  actor_kind: string | null;
  actor_id: string | null;
  request_id: string | null;
  purpose: string | null;
  reason: string | null;
}

/**
 * A page of the caller's history at one exchange, newest first, before `before` when given: one
 * range scan of the history's index. An event's id is its number in this key's history
 * (key_event_no), never the table's global counter, which would count every user's activity. One row with null event columns when there is none; no row
 * for an unknown subject.
 */
export async function selectKeyEvents(
  db: Queryable,
  subject: string,
  exchangeId: number,
  page: { limit: number; before: number | undefined },
): Promise<KeyEventRow[]> {
  const { rows } = await query<KeyEventRow>(
    db,
    `SELECT u.user_no AS caller_user_no, ev.event_id, ev.event, ev.at, ev.actor_kind, ev.actor_id, ev.request_id, ev.purpose, ev.reason
       FROM tb_users u
       LEFT JOIN LATERAL (
         SELECT key_event_no AS event_id, event, at, actor_kind, actor_id, request_id, purpose, reason
           FROM tb_exchange_api_key_events
          WHERE user_no = u.user_no AND exchange_id = $2 AND ($3::bigint IS NULL OR key_event_no < $3)
          ORDER BY key_event_no DESC
          LIMIT $4
       ) ev ON true
      WHERE u.auth_subject = $1`,
    [subject, exchangeId, page.before ?? null, page.limit],
  );
  return rows;
}
