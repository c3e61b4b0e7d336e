import type { CheckStatus } from '../exchanges/decision.js';
import type { ExchangeKind } from '../exchanges/kinds.js';
import { type Queryable, query } from './query.js';

export interface ActiveKeyRow {
  key_no: number;
  auth_subject: string | null;
  user_no: number;
  exchange_id: number;
  exchange_kind: ExchangeKind | null;
  key_version: number;
  check_status: CheckStatus;
}

/** Active keys after `afterKeyNo` in key_no order, at most `limit`: one range scan of the active keys' index. */
export async function selectActiveKeys(db: Queryable, afterKeyNo: number, limit: number): Promise<ActiveKeyRow[]> {
  const { rows } = await query<ActiveKeyRow>(
    db,
    `SELECT k.key_no, u.auth_subject, k.user_no, k.exchange_id, e.kind AS exchange_kind, k.key_version, k.check_status
       FROM tb_exchange_api_keys k JOIN tb_users u ON u.user_no = k.user_no JOIN tb_exchanges e ON e.exchange_id = k.exchange_id
      WHERE k.is_active AND k.key_no > $1
      ORDER BY k.key_no
      LIMIT $2`,
    [afterKeyNo, limit],
  );
  return rows;
}

/** Where the changes feed stands: the last event read, by its transaction's id (text: an xid8 outgrows a JS number) and event_id. */
export interface ChangePosition {
  readonly writtenIn: string;
  readonly eventId: string;
}

export interface KeyChangeRow {
  written_in: string;
  event_id: string;
  auth_subject: string | null;
  user_no: number;
  exchange_id: number;
  event: string;
  key_version: number | null;
  at: Date;
}

/**
 * The history's changes after `after`, oldest first, at most `limit`, leaving out the engine's own
 * echoes (opens and reports: a report changes nothing of the key) and the checks that change
 * nothing for the engine (a failed check is a change, and so is one that passes after it,
 * `cleared`); only those
 * of transactions older than every one still running, so no event can later appear behind the
 * position returned (migration 012). One range scan of the changes' index.
 */
export async function selectKeyChanges(db: Queryable, after: ChangePosition, limit: number): Promise<KeyChangeRow[]> {
  const { rows } = await query<KeyChangeRow>(
    db,
    `SELECT e.written_in::text AS written_in, e.event_id::text AS event_id, u.auth_subject, e.user_no, e.exchange_id, e.event, k.key_version, e.at
       FROM tb_exchange_api_key_events e
       JOIN tb_users u ON u.user_no = e.user_no
       LEFT JOIN tb_exchange_api_keys k ON k.user_no = e.user_no AND k.exchange_id = e.exchange_id
      WHERE e.event NOT IN ('opened', 'open_refused', 'reported') AND (e.event <> 'checked' OR e.reason = 'cleared')
        AND (e.written_in, e.event_id) > ($1::xid8, $2::bigint)
        AND e.written_in < pg_snapshot_xmin(pg_current_snapshot())
      ORDER BY e.written_in, e.event_id
      LIMIT $3`,
    [after.writtenIn, after.eventId, limit],
  );
  return rows;
}
