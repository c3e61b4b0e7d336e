import { reloadingOpener } from '../crypto/reloading-opener.js';
import { type KeyCheckWrite, type KeyToCheck, recheck, recordChecks, selectActiveKeysToCheck } from '../db/key-checks.js';
import { expiresSoon } from '../exchanges/decision.js';
import { Failures, type MaintenanceDeps, openRow } from './commands.js';
import type { CheckCounts, CheckReport } from './reports.js';

export interface CheckOptions {
  /** Keys per batch: read in one statement, asked about, their checks written in one more. */
  readonly batchSize?: number;
  /** Only the keys at this exchange. */
  readonly exchangeId?: number;
  /** Resume after this key_no: the `next` of a run that stopped early. */
  readonly after?: number;
  /** Checked before each batch: true stops cleanly (a Lambda near its timeout); `next` says where to resume. */
  readonly shouldStop?: () => boolean;
  /** The Lambda request id the run is part of, recorded with each event. */
  readonly requestId?: string;
  readonly onBatch?: (batch: { readonly batch: number; readonly keys: number; readonly next: number }) => void | Promise<void>;
}

export const DEFAULT_CHECK_BATCH_SIZE = 50;
/** Exchanges asked at once within a batch: enough to hide their round trips, few enough to stay under their rate limits. */
const CONCURRENT_ASKS = 8;

/**
 * Asks every active key's exchange about it again (key_no order, at one exchange when named), a
 * batch at a time: no transaction is open while the exchanges answer, memory holds one batch, and
 * the report holds counts only. A key now rejected or able to withdraw or transfer is paused with
 * `check_failed` (actor `maintenance`); one expiring within 14 days is counted as flagged; an
 * exchange that does not answer changes the status only. A key replaced meanwhile keeps its own
 * check (`changed`). Keys that do not open are reported as verify reports them, and left as they are.
 */
export async function checkKeys(deps: Pick<MaintenanceDeps, 'db' | 'keyRingSource' | 'checker'>, options: CheckOptions = {}): Promise<CheckReport> {
  const batchSize = options.batchSize ?? DEFAULT_CHECK_BATCH_SIZE;
  await deps.keyRingSource.reload();
  const open = reloadingOpener(deps.keyRingSource);
  const failures = new Failures();
  const counts: CheckCounts = { keys: 0, passed: 0, paused: 0, expiring: 0, unreachable: 0, unchecked: 0, changed: 0 };
  let after = options.after ?? 0;
  let batches = 0;
  let stoppedEarly = false;
  for (;;) {
    if (options.shouldStop?.()) {
      stoppedEarly = true;
      break;
    }
    const keys = await selectActiveKeysToCheck(deps.db, after, batchSize, options.exchangeId);
    if (keys.length === 0) break;
    const writes = (await inParallel(keys, (key) => checkOne(deps, open, key, failures, counts))).filter((write) => write !== undefined);
    const written = new Set(
      await recordChecks(
        deps.db,
        writes.map(({ write }) => write),
        { kind: 'maintenance', id: 'check', requestId: options.requestId },
      ),
    );
    for (const { write, expiring } of writes) {
      if (!written.has(write.keyNo)) counts.changed += 1;
      else if (write.check.status === 'failed') counts.paused += 1;
      else if (write.check.status === 'unreachable') counts.unreachable += 1;
      else {
        counts.passed += 1;
        if (expiring) counts.expiring += 1;
      }
    }
    counts.keys += keys.length;
    batches += 1;
    after = keys[keys.length - 1]?.key_no ?? after;
    await options.onBatch?.({ batch: batches, keys: keys.length, next: after });
  }
  return {
    command: 'check',
    ok: !stoppedEarly && failures.count === 0,
    complete: !stoppedEarly,
    exchangeId: options.exchangeId ?? null,
    next: stoppedEarly ? after : null,
    batches,
    ...counts,
    failureCount: failures.count,
    failures: failures.listed,
  };
}

type Opener = ReturnType<typeof reloadingOpener>;

/** One key asked about; undefined when it is not (no adapter, checks off: `unchecked`) or does not open (a failure). */
async function checkOne(
  deps: Pick<MaintenanceDeps, 'checker'>,
  open: Opener,
  key: KeyToCheck,
  failures: Failures,
  counts: CheckCounts,
): Promise<{ write: KeyCheckWrite; expiring: boolean } | undefined> {
  if (!deps.checker.asks(key.exchange_kind)) {
    counts.unchecked += 1;
    return undefined;
  }
  const plain = await openRow(open, key, failures);
  if (!plain) return undefined;
  const check = await recheck(deps.checker, key.exchange_kind, {
    public_key: plain.public_key,
    private_key: plain.private_key,
    ...(plain.passphrase === undefined ? {} : { passphrase: plain.passphrase }),
  });
  if (!check) {
    counts.unchecked += 1;
    return undefined;
  }
  return { write: { keyNo: key.key_no, keyVersion: key.key_version, check }, expiring: check.status === 'passed' && expiresSoon(check.expiresAt, new Date()) };
}

/** `work` over every item, at most CONCURRENT_ASKS at a time, results in the items' order. */
async function inParallel<T, R>(items: readonly T[], work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next;
      next += 1;
      results[index] = await work(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENT_ASKS, items.length) }, worker));
  return results;
}
