import * as z from 'zod/mini';
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
});

export const refusedReport = z.strictObject({ ok: z.literal(false), error: reportRefusal, detail: z.string() });
export type RefusedReport = z.infer<typeof refusedReport>;

export const reportApiKeyResult = z.discriminatedUnion('ok', [recordedReport, refusedReport]);
export type ReportApiKeyResult = z.infer<typeof reportApiKeyResult>;
