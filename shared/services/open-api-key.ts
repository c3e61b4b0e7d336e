import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { EnvelopeError } from '../crypto/envelope.js';
import type { KeyRingSource } from '../crypto/key-ring-source.js';
import type { EnvelopeOpener } from '../crypto/reloading-opener.js';
import { type BatchOpenAttempt, type KeyForOpen, type OpenAttempt, readKeyForOpen, readKeysForOpen, recordOpen, recordOpens } from '../db/key-opens.js';
import type { Queryable } from '../db/query.js';
import { API_KEYS_TABLE } from '../db/tables.js';
import { describeForLog } from '../describe-for-log.js';
import { UNAVAILABLE_DETAIL, Unavailable } from '../errors.js';
import { logger } from '../logger.js';
import { OPEN_BATCH_SIZE_METRIC, OPEN_REFUSED_METRIC, OPENED_METRIC } from '../metrics.js';
import { describeIssues } from '../schemas/issues.js';
import {
  type OpenApiKeyResult,
  type OpenApiKeysResult,
  type OpenRefusal,
  openApiKeyEvent,
  openApiKeysEvent,
  type RefusedOpen,
} from '../schemas/open-api-key.js';
import { type Invocation, ownerOf } from './engine-calls.js';

export interface OpenDependencies {
  readonly db: Queryable;
  readonly keyRingSource: KeyRingSource;
  /** Kept for the container's life, so an envelope naming an unknown kid reloads the ring at most once per freshness window. */
  readonly open: EnvelopeOpener;
  readonly metrics: Pick<Metrics, 'addMetric' | 'singleMetric'>;
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
  countOutcome(deps.metrics, result);
  return result;
}

/** One open's metrics and log line (no key material in either); `fields` say which key of a batch it was. */
function countOutcome(metrics: OpenDependencies['metrics'], result: OpenApiKeyResult, fields: Record<string, unknown> = {}): void {
  metrics.addMetric(OPENED_METRIC, MetricUnit.Count, result.ok ? 1 : 0);
  if (result.ok) {
    logger.info('api key opened', { ...fields, user_no: result.user_no, exchange_id: result.exchange_id });
  } else {
    const refusal = metrics.singleMetric();
    refusal.addDimension('reason', result.error);
    refusal.addMetric(OPEN_REFUSED_METRIC, MetricUnit.Count, 1);
    logger.warn('api key open refused', { ...fields, error: result.error, detail: result.detail });
  }
}

/** How often a key that changed between its read and its event is read again before the engine is told to retry. */
const READS_PER_OPEN = 3;

const NOT_FOUND_DETAIL = 'No API key is registered for this user and exchange_id.';
const INACTIVE_DETAIL = 'The key is deactivated by its owner; it is not opened until the owner reactivates it.';
const KEPT_CHANGING_DETAIL = 'The key kept changing while it was being opened; retry.';
const INTEGRITY_DETAIL =
  'The stored key does not open: it was altered, or an earlier envelope was written back. Retrying will not help; `verify` names the row for the vault operators.';

const CHECK_FAILED_DETAIL =
  "The key's last check at its exchange failed (the exchange rejected it, or it may withdraw or transfer): it is not opened until a check passes. Its owner sees why in the key's check and history.";

/** The refusal of a key read as one not to open (its `open_refused` is written already), or undefined for one to open. */
const refusalOf = (key: KeyForOpen): RefusedOpen | undefined =>
  key.checkFailed ? refused('check_failed', CHECK_FAILED_DETAIL) : key.isActive ? undefined : refused('inactive', INACTIVE_DETAIL);

async function attemptOpen(deps: OpenDependencies, event: unknown, invocation: Invocation): Promise<OpenApiKeyResult> {
  const parsed = openApiKeyEvent.safeParse(event);
  if (!parsed.success) return refused('invalid_request', `invalid event: ${describeIssues(parsed.error, 'event')}`);
  const { exchange_id: exchangeId, purpose } = parsed.data;
  const owner = ownerOf(parsed.data);
  logger.appendKeys({ user_no: owner.userNo, exchange_id: exchangeId, purpose });
  const attempt: OpenAttempt = { owner, exchangeId, actorId: invocation.functionName, requestId: invocation.awsRequestId, purpose };
  try {
    // Before any statement: a ring that cannot be had refuses the open before any event is written.
    await deps.keyRingSource.current();
    for (let read = 0; read < READS_PER_OPEN; read += 1) {
      const key = await readKeyForOpen(deps.db, attempt);
      if (!key) return refused('not_found', NOT_FOUND_DETAIL);
      logger.appendKeys({ user_no: key.userNo });
      const refusal = refusalOf(key);
      if (refusal) {
        logger.appendKeys({ event_id: key.refusalEventNo });
        return refusal;
      }
      const opened = await openPair(deps.open, key, exchangeId);
      // The event first, and only for the key as it was read: no plaintext leaves without `opened` written for it.
      const eventNo = await recordOpen(deps.db, attempt, key, opened ? { event: 'opened' } : { event: 'open_refused', reason: 'integrity' });
      if (eventNo === undefined) continue;
      logger.appendKeys({ event_id: eventNo });
      if (!opened) return refused('integrity', INTEGRITY_DETAIL);
      return openedResult(key, exchangeId, opened);
    }
    return refused('unavailable', KEPT_CHANGING_DETAIL);
  } catch (error) {
    if (error instanceof Unavailable) {
      logger.warn('api key open unavailable', { dependency: error.dependency, reason: error.reason });
      return refused('unavailable', UNAVAILABLE_DETAIL[error.dependency]);
    }
    throw error;
  }
}

