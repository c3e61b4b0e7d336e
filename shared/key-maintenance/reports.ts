import type { EnvelopeFailure, SealedField } from '../crypto/envelope.js';
import type { KidCounts } from './rows.js';

/** A field that did not open, by row: identifiers and a reason only, never a value. */
export interface RowFailure {
  readonly key_no: number;
  readonly field: SealedField;
  readonly reason: EnvelopeFailure;
}

/** At most this many failures are listed; `failureCount` always has the total. */
export const MAX_LISTED_FAILURES = 1000;

export interface RotateReport {
  readonly command: 'rotate';
  readonly ok: true;
  readonly previousPrimary: string;
  readonly primary: string;
  readonly v1: string | null;
  readonly kids: readonly string[];
  /** Where the new ring went (never its value). */
  readonly written: string;
}

export interface ReencryptReport {
  readonly command: 'reencrypt';
  /** Every row is under the primary with its masks, apart from the failures. */
  readonly ok: boolean;
  /** No row is left that this run could have rewritten. false: run it again (it resumes). */
  readonly complete: boolean;
  readonly primary: string;
  readonly before: KidCounts;
  readonly after: KidCounts;
  readonly rewritten: number;
  readonly batches: number;
  readonly passes: number;
  /** Rows still needing work, other than failures: held by live writes, or written meanwhile under an older key. */
  readonly remaining: number;
  readonly stoppedEarly: boolean;
  readonly failureCount: number;
  readonly failures: readonly RowFailure[];
}

export interface VerifyReport {
  readonly command: 'verify';
  readonly ok: boolean;
  readonly rows: number;
  readonly byKid: KidCounts;
  /** Rows listed as pending_upgrade until reencrypt computes their masks. */
  readonly withoutMasks: number;
  readonly failureCount: number;
  readonly failures: readonly RowFailure[];
}

export interface RetireReport {
  readonly command: 'retire';
  readonly ok: boolean;
  readonly kid: string;
  /** Rows with a field only this key opens. */
  readonly rowsNeedingKey: number;
  /** Why nothing was written, when ok is false. */
  readonly refused: string | null;
  readonly kids: readonly string[];
  readonly written: string | null;
}

/** What `check` found, by key. */
export interface CheckCounts {
  /** Active keys read. */
  keys: number;
  /** Passed (flagged ones included). */
  passed: number;
  /** Failed and paused: rejected, able to withdraw or transfer, or not IP-bound where that is required. */
  paused: number;
  /** Passed, and expiring within 14 days of the check. */
  expiring: number;
  /** The exchange did not answer: the status says so, nothing else changed. */
  unreachable: number;
  /** Not asked: checks off, or the exchange has no kind or adapter. */
  unchecked: number;
  /** Replaced, re-sealed or deleted while being checked: left with its own check. */
  changed: number;
}

export interface CheckReport extends Readonly<CheckCounts> {
  readonly command: 'check';
  /** Every active key was read and opened. */
  readonly ok: boolean;
  /** false: the run stopped early; run it again with `after: next` to go on. */
  readonly complete: boolean;
  readonly exchangeId: number | null;
  /** The key_no to resume after, when the run stopped early; else null. */
  readonly next: number | null;
  readonly batches: number;
  /** Keys whose envelopes would not open (verify reports them too); they are left as they are. */
  readonly failureCount: number;
  readonly failures: readonly RowFailure[];
}

export type MaintenanceReport = RotateReport | ReencryptReport | VerifyReport | RetireReport | CheckReport;

/** What the Lambda returns for an event it cannot run, or a run that was refused before it started. */
export interface MaintenanceFailure {
  readonly command: string | null;
  readonly ok: false;
  readonly error: string;
}
