import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { EnvelopeError } from '../crypto/envelope.js';
import type { KeyRingSource } from '../crypto/key-ring-source.js';
import type { EnvelopeOpener } from '../crypto/reloading-opener.js';
import { type KeyForOpen, type OpenAttempt, readKeyForOpen, recordOpen } from '../db/key-opens.js';
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

/** How often a key that changed between its read and its event is read again before the engine is told to retry. */
const READS_PER_OPEN = 3;

const INTEGRITY_DETAIL =
  'The stored key does not open: it was altered, or an earlier envelope was written back. Retrying will not help; `verify` names the row for the vault operators.';

async function attemptOpen(deps: OpenDependencies, event: unknown, invocation: Invocation): Promise<OpenApiKeyResult> {
  const parsed = openApiKeyEvent.safeParse(event);
  if (!parsed.success) return refused('invalid_request', `invalid event: ${describeIssues(parsed.error, 'event')}`);
  const { user_no: userNo, exchange_id: exchangeId, purpose } = parsed.data;
  logger.appendKeys({ user_no: userNo, exchange_id: exchangeId, purpose });
  const attempt = { userNo, exchangeId, actorId: invocation.functionName, requestId: invocation.awsRequestId, purpose };
  try {
    // Before any statement: a ring that cannot be had refuses the open before any event is written.
    await deps.keyRingSource.current();
    for (let read = 0; read < READS_PER_OPEN; read += 1) {
      const key = await readKeyForOpen(deps.db, attempt);
      if (!key) return refused('not_found', 'No API key is registered for this user_no and exchange_id.');
      if (!key.isActive) {
        logger.appendKeys({ event_id: key.refusalEventNo });
        return refused('inactive', 'The key is deactivated by its owner; it is not opened until the owner reactivates it.');
      }
      const opened = await openPair(deps.open, key, attempt);
      // The event first, and only for the key as it was read: no plaintext leaves without `opened` written for it.
      const eventNo = await recordOpen(deps.db, attempt, key, opened ? { event: 'opened' } : { event: 'open_refused', reason: 'integrity' });
      if (eventNo === undefined) continue;
      logger.appendKeys({ event_id: eventNo });
      if (!opened) return refused('integrity', INTEGRITY_DETAIL);
      return {
        ok: true,
        user_no: userNo,
        exchange_id: exchangeId,
        exchange_kind: key.exchangeKind,
        ...opened,
        key_version: key.keyVersion,
        update_date: key.updateDate?.toISOString() ?? null,
      };
    }
    return refused('unavailable', 'The key kept changing while it was being opened; retry.');
  } catch (error) {
    if (error instanceof Unavailable) {
      logger.warn('api key open unavailable', { dependency: error.dependency, reason: error.reason });
      return refused('unavailable', UNAVAILABLE_DETAIL[error.dependency]);
    }
    throw error;
  }
}

/**
 * Every half opened in the row and sealing it was read from (a passphrase only where the key has
 * one), or undefined when any does not open (the reason logged, never the data).
 */
async function openPair(
  open: EnvelopeOpener,
  key: KeyForOpen,
  attempt: OpenAttempt,
): Promise<{ public_key: string; private_key: string; passphrase?: string } | undefined> {
  const place = { table: API_KEYS_TABLE, userNo: attempt.userNo, exchangeId: attempt.exchangeId, sealing: key.sealing } as const;
  try {
    return {
      public_key: await open(key.publicKey, { ...place, field: 'public_key', v1Binding: { keyNo: key.keyNo, digest: key.publicKeyV1Digest } }),
      private_key: await open(key.privateKey, { ...place, field: 'private_key', v1Binding: { keyNo: key.keyNo, digest: key.privateKeyV1Digest } }),
      ...(key.passphrase === null ? {} : { passphrase: await open(key.passphrase, { ...place, field: 'passphrase' }) }),
    };
  } catch (error) {
    if (!(error instanceof EnvelopeError)) throw error;
    logger.error('stored key does not open', { reason: error.reason, key_no: key.keyNo });
    return undefined;
  }
}
