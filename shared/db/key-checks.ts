import type { EnvelopeOpener } from '../crypto/reloading-opener.js';
import type { KeyChecker } from '../exchanges/checker.js';
import { type CheckDecision, type CheckStatus, decide } from '../exchanges/decision.js';
import type { Credentials, Permission } from '../exchanges/facts.js';
import type { ExchangeKind } from '../exchanges/kinds.js';
import { logger } from '../logger.js';
import { type Queryable, query } from './query.js';
import { v1DigestColumns } from './v1-bindings.js';

/** A check as it is stored beside its key (migration 013); checked_at is the writing statement's time. */
export interface StoredCheck {
  readonly status: CheckStatus;
  readonly permissions: readonly Permission[] | null;
  readonly ipRestricted: boolean | null;
  /** ISO 8601. */
  readonly expiresAt: string | null;
  /** Why the check failed, or could not be made; null when it passed. */
  readonly reason: string | null;
}

/** A stored check that was made: what a decision is stored as. */
export type MadeCheck = StoredCheck & { readonly status: CheckDecision['status'] };

export const NOT_CHECKED: StoredCheck = { status: 'unchecked', permissions: null, ipRestricted: null, expiresAt: null, reason: null };

/** What the row's check_reason may hold (migration 013); anything else an exchange or the prober said is `unexpected`. */
const REASON = /^[a-z0-9_-]{1,40}$/;

/**
 * What a decision is stored as. A failure keeps the facts the exchange gave (a key that may
 * withdraw shows that it may); a rejected key has none. An unreachable exchange says nothing new:
 * recordChecks keeps the facts of the last check that had some.
 */
export function storedCheck(decision: CheckDecision): MadeCheck {
  const facts = 'facts' in decision ? decision.facts : undefined;
  const reason = decision.status === 'passed' ? null : REASON.test(decision.reason) ? decision.reason : 'unexpected';
  return {
    status: decision.status,
    permissions: facts?.permissions ?? null,
    ipRestricted: facts?.ip_restricted ?? null,
    expiresAt: facts?.expires_at ?? null,
    reason,
  };
}

/** What a re-check of a stored key needs besides the database: an opener for its envelopes, and the checker. */
export interface StoredKeyRecheck {
  /** Kept for the container's life, so an envelope naming an unknown kid reloads the ring at most once per freshness window. */
  readonly open: EnvelopeOpener;
  readonly checker: KeyChecker;
}

/**
 * What the exchange now says of a stored key's credentials, decided by the deployment's policy and
 * as it is stored: every re-check's (the owner's, key maintenance's, the engine report's).
 * Undefined when no check was made (checks off, an exchange without a kind or an adapter).
 */
export async function recheck(checker: KeyChecker, kind: ExchangeKind | null, credentials: Credentials): Promise<MadeCheck | undefined> {
  const outcome = await checker.probe(kind, credentials);
  if (outcome.outcome === 'unchecked') return undefined;
  const decision = decide(outcome, checker.policy);
  logger.info('key rechecked', { kind, status: decision.status, ...(decision.status === 'passed' ? {} : { reason: decision.reason }) });
  return storedCheck(decision);
}

/** The select-list of a stored check, as KeyCheckColumns names them. */
export const checkColumns = (k: string): string =>
  `${k}.check_status, ${k}.checked_at, ${k}.check_permissions, ${k}.check_ip_restricted, ${k}.check_expires_at, ${k}.check_reason`;

export interface KeyCheckColumns {
  check_status: CheckStatus | null;
  checked_at: Date | null;
  check_permissions: Permission[] | null;
  check_ip_restricted: boolean | null;
  check_expires_at: Date | null;
  check_reason: string | null;
}

/** A key as a check reads it: its envelopes to open, its exchange's kind to ask, its version to write the check against. */
export interface KeyToCheck {
  key_no: number;
  user_no: number;
  exchange_id: number;
  exchange_kind: ExchangeKind | null;
  key_version: number;
  public_key: unknown;
  private_key: unknown;
  passphrase: unknown;
  sealing: string | null;
  public_key_v1_digest: Buffer | null;
  private_key_v1_digest: Buffer | null;
}

const TO_CHECK = `k.key_no, k.user_no, k.exchange_id, e.kind AS exchange_kind, k.key_version, k.public_key, k.private_key, k.passphrase, k.sealing, ${v1DigestColumns('k')}`;

/**
 * The caller's key at one exchange, to check, beside the caller's user_no (null key columns when
 * they have none there; no row for an unknown subject). No lock: the check takes an exchange's round trip.
 */
export async function selectKeyToCheck(
  db: Queryable,
  subject: string,
  exchangeId: number,
): Promise<{ caller_user_no: number; key: KeyToCheck | undefined } | undefined> {
  const { rows } = await query<Partial<KeyToCheck> & { caller_user_no: number }>(
    db,
    `SELECT u.user_no AS caller_user_no, ${TO_CHECK}
       FROM tb_users u
       LEFT JOIN (tb_exchange_api_keys k JOIN tb_exchanges e ON e.exchange_id = k.exchange_id)
         ON k.user_no = u.user_no AND k.exchange_id = $2
      WHERE u.auth_subject = $1`,
    [subject, exchangeId],
  );
  const [row] = rows;
  if (!row) return undefined;
  const { caller_user_no, ...key } = row;
  return { caller_user_no, key: key.key_no === null || key.key_no === undefined ? undefined : (key as KeyToCheck) };
}

