import { setTimeout as sleep } from 'node:timers/promises';
import { EnvelopeError, type EnvelopePlace, newSealing, SEALED_FIELDS, type SealedField, seal } from '../crypto/envelope.js';
import { type RingFreshness, retireAllowedAt } from '../crypto/freshness.js';
import { type KeyRing, KeyRingError, kidForMessage, ringCannotSeal } from '../crypto/key-ring.js';
import type { KeyRingSource } from '../crypto/key-ring-source.js';
import { type EnvelopeOpener, reloadingOpener } from '../crypto/reloading-opener.js';
import { newKid, type RingDocument } from '../crypto/ring-document.js';
import type { RingStore } from '../crypto/ring-store.js';
import { API_KEYS_TABLE } from '../db/tables.js';
import type { KeyChecker } from '../exchanges/checker.js';
import { maskPrivateKey, maskPublicKey } from '../masking.js';
import { MAX_LISTED_FAILURES, type ReencryptReport, type RetireReport, type RotateReport, type RowFailure, type VerifyReport } from './reports.js';
import {
  countByKid,
  countNeedingReencryption,
  countRowsNeedingKid,
  countRowsWithoutMasks,
  inTransaction,
  lockRowsNeedingReencryption,
  type MaintenancePool,
  type RewrittenRow,
  type StoredRow,
  selectRowsAfter,
  updateRewrittenRows,
} from './rows.js';

export interface MaintenanceDeps {
  readonly db: MaintenancePool;
  /** Where the ring lives: read afresh by rotate and retire, written by them. */
  readonly store: RingStore;
  /** The ring to open and seal with; reloaded at the start of every command. */
  readonly keyRingSource: KeyRingSource;
  /** The freshness window of the containers that seal (KEY_RING_MAX_AGE_S): retire waits it out after a rotation. */
  readonly freshness: RingFreshness;
  /** Asks a key's exchange about the key: `check` (with checks off, every key is unchecked). */
  readonly checker: KeyChecker;
}

const placeOf = (row: Omit<StoredRow, 'public_key_masked' | 'private_key_masked'>, field: SealedField): EnvelopePlace => ({
  table: API_KEYS_TABLE,
  userNo: row.user_no,
  exchangeId: row.exchange_id,
  field,
  sealing: row.sealing,
  // A passphrase was never sealed in version 1, so adoption recorded none.
  ...(field === 'passphrase' ? {} : { v1Binding: { keyNo: row.key_no, digest: row[`${field}_v1_digest`] } }),
});

interface OpenedRow {
  public_key: string;
  private_key: string;
  passphrase: string | undefined;
}

/** Collects failures, listing at most MAX_LISTED_FAILURES of them. */
export class Failures {
  readonly listed: RowFailure[] = [];
  readonly keyNos = new Set<number>();
  count = 0;
  add(failure: RowFailure): void {
    this.count += 1;
    this.keyNos.add(failure.key_no);
    if (this.listed.length < MAX_LISTED_FAILURES) this.listed.push(failure);
  }
}

/** Opens every sealed field of a row (a passphrase only where there is one), or records why a field would not open and returns undefined. */
export async function openRow(
  open: EnvelopeOpener,
  row: Omit<StoredRow, 'public_key_masked' | 'private_key_masked'>,
  failures: Failures,
): Promise<OpenedRow | undefined> {
  const opened: Partial<Record<SealedField, string>> = {};
  let failed = false;
  for (const field of SEALED_FIELDS) {
    if (field === 'passphrase' && row.passphrase === null) continue;
    try {
      opened[field] = await open(row[field], placeOf(row, field));
    } catch (error) {
      if (!(error instanceof EnvelopeError)) throw error;
      failures.add({ key_no: row.key_no, field, reason: error.reason });
      failed = true;
    }
  }
  if (failed || opened.public_key === undefined || opened.private_key === undefined) return undefined;
  return { public_key: opened.public_key, private_key: opened.private_key, passphrase: opened.passphrase };
}

// ---------------------------------------------------------------- rotate

/** The kid a ring seals under, or Unavailable (a 503 to a request, a failed report to a command) for a bare short seed key. */
const sealingKid = (ring: KeyRing): string => {
  if (ring.primaryKid === undefined) throw ringCannotSeal();
  return ring.primaryKid;
};

/**
 * Adds a new 256-bit key as primary, keeping every old key and the v1 role, and stamps the ring
 * with the time (retire waits out the freshness window from it). The new ring is built (every
 * entry decoded and unwrapped, each checked for its role) before it is written, so a ring that
 * cannot load is never stored.
 */
