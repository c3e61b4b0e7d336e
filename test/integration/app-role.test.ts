import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { envelopeV1, newSealing, v1BindingDigest } from '../../shared/crypto/envelope.js';
import { DEFAULT_RING_FRESHNESS } from '../../shared/crypto/freshness.js';
import { ringDocument } from '../../shared/crypto/ring-document.js';
import { ringStoreSource } from '../../shared/crypto/ring-store.js';
import { APP_ROLE } from '../../shared/db/app-role.js';
import { NO_CHECKS } from '../../shared/exchanges/checker.js';
import { type MaintenanceDeps, reencrypt, retire, rotate, verify } from '../../shared/key-maintenance/commands.js';
import { keyEventList, maskedApiKeyList } from '../../shared/schemas/api-keys.js';
import { exchangeList } from '../../shared/schemas/exchanges.js';
import { listApiKeys } from '../../shared/services/api-keys.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { closeHandlerPool, type LoadedHandlers, loadHandlers, testSymmetricKey } from '../support/handlers.js';
import { testClient, testPool } from '../support/pg.js';
import { createRoleMember, grantsOf, type RoleMember } from '../support/role-member.js';
import { insertSeedRows, memoryRingStore, SEED_KEY } from '../unit/key-ring/maintenance-helpers.js';

/**
 * What the functions can do when they connect as vault_app, against the real PostgreSQL. They log
 * in here as a throwaway member of vault_app (its privileges, nothing of its own), so this file
 * never touches vault_app's password, which is cluster-wide and the migrate handler's to set.
 */
let probe: RoleMember;

const databases: TestDatabase[] = [];
const pools: pg.Pool[] = [];

async function database(options = { migrated: true }): Promise<TestDatabase> {
  const db = await createTestDatabase(options);
  databases.push(db);
  return db;
}

/** The same database, logged in as the probe. */
const asApp = (db: TestDatabase): string => probe.urlFor(db.url);

function appPool(db: TestDatabase): pg.Pool {
  const pool = testPool({ connectionString: asApp(db), max: 4 });
  pools.push(pool);
  return pool;
}

/** The cluster's admin connection (roles, sessions), and a migrated database whose catalog holds the grants. */
let admin: pg.Client;
let catalog: pg.Pool;

beforeAll(async () => {
  admin = testClient({ connectionString: process.env.VAULT_TEST_ADMIN_URL });
  await admin.connect();
  catalog = (await database()).pool;
  probe = await createRoleMember(admin, APP_ROLE);
});

afterAll(async () => {
  await Promise.all(pools.map((pool) => pool.end()));
  await Promise.all(databases.map((db) => db.drop()));
  await probe.drop();
  await admin.end();
});

