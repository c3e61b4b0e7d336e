import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { EnvelopeError } from '../crypto/envelope.js';
import type { KeyRingSource } from '../crypto/key-ring-source.js';
import type { EnvelopeOpener } from '../crypto/reloading-opener.js';
import { readKeyForOpen } from '../db/key-opens.js';
import type { Queryable } from '../db/query.js';
import { API_KEYS_TABLE } from '../db/tables.js';
import { describeForLog } from '../describe-for-log.js';
import { UNAVAILABLE_DETAIL, Unavailable } from '../errors.js';
import { logger } from '../logger.js';
import { OPEN_REFUSED_METRIC, OPENED_METRIC } from '../metrics.js';
import { describeIssues } from '../schemas/issues.js';
import { type OpenApiKeyResult, type OpenRefusal, openApiKeyEvent, type RefusedOpen } from '../schemas/open-api-key.js';

export interface OpenDependencies {
  readonly db: Queryable;
  readonly keyRingSource: KeyRingSource;
  /** Kept for the container's life, so an envelope naming an unknown kid reloads the ring at most once per freshness window. */
  readonly open: EnvelopeOpener;
  readonly metrics: Pick<Metrics, 'addMetric' | 'singleMetric'>;
}

/** The invocation, as the history records it: actor_id is the function's name, request_id Lambda's. */
export interface Invocation {
  readonly functionName: string;
  readonly awsRequestId: string;
}

const refused = (error: OpenRefusal, detail: string): RefusedOpen => ({ ok: false, error, detail });

/**
 * Opens one active key for the trading engine. Every outcome is a value: a bad event, a missing or
 * deactivated key, and a database or key ring that cannot be had are refusals; only a bug throws.
 * The plaintext lives in the returned object and nowhere else: not in a log line, a metric, a cache
 * or the database.
 */
export async function openApiKey(deps: OpenDependencies, event: unknown, invocation: Invocation): Promise<OpenApiKeyResult> {
  let result: OpenApiKeyResult;
  try {
    result = await attemptOpen(deps, event, invocation);
  } catch (error) {
    deps.metrics.addMetric(OPENED_METRIC, MetricUnit.Count, 0);
    logger.error('api key open failed', { error: describeForLog(error) });
    // The caller gets Lambda's error payload: a fixed message, never a database error's text.
    throw new Error('open-api-key failed; its log has the cause under this request id');
  }
  deps.metrics.addMetric(OPENED_METRIC, MetricUnit.Count, result.ok ? 1 : 0);
  if (result.ok) {
    logger.info('api key opened', { user_no: result.user_no, exchange_id: result.exchange_id });
  } else {
    const refusal = deps.metrics.singleMetric();
    refusal.addDimension('reason', result.error);
    refusal.addMetric(OPEN_REFUSED_METRIC, MetricUnit.Count, 1);
    logger.warn('api key open refused', { error: result.error, detail: result.detail });
  }
  return result;
}

async function attemptOpen(deps: OpenDependencies, event: unknown, invocation: Invocation): Promise<OpenApiKeyResult> {
  const parsed = openApiKeyEvent.safeParse(event);
  if (!parsed.success) return refused('invalid_request', `invalid event: ${describeIssues(parsed.error, 'event')}`);
  const { user_no: userNo, exchange_id: exchangeId, purpose } = parsed.data;
  logger.appendKeys({ user_no: userNo, exchange_id: exchangeId, purpose });
  try {
    // Before the statement: a ring that cannot be had refuses the open before any event says it happened.
    await deps.keyRingSource.current();
    const key = await readKeyForOpen(deps.db, { userNo, exchangeId, actorId: invocation.functionName, requestId: invocation.awsRequestId, purpose });
    if (!key) return refused('not_found', 'No API key is registered for this user_no and exchange_id.');
    logger.appendKeys({ event_id: key.eventId });
    if (!key.isActive) return refused('inactive', 'The key is deactivated by its owner; it is not opened until the owner reactivates it.');
    const place = { table: API_KEYS_TABLE, userNo, exchangeId } as const;
    return {
      ok: true,
      user_no: userNo,
      exchange_id: exchangeId,
      public_key: await deps.open(key.publicKey, { ...place, field: 'public_key', v1Binding: { keyNo: key.keyNo, digest: key.publicKeyV1Digest } }),
      private_key: await deps.open(key.privateKey, { ...place, field: 'private_key', v1Binding: { keyNo: key.keyNo, digest: key.privateKeyV1Digest } }),
      update_date: key.updateDate?.toISOString() ?? null,
    };
  } catch (error) {
    if (error instanceof Unavailable) {
      logger.warn('api key open unavailable', { dependency: error.dependency, reason: error.reason });
      return refused('unavailable', UNAVAILABLE_DETAIL[error.dependency]);
    }
    // A stored envelope that does not open is the vault's fault, not the engine's (`verify` lists such rows).
    if (error instanceof EnvelopeError) {
      logger.error('stored key does not open', { reason: error.reason });
      return refused('unavailable', 'The stored key does not open; retry later, and tell the vault operators if it persists.');
    }
    throw error;
  }
}