export async function rotate(deps: Pick<MaintenanceDeps, 'store'>, now: Date = new Date()): Promise<RotateReport> {
  const stored = await deps.store.read();
  const kid = newKid(now);
  if (Object.hasOwn(stored.doc.keys, kid)) throw new KeyRingError(`the new kid ${kid} is already in the ring; nothing was written, run rotate again`);
  const entry = await deps.store.generate(kid, stored.doc);
  const doc: RingDocument = {
    primary: kid,
    ...(stored.doc.v1 === undefined ? {} : { v1: stored.doc.v1 }),
    keys: { ...stored.doc.keys, [kid]: entry },
    rotated_at: now.toISOString(),
  };
  const ring = await deps.store.build(doc);
  const written = await deps.store.write(doc, stored);
  return { command: 'rotate', ok: true, previousPrimary: stored.doc.primary, primary: kid, v1: doc.v1 ?? null, kids: ring.kids, written };
}

// ---------------------------------------------------------------- reencrypt

export type ReencryptProgress =
  | { readonly type: 'batch-locked'; readonly pass: number; readonly batch: number; readonly rows: number }
  | { readonly type: 'batch-committed'; readonly pass: number; readonly batch: number; readonly rewritten: number; readonly failed: number }
  | { readonly type: 'pass-done'; readonly pass: number; readonly remaining: number };

export interface ReencryptOptions {
  /** Rows per transaction. */
  readonly batchSize?: number;
  /** Passes over the table; a later pass picks up rows that live writes held during an earlier one. */
  readonly maxPasses?: number;
  readonly passDelayMs?: number;
  /** Checked before each batch: true stops cleanly (a Lambda near its timeout); the next run resumes. */
  readonly shouldStop?: () => boolean;
  readonly onProgress?: (progress: ReencryptProgress) => void | Promise<void>;
  /** The Lambda request id the run is part of, recorded with each `reencrypted` event. */
  readonly requestId?: string;
}

export const DEFAULT_BATCH_SIZE = 100;

/**
 * Rewrites every row not under the primary (version-1 rows become version 2 and get their masks)
 * in batches, each its own transaction over rows locked FOR UPDATE SKIP LOCKED. Progress lives in
 * the rows themselves, so a run that dies anywhere is resumed by running it again; a batch that
 * dies is rolled back whole. A row that will not open is left as it is and reported; verify
 * reports it too, and retire keeps its key.
 */
export async function reencrypt(deps: MaintenanceDeps, options: ReencryptOptions = {}): Promise<ReencryptReport> {
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  const maxPasses = options.maxPasses ?? 5;
  const open = reloadingOpener(deps.keyRingSource);
  const failures = new Failures();
  let primary = sealingKid(await deps.keyRingSource.reload());
  const before = await countByKid(deps.db);

  let rewritten = 0;
  let batches = 0;
  let passes = 0;
  let remaining = 0;
  let stoppedEarly = false;

  passing: while (passes < maxPasses) {
    passes += 1;
    let afterKeyNo = 0;
    for (;;) {
      if (options.shouldStop?.()) {
        stoppedEarly = true;
        break passing;
      }
      // The opener may have reloaded the ring (a rotation since we started): seal under its primary from now on.
      const sealing = await deps.keyRingSource.current();
      primary = sealingKid(sealing);
      const sealingPrimary = primary;
      const batch = batches + 1;
      const pass = passes;
      const outcome = await inTransaction(deps.db, async (client) => {
        const rows = await lockRowsNeedingReencryption(client, sealingPrimary, afterKeyNo, batchSize, [...failures.keyNos]);
        if (rows.length === 0) return undefined;
        await options.onProgress?.({ type: 'batch-locked', pass, batch, rows: rows.length });
        const failedBefore = failures.count;
        const updates: RewrittenRow[] = [];
        for (const row of rows) {
          const plain = await openRow(open, row, failures);
          if (!plain) continue;
          const place = { table: API_KEYS_TABLE, userNo: row.user_no, exchangeId: row.exchange_id, sealing: newSealing() } as const;
          updates.push({
            keyNo: row.key_no,
            sealing: place.sealing,
            publicKey: seal(plain.public_key, sealing, { ...place, field: 'public_key' }),
            privateKey: seal(plain.private_key, sealing, { ...place, field: 'private_key' }),
            passphrase: plain.passphrase === undefined ? null : seal(plain.passphrase, sealing, { ...place, field: 'passphrase' }),
            // Recomputed, not kept: a mask stored under an older, looser rule (8 of a 12-character
            // public key) is brought to today's by the next rotation.
            publicKeyMasked: maskPublicKey(plain.public_key),
            privateKeyMasked: maskPrivateKey(plain.private_key),
          });
        }
        const updated = await updateRewrittenRows(client, updates, { command: 'reencrypt', requestId: options.requestId });
        return { lastKeyNo: rows[rows.length - 1]?.key_no ?? afterKeyNo, updated, failed: failures.count - failedBefore };
      });
      if (!outcome) break;
      batches = batch;
      rewritten += outcome.updated;
      afterKeyNo = outcome.lastKeyNo;
      await options.onProgress?.({ type: 'batch-committed', pass, batch, rewritten: outcome.updated, failed: outcome.failed });
    }
    remaining = await countNeedingReencryption(deps.db, primary, [...failures.keyNos]);
    await options.onProgress?.({ type: 'pass-done', pass: passes, remaining });
    if (remaining === 0) break;
    if (passes < maxPasses) await sleep(options.passDelayMs ?? 250);
  }

  const after = await countByKid(deps.db);
  const complete = !stoppedEarly && remaining === 0;
  return {
    command: 'reencrypt',
    ok: complete && failures.count === 0,
    complete,
    primary,
    before,
    after,
    rewritten,
    batches,
    passes,
    remaining: stoppedEarly ? await countNeedingReencryption(deps.db, primary, [...failures.keyNos]) : remaining,
    stoppedEarly,
    failureCount: failures.count,
    failures: failures.listed,
  };
}

