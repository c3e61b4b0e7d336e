import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';

export interface RetryPolicy {
  /** Pause between a failed attempt and the next. */
  readonly delayMs: number;
  /** The longest one attempt can take: the pool's connectionTimeoutMillis. */
  readonly attemptMs: number;
  /** Time left for waiting, e.g. a Lambda's remaining time less what the work after connecting needs. */
  readonly remainingMs: () => number;
  readonly onRetry: (attempt: number, reason: string) => void;
}

// Duck-typed: socket errors may come from another realm than this module's Error.
const reasonOf = (error: unknown): string => {
  const { code, name } = (error ?? {}) as { code?: unknown; name?: unknown };
  return typeof code === 'string' ? code : typeof name === 'string' ? name : 'unknown';
};

/**
 * A connection from the pool, waiting out a database that is not reachable yet: on a stack's
 * first deploy the migration runs while RDS Proxy may still be registering its new target. It
 * never starts an attempt (or a pause and an attempt) that could end after the time left, so a
 * database that stays unreachable is reported by the caller, not cut off by its timeout.
 */
export async function connectWithRetry(pool: pg.Pool, policy: RetryPolicy): Promise<pg.PoolClient> {
  const started = Date.now();
  let last: { error: unknown; reason: string } | undefined;
  for (let attempt = 1; ; attempt += 1) {
    const needed = (attempt === 1 ? 0 : policy.delayMs) + policy.attemptMs;
    if (policy.remainingMs() < needed) {
      const waited = Math.round((Date.now() - started) / 1000);
      throw new Error(
        `the database was not reachable within the time allowed: ${attempt - 1} attempt(s) in ${waited} s, the last failing with ${last?.reason ?? 'no attempt'}; ` +
          'gave up before the function times out (on a first deploy, check that the RDS Proxy target is available, then deploy again)',
        { cause: last?.error },
      );
    }
    if (attempt > 1) await sleep(policy.delayMs);
    try {
      return await pool.connect();
    } catch (error) {
      last = { error, reason: reasonOf(error) };
      policy.onRetry(attempt, last.reason);
    }
  }
}
