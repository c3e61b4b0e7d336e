import * as z from 'zod/mini';
import type { CheckStatus } from '../exchanges/decision.js';
import { exactlyOneOwner, keyOwner } from './open-api-key.js';
import { positiveId } from './text.js';

/**
 * What the exchange said of the key when it refused it: the key itself was rejected (revoked,
 * expired, mistyped), it lacks a permission the engine used, or the engine's address is not among
 * those the key is bound to. The history's `reason` column takes exactly these.
 */
export const reportReason = z.enum(['exchange_rejected', 'permission_denied', 'ip_not_allowed']);
export type ReportReason = z.infer<typeof reportReason>;

/** The report-api-key function's event (docs/engine.md): nothing else is accepted. */
export const reportApiKeyEvent = z.strictObject({ ...keyOwner, exchange_id: positiveId, key_version: positiveId, reason: reportReason }).check(exactlyOneOwner);
export type ReportApiKeyEvent = z.infer<typeof reportApiKeyEvent>;

/**
 * Why a report was not recorded. `not_found`: no key for that user and exchange; `stale`: the key
 * was replaced since the engine opened the version it reports (open it again); `invalid_request`:
 * the event is not the contract's; `unavailable`: the database cannot be had now, retry later.
 */
export const reportRefusal = z.enum(['not_found', 'stale', 'invalid_request', 'unavailable']);
export type ReportRefusal = z.infer<typeof reportRefusal>;

/**
 * The check the report had the vault make at the key's exchange, as the key's history records it:
 * `failed` paused the key (the engine's next open is refused `check_failed`), `passed` left it as
 * it was, `unreachable` (no answer) changed only its status.
 */
export const reportCheck = z.strictObject({
  status: z.enum(['passed', 'failed', 'unreachable'] as const satisfies readonly CheckStatus[]),
  /** Why it failed (`rejected`, `forbidden_permission`, ...) or could not be made (`timeout`, ...); null when it passed. */
  reason: z.nullable(z.string()),
  /** The check's number in the key's history (`checked` or `check_failed`). */
  event_id: z.number().check(z.int(), z.minimum(1)),
});
export type ReportCheck = z.infer<typeof reportCheck>;

export const recordedReport = z.strictObject({
  ok: z.literal(true),
  /** The owner's identity-provider subject; null for a user adopted from the seed who has never signed in. */
  subject: z.nullable(z.string()),
  user_no: positiveId,
  exchange_id: positiveId,
  key_version: positiveId,
  reason: reportReason,
  /** The report's number in the key's history, as the owner's history shows it. */
  event_id: z.number().check(z.int(), z.minimum(1)),
  /**
   * The check at the key's exchange that followed the report; null when none was made: checks off,
   * an exchange without a kind or an adapter, or a key that changed since, does not open, or whose
   * key ring could not be had (the report is recorded all the same).
   */
  check: z.nullable(reportCheck),
});

export const refusedReport = z.strictObject({ ok: z.literal(false), error: reportRefusal, detail: z.string() });
export type RefusedReport = z.infer<typeof refusedReport>;

export const reportApiKeyResult = z.discriminatedUnion('ok', [recordedReport, refusedReport]);
export type ReportApiKeyResult = z.infer<typeof reportApiKeyResult>;
