import { connectWithRetry } from '../shared/db/connect-with-retry.js';
import { createPool, databaseConfig } from '../shared/db/pool.js';
import { migrate } from '../shared/db/migrate.js';
import { logger } from '../shared/logger.js';

// Schema changes may outlast a request's statement budget; the Lambda timeout still bounds them.
const pool = createPool({ ...databaseConfig(process.env), statement_timeout: 0, query_timeout: undefined });

/** About three minutes of waiting, well inside the function's five-minute timeout. */
const FIRST_DEPLOY_PATIENCE = { attempts: 36, delayMs: 5000 };

/** Invoked on every deploy (a CDK Trigger) before the API takes traffic; a no-op when up to date. */
export async function handler(): Promise<{ applied: string[] }> {
  const client = await connectWithRetry(pool, {
    ...FIRST_DEPLOY_PATIENCE,
    onRetry: (attempt, reason) => logger.warn('database not reachable yet', { attempt, reason }),
  });
  try {
    const applied = await migrate(client, logger);
    logger.info('migrations applied', { applied });
    return { applied };
  } finally {
    client.release();
  }
}
