/**
 * Two databases of one server migrated at once update the same role rows (roles are the server's).
 * PostgreSQL answers the later update "tuple concurrently updated" instead of waiting; migrate()
 * runs again, its first attempt rolled back whole. Made to happen every time: another session holds
 * an update of a role row migration 006 sets, and commits once the migration waits for it.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type pg from 'pg';
import { migrate } from '../../shared/db/migrate.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { testClient } from '../support/pg.js';

let db: TestDatabase;
let other: pg.Client;
let migrating: pg.Client;

beforeAll(async () => {
  db = await createTestDatabase({ migrated: false });
  other = testClient({ connectionString: process.env.VAULT_TEST_ADMIN_URL });
  migrating = testClient({ connectionString: db.url, application_name: 'role-collision-migrate' });
  await Promise.all([other.connect(), migrating.connect()]);
});

afterAll(async () => {
  await other?.end();
  await migrating?.end();
  await db?.drop();
});

describe('migrating while another database migrates the same roles', () => {
  it('migrates again after "tuple concurrently updated", and applies every migration once', async () => {
    await other.query('BEGIN');
    await other.query("ALTER ROLE vault_app SET statement_timeout = '5s'");
    const said: string[] = [];
    const applied = migrate(migrating, { info: (message) => said.push(message) });
    for (;;) {
      const { rows } = await other.query<{ waiting: boolean }>(
        "SELECT count(*) > 0 AS waiting FROM pg_stat_activity WHERE application_name = 'role-collision-migrate' AND wait_event_type = 'Lock'",
      );
      if (rows[0]!.waiting) break;
      // pg_stat_activity is read once per transaction: read it afresh.
      await other.query('SELECT pg_stat_clear_snapshot()');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await other.query('COMMIT');
    const names = await applied;
    expect(said.some((message) => message.startsWith("another database's migration updated the same role at once"))).toBe(true);
    expect(names.length).toBeGreaterThan(10);
    const { rows } = await migrating.query<{ count: number }>('SELECT count(*)::int AS count FROM vault_migrations');
    expect(rows[0]!.count).toBe(names.length);
  });
});
