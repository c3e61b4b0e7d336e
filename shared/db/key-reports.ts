import type { ReportReason } from '../schemas/report-api-key.js';
import type { KeyOwner } from './key-opens.js';
import { type Queryable, query } from './query.js';

/** The engine's report of a key its exchange refused, as the key's history records it. */
export interface ReportAttempt {
  readonly owner: KeyOwner;
  readonly exchangeId: number;
  /** The version the engine opened and the exchange refused: the report is recorded only while it is current. */
  readonly keyVersion: number;
  readonly reason: ReportReason;
  /** The function's name and its Lambda request id, as an open's event records them. */
  readonly actorId: string;
  readonly requestId: string;
}

export interface ReportedKey {
  readonly keyNo: number;
  readonly userNo: number;
  readonly subject: string | null;
  /** The key's current version, whether or not it is the one reported. */
  readonly keyVersion: number;
  /** The report's number in the key's history; undefined when the version reported is not current (nothing written). */
  readonly eventNo: string | undefined;
}

/**
 * Appends `reported` to the key's history, in one statement, only while the reported version is
 * the key's current one. FOR SHARE makes a replacement in flight finish first, so a report is never
 * recorded against the key that replaced the one refused. Undefined: no such key, and no event.
 */
export async function recordReport(db: Queryable, attempt: ReportAttempt): Promise<ReportedKey | undefined> {
  const { rows } = await query<{ key_no: number; user_no: number; auth_subject: string | null; key_version: number; key_event_no: string | null }>(
    db,
    `WITH key AS (
       SELECT k.key_no, k.user_no, k.exchange_id, k.key_version, u.auth_subject
         FROM tb_exchange_api_keys k JOIN tb_users u ON u.user_no = k.user_no
        WHERE k.exchange_id = $2 AND (u.user_no = $1 OR u.auth_subject = $3)
          FOR SHARE OF k
     ), report AS (
       INSERT INTO tb_exchange_api_key_events (user_no, exchange_id, event, actor_kind, actor_id, request_id, reason)
       SELECT user_no, exchange_id, 'reported', 'engine', $5, $6, $7 FROM key WHERE key_version = $4
       RETURNING key_event_no
     )
     SELECT key.key_no, key.user_no, key.auth_subject, key.key_version, report.key_event_no FROM key LEFT JOIN report ON true`,
    [attempt.owner.userNo ?? null, attempt.exchangeId, attempt.owner.subject ?? null, attempt.keyVersion, attempt.actorId, attempt.requestId, attempt.reason],
  );
  const [row] = rows;
  if (!row) return undefined;
  return { keyNo: row.key_no, userNo: row.user_no, subject: row.auth_subject, keyVersion: row.key_version, eventNo: row.key_event_no ?? undefined };
}