// ---------------------------------------------------------------- verify

/**
 * Opens both fields of every row with the row's own place and sealing as associated data, and
 * reports by key_no every field that does not open: altered, moved to another row or column,
 * written back from an earlier sealing (`restored`, or `unreadable` for an earlier version-3
 * envelope), malformed, or under a kid the ring does not hold.
 */
export async function verify(deps: Pick<MaintenanceDeps, 'db' | 'keyRingSource'>, options: { batchSize?: number } = {}): Promise<VerifyReport> {
  const batchSize = options.batchSize ?? 500;
  await deps.keyRingSource.reload();
  const open = reloadingOpener(deps.keyRingSource);
  const failures = new Failures();
  const byKid = await countByKid(deps.db);
  let rows = 0;
  let afterKeyNo = 0;
  for (;;) {
    const page = await selectRowsAfter(deps.db, afterKeyNo, batchSize);
    if (page.length === 0) break;
    for (const row of page) await openRow(open, row, failures);
    rows += page.length;
    afterKeyNo = page[page.length - 1]?.key_no ?? afterKeyNo;
  }
  return {
    command: 'verify',
    ok: failures.count === 0,
    rows,
    byKid,
    withoutMasks: await countRowsWithoutMasks(deps.db),
    failureCount: failures.count,
    failures: failures.listed,
  };
}

// ---------------------------------------------------------------- retire

/**
 * Removes `kid` from the ring, only when no container can still be sealing under it and no row
 * still needs it: the last rotation is older than the freshness window plus its grace and a margin,
 * no version-2 field is under the key, and, if it is the ring's v1 key, no version-1 field is left.
 * The primary is never retired. A ring without `rotated_at` was last rotated before rotations were
 * stamped, that is before the containers now running started, so no window applies to it.
 */
export async function retire(deps: Pick<MaintenanceDeps, 'db' | 'store' | 'freshness'>, kid: string, now: Date = new Date()): Promise<RetireReport> {
  const stored = await deps.store.read();
  const { doc } = stored;
  const kids = Object.keys(doc.keys);
  // A key typed where the kid belongs would otherwise be logged and reported as it was typed.
  const shown = kidForMessage(kid);
  const refuse = (refused: string, rowsNeedingKey = 0): RetireReport => ({
    command: 'retire',
    ok: false,
    kid: shown,
    rowsNeedingKey,
    refused,
    kids,
    written: null,
  });
  // Own properties only: `constructor` or `hasOwnProperty` must not find Object.prototype's.
  if (!Object.hasOwn(doc.keys, kid)) return refuse(`the ring has no key ${shown}`);
  if (kid === doc.primary) return refuse(`${shown} is the primary key; rotate to a new primary and reencrypt first`);
  if (doc.rotated_at !== undefined) {
    const allowedAt = retireAllowedAt(new Date(doc.rotated_at), deps.freshness);
    if (now < allowedAt) {
      return refuse(
        `the ring was rotated at ${doc.rotated_at}; containers may seal under the previous primary until they re-check the ring, so retire is allowed from ${allowedAt.toISOString()} (run reencrypt again before it)`,
      );
    }
  }

  const readsVersion1 = doc.v1 === kid;
  const rowsNeedingKey = await countRowsNeedingKid(deps.db, kid, readsVersion1);
  if (rowsNeedingKey > 0) {
    return refuse(
      `${rowsNeedingKey} row(s) still need key ${shown}${readsVersion1 ? ' (it reads version-1 envelopes)' : ''}; run reencrypt first`,
      rowsNeedingKey,
    );
  }

  const { [kid]: _retired, ...keys } = doc.keys;
  const next: RingDocument = {
    primary: doc.primary,
    ...(doc.v1 === undefined || readsVersion1 ? {} : { v1: doc.v1 }),
    keys,
    ...(doc.rotated_at === undefined ? {} : { rotated_at: doc.rotated_at }),
  };
  const ring = await deps.store.build(next);
  const written = await deps.store.write(next, stored);
  return { command: 'retire', ok: true, kid, rowsNeedingKey: 0, refused: null, kids: ring.kids, written };
}
