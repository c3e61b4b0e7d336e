/**
 * Attacks by someone holding a function's database role (issue 19), tried as the roles themselves
 * (throwaway members of vault_app, vault_engine and vault_reader) on the real PostgreSQL: restoring
 * earlier envelopes, writing history of another actor kind, locking tables, storing large objects
 * or temporary tables, holding a transaction open, and reading counts out of tags and event ids.
 */

import { Metrics } from '@aws-lambda-powertools/metrics';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { newSealing } from '../../shared/crypto/envelope.js';
import { keyRingFromText } from '../../shared/crypto/key-ring.js';
import { cachedKeyRingSource } from '../../shared/crypto/key-ring-source.js';
import { reloadingOpener } from '../../shared/crypto/reloading-opener.js';
import { APP_ROLE, ENGINE_ROLE, READER_ROLE } from '../../shared/db/app-role.js';
import { migrate } from '../../shared/db/migrate.js';
import { NO_CHECKS } from '../../shared/exchanges/checker.js';
import { reencrypt, verify } from '../../shared/key-maintenance/commands.js';
import { keyEventList } from '../../shared/schemas/api-keys.js';
import { openApiKeyResult } from '../../shared/schemas/open-api-key.js';
import { openApiKey } from '../../shared/services/open-api-key.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { engineContext } from '../support/engine.js';
import { closeHandlerPool, type LoadedHandlers, loadHandlers } from '../support/handlers.js';
import { testClient, testPool } from '../support/pg.js';
import { createRoleMember, type RoleMember } from '../support/role-member.js';
import { sealedBeforeSealings } from '../support/sealing.js';
import { memoryRingStore } from '../unit/key-ring/maintenance-helpers.js';
import { userNoOf } from './helpers.js';

const RING = JSON.stringify({ primary: 'k1', keys: { k1: Buffer.alloc(32, 7).toString('base64') } });
const LOGIN_ROLES = [APP_ROLE, READER_ROLE, ENGINE_ROLE] as const;

let db: TestDatabase;
let admin: pg.Client;
let api: LoadedHandlers;
const members: Partial<Record<string, RoleMember>> = {};
const pools: pg.Pool[] = [];

function poolAs(role: string, url = db.url, max = 2): pg.Pool {
  const pool = testPool({ connectionString: members[role]!.urlFor(url), max });
  pool.on('error', () => undefined);
  pools.push(pool);
  return pool;
}

let asApp: pg.Pool;
let asEngine: pg.Pool;

const ring = () => keyRingFromText(RING);
const metrics = new Metrics({ namespace: 'test', serviceName: 'test' });

/** The engine's open, as open-api-key runs it, logged in as vault_engine. */
async function engineOpens(userNo: number) {
  const source = cachedKeyRingSource(ring);
  const result = await openApiKey(
    { db: asEngine, keyRingSource: source, open: reloadingOpener(source), metrics },
    { user_no: userNo, exchange_id: 101, purpose: 'attack-test' },
    engineContext(),
  );
  return openApiKeyResult.parse(result);
}

const history = async (subject: string) =>
  keyEventList.parse((await api.call('list-api-key-events', { subject, params: { exchange_id: '101' } })).body).map((e) => [e.event, e.reason]);

const register = async (subject: string, keys: { public_key: string; private_key: string }) =>
  expect((await api.call('register-api-key', { subject, body: { exchange_id: 101, ...keys } })).status).toBe(201);

/** What a vault_app holder saves of a row: its envelopes and the sealing they were made in. */
const saved = async (userNo: number) =>
  (await asApp.query('SELECT key_no, public_key, private_key, sealing FROM tb_exchange_api_keys WHERE user_no = $1 AND exchange_id = 101', [userNo])).rows[0];

const maintenance = () => {
  const { store } = memoryRingStore(RING);
  return { db: asApp, store, keyRingSource: cachedKeyRingSource(() => ring()), freshness: { maxAgeMs: 0, graceMs: 0 }, checker: NO_CHECKS };
};

beforeAll(async () => {
  db = await createTestDatabase();
  admin = testClient({ connectionString: process.env.VAULT_TEST_ADMIN_URL });
  await admin.connect();
  for (const role of LOGIN_ROLES) members[role] = await createRoleMember(admin, role);
  // The HTTP functions run as vault_app, as in AWS.
  api = await loadHandlers({ DATABASE_URL: members[APP_ROLE]!.urlFor(db.url), SYMMETRIC_KEY: RING, POWERTOOLS_METRICS_DISABLED: 'true' });
  asApp = poolAs(APP_ROLE);
  asEngine = poolAs(ENGINE_ROLE);
});

