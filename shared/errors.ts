import type { CheckDecision } from './exchanges/decision.js';
import type { ExchangeKind } from './exchanges/kinds.js';
import type { ValidationIssue } from './schemas/errors.js';

/**
 * An expected failure carried as a value with its HTTP status. Services throw these; the one
 * error responder turns them into `{"detail": ...}` responses. `detail` is safe to show a caller.
 */
export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string | readonly ValidationIssue[],
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(typeof detail === 'string' ? detail : `${detail.length} validation issue(s)`);
    this.name = 'AppError';
  }
}

export const RETRY_AFTER_SECONDS = 5;

export const unauthorized = (detail = 'Not authenticated') => new AppError(401, detail, { 'www-authenticate': 'Bearer' });
export const forbidden = (detail: string) => new AppError(403, detail);
export const notFound = (detail: string) => new AppError(404, detail);
export const conflict = (detail: string) => new AppError(409, detail);
export const unprocessable = (issues: readonly ValidationIssue[]) => new AppError(422, issues);

/**
 * A failure that is an outcome, not a bug: its message is one line an operator can act on, and
 * never carries key material. Key maintenance reports these as `ok: false` (the Lambda) or one line
 * and exit 1 (the CLI; a ConfigError exits 2 there, as configuration), and throws anything else as
 * a bug; a new ring store's errors extend it.
 */
export class OperatorError extends Error {
  override readonly name: string = 'OperatorError';
}

/** What could not be had: each gets its own sentence for callers (UNAVAILABLE_DETAIL). */
export type Dependency = 'database' | 'key-ring' | 'sealing-key' | 'exchange';

/** What a caller is told when a dependency cannot be had (a 503, or the engine's `unavailable`); the reason stays in the log. */
export const UNAVAILABLE_DETAIL: Readonly<Record<Dependency, string>> = {
  database: 'The database is unavailable; retry shortly',
  'key-ring': 'The encryption keys are unavailable; retry shortly',
  'sealing-key': 'The encryption key ring cannot seal new keys: it needs a 32-byte primary key (an operator must run `rotate`)',
  exchange: "The key's exchange did not answer in time, so the key could not be checked and nothing was stored; retry shortly",
};

/**
 * A dependency cannot be had now; retrying later may help. Raised by the data and crypto layers,
 * which know no HTTP: a request gets a 503, the engine's open an `unavailable` refusal, a
 * maintenance command a failed report. `reason` is for logs and operators, never for callers.
 */
export class Unavailable extends OperatorError {
  override readonly name = 'Unavailable';

  constructor(
    readonly dependency: Dependency,
    readonly reason: string,
  ) {
    super(`${dependency}: ${reason}`);
  }
}

/**
 * The key's exchange answered, and the key may not be stored (or kept in use): rejected, able to
 * withdraw or transfer, or not bound to IP addresses where the deployment requires it. The HTTP
 * layer words it for the owner (a 422); the decision holds codes and names, never key material.
 */
export class KeyCheckFailed extends Error {
  override readonly name = 'KeyCheckFailed';

  constructor(
    readonly kind: ExchangeKind,
    readonly decision: Extract<CheckDecision, { status: 'failed' }>,
  ) {
    super(`key check failed: ${decision.reason}`);
  }
}

/** The token's subject has no user row, and the database adopted from the seed cannot make one for it. */
export class SubjectNotLinked extends Error {
  override readonly name = 'SubjectNotLinked';
}
