import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type pg from 'pg';
import { keyRingFromText } from '../../shared/crypto/key-ring.js';
import { cachedKeyRingSource } from '../../shared/crypto/key-ring-source.js';
import { READER_ROLE } from '../../shared/db/app-role.js';
import { createExchangeKindMemory, insertExchangeReturningAll } from '../../shared/db/exchanges.js';
import { createUserDirectory, upsertUserNo } from '../../shared/db/users.js';
import { NO_CHECKS } from '../../shared/exchanges/checker.js';
import { routes } from '../../shared/routes.js';
import { maskedApiKeyList } from '../../shared/schemas/api-keys.js';
import { exchangeList } from '../../shared/schemas/exchanges.js';
import { registerApiKey } from '../../shared/services/api-keys.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { closeHandlerPool, type LoadedHandlers, loadHandlers, testSymmetricKey } from '../support/handlers.js';
import { testClient, testPool } from '../support/pg.js';
import { createRoleMember, grantsOf, type RoleMember } from '../support/role-member.js';

/**
 * The read-only routes log in as vault_reader (migration 005): they work, and nothing they could
 * send writes. As in app-role.test.ts, a throwaway member of the role logs in, so this file never
 * touches vault_reader's own password (the migrate handler's to set).
 */
let probe: RoleMember;

let db: TestDatabase;
let admin: pg.Client;
let reader: pg.Pool;
let api: LoadedHandlers;
const symmetricKey = testSymmetricKey();

beforeAll(async () => {
  admin = testClient({ connectionString: process.env.VAULT_TEST_ADMIN_URL });
  await admin.connect();
  probe = await createRoleMember(admin, READER_ROLE);
  db = await createTestDatabase();
  // Data to read, written as the writing functions would.
  await insertExchangeReturningAll(db.pool, 'Binance');
  const keyRingSource = cachedKeyRingSource(() => keyRingFromText(symmetricKey));
  await registerApiKey(
    { db: db.pool, users: createUserDirectory(db.pool), kinds: createExchangeKindMemory(), keyRingSource, checker: NO_CHECKS },
    { subject: 'rita', isAdmin: false },
    { exchange_id: 102, public_key: 'PUBLICabcdefghijkl', private_key: 'PRIVATE-0123456789-abcdefWXYZ' },
  );
  reader = testPool({ connectionString: probe.urlFor(db.url), max: 2 });
  api = await loadHandlers({ DATABASE_URL: probe.urlFor(db.url), SYMMETRIC_KEY: symmetricKey });
});

afterAll(async () => {
  await closeHandlerPool();
  await reader.end();
  await db.drop();
  await probe.drop();
  await admin.end();
});

describe('migration 005: the vault_reader role', () => {
  it('may SELECT the exchanges and key events, and the columns of users and keys the read routes show, and nothing else', async () => {
    const { tables, columns } = await grantsOf(db.pool, READER_ROLE);
    expect(tables).toEqual([
      { object: 'tb_exchange_api_key_events', privilege: 'SELECT' },
      { object: 'tb_exchanges', privilege: 'SELECT' },
    ]);
    expect(columns.map((row) => `${row.object} ${row.privilege}`)).toEqual(
      [
        'tb_exchange_api_keys.check_expires_at',
        'tb_exchange_api_keys.check_ip_restricted',
        'tb_exchange_api_keys.check_permissions',
        'tb_exchange_api_keys.check_reason',
        'tb_exchange_api_keys.check_status',
        'tb_exchange_api_keys.checked_at',
        'tb_exchange_api_keys.create_date',
        'tb_exchange_api_keys.etag',
        'tb_exchange_api_keys.exchange_id',
        'tb_exchange_api_keys.has_passphrase',
        'tb_exchange_api_keys.is_active',
        'tb_exchange_api_keys.key_no',
        'tb_exchange_api_keys.key_version',
        'tb_exchange_api_keys.private_key_masked',
        'tb_exchange_api_keys.public_key_masked',
        'tb_exchange_api_keys.update_date',
        'tb_exchange_api_keys.user_no',
        'tb_users.auth_subject',
        'tb_users.user_no',
      ].map((object) => `${object} SELECT`),
    );
    const { rows: functions } = await db.pool.query(
      `SELECT p.proname FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace AND has_function_privilege($1, p.oid, 'EXECUTE')`,
      [READER_ROLE],
    );
    expect(functions).toEqual([]);
  });

  it('is no superuser, creates nothing, belongs to no role and owns nothing', async () => {
    const { rows } = await db.pool.query(
      `SELECT r.rolsuper, r.rolcreatedb, r.rolcreaterole, r.rolreplication, r.rolbypassrls,
              (SELECT count(*)::int FROM pg_auth_members WHERE member = r.oid) AS memberships,
              (SELECT count(*)::int FROM pg_class WHERE relowner = r.oid) AS owned,
              has_schema_privilege(r.rolname, 'public', 'CREATE') AS schema_create
         FROM pg_roles r WHERE r.rolname = $1`,
      [READER_ROLE],
    );
    expect(rows).toEqual([
      { rolsuper: false, rolcreatedb: false, rolcreaterole: false, rolreplication: false, rolbypassrls: false, memberships: 0, owned: 0, schema_create: false },
    ]);
  });
});

