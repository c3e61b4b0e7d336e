/**
 * Nothing leaked. A canary public key and a canary private key go through every path a request
 * can take (success, each 4xx, a malformed or oversized body, the database timing out, a database
 * error with a DETAIL that quotes the row), over HTTP through the local server, with every log
 * line switched on (DEBUG, and Powertools' event logging too). Then neither canary may appear in
 * any log line, any response, or any database column other than its own envelope, where it must
 * be (encrypted). Lists carry masks only, and masks never show more than docs/design.md
 * ("Masking") allows.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { openEnvelope } from '../../shared/crypto/envelope.js';
import { keyRingFromText } from '../../shared/crypto/key-ring.js';
import { keyEventList, maskedApiKey, maskedApiKeyList } from '../../shared/schemas/api-keys.js';
import { openApiKeyResult } from '../../shared/schemas/open-api-key.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { engineContext, loadOpenHandler, type OpenHandler } from '../support/engine.js';
import { closeHandlerPool, loadHandlers } from '../support/handlers.js';
import { type HttpReply, type LocalApi, type RequestOptions, startLocalApi } from '../support/http-server.js';
import { captureOutput, type OutputCapture } from '../support/output-capture.js';
import { testClient } from '../support/pg.js';
import { hostileString } from './arbitraries.js';
import {
  BODY_LIMIT_BYTES,
  CANARY_PASSPHRASE,
  CANARY_PRIVATE_KEY,
  CANARY_PUBLIC_KEY,
  charactersShown,
  everyStoredValue,
  expectNoCanary,
  leakedFragments,
  masksByDesign,
  userNoOf,
} from './helpers.js';

let db: TestDatabase;
let local: LocalApi;
let output: OutputCapture;
let open: OpenHandler;

// A JSON ring with a kid of its own, so that a kid in a response would be recognisable.
const KID = 'kid-leak-probe-7';
const RING = JSON.stringify({ primary: KID, keys: { [KID]: Buffer.alloc(32, 7).toString('base64') } });
const KEY_PATH = '/api/settings/exchange-api-key';
const CANARY = { public_key: CANARY_PUBLIC_KEY, private_key: CANARY_PRIVATE_KEY, passphrase: CANARY_PASSPHRASE };

/** Every response of the scenarios, as the client saw it: status line, headers and body. */
const seen: Array<{ scenario: string; response: HttpReply }> = [];
const bearer = async (subject: string, admin = false) => `Bearer ${await local.tokens.valid(subject, { admin })}`;
async function scenario(name: string, subject: string, method: string, path: string, options: RequestOptions): Promise<HttpReply> {
  const response = await local.request(method, path, { authorization: await bearer(subject), ...options });
  seen.push({ scenario: name, response });
  return response;
}
const responseText = ({ response }: (typeof seen)[number]) => `${response.status}\n${JSON.stringify(Object.fromEntries(response.headers))}\n${response.text}`;

beforeAll(async () => {
  db = await createTestDatabase();
  output = captureOutput();
  const api = await loadHandlers({
    DATABASE_URL: db.url,
    SYMMETRIC_KEY: RING,
    POWERTOOLS_LOG_LEVEL: 'DEBUG',
    // Powertools logs each whole event (body included) when this is set, unless the code says not to.
    POWERTOOLS_LOGGER_LOG_EVENT: 'true',
    DB_STATEMENT_TIMEOUT_MS: '400',
    POWERTOOLS_METRICS_DISABLED: 'false',
  });
  local = await startLocalApi(api.handlers);
  open = await loadOpenHandler();
  const created = await local.request('POST', '/api/settings/exchanges', {
    authorization: await bearer('leak-admin', true),
    body: { exchange_name: 'Binance' },
  });
  expect(created.status).toBe(201);
});

afterAll(async () => {
  output?.restore();
  delete process.env.POWERTOOLS_LOGGER_LOG_EVENT;
  await local?.close();
  await closeHandlerPool();
  await db?.drop();
});