afterAll(async () => {
  await closeHandlerPool();
  await Promise.all(pools.map((pool) => pool.end()));
  await db.drop();
  for (const member of Object.values(members)) await member?.drop();
  await admin.end();
});

describe('an earlier envelope never opens again (item 1)', () => {
  it("quinn's earlier passphrase written back by vault_app: not with the row's sealing, nor dropped, and under a new sealing the open is refused integrity", async () => {
    const first = { public_key: 'QUINN-PUBLIC-first-0001', private_key: 'QUINN-PRIVATE-first-secret', passphrase: 'quinn-first-passphrase' };
    expect((await api.call('register-api-key', { subject: 'quinn', body: { exchange_id: 101, ...first } })).status).toBe(201);
    const quinnNo = await userNoOf(db.pool, 'quinn');
    const earlier = (await asApp.query('SELECT passphrase FROM tb_exchange_api_keys WHERE user_no = $1 AND exchange_id = 101', [quinnNo])).rows[0].passphrase;
    const second = { public_key: 'QUINN-PUBLIC-second-0002', private_key: 'QUINN-PRIVATE-second-secret', passphrase: 'quinn-second-passphrase' };
    expect((await api.call('replace-api-key', { subject: 'quinn', params: { exchange_id: '101' }, body: second })).status).toBe(200);
    expect(await engineOpens(quinnNo)).toMatchObject({ ok: true, ...second, key_version: 2 });

    const where = 'WHERE user_no = $2 AND exchange_id = 101';
    await expect(asApp.query(`UPDATE tb_exchange_api_keys SET passphrase = $1 ${where}`, [earlier, quinnNo])).rejects.toMatchObject({ code: '42501' });
    await expect(asApp.query(`UPDATE tb_exchange_api_keys SET passphrase = NULL WHERE user_no = $1 AND exchange_id = 101`, [quinnNo])).rejects.toMatchObject({
      code: '42501',
    });
    await asApp.query(`UPDATE tb_exchange_api_keys SET passphrase = $1, sealing = $3 ${where}`, [earlier, quinnNo, newSealing()]);

    expect(await engineOpens(quinnNo)).toEqual({ ok: false, error: 'integrity', detail: expect.stringMatching(/does not open/) });
    expect((await history('quinn')).at(0)).toEqual(['open_refused', 'integrity']);
    const report = await verify(maintenance());
    const { key_no: row } = await saved(quinnNo);
    expect(report.failures.filter((failure) => failure.key_no === row).map((failure) => failure.field)).toEqual(['public_key', 'private_key', 'passphrase']);
  });

  it("bob's deleted key written back into a new row by vault_app: its sealing is refused, and under a new one it is refused integrity, recorded, and named by verify", async () => {
    await register('bob', { public_key: 'BOB-PUBLIC-0000-1111', private_key: 'BOB-PRIVATE-deleted-secret' });
    const bobNo = await userNoOf(db.pool, 'bob');
    const old = await saved(bobNo);
    expect((await api.call('delete-api-key', { subject: 'bob', params: { exchange_id: '101' } })).status).toBe(204);

    const insert = 'INSERT INTO tb_exchange_api_keys (user_no, exchange_id, public_key, private_key, is_active, sealing) VALUES ($1, 101, $2, $3, true, $4)';
    await expect(asApp.query(insert, [bobNo, old.public_key, old.private_key, old.sealing])).rejects.toMatchObject({ code: '42501' });
    await expect(asApp.query(insert, [bobNo, old.public_key, old.private_key, null])).rejects.toMatchObject({ code: '42501' });
    await asApp.query(insert, [bobNo, old.public_key, old.private_key, newSealing()]);

    expect(await engineOpens(bobNo)).toEqual({ ok: false, error: 'integrity', detail: expect.stringMatching(/does not open/) });
    expect((await history('bob')).at(0)).toEqual(['open_refused', 'integrity']);
    expect((await history('bob')).map(([event]) => event)).not.toContain('opened');
    const report = await verify(maintenance());
    expect(report.ok).toBe(false);
    const { key_no: restored } = await saved(bobNo);
    expect(report.failures.filter((failure) => failure.key_no === restored).map((failure) => failure.field)).toEqual(['public_key', 'private_key']);
  });

  it("alice's deleted private envelope written into her new row: not with the row's sealing, and under a new one the open and her GET both show it", async () => {
    await register('alice', { public_key: 'ALICE-PUBLIC-first-0001', private_key: 'ALICE-PRIVATE-first-secret' });
    const aliceNo = await userNoOf(db.pool, 'alice');
    const first = await saved(aliceNo);
    const second = { public_key: 'ALICE-PUBLIC-second-0002', private_key: 'ALICE-PRIVATE-second-secret' };
    const put = await api.call('replace-api-key', { subject: 'alice', params: { exchange_id: '101' }, body: second });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ key_version: 2 });
    expect(await engineOpens(aliceNo)).toMatchObject({ ok: true, ...second, key_version: 2 });

    await expect(
      asApp.query('UPDATE tb_exchange_api_keys SET private_key = $1 WHERE user_no = $2 AND exchange_id = 101', [first.private_key, aliceNo]),
    ).rejects.toMatchObject({
      code: '42501',
    });
    await asApp.query('UPDATE tb_exchange_api_keys SET private_key = $1, sealing = $2 WHERE user_no = $3 AND exchange_id = 101', [
      first.private_key,
      newSealing(),
      aliceNo,
    ]);

    expect(await engineOpens(aliceNo)).toMatchObject({ ok: false, error: 'integrity' });
    expect((await history('alice')).at(0)).toEqual(['open_refused', 'integrity']);
    const get = await api.call('get-api-key', { subject: 'alice', params: { exchange_id: '101' } });
    expect(get.headers.etag).not.toBe(put.headers.etag);
    const report = await verify(maintenance());
    const { key_no: row } = await saved(aliceNo);
    expect(report.failures.filter((failure) => failure.key_no === row).map((failure) => failure.field)).toEqual(['public_key', 'private_key']);
  });

  it('a row written before sealings (version 2) opens until reencrypt upgrades it, keeping its key_version; its envelopes written back after that are refused as restored', async () => {
    await register('carol', { public_key: 'CAROL-PUBLIC-0000-3333', private_key: 'CAROL-PRIVATE-legacy-secret' });
    const carolNo = await userNoOf(db.pool, 'carol');
    // As the vault wrote it before migration 008 (version 2, no sealing), by the table's owner.
    const legacy = await legacyRow(carolNo, { public_key: 'CAROL-PUBLIC-0000-3333', private_key: 'CAROL-PRIVATE-legacy-secret' });
    expect(await engineOpens(carolNo)).toMatchObject({ ok: true, private_key: 'CAROL-PRIVATE-legacy-secret', key_version: 1 });

    // The rows restored above stay refused (and reported); carol's is upgraded.
    const upgrade = await reencrypt(maintenance());
    const upgraded = await saved(carolNo);
    expect(upgrade.failures.map((failure) => failure.key_no)).not.toContain(upgraded.key_no);
    expect(upgraded.public_key).toMatchObject({ version: 3 });
    expect(upgraded.sealing).toEqual(expect.any(String));
    expect(await engineOpens(carolNo)).toMatchObject({ ok: true, private_key: 'CAROL-PRIVATE-legacy-secret', key_version: 1 });

    await asApp.query('UPDATE tb_exchange_api_keys SET public_key = $1, private_key = $2, sealing = $3 WHERE user_no = $4 AND exchange_id = 101', [
      legacy.public_key,
      legacy.private_key,
      newSealing(),
      carolNo,
    ]);
    expect(await engineOpens(carolNo)).toMatchObject({ ok: false, error: 'integrity' });
    const report = await verify(maintenance());
    expect(report.failures.filter((failure) => failure.key_no === upgraded.key_no)).toEqual([
      { key_no: upgraded.key_no, field: 'public_key', reason: 'restored' },
      { key_no: upgraded.key_no, field: 'private_key', reason: 'restored' },
    ]);
  });
});