describe('the read-only routes, run as vault_reader', () => {
  it('are the GET routes: every route that reads only is a GET, and every GET reads only', () => {
    const mismatched = routes
      .filter((route) => (route.access === 'read') !== (route.method === 'GET'))
      .map((route) => `${route.name} (${route.method}, access ${route.access})`);
    expect(mismatched).toEqual([]);
    expect(routes.some((route) => route.access === 'read')).toBe(true);
  });

  it('really connect as a member of vault_reader', async () => {
    const { db: pool } = await import('../../shared/runtime/database.js');
    const { rows } = await pool.query('SELECT session_user AS login, pg_has_role(session_user, $1, $2) AS reader FROM pg_roles WHERE rolname = session_user', [
      READER_ROLE,
      'USAGE',
    ]);
    expect(rows).toEqual([{ login: probe.role, reader: true }]);
  });

  it("list the exchanges and the caller's masked keys", async () => {
    const exchanges = await api.call('list-exchanges', { subject: 'rita' });
    expect(exchanges.status).toBe(200);
    expect(exchangeList.parse(exchanges.body).map((exchange) => exchange.exchange_name)).toEqual(['Coinone', 'Binance']);
    const keys = await api.call('list-api-keys', { subject: 'rita' });
    expect(keys.status).toBe(200);
    expect(maskedApiKeyList.parse(keys.body).map((key) => [key.exchange_id, key.public_key_masked, key.private_key_masked])).toEqual([
      [102, 'PUBL****ijkl', '****WXYZ'],
    ]);
    expect((await api.call('list-api-keys', { subject: 'nobody-yet' })).body).toEqual([]);
  });

  it('read one key with its ETag, and its history', async () => {
    const key = await api.call('get-api-key', { subject: 'rita', params: { exchange_id: '102' } });
    expect(key.status).toBe(200);
    expect(key.headers.etag).toMatch(/^"[0-9a-f]{32}"$/);
    expect((await api.call('get-api-key', { subject: 'rita', params: { exchange_id: '101' } })).status).toBe(404);
    const history = await api.call('list-api-key-events', { subject: 'rita', params: { exchange_id: '102' } });
    expect(history.status).toBe(200);
    expect(history.body).toEqual([expect.objectContaining({ event: 'registered', actor: { kind: 'user', id: 'rita' } })]);
  });
});

describe('what vault_reader cannot do: every write fails with insufficient_privilege (42501)', () => {
  it.each([
    "INSERT INTO tb_users (auth_subject) VALUES ('intruder')",
    "INSERT INTO tb_exchanges (exchange_name) VALUES ('Intruder')",
    `INSERT INTO tb_exchange_api_keys (user_no, exchange_id, public_key, private_key, is_active) VALUES (1, 101, '{}', '{}', true)`,
    "INSERT INTO tb_exchange_api_key_events (user_no, exchange_id, event, actor_kind) VALUES (1, 101, 'registered', 'user')",
    'UPDATE tb_users SET auth_subject = auth_subject',
    'UPDATE tb_exchanges SET exchange_name = exchange_name',
    'UPDATE tb_exchange_api_keys SET public_key_masked = public_key_masked',
    'UPDATE tb_exchange_api_key_events SET event = event',
    'DELETE FROM tb_users',
    'DELETE FROM tb_exchanges',
    'DELETE FROM tb_exchange_api_keys',
    'DELETE FROM tb_exchange_api_key_events',
    'TRUNCATE tb_exchange_api_keys',
    'SELECT key_no FROM tb_exchange_api_keys FOR UPDATE',
    'SELECT public_key FROM tb_exchange_api_keys',
    'SELECT private_key FROM tb_exchange_api_keys',
    "SELECT nextval('tb_users_user_no_seq')",
    "SELECT nextval('exchange_no_seq')",
    'SELECT * FROM tb_v1_envelope_bindings',
    'SELECT bind_v1_envelopes()',
    'SELECT * FROM vault_migrations',
    'CREATE TABLE stolen (key jsonb)',
    'CREATE ROLE intruder',
  ])('%s', async (statement) => {
    await expect(reader.query(statement)).rejects.toMatchObject({ code: '42501' });
  });

  it('nor can the writing services, whatever a bug would make them send', async () => {
    await expect(upsertUserNo(reader, 'intruder')).rejects.toMatchObject({ code: '42501' });
    await expect(insertExchangeReturningAll(reader, 'Intruder')).rejects.toMatchObject({ code: '42501' });
    const { rows } = await db.pool.query(
      `SELECT (SELECT count(*)::int FROM tb_users) AS users, (SELECT count(*)::int FROM tb_exchanges) AS exchanges, (SELECT count(*)::int FROM tb_exchange_api_keys) AS keys`,
    );
    expect(rows).toEqual([{ users: 1, exchanges: 2, keys: 1 }]);
  });
});