describe('the canary keys through every path', () => {
  it('runs every scenario with the answer the contract gives it', async () => {
    const expect201 = await scenario('registered', 'leak-alice', 'POST', KEY_PATH, { body: { exchange_id: 101, ...CANARY } });
    expect(expect201.status).toBe(201);
    const aliceNo = await userNoOf(db.pool, 'leak-alice');

    const statuses: Array<[string, number, Promise<HttpReply>]> = [];
    const run = (name: string, status: number, subject: string, method: string, options: RequestOptions) =>
      statuses.push([name, status, scenario(name, subject, method, KEY_PATH, options)]);
    run('already registered', 409, 'leak-alice', 'POST', { body: { exchange_id: 101, ...CANARY } });
    run("another user's user_no", 403, 'leak-mallory', 'POST', { body: { exchange_id: 101, ...CANARY, user_no: aliceNo } });
    run('unknown exchange', 404, 'leak-bob', 'POST', { body: { exchange_id: 999_999, ...CANARY } });
    run('NUL in the private key', 422, 'leak-bob', 'POST', { body: { exchange_id: 101, ...CANARY, private_key: `${CANARY_PRIVATE_KEY}\u0000` } });
    run('lone surrogate in the public key', 422, 'leak-bob', 'POST', { body: { exchange_id: 101, ...CANARY, public_key: `${CANARY_PUBLIC_KEY}\ud800` } });
    run('the key as exchange_id', 422, 'leak-bob', 'POST', { body: { ...CANARY, exchange_id: CANARY_PRIVATE_KEY } });
    run('the key as user_no', 422, 'leak-bob', 'POST', { body: { exchange_id: 101, ...CANARY, user_no: CANARY_PRIVATE_KEY } });
    run('the key in an extra field', 422, 'leak-bob', 'POST', { body: { exchange_id: 101, ...CANARY, note: CANARY_PRIVATE_KEY } });
    run('the key inside an object', 422, 'leak-bob', 'POST', {
      body: { exchange_id: 101, public_key: { nested: CANARY_PUBLIC_KEY }, private_key: [CANARY_PRIVATE_KEY] },
    });
    run('a key past 4096 characters', 422, 'leak-bob', 'POST', { body: { exchange_id: 101, ...CANARY, private_key: CANARY_PRIVATE_KEY.repeat(40) } });
    run('malformed JSON', 422, 'leak-bob', 'POST', { rawBody: `{"exchange_id": 101, "private_key": ${JSON.stringify(CANARY_PRIVATE_KEY)}, ` });
    run('bytes that are not UTF-8', 422, 'leak-bob', 'POST', {
      rawBody: Buffer.concat([Buffer.from(JSON.stringify({ exchange_id: 101, ...CANARY })), Buffer.from([0xff, 0xfe])]),
    });
    run('not JSON at all', 415, 'leak-bob', 'POST', {
      rawBody: `private_key=${CANARY_PRIVATE_KEY}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    run('a body past 16 KiB', 413, 'leak-bob', 'POST', {
      body: {
        exchange_id: 101,
        public_key: CANARY_PUBLIC_KEY,
        private_key: CANARY_PRIVATE_KEY.repeat(Math.ceil(BODY_LIMIT_BYTES / CANARY_PRIVATE_KEY.length) + 1),
      },
    });
    for (const [name, status, pending] of statuses) expect({ name, status: (await pending).status }).toEqual({ name, status });
  });

  it('runs the database timing out in the middle of a registration (503)', async () => {
    const locker = testClient({ connectionString: db.url });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE tb_exchange_api_keys IN ACCESS EXCLUSIVE MODE');
      expect((await scenario('database timed out', 'leak-carol', 'POST', KEY_PATH, { body: { exchange_id: 101, ...CANARY } })).status).toBe(503);
    } finally {
      await locker.query('ROLLBACK');
      await locker.end();
    }
  });

  it('runs a database error whose DETAIL quotes the failing row, masks and envelopes included (500)', async () => {
    const mask = masksByDesign(CANARY_PUBLIC_KEY, CANARY_PRIVATE_KEY).private_key_masked;
    await db.pool.query(
      `ALTER TABLE tb_exchange_api_keys ADD CONSTRAINT leak_probe CHECK (private_key_masked IS DISTINCT FROM '${mask}' OR exchange_id <> 102)`,
    );
    try {
      const response = await scenario('database error with DETAIL', 'leak-alice', 'POST', KEY_PATH, { body: { exchange_id: 102, ...CANARY } });
      expect(response.status).toBe(500);
      expect(response.json).toEqual({ detail: 'Internal server error' });
    } finally {
      await db.pool.query('ALTER TABLE tb_exchange_api_keys DROP CONSTRAINT leak_probe');
    }
  });

  it('lists the key with masks only: no ciphertext, nonce, tag or kid', async () => {
    const response = await scenario('listed', 'leak-alice', 'GET', KEY_PATH, {});
    expect(response.status).toBe(200);
    const listed = maskedApiKeyList.parse(response.json); // strict: any field beyond the contract's fails here
    expect(listed).toHaveLength(1);
    expect(Object.keys(listed[0]!).sort()).toEqual(Object.keys(maskedApiKey.shape).sort());
    expect(listed[0]).toMatchObject(masksByDesign(CANARY_PUBLIC_KEY, CANARY_PRIVATE_KEY));
    const { rows } = await db.pool.query<{ public_key: Record<string, string>; private_key: Record<string, string> }>(
      'SELECT public_key, private_key FROM tb_exchange_api_keys',
    );
    const envelopeParts = rows.flatMap((row) => [row.public_key, row.private_key]).flatMap((envelope) => [envelope.enc, envelope.nonce, envelope.tag]);
    expect(envelopeParts.length).toBeGreaterThan(0);
    for (const part of [...envelopeParts, KID]) expect(response.text).not.toContain(part!);
    expect(response.text).not.toMatch(/"(enc|nonce|tag|kid|alg|version)"/);
  });
});

describe("the canary through a key's life", () => {
  const ONE_KEY = `${KEY_PATH}/101`;

  it('runs reading, replacing, pausing, deleting and the history with the answers the contract gives them', async () => {
    const read = await scenario('read one key', 'leak-alice', 'GET', ONE_KEY, {});
    expect(read.status).toBe(200);
    expect(maskedApiKey.parse(read.json)).toMatchObject(masksByDesign(CANARY_PUBLIC_KEY, CANARY_PRIVATE_KEY));
    const etag = read.headers.get('etag')!;
    const aliceNo = await userNoOf(db.pool, 'leak-alice');

    const cases: Array<[string, number, string, string, string, RequestOptions]> = [
      ['replaced by itself', 200, 'leak-alice', 'PUT', ONE_KEY, { body: CANARY, headers: { 'if-match': etag } }],
      ['replace with a stale If-Match', 412, 'leak-alice', 'PUT', ONE_KEY, { body: CANARY, headers: { 'if-match': etag } }],
      ['replace a key that is not there', 404, 'leak-bob', 'PUT', ONE_KEY, { body: CANARY }],
      ["replace naming another's user_no", 403, 'leak-mallory', 'PUT', ONE_KEY, { body: CANARY, query: { user_no: String(aliceNo) } }],
      ['replace with NUL in the private key', 422, 'leak-alice', 'PUT', ONE_KEY, { body: { ...CANARY, private_key: `${CANARY_PRIVATE_KEY}\u0000` } }],
      ['replace with the key in an extra field', 422, 'leak-alice', 'PUT', ONE_KEY, { body: { ...CANARY, note: CANARY_PRIVATE_KEY } }],
      ['the key as exchange_id in the path', 422, 'leak-alice', 'PUT', `${KEY_PATH}/${encodeURIComponent(CANARY_PRIVATE_KEY)}`, { body: CANARY }],
      ['the key as is_active', 422, 'leak-alice', 'PATCH', ONE_KEY, { body: { is_active: CANARY_PRIVATE_KEY } }],
      ['paused', 200, 'leak-alice', 'PATCH', ONE_KEY, { body: { is_active: false } }],
      ['resumed', 200, 'leak-alice', 'PATCH', ONE_KEY, { body: { is_active: true } }],
      ['the key as ?before= of the history', 422, 'leak-alice', 'GET', `${ONE_KEY}/events`, { query: { before: CANARY_PRIVATE_KEY } }],
    ];
    for (const [name, status, subject, method, path, options] of cases) {
      expect({ name, status: (await scenario(name, subject, method, path, options)).status }).toEqual({ name, status });
    }

    expect((await scenario('registered to delete', 'leak-dave', 'POST', KEY_PATH, { body: { exchange_id: 101, ...CANARY } })).status).toBe(201);
    expect((await scenario('deleted', 'leak-dave', 'DELETE', ONE_KEY, {})).status).toBe(204);

    const history = await scenario('history', 'leak-alice', 'GET', `${ONE_KEY}/events`, {});
    expect(keyEventList.parse(history.json).map((event) => event.event)).toEqual(['reactivated', 'deactivated', 'replaced', 'registered']);
    const masks = masksByDesign(CANARY_PUBLIC_KEY, CANARY_PRIVATE_KEY);
    expect(history.text).not.toContain(masks.public_key_masked);
    expect(history.text).not.toContain(masks.private_key_masked);
    const { rows } = await db.pool.query<{ public_key: Record<string, string>; private_key: Record<string, string> }>(
      'SELECT public_key, private_key FROM tb_exchange_api_keys',
    );
    const envelopeParts = rows.flatMap((row) => [row.public_key, row.private_key]).flatMap((envelope) => [envelope.enc, envelope.nonce, envelope.tag]);
    for (const { response } of seen.slice(-15)) {
      for (const part of [...envelopeParts, KID]) expect(response.text).not.toContain(part!);
      expect(response.text).not.toMatch(/"(enc|nonce|tag|kid|alg|version)"/);
    }
  });
});

describe("the canary through the engine's open", () => {
  /** What the engine got back when the canary was not the answer: refusals and error messages. */
  const answers: string[] = [];
  const openAlice = async (event: Record<string, unknown> = {}) =>
    openApiKeyResult.parse(await open({ user_no: await userNoOf(db.pool, 'leak-alice'), exchange_id: 101, purpose: 'leak-probe', ...event }, engineContext()));
  const refusal = async (event: Record<string, unknown> = {}) => {
    const result = await openAlice(event);
    answers.push(JSON.stringify(result));
    return result;
  };

  it('opens to the canary itself, for the engine only', async () => {
    expect(await openAlice()).toMatchObject({ ok: true, ...CANARY });
  });

  it('refuses with answers that carry nothing of it: bad events, a deactivated key, a database timing out, a failed history', async () => {
    expect(await refusal({ purpose: CANARY_PUBLIC_KEY })).toMatchObject({ error: 'invalid_request' });
    expect(await refusal({ private_key: CANARY_PRIVATE_KEY })).toMatchObject({ error: 'invalid_request' });
    expect(await refusal({ user_no: CANARY_PRIVATE_KEY })).toMatchObject({ error: 'invalid_request' });
    const aliceNo = await userNoOf(db.pool, 'leak-alice');
    await db.pool.query('UPDATE tb_exchange_api_keys SET is_active = false WHERE user_no = $1', [aliceNo]);
    try {
      expect(await refusal()).toMatchObject({ error: 'inactive' });
    } finally {
      await db.pool.query('UPDATE tb_exchange_api_keys SET is_active = true WHERE user_no = $1', [aliceNo]);
    }
    const locker = testClient({ connectionString: db.url });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE tb_exchange_api_key_events IN ACCESS EXCLUSIVE MODE');
      expect(await refusal()).toMatchObject({ error: 'unavailable' });
    } finally {
      await locker.query('ROLLBACK');
      await locker.end();
    }
    await db.pool.query("ALTER TABLE tb_exchange_api_key_events ADD CONSTRAINT leak_open_probe CHECK (event <> 'opened') NOT VALID");
    try {
      const failure = await openAlice().then(
        () => 'opened',
        (error: unknown) => (error instanceof Error ? `${error.name}: ${error.message}` : String(error)),
      );
      expect(failure).toMatch(/^Error: open-api-key failed/);
      answers.push(failure);
    } finally {
      await db.pool.query('ALTER TABLE tb_exchange_api_key_events DROP CONSTRAINT leak_open_probe');
    }
    expect(answers).toHaveLength(6);
    for (const answer of answers) expectNoCanary(answer, 'an answer to the engine');
  });

  it("leaves the opens and refusals in the key's history, which holds nothing of the key", async () => {
    const { rows } = await db.pool.query("SELECT event, purpose FROM tb_exchange_api_key_events WHERE actor_kind = 'engine' ORDER BY event_id");
    expect(rows).toEqual([
      { event: 'opened', purpose: 'leak-probe' },
      { event: 'open_refused', purpose: 'leak-probe' },
    ]);
    expectNoCanary(JSON.stringify((await db.pool.query('SELECT * FROM tb_exchange_api_key_events')).rows), 'the history');
  });
});

describe('afterwards, the canary is nowhere but in its envelopes', () => {
  it('in no response: status, headers or body; and no response carries a stack trace, SQL or a pg DETAIL', () => {
    expect(seen.length).toBeGreaterThanOrEqual(33);
    for (const entry of seen) {
      const text = responseText(entry);
      expectNoCanary(text, entry.scenario);
      expect({
        scenario: entry.scenario,
        internals: /\n\s+at |\.ts:\d+|INSERT INTO|SELECT |Failing row|violates check constraint|leak_probe/.exec(text)?.[0],
      }).toEqual({ scenario: entry.scenario, internals: undefined });
    }
  });

  it('in no log line, though every log line was written', () => {
    const records = output.logRecords();
    const messages = new Set(records.map((record) => record.message));
    // The logging under test really happened: rejections, the 503 and the 500 were all logged, and the engine's opens.
    for (const message of ['request rejected', 'request failed', 'unhandled error', 'api key opened', 'api key open refused', 'api key open failed'])
      expect(messages).toContain(message);
    expect(records.filter((record) => '_aws' in record).length).toBeGreaterThan(0);
    const text = output.text();
    expectNoCanary(text, 'log output');
    expect(text).not.toMatch(/Failing row|INSERT INTO|violates check constraint/);
    // No log line carries a request: not its event, not its body.
    expect(records.filter((record) => 'event' in record || record.message === 'Lambda invocation event')).toEqual([]);
    expect(text).not.toContain('private_key');
  });

  it('in no database column but the envelopes, which open to it exactly', async () => {
    const values = await everyStoredValue(db.pool);
    const outsideEnvelopes = values.filter(
      ({ table, column }) => !(table === 'tb_exchange_api_keys' && ['public_key', 'private_key', 'passphrase'].includes(column)),
    );
    expect(outsideEnvelopes.length).toBeGreaterThan(10);
    for (const { table, column, value } of values) {
      const leaked = [CANARY_PUBLIC_KEY, CANARY_PRIVATE_KEY, CANARY_PASSPHRASE].flatMap((secret) => leakedFragments(value, secret));
      expect({ place: `${table}.${column}`, leaked }).toEqual({
        place: `${table}.${column}`,
        leaked: [],
      });
    }
    const ring = await keyRingFromText(RING);
    const { rows } = await db.pool.query('SELECT * FROM tb_exchange_api_keys');
    expect(rows).toHaveLength(1);
    const place = { table: 'tb_exchange_api_keys', userNo: rows[0].user_no, exchangeId: rows[0].exchange_id, sealing: rows[0].sealing } as const;
    expect(openEnvelope(rows[0].public_key, ring, { ...place, field: 'public_key' })).toBe(CANARY_PUBLIC_KEY);
    expect(openEnvelope(rows[0].private_key, ring, { ...place, field: 'private_key' })).toBe(CANARY_PRIVATE_KEY);
    expect(openEnvelope(rows[0].passphrase, ring, { ...place, field: 'passphrase' })).toBe(CANARY_PASSPHRASE);
  });
});

describe('masks', () => {
  it('never show more than docs/design.md (Masking) allows, for any key registered and listed back', async () => {
    let runs = 0;
    const key = fc.oneof(
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }),
      hostileString(40),
      fc.string({ unit: 'grapheme-ascii', minLength: 10, maxLength: 20 }),
      fc.string({ unit: 'grapheme-ascii', minLength: 100, maxLength: 300 }),
    );
    await fc.assert(
      fc.asyncProperty(key, key, async (publicKey, privateKey) => {
        runs += 1;
        const subject = `leak-mask-${runs}`;
        const registered = await local.request('POST', KEY_PATH, {
          authorization: await bearer(subject),
          body: { exchange_id: 101, public_key: publicKey, private_key: privateKey },
        });
        fc.pre(registered.status === 201); // invalid keys are the input properties' business
        const [listed] = maskedApiKeyList.parse((await local.request('GET', KEY_PATH, { authorization: await bearer(subject) })).json);
        const pub = Array.from(publicKey.trim());
        const priv = Array.from(privateKey.trim());
        expect(listed).toMatchObject(masksByDesign(publicKey.trim(), privateKey.trim()));
        const shownPublic = charactersShown(listed!.public_key_masked!);
        const shownPrivate = charactersShown(listed!.private_key_masked!);
        expect(shownPublic === 0 || (shownPublic === 8 && pub.length >= 12)).toBe(true);
        expect(shownPrivate === 0 || (shownPrivate === 4 && priv.length >= 16)).toBe(true);
        expect(shownPrivate).toBeLessThanOrEqual(priv.length / 4);
      }),
      { numRuns: 60 },
    );
  });
});