/** Rewrites a row as the owner into what the vault stored before migration 008: version-2 envelopes and no sealing. */
async function legacyRow(userNo: number, keys: { public_key: string; private_key: string }) {
  const key = (await ring()).key('k1')!;
  const sealV2 = (plaintext: string, field: 'public_key' | 'private_key') =>
    sealedBeforeSealings(key, 'k1', { table: 'tb_exchange_api_keys', userNo, exchangeId: 101, field }, plaintext);
  const row = { public_key: sealV2(keys.public_key, 'public_key'), private_key: sealV2(keys.private_key, 'private_key') };
  await db.pool.query('UPDATE tb_exchange_api_keys SET public_key = $1, private_key = $2, sealing = NULL WHERE user_no = $3 AND exchange_id = 101', [
    row.public_key,
    row.private_key,
    userNo,
  ]);
  return row;
}

describe('the history says opened only for a key that opened (item 2)', () => {
  it('an envelope that fails to decrypt is open_refused with reason integrity, never unavailable, and never opened', async () => {
    await register('dana', { public_key: 'DANA-PUBLIC-0000-4444', private_key: 'DANA-PRIVATE-secret-4444' });
    const danaNo = await userNoOf(db.pool, 'dana');
    const row = await saved(danaNo);
    const enc = Buffer.from(row.private_key.enc, 'base64');
    enc[0] = enc[0]! ^ 1;
    await db.pool.query('UPDATE tb_exchange_api_keys SET private_key = $1 WHERE key_no = $2', [
      { ...row.private_key, enc: enc.toString('base64') },
      row.key_no,
    ]);
    expect(await engineOpens(danaNo)).toMatchObject({ ok: false, error: 'integrity' });
    expect(await history('dana')).toEqual([
      ['open_refused', 'integrity'],
      ['registered', null],
    ]);
  });
});

