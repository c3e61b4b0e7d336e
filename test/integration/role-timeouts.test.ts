import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { APP_ROLE, READER_ROLE } from '../../shared/db/app-role.js';
import { countByKid, inTransaction, withStatementTimeout } from '../../shared/key-maintenance/rows.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { testClient, testPool } from '../support/pg.js';
import { createRoleMember, type RoleMember } from '../support/role-member.js';

/**
 * Migration 006: the statement and idle-in-transaction timeouts are vault_app's role settings, so
 * no function sends a session parameter RDS Proxy could pin on; key maintenance raises its limit
 * per transaction only. Logging in as vault_app itself would mean setting its cluster-wide password
 * (the migrate handler's test does that), so a throwaway member of it logs in here, with the
 * role's own settings copied onto it, or a shorter limit where a test has to outlast it.
 */
let probe: RoleMember;

let db: TestDatabase;
let admin: pg.Client;
const pools: pg.Pool[] = [];

function probePool(): pg.Pool {
  // Nothing in the startup message, as through the proxy: whatever limit applies is the role's.
  const pool = testPool({ connectionString: probe.urlFor(db.url), max: 1 });
  pools.push(pool);
  return pool;
}

const roleSettings = async (role: string): Promise<string[]> =>
  (
    await admin.query<{ setconfig: string[] }>(
      'SELECT setconfig FROM pg_db_role_setting WHERE setrole = (SELECT oid FROM pg_roles WHERE rolname = $1) AND setdatabase = 0',
      [role],
    )
  ).rows[0]?.setconfig ?? [];

const setOnProbe = async (setting: string, value: string): Promise<void> => {
  await admin.query(`ALTER ROLE ${pg.escapeIdentifier(probe.role)} SET ${setting} = ${pg.escapeLiteral(value)}`);
};

beforeAll(async () => {
  db = await createTestDatabase();
  admin = testClient({ connectionString: process.env.VAULT_TEST_ADMIN_URL });
  await admin.connect();
  probe = await createRoleMember(admin, APP_ROLE);
});

afterAll(async () => {
  await Promise.all(pools.map((pool) => pool.end()));
  await db.drop();
  await probe.drop();
  await admin.end();
});

describe('timeouts on the role (migration 006)', () => {
  it.each([APP_ROLE, READER_ROLE])("gives %s a request's statement budget and an idle-in-transaction limit, in every database", async (role) => {
    // transaction_timeout (migration 009, PostgreSQL 17+) is held in test/security/role-attacks.test.ts.
    const settings = (await roleSettings(role)).filter((setting) => !setting.startsWith('transaction_timeout='));
    expect(settings.sort()).toEqual(['idle_in_transaction_session_timeout=30s', 'statement_timeout=5s']);
  });

  it('applies them to a session that sends nothing', async () => {
    for (const setting of await roleSettings(APP_ROLE)) {
      const [name, value] = setting.split('=') as [string, string];
      await setOnProbe(name, value);
    }
    const pool = probePool();
    expect((await pool.query('SHOW statement_timeout')).rows).toEqual([{ statement_timeout: '5s' }]);
    expect((await pool.query('SHOW idle_in_transaction_session_timeout')).rows).toEqual([{ idle_in_transaction_session_timeout: '30s' }]);
    await pool.end();
    pools.splice(pools.indexOf(pool), 1);
  });
});

describe("key maintenance under the role's limit", () => {
  // A limit the tests can outlast quickly, standing in for the role's 5 seconds.
  const ROLE_LIMIT = '300ms';
  const SLOW = 'SELECT pg_sleep(0.6) AS slept';

  it('raises the limit for its own statements and transactions only, leaving the session as it was', async () => {
    await setOnProbe('statement_timeout', ROLE_LIMIT);
    const pool = probePool();
    await expect(pool.query(SLOW)).rejects.toMatchObject({ code: '57014' });

    const maintenance = withStatementTimeout(pool, 5_000);
    expect((await maintenance.query(SLOW)).rows).toEqual([{ slept: '' }]);
    expect(await inTransaction(maintenance, async (client) => (await client.query(SLOW)).rowCount)).toBe(1);
    expect(await countByKid(maintenance)).toEqual({});

    // The same (only) connection: SET LOCAL ended with each transaction.
    expect((await pool.query('SHOW statement_timeout')).rows).toEqual([{ statement_timeout: ROLE_LIMIT }]);
    await expect(pool.query(SLOW)).rejects.toMatchObject({ code: '57014' });
  });
});
