import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type pg from 'pg';
import { isUniqueViolation, query } from '../../shared/db/query.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { testPool } from '../support/pg.js';

let db: TestDatabase;
let pool: pg.Pool;

beforeAll(async () => {
  db = await createTestDatabase();
  pool = testPool({ connectionString: db.url, max: 1 });
});

afterAll(async () => {
  await pool.end();
  await db.drop();
});

const backend = async (): Promise<number> => (await query<{ pid: number }>(pool, 'SELECT pg_backend_pid() AS pid')).rows[0]!.pid;

describe('query on a pool', () => {
  it('keeps the connection when the server refuses a statement (a 409 must not cost the next request a reconnect)', async () => {
    const before = await backend();
    const insert = () => query(pool, 'INSERT INTO tb_exchanges (exchange_name) VALUES ($1)', ['Coinone']);
    const refused = await insert().catch((error: unknown) => error);
    expect(isUniqueViolation(refused, ['ix_tb_exchanges_exchange_name', 'uq_tb_exchanges_exchange_name_ci'])).toBe(true);
    expect(await backend()).toBe(before);
    expect(pool.totalCount).toBe(1);
  });

  it('discards the connection when the connection itself fails', async () => {
    const before = await backend();
    await query(pool, 'SELECT pg_terminate_backend(pg_backend_pid())').catch(() => undefined);
    expect(await backend()).not.toBe(before);
  });
});
