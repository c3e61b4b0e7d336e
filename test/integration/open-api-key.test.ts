/**
 * The trading engine's way in (DESIGN.md, "The trading engine's way in"), against a real
 * PostgreSQL: functions/open-api-key.ts invoked as Lambda invokes it. An active key opens to
 * exactly what its owner registered or last replaced it with, seed rows included; everything
 * else is a refusal, never a throw; every open and every refusal of an existing key is in the
 * key's history, written by the statement that read the key.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { keyRingFromText } from '../../shared/crypto/key-ring.js';
import { ENGINE_ROLE } from '../../shared/db/app-role.js';
import { openApiKeyResult } from '../../shared/schemas/open-api-key.js';
import { userNoOf } from '../security/helpers.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { ENGINE_FUNCTION_NAME, engineContext, keyEvents, loadOpenHandler, type OpenHandler } from '../support/engine.js';
import { closeHandlerPool, type LoadedHandlers, loadHandlers } from '../support/handlers.js';
import { captureOutput, type OutputCapture } from '../support/output-capture.js';
import { testClient, testPool } from '../support/pg.js';
import { createRoleMember } from '../support/role-member.js';
import { sealedPair } from '../support/sealing.js';

const PURPOSE = 'order-placement';

let db: TestDatabase;
let RING: string;
let helpers: typeof import('../unit/key-ring/maintenance-helpers.js');
let api: LoadedHandlers;
let open: OpenHandler;
let output: OutputCapture;

beforeAll(async () => {
  db = await createTestDatabase();
  output = captureOutput();
  // The helpers load the logger (through the register service): its level must be set first.
  process.env.POWERTOOLS_LOG_LEVEL = 'INFO';
  helpers = await import('../unit/key-ring/maintenance-helpers.js');
  RING = JSON.stringify({ primary: 'k-open', v1: 'seed', keys: { 'k-open': randomBytes(32).toString('base64'), seed: helpers.SEED_KEY } });
  api = await loadHandlers({ DATABASE_URL: db.url, SYMMETRIC_KEY: RING, POWERTOOLS_LOG_LEVEL: 'INFO', POWERTOOLS_METRICS_DISABLED: 'false' });
  open = await loadOpenHandler();
});

afterAll(async () => {
  output?.restore();
  await closeHandlerPool();
  await db?.drop();
});

async function registered(subject: string, keys = { public_key: `pub-${subject}-0123456789`, private_key: `priv-${subject}-abcdefghijklmnop` }) {
  expect((await api.call('register-api-key', { subject, body: { exchange_id: 101, ...keys } })).status).toBe(201);
  return { userNo: await userNoOf(db.pool, subject), ...keys };
}

const openKey = async (userNo: number, requestId = randomUUID(), purpose = PURPOSE) =>
  openApiKeyResult.parse(await open({ user_no: userNo, exchange_id: 101, purpose }, engineContext(requestId)));

describe('an active key', () => {
  it('opens to exactly what was registered, and its history says who opened it, for what, in which request', async () => {
    const key = await registered('open-alice', {
      public_key: '  pub-ⓐlice-🔑-0123  ',
      private_key: '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----',
    });
    const requestId = randomUUID();
    const result = await openKey(key.userNo, requestId);
    const { rows } = await db.pool.query('SELECT update_date FROM tb_exchange_api_keys WHERE user_no = $1', [key.userNo]);
    expect(result).toEqual({
      ok: true,
      user_no: key.userNo,
      exchange_id: 101,
      exchange_kind: null,
      public_key: 'pub-ⓐlice-🔑-0123', // registration trims surrounding whitespace
      private_key: key.private_key,
      key_version: 1,
      update_date: (rows[0].update_date as Date | null)?.toISOString() ?? null,
    });
    expect((await keyEvents(db.pool, key.userNo, 101)).filter((event) => event.event === 'opened')).toEqual([
      { event: 'opened', actor_kind: 'engine', actor_id: ENGINE_FUNCTION_NAME, request_id: requestId, purpose: PURPOSE },
    ]);
  });

  it('opens to what it was last replaced with', async () => {
    const key = await registered('open-bob');
    const ring = await keyRingFromText(RING);
    const at = { table: 'tb_exchange_api_keys', userNo: key.userNo, exchangeId: 101 } as const;
    for (const version of [1, 2]) {
      const fresh = { public_key: `pub-bob-replaced-${version}`, private_key: `priv-bob-replaced-${version}-secret` };
      await db.pool.query(
        'UPDATE tb_exchange_api_keys SET public_key = $1, private_key = $2, sealing = $3, update_date = now() WHERE user_no = $4 AND exchange_id = 101',
        [...sealedPair(ring, at, fresh), key.userNo],
      );
      expect(await openKey(key.userNo)).toMatchObject({ ok: true, ...fresh, update_date: expect.any(String) });
    }
  });

  it('waits for a replace in flight and opens what it leaves, never the key it replaces (FOR SHARE)', async () => {
    const key = await registered('open-waits');
    const ring = await keyRingFromText(RING);
    const at = { table: 'tb_exchange_api_keys', userNo: key.userNo, exchangeId: 101 } as const;
    const fresh = { public_key: 'pub-waits-replaced-0001', private_key: 'priv-waits-replaced-0001-secret' };
    const writer = testClient({ connectionString: db.url });
    await writer.connect();
    try {
      await writer.query('BEGIN');
      await writer.query(
        'UPDATE tb_exchange_api_keys SET public_key = $1, private_key = $2, sealing = $3, update_date = now() WHERE user_no = $4 AND exchange_id = 101',
        [...sealedPair(ring, at, fresh), key.userNo],
      );
      let settled = false;
      const opening = openKey(key.userNo).finally(() => {
        settled = true;
      });
      await new Promise((resolve) => setTimeout(resolve, 300));
      // Without FOR SHARE the open would already have read the committed, old key.
      expect(settled).toBe(false);
      await writer.query('COMMIT');
      expect(await opening).toMatchObject({ ok: true, ...fresh });
    } finally {
      await writer.end();
    }
  });

  it('opens a row adopted from the seed (version-1 envelopes under the seed key)', async () => {
    const seeded = await helpers.insertSeedRows(db.pool, 2);
    for (const [keyNo, plaintexts] of seeded) {
      const { rows } = await db.pool.query<{ user_no: number }>('SELECT user_no FROM tb_exchange_api_keys WHERE key_no = $1', [keyNo]);
      expect(await openKey(rows[0]!.user_no)).toEqual({
        ok: true,
        user_no: rows[0]!.user_no,
        exchange_id: 101,
        exchange_kind: null,
        ...plaintexts,
        key_version: 1,
        update_date: null,
      });
    }
  });

  it('never opens a seed envelope moved into another row: the one the adoption did not record there is refused, no key returned', async () => {
    const [victimKeyNo, thiefKeyNo] = [...(await helpers.insertSeedRows(db.pool, 2)).keys()];
    await db.pool.query(`UPDATE tb_exchange_api_keys SET private_key = (SELECT private_key FROM tb_exchange_api_keys WHERE key_no = $1) WHERE key_no = $2`, [
      victimKeyNo,
      thiefKeyNo,
    ]);
    const { rows } = await db.pool.query<{ user_no: number }>('SELECT user_no FROM tb_exchange_api_keys WHERE key_no = $1', [thiefKeyNo]);
    expect(await openKey(rows[0]!.user_no)).toEqual({ ok: false, error: 'integrity', detail: expect.stringMatching(/does not open/) });
  });

  it('counts each open in an embedded metric (1 opened, 0 for any other outcome) and never writes the plaintext out', async () => {
    const key = await registered('open-metrics', { public_key: 'METRIC-PUB-7f3a9c2e', private_key: 'METRIC-PRIV-4b8d1e6f-zz' });
    const before = output.text().length;
    await openKey(key.userNo);
    await openKey(999_999);
    const emitted = output.text().slice(before);
    const metricLines = emitted
      .split('\n')
      .filter((line) => line.includes('"_aws"'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(metricLines.map((line) => [line.ApiKeyOpened, line.ApiKeyOpenRefused, line.reason])).toEqual([
      [1, undefined, undefined],
      [undefined, 1, 'not_found'],
      [0, undefined, undefined],
    ]);
    expect(metricLines.every((line) => line.service === 'exchange-api-key-vault')).toBe(true);
    expect(emitted).toContain('api key opened');
    expect(emitted).not.toMatch(/METRIC-PUB|METRIC-PRIV/);
  });
});

describe('refusals', () => {
  it('refuses a deactivated key, with its open_refused event, and opens it again once reactivated', async () => {
    const key = await registered('open-carol');
    await db.pool.query('UPDATE tb_exchange_api_keys SET is_active = false WHERE user_no = $1', [key.userNo]);
    const requestId = randomUUID();
    expect(await openKey(key.userNo, requestId, 'risk.check-2')).toEqual({ ok: false, error: 'inactive', detail: expect.stringMatching(/deactivated/) });
    expect(await keyEvents(db.pool, key.userNo, 101)).toContainEqual({
      event: 'open_refused',
      actor_kind: 'engine',
      actor_id: ENGINE_FUNCTION_NAME,
      request_id: requestId,
      purpose: 'risk.check-2',
    });
    await db.pool.query('UPDATE tb_exchange_api_keys SET is_active = true WHERE user_no = $1', [key.userNo]);
    expect(await openKey(key.userNo)).toMatchObject({ ok: true, private_key: key.private_key });
  });

  it('answers not_found for a deleted key, and for one never registered, writing no event', async () => {
    const key = await registered('open-dave');
    await db.pool.query('DELETE FROM tb_exchange_api_keys WHERE user_no = $1', [key.userNo]);
    const eventsBefore = await keyEvents(db.pool, key.userNo, 101);
    expect(await openKey(key.userNo)).toEqual({ ok: false, error: 'not_found', detail: expect.any(String) });
    expect(await openKey(2_147_483_647)).toMatchObject({ ok: false, error: 'not_found' });
    expect(await keyEvents(db.pool, key.userNo, 101)).toEqual(eventsBefore);
  });

  it.each([
    ['nothing', undefined],
    ['an array', [1, 101, PURPOSE]],
    ['a missing purpose', { user_no: 1, exchange_id: 101 }],
    ['an empty purpose', { user_no: 1, exchange_id: 101, purpose: '' }],
    ['a purpose of 65 characters', { user_no: 1, exchange_id: 101, purpose: 'a'.repeat(65) }],
    ['a purpose with capitals', { user_no: 1, exchange_id: 101, purpose: 'Order' }],
    ['a purpose with a space', { user_no: 1, exchange_id: 101, purpose: 'order placement' }],
    ['a purpose with a newline at the end', { user_no: 1, exchange_id: 101, purpose: 'order\n' }],
    ['user_no as text', { user_no: '1', exchange_id: 101, purpose: PURPOSE }],
    ['user_no 0', { user_no: 0, exchange_id: 101, purpose: PURPOSE }],
    ['user_no past int4', { user_no: 2_147_483_648, exchange_id: 101, purpose: PURPOSE }],
    ['a fractional exchange_id', { user_no: 1, exchange_id: 101.5, purpose: PURPOSE }],
    ['an extra field', { user_no: 1, exchange_id: 101, purpose: PURPOSE, actor: 'user' }],
  ])('answers invalid_request for %s, naming fields but never their values, and writes no event', async (_, event) => {
    const { rows: before } = await db.pool.query('SELECT count(*) FROM tb_exchange_api_key_events');
    const result = openApiKeyResult.parse(await open(event, engineContext()));
    expect(result).toMatchObject({ ok: false, error: 'invalid_request' });
    expect(JSON.stringify(result)).not.toMatch(/actor|placement|Order/);
    expect((await db.pool.query('SELECT count(*) FROM tb_exchange_api_key_events')).rows).toEqual(before);
  });
});

describe('no plaintext without its event', () => {
  it('when the event cannot be written, the function fails with a fixed message and returns no key', async () => {
    const key = await registered('open-erin', { public_key: 'ERIN-PUB-1a2b3c4d', private_key: 'ERIN-PRIV-5e6f7a8b9c' });
    await db.pool.query("ALTER TABLE tb_exchange_api_key_events ADD CONSTRAINT open_probe CHECK (event <> 'opened') NOT VALID");
    const before = output.text().length;
    try {
      await expect(openKey(key.userNo)).rejects.toThrow(/^open-api-key failed; its log has the cause under this request id$/);
    } finally {
      await db.pool.query('ALTER TABLE tb_exchange_api_key_events DROP CONSTRAINT open_probe');
    }
    expect((await keyEvents(db.pool, key.userNo, 101)).map((event) => event.event)).toEqual(['registered']);
    const logged = output.text().slice(before);
    expect(logged).toContain('api key open failed');
    expect(logged).not.toMatch(/ERIN-P|open_probe.*Failing row/);
  });
});

describe("as the functions' database role", () => {
  it('vault_engine may read a key for an open and append its event (FOR SHARE needs its column UPDATE grant), and nothing more', async () => {
    const key = await registered('open-frank');
    const admin = testClient({ connectionString: process.env.VAULT_TEST_ADMIN_URL });
    await admin.connect();
    const member = await createRoleMember(admin, ENGINE_ROLE);
    const asApp = testPool({ connectionString: member.urlFor(db.url), max: 1 });
    try {
      const { readKeyForOpen, recordOpen } = await import('../../shared/db/key-opens.js');
      const attempt = { userNo: key.userNo, exchangeId: 101, actorId: 'probe', requestId: 'r-1', purpose: 'probe' };
      const read = await readKeyForOpen(asApp, attempt);
      expect(read).toMatchObject({ isActive: true, keyVersion: 1 });
      expect(await recordOpen(asApp, attempt, read!, { event: 'opened' })).toEqual(expect.any(String));
      await expect(asApp.query('UPDATE tb_exchange_api_keys SET key_no = key_no WHERE user_no = $1', [key.userNo])).rejects.toMatchObject({ code: '42501' });
      await expect(asApp.query('DELETE FROM tb_exchange_api_key_events WHERE user_no = $1', [key.userNo])).rejects.toMatchObject({ code: '42501' });
      await expect(asApp.query("UPDATE tb_exchange_api_key_events SET purpose = 'x' WHERE user_no = $1", [key.userNo])).rejects.toMatchObject({
        code: '42501',
      });
    } finally {
      await asApp.end();
      await member.drop();
      await admin.end();
    }
  });
});
