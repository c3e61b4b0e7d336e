import pg from 'pg';

/**
 * Every pool and client a test makes comes from here, with an 'error' listener as production's pool has
 * (shared/db/pool.ts). Without one, a server that ends an idle connection (57P01 when a test drops its
 * database WITH (FORCE), terminates a backend or restarts PostgreSQL) emits an unhandled 'error' event
 * and jest fails the whole file as "failed to run". A query that was running still fails with the error,
 * so no test loses what it asserts on. test/unit/test-pools.test.ts keeps `new pg.Pool` out of test/.
 */
const ignoreIdleError = (): void => undefined;

export function testPool(config: pg.PoolConfig): pg.Pool {
  const pool = new pg.Pool(config);
  pool.on('error', ignoreIdleError);
  return pool;
}

export function testClient(config: pg.ClientConfig): pg.Client {
  const client = new pg.Client(config);
  client.on('error', ignoreIdleError);
  return client;
}
