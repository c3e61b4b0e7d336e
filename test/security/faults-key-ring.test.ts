/**
 * The key ring unavailable: registering needs it and must answer 503 with Retry-After (never a
 * 500, never a fallback key, never the secret's text in a log); the routes that hold no key must
 * not notice. The functions that never seal are loaded with no key source configured at all, and
 * the sealing ones (register, replace) with a ring whose primary key is malformed.
 */

import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type Handlers, importRouteHandlers } from '../../local/route-handlers.js';
import { RETRY_AFTER_SECONDS } from '../../shared/errors.js';
import { maskedApiKeyList } from '../../shared/schemas/api-keys.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { type HttpReply, type LocalApi, startLocalApi } from '../support/http-server.js';
import { captureOutput, type OutputCapture } from '../support/output-capture.js';
import { CANARY_PRIVATE_KEY, CANARY_PUBLIC_KEY, expectNoCanary } from './helpers.js';

let db: TestDatabase;
let local: LocalApi;
let output: OutputCapture;

// A ring that parses but cannot be used: its primary key is 31 bytes. Both keys are secrets.
const goodKey = randomBytes(32).toString('base64');
const shortKey = randomBytes(31).toString('base64');
const MALFORMED_RING = JSON.stringify({ primary: 'k2', v1: 'k1', keys: { k1: goodKey, k2: shortKey } });

const KEY_PATH = '/api/settings/exchange-api-key';
const bearer = async (subject: string, admin = false) => `Bearer ${await local.tokens.valid(subject, { admin })}`;
const register = async (subject: string) =>
  local.request('POST', KEY_PATH, {
    authorization: await bearer(subject),
    body: { exchange_id: 101, public_key: CANARY_PUBLIC_KEY, private_key: CANARY_PRIVATE_KEY },
  });

const expectKeysUnavailable = (response: HttpReply) => {
  expect({ status: response.status, json: response.json }).toEqual({ status: 503, json: { detail: 'The encryption keys are unavailable; retry shortly' } });
  expect(response.headers.get('retry-after')).toBe(String(RETRY_AFTER_SECONDS));
};

beforeAll(async () => {
  db = await createTestDatabase();
  Object.assign(process.env, { DATABASE_URL: db.url, POWERTOOLS_LOG_LEVEL: 'DEBUG', DB_POOL_MAX: '10' });
  delete process.env.SYMMETRIC_KEY;
  delete process.env.KEY_RING_SECRET_ARN;
  output = captureOutput();
  // The functions that never seal load with no key source configured: they never import one.
  const keyless = await importRouteHandlers((route) => !route.usesKeyRing);
  process.env.SYMMETRIC_KEY = MALFORMED_RING;
  const sealing = await importRouteHandlers((route) => route.usesKeyRing);
  local = await startLocalApi({ ...keyless, ...sealing } as Handlers);

  // A key registered earlier (by a container whose ring worked), for the list route to show.
  await db.pool.query(`
    WITH u AS (INSERT INTO tb_users (auth_subject) VALUES ('ring-earlier') RETURNING user_no)
    INSERT INTO tb_exchange_api_keys (user_no, exchange_id, public_key, private_key, public_key_masked, private_key_masked, is_active)
    SELECT user_no, 101, '{"version": 2}', '{"version": 2}', 'EARL****1234', '****WXYZ', true FROM u`);
});

afterAll(async () => {
  output?.restore();
  await local?.close();
  await (await import('../../shared/runtime/database.js')).db.end();
  await db?.drop();
});

describe('when the key ring cannot be loaded', () => {
  it('answers every registration 503 with Retry-After, tries the ring again each time, and writes no key', async () => {
    for (let attempt = 1; attempt <= 3; attempt += 1) expectKeysUnavailable(await register('ring-alice'));
    expect((await db.pool.query("SELECT 1 FROM tb_exchange_api_keys k JOIN tb_users u USING (user_no) WHERE u.auth_subject = 'ring-alice'")).rowCount).toBe(0);
    // Not cached as a failure: every request tried the ring again, and said so in the log.
    expect(output.logRecords().filter((record) => record.message === 'key ring unavailable')).toHaveLength(3);
  });

  it('still checks who is asking first: 401 without a token, 403 for another user', async () => {
    expect((await local.request('POST', KEY_PATH, { body: { exchange_id: 101, public_key: 'p', private_key: 'q' } })).status).toBe(401);
    const earlier = (await db.pool.query<{ user_no: number }>("SELECT user_no FROM tb_users WHERE auth_subject = 'ring-earlier'")).rows[0]!.user_no;
    const response = await local.request('POST', KEY_PATH, {
      authorization: await bearer('ring-mallory'),
      body: { exchange_id: 101, public_key: 'p', private_key: 'q', user_no: earlier },
    });
    expect(response.status).toBe(403);
  });

  it('keeps the routes that hold no key working: both lists, and creating an exchange', async () => {
    expect((await local.request('GET', '/api/settings/exchanges', { authorization: await bearer('ring-reader') })).status).toBe(200);
    const listed = await local.request('GET', KEY_PATH, { authorization: await bearer('ring-earlier') });
    expect(listed.status).toBe(200);
    expect(maskedApiKeyList.parse(listed.json).map((key) => [key.public_key_masked, key.private_key_masked, key.status])).toEqual([
      ['EARL****1234', '****WXYZ', 'ready'],
    ]);
    const created = await local.request('POST', '/api/settings/exchanges', {
      authorization: await bearer('ring-admin', true),
      body: { exchange_name: 'Ringless' },
    });
    expect(created.status).toBe(201);
  });

  it("replaces no key (503, nothing written) but reads, pauses, deletes and shows a key's history without one", async () => {
    const authorization = await bearer('ring-earlier');
    const key = `${KEY_PATH}/101`;
    expectKeysUnavailable(await local.request('PUT', key, { authorization, body: { public_key: CANARY_PUBLIC_KEY, private_key: CANARY_PRIVATE_KEY } }));
    const read = await local.request('GET', key, { authorization });
    expect([read.status, read.json]).toEqual([200, expect.objectContaining({ public_key_masked: 'EARL****1234' })]);
    expect((await local.request('PATCH', key, { authorization, body: { is_active: false } })).status).toBe(200);
    expect((await local.request('DELETE', key, { authorization })).status).toBe(204);
    const history = await local.request('GET', `${key}/events`, { authorization });
    expect([history.status, (history.json as Array<{ event: string }>).map((event) => event.event)]).toEqual([200, ['deleted', 'deactivated']]);
  });

  it('logs why, but never the ring secret, its keys, or the key being registered', () => {
    const text = output.text();
    const reasons = output
      .logRecords()
      .filter((record) => record.message === 'key ring unavailable')
      .map((record) => String(record.reason));
    expect(reasons[0]).toMatch(/k2.*31 bytes/);
    for (const secret of [goodKey, shortKey, goodKey.slice(0, 12), shortKey.slice(0, 12), MALFORMED_RING]) expect(text).not.toContain(secret);
    expectNoCanary(text, 'log output');
  });
});
