import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Context } from 'aws-lambda';
import { required } from '../shared/config.js';
import { APP_ROLE, applyRoleSecret, ENGINE_ROLE, READER_ROLE } from '../shared/db/app-role.js';
import { connectWithRetry } from '../shared/db/connect-with-retry.js';
import { migrate } from '../shared/db/migrate.js';
import { createPool, databaseConfig } from '../shared/db/pool.js';
import { logger } from '../shared/logger.js';

// Schema changes may outlast a request's statement budget; the master user has no role timeout
// (migration 006 sets vault_app's), so the Lambda timeout bounds them.
const pool = createPool({ ...databaseConfig(process.env), statement_timeout: 0, query_timeout: undefined });
/** The ARNs (never the values) of the secrets the proxy logs in as each login role with. */
const roleSecrets = [
  { role: APP_ROLE, secretArn: required(process.env, 'DB_APP_SECRET_ARN') },
  { role: READER_ROLE, secretArn: required(process.env, 'DB_READER_SECRET_ARN') },
  { role: ENGINE_ROLE, secretArn: required(process.env, 'DB_ENGINE_SECRET_ARN') },
];
// Bounded, so an unreachable or hung endpoint fails the deploy in seconds rather than at the Lambda
// timeout: per secret 3 attempts x 5 s (throwOnRequestTimeout: without it the handler only warns)
// + backoff, under 16 s; the three secrets under 48 s, inside the WORK_RESERVE_MS the database wait leaves.
const secrets = new SecretsManagerClient({
  maxAttempts: 3,
  requestHandler: { connectionTimeout: 2_000, requestTimeout: 5_000, throwOnRequestTimeout: true },
});

const RETRY_DELAY_MS = 5_000;
/**
 * What the wait leaves of the function's time (14 minutes, MIGRATE_TIMEOUT in infra/stacks/api-stack.ts)
 * for the migrations and setting the app role's password, so a database that never answers fails the
 * deploy with a reason rather than a Lambda timeout: twelve and a half minutes of waiting, what a
 * new proxy may need on the first deploy.
 */
export const WORK_RESERVE_MS = 90_000;

/**
 * Invoked on every deploy (a CDK Trigger) before the API takes traffic: applies pending migrations
 * (a no-op when up to date), then sets the login roles' passwords to their secrets', so
 * the functions deployed next can log in as them through the proxy.
 */
export async function handler(_event: unknown, context: Pick<Context, 'getRemainingTimeInMillis'>): Promise<{ applied: string[] }> {
  const client = await connectWithRetry(pool, {
    delayMs: RETRY_DELAY_MS,
    attemptMs: pool.options.connectionTimeoutMillis ?? 0,
    remainingMs: () => context.getRemainingTimeInMillis() - WORK_RESERVE_MS,
    onRetry: (attempt, reason) => logger.warn('database not reachable yet', { attempt, reason }),
  });
  try {
    const applied = await migrate(client, logger);
    logger.info('migrations applied', { applied });
    for (const { role, secretArn } of roleSecrets) {
      await applyRoleSecret(client, secrets, role, secretArn);
      logger.info('role password set', { role });
    }
    return { applied };
  } finally {
    client.release();
  }
}