/** One key to check, by its key_no (the engine's re-check after a report); undefined once it is deleted. */
export async function selectKeyToCheckByNo(db: Queryable, keyNo: number): Promise<KeyToCheck | undefined> {
  const { rows } = await query<KeyToCheck>(
    db,
    `SELECT ${TO_CHECK} FROM tb_exchange_api_keys k JOIN tb_exchanges e ON e.exchange_id = k.exchange_id WHERE k.key_no = $1`,
    [keyNo],
  );
  return rows[0];
}

/** Active keys after `afterKeyNo` (at one exchange, when named), a page in key_no order: key maintenance's `check`. */
export async function selectActiveKeysToCheck(db: Queryable, afterKeyNo: number, limit: number, exchangeId: number | undefined): Promise<KeyToCheck[]> {
  const { rows } = await query<KeyToCheck>(
    db,
    `SELECT ${TO_CHECK}
       FROM tb_exchange_api_keys k JOIN tb_exchanges e ON e.exchange_id = k.exchange_id
      WHERE k.is_active AND k.key_no > $1 AND ($3::int IS NULL OR k.exchange_id = $3)
      ORDER BY k.key_no
      LIMIT $2`,
    [afterKeyNo, limit, exchangeId ?? null],
  );
  return rows;
}

/** Who checked: the owner (their subject, over HTTP) or key maintenance (its command); and in which request. */
export interface CheckActor {
  readonly kind: 'user' | 'maintenance';
  readonly id: string;
  readonly requestId: string | undefined;
}

export interface KeyCheckWrite {
  readonly keyNo: number;
  /** The version whose credentials were checked: a key replaced since keeps its own check. */
  readonly keyVersion: number;
  readonly check: StoredCheck;
}

/** A check's permissions as write_key_check (migration 015) takes them: a JSON array, one text value however many there are. */
const permissionsJson = (check: StoredCheck): string | null => (check.permissions === null ? null : JSON.stringify(check.permissions));

/**
 * One statement for a batch of checks and their events, each through write_key_check (migration
 * 015, where writing a check is defined): each key still at the version checked gets its check
 * (an unreachable exchange changes the status, its reason and the time, and keeps the last facts),
 * a failed check pauses the key (is_active false), and each gets `checked` (passed; reason
 * `cleared` when the check before had failed, `unreachable` when no answer came) or `check_failed`
 * (its reason). The key_no of each key written.
 */
export async function recordChecks(db: Queryable, writes: readonly KeyCheckWrite[], actor: CheckActor): Promise<number[]> {
  if (writes.length === 0) return [];
  const { rows } = await query<{ key_no: number }>(
    db,
    `SELECT w.key_no
       FROM unnest($1::int[], $2::int[], $3::text[], $4::text[], $5::boolean[], $6::timestamptz[], $7::text[])
              WITH ORDINALITY AS c(key_no, key_version, status, permissions, ip_restricted, expires_at, reason, n),
            write_key_check(c.key_no, c.key_version, NULL, c.status, c.permissions::jsonb, c.ip_restricted, c.expires_at, c.reason, $8, $9, $10) w
      ORDER BY c.n`,
    [
      writes.map((write) => write.keyNo),
      writes.map((write) => write.keyVersion),
      writes.map((write) => write.check.status),
      writes.map((write) => permissionsJson(write.check)),
      writes.map((write) => write.check.ipRestricted),
      writes.map((write) => write.check.expiresAt),
      writes.map((write) => write.check.reason),
      actor.kind,
      actor.id,
      actor.requestId ?? null,
    ],
  );
  return rows.map((row) => row.key_no);
}

/**
 * The engine's re-check after its report, through record_engine_check (migration 015): the check
 * of the key `keyNo` while its envelopes are still those of `sealing` (the ones opened and asked
 * about), with its event, actor `engine`. The event's number, or undefined when the key was
 * replaced, re-sealed or deleted since (nothing written).
 */
export async function recordEngineCheck(
  db: Queryable,
  write: { readonly keyNo: number; readonly sealing: string; readonly check: StoredCheck },
  actor: { readonly id: string; readonly requestId: string },
): Promise<string | undefined> {
  const { check } = write;
  const { rows } = await query<{ event_no: string | null }>(db, 'SELECT record_engine_check($1, $2, $3, $4, $5, $6, $7, $8, $9) AS event_no', [
    write.keyNo,
    write.sealing,
    check.status,
    permissionsJson(check),
    check.ipRestricted,
    check.expiresAt,
    check.reason,
    actor.id,
    actor.requestId,
  ]);
  return rows[0]?.event_no ?? undefined;
}
