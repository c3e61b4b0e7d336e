import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { recheck, recordEngineCheck, type StoredKeyRecheck, selectKeyToCheckByNo } from '../db/key-checks.js';
import { recordReport } from '../db/key-reports.js';
import type { Queryable } from '../db/query.js';
import { describeForLog } from '../describe-for-log.js';
import { UNAVAILABLE_DETAIL, Unavailable } from '../errors.js';
import { logger } from '../logger.js';
import { REPORTED_METRIC } from '../metrics.js';
import { describeIssues } from '../schemas/issues.js';
import { type RefusedReport, type ReportApiKeyResult, type ReportCheck, type ReportRefusal, reportApiKeyEvent } from '../schemas/report-api-key.js';
import { type Invocation, ownerOf } from './engine-calls.js';
import { openKeyToCheck } from './key-checks.js';

export interface ReportDependencies {
  readonly db: Queryable;
  /** Each report is its own metric, published at once: one per invocation, with its reason as a dimension. */
  readonly metrics: Pick<Metrics, 'singleMetric'>;
  /** Undefined with checks off: the report is only recorded, and the function holds no key ring. */
  readonly recheck?: StoredKeyRecheck;
}

const refused = (error: ReportRefusal, detail: string): RefusedReport => ({ ok: false, error, detail });

const NOT_FOUND_DETAIL = 'No API key is registered for this user and exchange_id.';
const staleDetail = (current: number): string =>
  `The key was replaced since that version: key_version is now ${current}. Nothing was recorded; open the key again, and report the new version if the exchange refuses it too.`;

/**
 * Records the engine's report that the exchange refused a key, in the key's history (actor
 * `engine`, the reason, the invocation's request id), then, where the key's exchange is checked,
 * asks the exchange about that version of the key and records the check as every re-check does (a
 * key that fails is paused). Every outcome is a value: a bad event, a
 * missing key, a version that is no longer current and a database that cannot be had are
 * refusals that record nothing; only a bug throws.
 */
export async function reportApiKey(deps: ReportDependencies, event: unknown, invocation: Invocation): Promise<ReportApiKeyResult> {
  const parsed = reportApiKeyEvent.safeParse(event);
  if (!parsed.success) return refused('invalid_request', `invalid event: ${describeIssues(parsed.error, 'event')}`);
  const { exchange_id: exchangeId, key_version: keyVersion, reason } = parsed.data;
  const owner = ownerOf(parsed.data);
  logger.appendKeys({ user_no: owner.userNo, exchange_id: exchangeId, key_version: keyVersion, reason });
  try {
    const key = await recordReport(deps.db, { owner, exchangeId, keyVersion, reason, actorId: invocation.functionName, requestId: invocation.awsRequestId });
    if (!key) return refused('not_found', NOT_FOUND_DETAIL);
    logger.appendKeys({ user_no: key.userNo });
    if (key.eventNo === undefined) {
      logger.warn('api key report stale', { current_key_version: key.keyVersion });
      return refused('stale', staleDetail(key.keyVersion));
    }
    logger.info('api key reported', { event_id: key.eventNo });
    const reported = deps.metrics.singleMetric();
    reported.addDimension('reason', reason);
    reported.addMetric(REPORTED_METRIC, MetricUnit.Count, 1);
    const check = deps.recheck ? await recheckReported(deps.recheck, deps.db, key.keyNo, keyVersion, invocation) : null;
    return {
      ok: true,
      subject: key.subject,
      user_no: key.userNo,
      exchange_id: exchangeId,
      key_version: keyVersion,
      reason,
      event_id: Number(key.eventNo),
      check,
    };
  } catch (error) {
    if (error instanceof Unavailable) {
      logger.warn('api key report unavailable', { dependency: error.dependency, reason: error.reason });
      return refused('unavailable', UNAVAILABLE_DETAIL[error.dependency]);
    }
    logger.error('api key report failed', { error: describeForLog(error) });
    // The caller gets Lambda's error payload: a fixed message, never a database error's text.
    throw new Error('report-api-key failed; its log has the cause under this request id');
  }
}

/**
 * The reported key asked about at its exchange and its check recorded (record_engine_check, actor
 * `engine`), only while it is the version reported and has the envelopes opened; null when no
 * check was made or written. A key ring or database that cannot be had for it leaves the report
 * recorded and answered: the check is then null, and the owner or key maintenance checks later.
 */
async function recheckReported(deps: StoredKeyRecheck, db: Queryable, keyNo: number, keyVersion: number, invocation: Invocation): Promise<ReportCheck | null> {
  try {
    const key = await selectKeyToCheckByNo(db, keyNo);
    if (!key || key.key_version !== keyVersion || key.sealing === null || !deps.checker.asks(key.exchange_kind)) return null;
    const credentials = await openKeyToCheck(deps.open, key);
    if (!credentials) return null;
    const check = await recheck(deps.checker, key.exchange_kind, credentials);
    if (!check) return null;
    const eventNo = await recordEngineCheck(db, { keyNo, sealing: key.sealing, check }, { id: invocation.functionName, requestId: invocation.awsRequestId });
    if (eventNo === undefined) {
      logger.warn('api key changed while it was rechecked');
      return null;
    }
    return { status: check.status, reason: check.reason, event_id: Number(eventNo) };
  } catch (error) {
    if (!(error instanceof Unavailable)) throw error;
    logger.warn('api key recheck unavailable', { dependency: error.dependency, reason: error.reason });
    return null;
  }
}