describe('what each login role cannot do (items 3 and 4)', () => {
  it.each(LOGIN_ROLES)('%s cannot create a large object', async (role) => {
    const pool = poolAs(role);
    await expect(pool.query("SELECT lo_from_bytea(0, '\\x00'::bytea)")).rejects.toMatchObject({ code: '42501' });
    await expect(pool.query('SELECT lo_create(0)')).rejects.toMatchObject({ code: '42501' });
  });

  it.each(LOGIN_ROLES)('%s cannot create a temporary table in a migrated database', async (role) => {
    // Databases cloned from the test template do not inherit its database-level grants: migrate one of its own.
    const fresh = await createTestDatabase({ migrated: false });
    try {
      const client = testClient({ connectionString: fresh.url });
      await client.connect();
      await migrate(client, { info: () => undefined, warn: () => undefined, error: () => undefined } as never);
      await client.end();
      const pool = testPool({ connectionString: members[role]!.urlFor(fresh.url), max: 1 });
      pool.on('error', () => undefined);
      try {
        await expect(pool.query('CREATE TEMP TABLE fill (x bytea)')).rejects.toMatchObject({ code: '42501' });
      } finally {
        await pool.end();
      }
    } finally {
      await fresh.drop();
    }
  });

  const tables = ['tb_exchange_api_keys', 'tb_exchange_api_key_events', 'tb_users', 'tb_exchanges'];
  const modes = ['ROW SHARE', 'ROW EXCLUSIVE', 'SHARE UPDATE EXCLUSIVE', 'SHARE', 'SHARE ROW EXCLUSIVE', 'EXCLUSIVE', 'ACCESS EXCLUSIVE'];
  it.each(LOGIN_ROLES)('%s cannot lock any table in any mode that blocks the service', async (role) => {
    const client = testClient({ connectionString: members[role]!.urlFor(db.url) });
    client.on('error', () => undefined);
    await client.connect();
    try {
      for (const table of tables) {
        for (const mode of modes) {
          await client.query('BEGIN');
          await expect(client.query(`LOCK ${table} IN ${mode} MODE`)).rejects.toMatchObject({ code: '42501' });
          await client.query('ROLLBACK');
        }
      }
    } finally {
      await client.end();
    }
  });

  it('vault_app deletes a key row only through the route, never with DELETE (which would let it lock the table)', async () => {
    await expect(asApp.query('DELETE FROM tb_exchange_api_keys WHERE false')).rejects.toMatchObject({ code: '42501' });
  });

  it('vault_app cannot append an engine event, and vault_engine only engine events', async () => {
    await register('erin', { public_key: 'ERIN-PUBLIC-0000-5555', private_key: 'ERIN-PRIVATE-secret-5555' });
    const erinNo = await userNoOf(db.pool, 'erin');
    const append = (pool: pg.Pool, kind: string) =>
      pool.query("INSERT INTO tb_exchange_api_key_events (user_no, exchange_id, event, actor_kind, actor_id) VALUES ($1, 101, 'opened', $2, 'forged')", [
        erinNo,
        kind,
      ]);
    await expect(append(asApp, 'engine')).rejects.toMatchObject({ code: '42501' });
    for (const kind of ['user', 'maintenance']) await expect(append(asEngine, kind)).rejects.toMatchObject({ code: '42501' });
    await append(asEngine, 'engine');
    await expect(asEngine.query('UPDATE tb_exchange_api_keys SET is_active = false')).rejects.toMatchObject({ code: '42501' });
    await expect(asEngine.query('UPDATE tb_exchange_api_keys SET key_no = key_no')).rejects.toMatchObject({ code: '42501' });
    await expect(asEngine.query('SELECT public_key_masked FROM tb_exchange_api_keys')).rejects.toMatchObject({ code: '42501' });
  });

  const versionNum = async () => Number((await db.pool.query('SHOW server_version_num')).rows[0].server_version_num);

  it.each(LOGIN_ROLES)("bounds %s's transactions, not only its statements (PostgreSQL 17 and later)", async (role) => {
    if ((await versionNum()) < 170000) return;
    const { rows } = await admin.query<{ setconfig: string[] }>(
      'SELECT setconfig FROM pg_db_role_setting WHERE setrole = (SELECT oid FROM pg_roles WHERE rolname = $1) AND setdatabase = 0',
      [role],
    );
    expect(rows[0]?.setconfig).toEqual(expect.arrayContaining(['transaction_timeout=10s', 'statement_timeout=5s', 'idle_in_transaction_session_timeout=30s']));
  });

  it('a session holding row locks across short statements is ended at the transaction bound (PostgreSQL 17 and later)', async () => {
    if ((await versionNum()) < 170000) return;
    // The role's setting on the member (role settings are not inherited), made short so the test is quick.
    const member = members[APP_ROLE]!;
    await admin.query(`ALTER ROLE ${pg.escapeIdentifier(member.role)} SET transaction_timeout = '1s'`);
    const client = testClient({ connectionString: member.urlFor(db.url) });
    client.on('error', () => undefined);
    await client.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT key_no FROM tb_exchange_api_keys FOR UPDATE');
      const holding = async () => {
        for (let i = 0; i < 50; i += 1) await client.query('SELECT pg_sleep(0.1)');
      };
      await expect(holding()).rejects.toThrow();
    } finally {
      await client.end().catch(() => undefined);
      await admin.query(`ALTER ROLE ${pg.escapeIdentifier(member.role)} RESET transaction_timeout`);
    }
  });
});