describe('migrations 003, 005 and 007: the vault_app role', () => {
  it('grants exactly what the service sends: SELECT, INSERT and UPDATE on the columns it writes (never an id or a date), deleting key rows through a function (009), and its sequences', async () => {
    const { tables, columns } = await grantsOf(catalog, APP_ROLE);
    expect(tables).toEqual([
      { object: 'exchange_no_seq', privilege: 'USAGE' },
      { object: 'tb_exchange_api_key_events', privilege: 'SELECT' },
      { object: 'tb_exchange_api_keys', privilege: 'SELECT' },
      { object: 'tb_exchange_api_keys_key_no_seq', privilege: 'USAGE' },
      { object: 'tb_exchanges', privilege: 'SELECT' },
      { object: 'tb_users', privilege: 'SELECT' },
      { object: 'tb_users_user_no_seq', privilege: 'USAGE' },
      { object: 'tb_v1_envelope_bindings', privilege: 'SELECT' },
    ]);
    expect(columns).toEqual([
      { object: 'tb_exchange_api_key_events.actor_id', privilege: 'INSERT' },
      { object: 'tb_exchange_api_key_events.actor_kind', privilege: 'INSERT' },
      { object: 'tb_exchange_api_key_events.event', privilege: 'INSERT' },
      { object: 'tb_exchange_api_key_events.exchange_id', privilege: 'INSERT' },
      { object: 'tb_exchange_api_key_events.purpose', privilege: 'INSERT' },
      { object: 'tb_exchange_api_key_events.reason', privilege: 'INSERT' },
      { object: 'tb_exchange_api_key_events.request_id', privilege: 'INSERT' },
      { object: 'tb_exchange_api_key_events.user_no', privilege: 'INSERT' },
      { object: 'tb_exchange_api_keys.check_expires_at', privilege: 'INSERT' },
      { object: 'tb_exchange_api_keys.check_expires_at', privilege: 'UPDATE' },
      { object: 'tb_exchange_api_keys.check_ip_restricted', privilege: 'INSERT' },
      { object: 'tb_exchange_api_keys.check_ip_restricted', privilege: 'UPDATE' },
      { object: 'tb_exchange_api_keys.check_permissions', privilege: 'INSERT' },
      { object: 'tb_exchange_api_keys.check_permissions', privilege: 'UPDATE' },
      { object: 'tb_exchange_api_keys.check_reason', privilege: 'INSERT' },
      { object: 'tb_exchange_api_keys.check_reason', privilege: 'UPDATE' },
      { object: 'tb_exchange_api_keys.check_status', privilege: 'INSERT' },
      { object: 'tb_exchange_api_keys.check_status', privilege: 'UPDATE' },
      { object: 'tb_exchange_api_keys.checked_at', privilege: 'INSERT' },
      { object: 'tb_exchange_api_keys.checked_at', privilege: 'UPDATE' },
      { object: 'tb_exchange_api_keys.exchange_id', privilege: 'INSERT' },
      { object: 'tb_exchange_api_keys.is_active', privilege: 'INSERT' },
      { object: 'tb_exchange_api_keys.is_active', privilege: 'UPDATE' },
      { object: 'tb_exchange_api_keys.key_version', privilege: 'UPDATE' },
      { object: 'tb_exchange_api_keys.passphrase', privilege: 'INSERT' },
      { object: 'tb_exchange_api_keys.passphrase', privilege: 'UPDATE' },
      { object: 'tb_exchange_api_keys.private_key', privilege: 'INSERT' },
      { object: 'tb_exchange_api_keys.private_key', privilege: 'UPDATE' },
      { object: 'tb_exchange_api_keys.private_key_masked', privilege: 'INSERT' },
      { object: 'tb_exchange_api_keys.private_key_masked', privilege: 'UPDATE' },
      { object: 'tb_exchange_api_keys.public_key', privilege: 'INSERT' },
      { object: 'tb_exchange_api_keys.public_key', privilege: 'UPDATE' },
      { object: 'tb_exchange_api_keys.public_key_masked', privilege: 'INSERT' },
      { object: 'tb_exchange_api_keys.public_key_masked', privilege: 'UPDATE' },
      { object: 'tb_exchange_api_keys.sealing', privilege: 'INSERT' },
      { object: 'tb_exchange_api_keys.sealing', privilege: 'UPDATE' },
      { object: 'tb_exchange_api_keys.update_date', privilege: 'UPDATE' },
      { object: 'tb_exchange_api_keys.user_no', privilege: 'INSERT' },
      { object: 'tb_exchanges.exchange_name', privilege: 'INSERT' },
      { object: 'tb_exchanges.kind', privilege: 'INSERT' },
      { object: 'tb_exchanges.kind', privilege: 'UPDATE' },
      { object: 'tb_users.auth_subject', privilege: 'INSERT' },
      { object: 'tb_users.auth_subject', privilege: 'UPDATE' },
    ]);
    const { rows: functions } = await catalog.query(
      `SELECT p.proname FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace AND has_function_privilege($1, p.oid, 'EXECUTE') ORDER BY 1`,
      [APP_ROLE],
    );
    expect(functions).toEqual([{ proname: 'delete_api_key_row' }, { proname: 'write_key_check' }]);
  });

  it('is no superuser, creates no databases or roles, belongs to no role, owns nothing and cannot create in the schema', async () => {
    const { rows } = await catalog.query(
      `SELECT r.rolsuper, r.rolcreatedb, r.rolcreaterole, r.rolreplication, r.rolbypassrls,
              (SELECT count(*)::int FROM pg_auth_members WHERE member = r.oid) AS memberships,
              (SELECT count(*)::int FROM pg_class WHERE relowner = r.oid) AS owned,
              has_schema_privilege(r.rolname, 'public', 'CREATE') AS schema_create,
              has_database_privilege(r.rolname, current_database(), 'CREATE') AS database_create
         FROM pg_roles r WHERE r.rolname = $1`,
      [APP_ROLE],
    );
    expect(rows).toEqual([
      {
        rolsuper: false,
        rolcreatedb: false,
        rolcreaterole: false,
        rolreplication: false,
        rolbypassrls: false,
        memberships: 0,
        owned: 0,
        schema_create: false,
        database_create: false,
      },
    ]);
  });

  it('creates the role once when two databases of the cluster migrate at the same time', async () => {
    // The create-if-missing block, for a role of this test's own: the second creator waits on the first's uncommitted role, then finds it.
    const sql = await readFile(new URL('../../shared/db/migrations/003_app-role.up.sql', import.meta.url), 'utf8');
    const role = `vault_race_${randomBytes(4).toString('hex')}`;
    const createRole = /^DO \$\$[\s\S]*?^\$\$;/m.exec(sql)![0].replaceAll(APP_ROLE, role);
    const [first, second] = [
      testClient({ connectionString: (await database({ migrated: false })).url }),
      testClient({ connectionString: (await database({ migrated: false })).url }),
    ];
    await Promise.all([first.connect(), second.connect()]);
    try {
      await first.query('BEGIN');
      await first.query(createRole);
      const waiting = second.query(createRole);
      const secondPid = (second as unknown as { processID: number }).processID;
      for (let i = 0; i < 100; i += 1) {
        const { rows } = await admin.query('SELECT wait_event_type FROM pg_stat_activity WHERE pid = $1', [secondPid]);
        if (rows[0]?.wait_event_type === 'Lock') break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect((await admin.query('SELECT wait_event_type FROM pg_stat_activity WHERE pid = $1', [secondPid])).rows).toEqual([{ wait_event_type: 'Lock' }]);
      await first.query('COMMIT');
      await expect(waiting).resolves.toBeDefined();
      expect((await admin.query('SELECT count(*)::int AS n FROM pg_roles WHERE rolname = $1', [role])).rows).toEqual([{ n: 1 }]);
    } finally {
      await Promise.all([first.end(), second.end()]);
      await admin.query(`DROP ROLE IF EXISTS ${pg.escapeIdentifier(role)}`);
    }
  });
});

describe('the routes, run as vault_app', () => {
  let db: TestDatabase;
  let api: LoadedHandlers;

  beforeAll(async () => {
    db = await database();
    api = await loadHandlers({ DATABASE_URL: asApp(db), SYMMETRIC_KEY: testSymmetricKey() });
  });

  afterAll(async () => {
    await closeHandlerPool();
  });

  it('really connect as a member of vault_app, not as the superuser', async () => {
    const { db: pool } = await import('../../shared/runtime/database.js');
    const { rows } = await pool.query(
      'SELECT session_user AS login, pg_has_role(session_user, $1, $2) AS app, rolsuper FROM pg_roles WHERE rolname = session_user',
      [APP_ROLE, 'USAGE'],
    );
    expect(rows).toEqual([{ login: probe.role, app: true, rolsuper: false }]);
  });

  it('create an exchange, register keys (a new user, a second key, an explicit own user_no), refuse a duplicate, list', async () => {
    const created = await api.call('create-exchange', { subject: 'root', admin: true, body: { exchange_name: 'Binance' } });
    expect(created.status).toBe(201);
    const binance = exchangeList.parse(created.body).find((exchange) => exchange.exchange_name === 'Binance')!.exchange_id;
    expect((await api.call('create-exchange', { subject: 'root', admin: true, body: { exchange_name: 'binance' } })).status).toBe(409);

    const key = { public_key: 'PUBLICabcdefghijkl', private_key: 'PRIVATE-0123456789-abcdefWXYZ' };
    expect((await api.call('register-api-key', { subject: 'alice', body: { exchange_id: 101, ...key } })).status).toBe(201);
    expect((await api.call('register-api-key', { subject: 'alice', body: { exchange_id: 101, ...key } })).status).toBe(409);
    const aliceNo = (await db.pool.query<{ user_no: number }>('SELECT user_no FROM tb_users WHERE auth_subject = $1', ['alice'])).rows[0]!.user_no;
    expect((await api.call('register-api-key', { subject: 'alice', body: { exchange_id: binance, user_no: aliceNo, ...key } })).status).toBe(201);
    expect((await api.call('register-api-key', { subject: 'bob', body: { exchange_id: binance, ...key } })).status).toBe(201);
    expect((await api.call('register-api-key', { subject: 'bob', body: { exchange_id: 101, user_no: aliceNo, ...key } })).status).toBe(403);

    const listed = await api.call('list-api-keys', { subject: 'alice' });
    expect(listed.status).toBe(200);
    expect(maskedApiKeyList.parse(listed.body).map((row) => [row.exchange_id, row.public_key_masked, row.status])).toEqual([
      [101, 'PUBL****ijkl', 'ready'],
      [binance, 'PUBL****ijkl', 'ready'],
    ]);
    const exchanges = await api.call('list-exchanges', { subject: 'bob' });
    expect(exchanges.status).toBe(200);
    expect(exchangeList.parse(exchanges.body).map((exchange) => exchange.exchange_id)).toEqual([101, binance]);
  });

  it('read, replace, pause, resume and delete a key, and read its history, with only the grants of 003, 004 and 007', async () => {
    const key = { exchange_id: '101' };
    expect(
      (
        await api.call('register-api-key', {
          subject: 'carol',
          body: { exchange_id: 101, public_key: 'PUBLICabcdefghijkl', private_key: 'PRIVATE-0123456789-abcdefWXYZ' },
        })
      ).status,
    ).toBe(201);
    const read = await api.call('get-api-key', { subject: 'carol', params: key });
    expect(read.status).toBe(200);
    const replaced = await api.call('replace-api-key', {
      subject: 'carol',
      params: key,
      headers: { 'if-match': read.headers.etag! },
      body: { public_key: 'NEWPUBLICabcdefghijkl', private_key: 'NEW-PRIVATE-0123456789-abcdefWXYZ' },
    });
    expect(replaced.status).toBe(200);
    expect((await api.call('set-api-key-active', { subject: 'carol', params: key, body: { is_active: false } })).status).toBe(200);
    expect((await api.call('set-api-key-active', { subject: 'carol', params: key, body: { is_active: true } })).status).toBe(200);
    expect((await api.call('delete-api-key', { subject: 'carol', params: key })).status).toBe(204);
    const history = await api.call('list-api-key-events', { subject: 'carol', params: key });
    expect(history.status).toBe(200);
    expect(keyEventList.parse(history.body).map((event) => event.event)).toEqual(['deleted', 'reactivated', 'deactivated', 'replaced', 'registered']);
  });
});

describe('key maintenance, run as vault_app', () => {
  it('rotates, re-encrypts seed rows (locking them), verifies and retires the seed key', async () => {
    const db = await database();
    await insertSeedRows(db.pool, 5);
    const ring = memoryRingStore(SEED_KEY);
    const deps: MaintenanceDeps = {
      db: appPool(db),
      store: ring.store,
      keyRingSource: ringStoreSource(ring.store),
      freshness: DEFAULT_RING_FRESHNESS,
      checker: NO_CHECKS,
    };

    const { primary } = await rotate(deps);
    expect(await verify(deps)).toMatchObject({ ok: true, rows: 5, withoutMasks: 5 });
    expect(await reencrypt(deps, { batchSize: 2 })).toMatchObject({ ok: true, complete: true, rewritten: 5, after: { [primary]: 5 } });
    expect((await db.pool.query("SELECT count(*)::int AS n FROM tb_exchange_api_key_events WHERE event = 'reencrypted'")).rows).toEqual([{ n: 5 }]);
    expect(await verify(deps)).toMatchObject({ ok: true, rows: 5, withoutMasks: 0, byKid: { [primary]: 5 } });
    // Once the freshness window after the rotation has passed.
    expect(await retire(deps, 'default', new Date(Date.now() + 20 * 60_000))).toMatchObject({ ok: true, rowsNeedingKey: 0 });
    expect(ringDocument.parse(JSON.parse(ring.text())).keys).not.toHaveProperty('default');
  });
});

describe('a seed envelope moved by vault_app does not open where it lands', () => {
  // The review's attack: as the functions' role, copy a victim's version-1 private_key into the
  // attacker's own row's public_key with its mask cleared, so that reencrypt would open it there
  // and store a mask of the victim's secret; and insert a new row made of the victim's envelopes.
  it('verify reports it unbound, reencrypt leaves it and reports it, and no mask of the secret is stored', async () => {
    const db = await database();
    // Three seed rows; the fixtures repeat every few rows, so victim and attacker are two apart to hold different envelopes.
    const seeded = await insertSeedRows(db.pool, 3);
    const [victimKeyNo, bystanderKeyNo, attackerKeyNo] = [...seeded.keys()] as [number, number, number];
    const attackerUserNo = (await db.pool.query<{ user_no: number }>('SELECT user_no FROM tb_exchange_api_keys WHERE key_no = $1', [attackerKeyNo])).rows[0]!
      .user_no;
    await db.pool.query(`UPDATE tb_users SET auth_subject = 'mallory' WHERE user_no = $1`, [attackerUserNo]);
    const app = appPool(db);
    // New envelopes are taken only with a new sealing (migration 008); a row with one opens no version-1 envelope.
    await expect(
      app.query(`UPDATE tb_exchange_api_keys SET public_key = (SELECT private_key FROM tb_exchange_api_keys WHERE key_no = $1) WHERE key_no = $2`, [
        victimKeyNo,
        attackerKeyNo,
      ]),
    ).rejects.toMatchObject({ code: '42501' });
    await app.query(
      `UPDATE tb_exchange_api_keys SET public_key = (SELECT private_key FROM tb_exchange_api_keys WHERE key_no = $1), public_key_masked = NULL, sealing = $3
        WHERE key_no = $2`,
      [victimKeyNo, attackerKeyNo, newSealing()],
    );
    const exchange = (await app.query<{ exchange_id: number }>(`INSERT INTO tb_exchanges (exchange_name) VALUES ('Binance') RETURNING exchange_id`)).rows[0]!
      .exchange_id;
    const inserted = (
      await app.query<{ key_no: number }>(
        `INSERT INTO tb_exchange_api_keys (user_no, exchange_id, public_key, private_key, is_active, sealing)
         SELECT $2, $3, public_key, private_key, true, $4 FROM tb_exchange_api_keys WHERE key_no = $1 RETURNING key_no`,
        [victimKeyNo, attackerUserNo, exchange, newSealing()],
      )
    ).rows[0]!.key_no;

    const ring = memoryRingStore(SEED_KEY);
    const deps: MaintenanceDeps = {
      db: app,
      store: ring.store,
      keyRingSource: ringStoreSource(ring.store),
      freshness: DEFAULT_RING_FRESHNESS,
      checker: NO_CHECKS,
    };
    await rotate(deps);
    const unbound = [
      { key_no: attackerKeyNo, field: 'public_key', reason: 'restored' },
      { key_no: attackerKeyNo, field: 'private_key', reason: 'restored' },
      { key_no: inserted, field: 'public_key', reason: 'restored' },
      { key_no: inserted, field: 'private_key', reason: 'restored' },
    ];
    expect(await verify(deps)).toMatchObject({ ok: false, rows: 4, failureCount: 4, failures: unbound });
    expect(await reencrypt(deps)).toMatchObject({ ok: false, rewritten: 2, failureCount: 4, failures: unbound });
    expect(await verify(deps)).toMatchObject({ ok: false, failures: unbound });

    // The victim's and the bystander's rows are upgraded; the attacker's are left as they were, masks and all.
    const { rows } = await db.pool.query('SELECT key_no, public_key, public_key_masked, private_key_masked FROM tb_exchange_api_keys ORDER BY key_no');
    expect(rows.map((row) => [row.key_no, row.public_key.version, row.public_key_masked === null, row.private_key_masked === null])).toEqual([
      [victimKeyNo, 3, false, false],
      [bystanderKeyNo, 3, false, false],
      [attackerKeyNo, 1, true, true],
      [inserted, 1, true, true],
    ]);
    const listed = await listApiKeys(app, { subject: 'mallory', isAdmin: false }, {});
    expect(listed.map((key) => [key.public_key_masked, key.private_key_masked, key.status])).toEqual([
      [null, null, 'pending_upgrade'],
      [null, null, 'pending_upgrade'],
    ]);
  });

  it('while digests computed by migration 005 and by the code agree, for every seed field', async () => {
    const db = await database();
    await insertSeedRows(db.pool, 3);
    const { rows } = await db.pool.query<{
      key_no: number;
      user_no: number;
      exchange_id: number;
      field: 'public_key' | 'private_key';
      envelope: unknown;
      digest: Buffer;
    }>(
      `SELECT k.key_no, k.user_no, k.exchange_id, b.field, CASE b.field WHEN 'public_key' THEN k.public_key ELSE k.private_key END AS envelope, b.digest
         FROM tb_v1_envelope_bindings b JOIN tb_exchange_api_keys k USING (key_no) ORDER BY 1, 4`,
    );
    expect(rows).toHaveLength(6);
    for (const row of rows) {
      const place = { table: 'tb_exchange_api_keys', userNo: row.user_no, exchangeId: row.exchange_id, field: row.field } as const;
      expect(v1BindingDigest(row.key_no, place, envelopeV1.parse(row.envelope)).toString('hex')).toBe(row.digest.toString('hex'));
    }
    // And at the edges of int4, for the other column.
    const envelope = envelopeV1.parse(rows[0]!.envelope);
    const { rows: edge } = await db.pool.query<{ digest: Buffer }>(`SELECT v1_envelope_digest(2147483647, 1, 2147483647, 'private_key', $1) AS digest`, [
      envelope,
    ]);
    const place = { table: 'tb_exchange_api_keys', userNo: 1, exchangeId: 2147483647, field: 'private_key' } as const;
    expect(v1BindingDigest(2147483647, place, envelope).toString('hex')).toBe(edge[0]!.digest.toString('hex'));
  });
});

describe('what vault_app cannot do', () => {
  let db: TestDatabase;
  let app: pg.Pool;

  beforeAll(async () => {
    db = await database();
    await insertSeedRows(db.pool, 2);
    app = appPool(db);
  });

  it.each([
    'DROP TABLE tb_exchange_api_keys',
    'TRUNCATE tb_exchange_api_keys',
    'DELETE FROM tb_users',
    'DELETE FROM tb_exchanges',
    'ALTER TABLE tb_exchange_api_keys ADD COLUMN exfiltrated text',
    'CREATE TABLE stolen (key jsonb)',
    'CREATE INDEX ON tb_users (auth_subject)',
    'CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$',
    'UPDATE tb_exchange_api_keys SET user_no = user_no',
    'UPDATE tb_exchange_api_keys SET exchange_id = exchange_id',
    'UPDATE tb_exchange_api_keys SET create_date = now()',
    'UPDATE tb_exchange_api_keys SET key_no = key_no',
    'UPDATE tb_users SET user_no = user_no',
    'UPDATE tb_exchanges SET exchange_name = exchange_name',
    "SELECT setval('exchange_no_seq', 1)",
    'UPDATE tb_exchange_api_key_events SET event = event',
    'DELETE FROM tb_exchange_api_key_events',
    'TRUNCATE tb_exchange_api_key_events',
    "INSERT INTO tb_exchange_api_key_events (event_id, user_no, exchange_id, event, actor_kind) OVERRIDING SYSTEM VALUE VALUES (1, 1, 101, 'registered', 'user')",
    "INSERT INTO tb_exchange_api_key_events (user_no, exchange_id, event, actor_kind, at) VALUES (1, 101, 'registered', 'user', now())",
    'SELECT * FROM vault_migrations',
    // Ids come from the sequences only: an explicit one would collide with a later first registration.
    "INSERT INTO tb_users (user_no, auth_subject) VALUES (1000, 'squatter')",
    "INSERT INTO tb_exchanges (exchange_id, exchange_name) VALUES (1000, 'Squat')",
    `INSERT INTO tb_exchange_api_keys (key_no, user_no, exchange_id, public_key, private_key, is_active) VALUES (1000, 1, 101, '{}', '{}', true)`,
    `INSERT INTO tb_exchange_api_keys (user_no, exchange_id, public_key, private_key, is_active, create_date) VALUES (1, 101, '{}', '{}', true, now())`,
    // The records that bind seed envelopes to their places are the master user's to write.
    "INSERT INTO tb_v1_envelope_bindings (key_no, field, digest) VALUES (1, 'public_key', sha256(''))",
    'UPDATE tb_v1_envelope_bindings SET digest = digest',
    'DELETE FROM tb_v1_envelope_bindings',
    'TRUNCATE tb_v1_envelope_bindings',
    'SELECT bind_v1_envelopes()',
    "SELECT v1_envelope_digest(1, 1, 101, 'public_key', '{}')",
    'CREATE ROLE intruder',
    `ALTER ROLE ${APP_ROLE} SUPERUSER`,
  ])('%s: insufficient_privilege (42501)', async (statement) => {
    await expect(app.query(statement)).rejects.toMatchObject({ code: '42501' });
  });

  it('cannot become the user that owns the tables: insufficient_privilege (42501)', async () => {
    const owner = new URL(db.url).username;
    await expect(app.query(`SET ROLE ${pg.escapeIdentifier(owner)}`)).rejects.toMatchObject({ code: '42501' });
  });

  it('left every row and the schema as they were', async () => {
    const { rows } = await db.pool.query(
      `SELECT (SELECT count(*)::int FROM tb_exchange_api_keys) AS keys, (SELECT count(*)::int FROM tb_users) AS users,
              (SELECT count(*)::int FROM tb_exchanges) AS exchanges,
              (SELECT count(*)::int FROM information_schema.tables WHERE table_schema = 'public') AS tables`,
    );
    expect(rows).toEqual([{ keys: 2, users: 2, exchanges: 1, tables: 8 }]);
  });
});
