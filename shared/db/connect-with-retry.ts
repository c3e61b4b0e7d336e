import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';

export interface RetryPolicy {
  readonly attempts: number;
  readonly delayMs: number;
  readonly onRetry: (attempt: number, reason: string) => void;
}

// Duck-typed: socket errors may come from another realm than this module's Error.
const reasonOf = (error: unknown): string => {
  const { code, name } = (error ?? {}) as { code?: unknown; name?: unknown };
  return typeof code === 'string' ? code : typeof name === 'string' ? name : 'unknown';
};

/**
 * A connection from the pool, waiting out a database that is not reachable yet: on a stack's
 * first deploy the migration runs while RDS Proxy may still be registering its new target.
 */
export async function connectWithRetry(pool: pg.Pool, policy: RetryPolicy): Promise<pg.PoolClient> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await pool.connect();
    } catch (error) {
      if (attempt >= policy.attempts) throw error;
      policy.onRetry(attempt, reasonOf(error));
      await sleep(policy.delayMs);
    }
  }
}