describe('tags and event ids reveal no count (item 5)', () => {
  it('the ETag is not a digest of what the owner sees: two keys that look alike have different tags, and each change draws a new one', async () => {
    const keys = { public_key: 'SAME-PUBLIC-0000-6666', private_key: 'SAME-PRIVATE-secret-6666' };
    await register('frank', keys);
    await register('grace', keys);
    const tag = async (subject: string) => (await api.call('get-api-key', { subject, params: { exchange_id: '101' } })).headers.etag;
    const [frank, grace] = [await tag('frank'), await tag('grace')];
    expect(frank).toMatch(/^"[0-9a-f]{32}"$/);
    expect(frank).not.toBe(grace);
    await api.call('set-api-key-active', { subject: 'frank', params: { exchange_id: '101' }, body: { is_active: false } });
    const paused = await tag('frank');
    await api.call('set-api-key-active', { subject: 'frank', params: { exchange_id: '101' }, body: { is_active: true } });
    expect(new Set([frank, paused, await tag('frank')]).size).toBe(3);
  });

  it("a user's event ids count their own key's history only, whatever anyone else does in between", async () => {
    await register('heidi', { public_key: 'HEIDI-PUBLIC-0000-7777', private_key: 'HEIDI-PRIVATE-secret-7777' });
    await register('ivan', { public_key: 'IVAN-PUBLIC-0000-8888', private_key: 'IVAN-PRIVATE-secret-8888' });
    for (const is_active of [false, true, false, true]) {
      await api.call('set-api-key-active', { subject: 'ivan', params: { exchange_id: '101' }, body: { is_active } });
    }
    await api.call('set-api-key-active', { subject: 'heidi', params: { exchange_id: '101' }, body: { is_active: false } });
    const ids = keyEventList.parse((await api.call('list-api-key-events', { subject: 'heidi', params: { exchange_id: '101' } })).body).map((e) => e.event_id);
    expect(ids).toEqual([2, 1]);
  });
});

describe('a subject PostgreSQL cannot index (item 6)', () => {
  it('a token sub longer than a btree index entry holds is unauthenticated (401), not a 500, and writes nothing', async () => {
    const subject = 'x'.repeat(3000);
    const registered = await api.call('register-api-key', {
      subject,
      body: { exchange_id: 101, public_key: 'LONG-SUB-PUBLIC-0000', private_key: 'LONG-SUB-PRIVATE-secret' },
    });
    expect(registered.status).toBe(401);
    expect((await api.call('list-api-keys', { subject })).status).toBe(401);
    expect((await db.pool.query('SELECT count(*)::int AS n FROM tb_users WHERE length(auth_subject) > 255')).rows).toEqual([{ n: 0 }]);
  });
});