function openedResult(key: KeyForOpen, exchangeId: number, opened: OpenedHalves): OpenApiKeyResult {
  return {
    ok: true,
    subject: key.subject,
    user_no: key.userNo,
    exchange_id: exchangeId,
    exchange_kind: key.exchangeKind,
    ...opened,
    key_version: key.keyVersion,
    update_date: key.updateDate?.toISOString() ?? null,
  };
}

/** What an active key opens to: both halves, and its passphrase where it has one. */
type OpenedHalves = { public_key: string; private_key: string; passphrase?: string };

/**
 * Every half opened in the row and sealing it was read from (a passphrase only where the key has
 * one), or undefined when any does not open (the reason logged, never the data).
 */
export async function openPair(
  open: EnvelopeOpener,
  key: Pick<KeyForOpen, 'keyNo' | 'userNo' | 'publicKey' | 'privateKey' | 'passphrase' | 'sealing' | 'publicKeyV1Digest' | 'privateKeyV1Digest'>,
  exchangeId: number,
): Promise<OpenedHalves | undefined> {
  const place = { table: API_KEYS_TABLE, userNo: key.userNo, exchangeId, sealing: key.sealing } as const;
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

/**
 * Opens a batch of keys for the trading engine: each result what a single open of its key returns,
 * in the batch's order, each audited in its key's history under the batch's request id. The keys
 * are read in one statement and their events written in one more (again only for keys that changed
 * in between). A malformed batch, or a database or key ring that cannot be had, refuses the whole
 * call; only a bug throws.
 */
export async function openApiKeys(deps: OpenDependencies, event: unknown, invocation: Invocation): Promise<OpenApiKeysResult> {
  const parsed = openApiKeysEvent.safeParse(event);
  if (!parsed.success) return refused('invalid_request', `invalid event: ${describeIssues(parsed.error, 'event')}`);
  const attempt: BatchOpenAttempt = {
    keys: parsed.data.keys.map((key) => ({ owner: ownerOf(key), exchangeId: key.exchange_id })),
    actorId: invocation.functionName,
    requestId: invocation.awsRequestId,
    purpose: parsed.data.purpose,
  };
  logger.appendKeys({ purpose: attempt.purpose, batch_size: attempt.keys.length });
  deps.metrics.addMetric(OPEN_BATCH_SIZE_METRIC, MetricUnit.Count, attempt.keys.length);
  let results: OpenApiKeyResult[];
  try {
    await deps.keyRingSource.current();
    results = await openBatch(deps, attempt);
  } catch (error) {
    if (error instanceof Unavailable) {
      logger.warn('api key batch open unavailable', { dependency: error.dependency, reason: error.reason });
      return refused('unavailable', UNAVAILABLE_DETAIL[error.dependency]);
    }
    deps.metrics.addMetric(OPENED_METRIC, MetricUnit.Count, 0);
    logger.error('api key batch open failed', { error: describeForLog(error) });
    throw new Error('open-api-key failed; its log has the cause under this request id');
  }
  results.forEach((result, item) => {
    countOutcome(deps.metrics, result, { item });
  });
  return { ok: true, results };
}

/** Every key of the batch opened or refused; those that changed between read and event are read again, as a single open's are. */
async function openBatch(deps: OpenDependencies, attempt: BatchOpenAttempt): Promise<OpenApiKeyResult[]> {
  const results = new Map<number, OpenApiKeyResult>();
  let pending = attempt.keys.map((_, item) => item);
  for (let read = 0; read < READS_PER_OPEN && pending.length > 0; read += 1) {
    const asked = pending;
    const found = new Map((await readKeysForOpen(deps.db, { ...attempt, keys: asked.map((item) => attempt.keys[item]!) })).map((key) => [key.item, key]));
    const opens: { item: number; key: KeyForOpen; opened: Awaited<ReturnType<typeof openPair>> }[] = [];
    for (const [index, item] of asked.entries()) {
      const key = found.get(index);
      const refusal = key && refusalOf(key);
      if (!key) results.set(item, refused('not_found', NOT_FOUND_DETAIL));
      else if (refusal) results.set(item, refusal);
      else opens.push({ item, key, opened: await openPair(deps.open, key, attempt.keys[item]!.exchangeId) });
    }
    const written = new Set(
      opens.length === 0
        ? []
        : await recordOpens(
            deps.db,
            attempt,
            opens.map(({ key, opened }) => ({ key, outcome: opened ? { event: 'opened' } : { event: 'open_refused', reason: 'integrity' } })),
          ),
    );
    pending = [];
    for (const { item, key, opened } of opens) {
      if (!written.has(key.keyNo)) pending.push(item);
      else if (!opened) results.set(item, refused('integrity', INTEGRITY_DETAIL));
      else results.set(item, openedResult(key, attempt.keys[item]!.exchangeId, opened));
    }
  }
  return attempt.keys.map((_, item) => results.get(item) ?? refused('unavailable', KEPT_CHANGING_DETAIL));
}
