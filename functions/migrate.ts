import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { required } from '../shared/config.js';
import { APP_ROLE, applyRoleSecret, READER_ROLE } from '../shared/db/app-role.js';
import { connectWithRetry } from '../shared/db/connect-with-retry.js';
import { createPool, databaseConfig } from '../shared/db/pool.js';
import { migrate } from '../shared/db/migrate.js';
import { logger } from '../shared/logger.js';

// Schema changes may outlast a request's statement budget; the Lambda timeout still bounds them.
const pool = createPool({ ...databaseConfig(process.env), statement_timeout: 0, query_timeout: undefined });
/** The ARNs (never the values) of the secrets the proxy logs in as each login role with. */
const roleSecrets = [
  { role: APP_ROLE, secretArn: required(process.env, 'DB_APP_SECRET_ARN') },
  { role: READER_ROLE, secretArn: required(process.env, 'DB_READER_SECRET_ARN') },
];
// Bounded, so an unreachable endpoint fails the deploy in seconds rather than at the Lambda timeout.
const secrets = new SecretsManagerClient({ maxAttempts: 3, requestHandler: { connectionTimeout: 2_000, requestTimeout: 5_000 } });

/** About three minutes of waiting, well inside the function's five-minute timeout. */
const FIRST_DEPLOY_PATIENCE = { attempts: 36, delayMs: 5000 };

/**
 * Invoked on every deploy (a CDK Trigger) before the API takes traffic: applies pending migrations
 * (a no-op when up to date), then sets the app and reader roles' passwords to their secrets', so
 * the functions deployed next can log in as them through the proxy.
 */
export async function handler(): Promise<{ applied: string[] }> {
  const client = await connectWithRetry(pool, {
    ...FIRST_DEPLOY_PATIENCE,
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
