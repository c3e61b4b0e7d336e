/**
 * The trading engine's way in (docs/engine.md), against a real
 * PostgreSQL: functions/open-api-key.ts invoked as Lambda invokes it. An active key opens to
 * exactly what its owner registered or last replaced it with, seed rows included; everything
 * else is a refusal, never a throw; every open and every refusal of an existing key is in the
 * key's history, written by the statement that read the key.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { keyRingFromText } from '../../shared/crypto/key-ring.js';
import { ENGINE_ROLE } from '../../shared/db/app-role.js';
import { OPEN_BATCH_SIZE_METRIC, OPENED_METRIC } from '../../shared/metrics.js';
import { OPEN_BATCH_MAX, openApiKeyResult, openApiKeysResult } from '../../shared/schemas/open-api-key.js';
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
      subject: 'open-alice',
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

  it("opens by its owner's subject, as the engine knows its users, to the same key and the same history as by user_no", async () => {
    const key = await registered('open-by-subject');
    const requestId = randomUUID();
    const bySubject = openApiKeyResult.parse(await open({ subject: 'open-by-subject', exchange_id: 101, purpose: PURPOSE }, engineContext(requestId)));
    expect(bySubject).toEqual(await openKey(key.userNo));
    expect(bySubject).toMatchObject({ ok: true, subject: 'open-by-subject', user_no: key.userNo, private_key: key.private_key, key_version: 1 });
    expect(await keyEvents(db.pool, key.userNo, 101)).toContainEqual({
      event: 'opened',
      actor_kind: 'engine',
      actor_id: ENGINE_FUNCTION_NAME,
      request_id: requestId,
      purpose: PURPOSE,
    });
    const unknown = await open({ subject: 'open-by-subject-nobody', exchange_id: 101, purpose: PURPOSE }, engineContext());
    expect(unknown).toEqual({ ok: false, error: 'not_found', detail: expect.any(String) });
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
        subject: null,
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
    ['both subject and user_no', { subject: 'someone', user_no: 1, exchange_id: 101, purpose: PURPOSE }],
    ['neither subject nor user_no', { exchange_id: 101, purpose: PURPOSE }],
    ['an empty subject', { subject: '', exchange_id: 101, purpose: PURPOSE }],
    ['a subject of 256 bytes', { subject: 'é'.repeat(128), exchange_id: 101, purpose: PURPOSE }],
    ['a subject with a lone surrogate', { subject: 'x\ud800', exchange_id: 101, purpose: PURPOSE }],
    ['a subject with NUL', { subject: 'x\u0000', exchange_id: 101, purpose: PURPOSE }],
  ])('answers invalid_request for %s, naming fields but never their values, and writes no event', async (_, event) => {
    const { rows: before } = await db.pool.query('SELECT count(*) FROM tb_exchange_api_key_events');
    const result = openApiKeyResult.parse(await open(event, engineContext()));
    expect(result).toMatchObject({ ok: false, error: 'invalid_request' });
    expect(JSON.stringify(result)).not.toMatch(/actor|placement|Order|someone|éé/);
    expect((await db.pool.query('SELECT count(*) FROM tb_exchange_api_key_events')).rows).toEqual(before);
  });
});

describe('a batch', () => {
  const openBatch = async (keys: unknown[], requestId = randomUUID()) =>
    openApiKeysResult.parse(await open({ keys, purpose: PURPOSE }, engineContext(requestId)));

  it("answers each key in order exactly as its single open does, refusals included, each in its history under the batch's request id", async () => {
    const alice = await registered('batch-alice');
    const bob = await registered('batch-bob');
    const paused = await registered('batch-paused');
    await db.pool.query('UPDATE tb_exchange_api_keys SET is_active = false WHERE user_no = $1', [paused.userNo]);
    const [victimKeyNo, thiefKeyNo] = [...(await helpers.insertSeedRows(db.pool, 2)).keys()];
    await db.pool.query('UPDATE tb_exchange_api_keys SET private_key = (SELECT private_key FROM tb_exchange_api_keys WHERE key_no = $1) WHERE key_no = $2', [
      victimKeyNo,
      thiefKeyNo,
    ]);
    const { rows } = await db.pool.query<{ user_no: number }>('SELECT user_no FROM tb_exchange_api_keys WHERE key_no = $1', [thiefKeyNo]);
    const altered = rows[0]!.user_no;
    const keys = [
      { subject: 'batch-alice', exchange_id: 101 },
      { user_no: bob.userNo, exchange_id: 101 },
      { subject: 'batch-paused', exchange_id: 101 },
      { subject: 'batch-nobody', exchange_id: 101 },
      { user_no: altered, exchange_id: 101 },
      { user_no: alice.userNo, exchange_id: 101 },
    ];
    const requestId = randomUUID();
    const batch = await openBatch(keys, requestId);
    const singles = [];
    for (const key of keys) singles.push(openApiKeyResult.parse(await open({ ...key, purpose: PURPOSE }, engineContext())));
    expect(batch).toEqual({ ok: true, results: singles });
    expect(singles.map((result) => (result.ok ? 'opened' : result.error))).toEqual(['opened', 'opened', 'inactive', 'not_found', 'integrity', 'opened']);
    const ofBatch = async (userNo: number) =>
      (await keyEvents(db.pool, userNo, 101)).filter((event) => event.request_id === requestId).map((event) => event.event);
    expect(await ofBatch(alice.userNo)).toEqual(['opened', 'opened']);
    expect(await ofBatch(bob.userNo)).toEqual(['opened']);
    expect(await ofBatch(paused.userNo)).toEqual(['open_refused']);
    expect(await ofBatch(altered)).toEqual(['open_refused']);
  });

  it('counts its size once per batch, beside each key opened; a batch refused as malformed counts none', async () => {
    const key = await registered('batch-metric');
    const before = output.text().length;
    await openBatch([
      { user_no: key.userNo, exchange_id: 101 },
      { subject: 'batch-metric', exchange_id: 101 },
      { subject: 'batch-metric-nobody', exchange_id: 101 },
    ]);
    await openBatch([]);
    const sizes = output
      .text()
      .slice(before)
      .split('\n')
      .filter((line) => line.includes('"_aws"'))
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((line) => OPEN_BATCH_SIZE_METRIC in line)
      .map((line) => [line[OPEN_BATCH_SIZE_METRIC], line[OPENED_METRIC]]);
    expect(sizes).toEqual([[3, [1, 1, 0]]]);
  });

  it('reads the whole batch in one statement and writes its events in one more', async () => {
    const users = [];
    for (const name of ['one', 'two', 'three']) users.push(await registered(`batch-count-${name}`));
    const statements: string[] = [];
    const counting = {
      query: ((text: unknown, values: unknown) => {
        statements.push(String((text as { text?: string }).text ?? text));
        return db.pool.query(text as string, values as unknown[]);
      }) as typeof db.pool.query,
    };
    // Imported here, not above: the logger they load must be made after the output is captured.
    const { cachedKeyRingSource } = await import('../../shared/crypto/key-ring-source.js');
    const { reloadingOpener } = await import('../../shared/crypto/reloading-opener.js');
    const { openApiKeys } = await import('../../shared/services/open-api-key.js');
    const source = cachedKeyRingSource(() => keyRingFromText(RING));
    const result = await openApiKeys(
      { db: counting, keyRingSource: source, open: reloadingOpener(source), metrics: new Metrics({ namespace: 'test', serviceName: 'test' }) },
      { keys: users.map((user) => ({ user_no: user.userNo, exchange_id: 101 })), purpose: PURPOSE },
      engineContext(),
    );
    expect(openApiKeysResult.parse(result)).toMatchObject({ ok: true, results: users.map((user) => ({ ok: true, private_key: user.private_key })) });
    expect(statements).toHaveLength(2);
  });

  it.each([
    ['more keys than a batch takes', Array.from({ length: OPEN_BATCH_MAX + 1 }, () => ({ user_no: 1, exchange_id: 101 })), /^invalid event: keys: at most 100/],
    ['no keys', [], /^invalid event: keys: /],
    [
      'an item with both subject and user_no',
      [
        { user_no: 1, exchange_id: 101 },
        { subject: 's', user_no: 1, exchange_id: 101 },
      ],
      /^invalid event: keys\.1: /,
    ],
    [
      'an item with an extra field',
      [
        { user_no: 1, exchange_id: 101 },
        { user_no: 1, exchange_id: 101 },
        { user_no: 1, exchange_id: 101, purpose: PURPOSE },
      ],
      /^invalid event: keys\.2: /,
    ],
    ['an item without an exchange', [{ user_no: 1 }], /^invalid event: keys\.0\.exchange_id: /],
  ])('refuses the whole call for %s, naming the offending index, and writes no event', async (_, keys, detail) => {
    const { rows: before } = await db.pool.query('SELECT count(*) FROM tb_exchange_api_key_events');
    expect(await openBatch(keys)).toEqual({ ok: false, error: 'invalid_request', detail: expect.stringMatching(detail) });
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
      const attempt = { owner: { subject: 'open-frank' }, exchangeId: 101, actorId: 'probe', requestId: 'r-1', purpose: 'probe' };
      const read = await readKeyForOpen(asApp, attempt);
      expect(read).toMatchObject({ userNo: key.userNo, subject: 'open-frank', isActive: true, keyVersion: 1 });
      expect(await recordOpen(asApp, attempt, read!, { event: 'opened' })).toEqual(expect.any(String));
      const { readKeysForOpen, recordOpens } = await import('../../shared/db/key-opens.js');
      const batch = { keys: [{ owner: { userNo: key.userNo }, exchangeId: 101 }], actorId: 'probe', requestId: 'r-2', purpose: 'probe' };
      const [inBatch] = await readKeysForOpen(asApp, batch);
      expect(inBatch).toMatchObject({ item: 0, userNo: key.userNo, subject: 'open-frank' });
      expect(await recordOpens(asApp, batch, [{ key: inBatch!, outcome: { event: 'opened' } }])).toEqual([inBatch!.keyNo]);
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
