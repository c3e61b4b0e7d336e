/**
 * Races, over HTTP through the local server, with the handlers sharing one pool of 10 connections
 * (more requests at once than connections, as on a busy container behind RDS Proxy). Uniqueness
 * is the database's to decide: exactly one request wins, the others get 409, nothing is doubled
 * and nothing is lost.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { openEnvelope } from '../../shared/crypto/envelope.js';
import { keyRingFromText } from '../../shared/crypto/key-ring.js';
import { maskedApiKeyList } from '../../shared/schemas/api-keys.js';
import { errorBody } from '../../shared/schemas/errors.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { closeHandlerPool, loadHandlers, testSymmetricKey } from '../support/handlers.js';
import { startLocalApi, type HttpReply, type LocalApi } from '../support/http-server.js';
import { masksByDesign } from './helpers.js';

let db: TestDatabase;
let local: LocalApi;
const symmetricKey = testSymmetricKey();

const KEY_PATH = '/api/settings/exchange-api-key';
const EXCHANGE_PATH = '/api/settings/exchanges';
const bearer = async (subject: string, admin = false) => `Bearer ${await local.tokens.valid(subject, { admin })}`;
const tally = (responses: HttpReply[]) => responses.reduce<Record<number, number>>((counts, { status }) => ({ ...counts, [status]: (counts[status] ?? 0) + 1 }), {});

beforeAll(async () => {
  db = await createTestDatabase();
  const api = await loadHandlers({ DATABASE_URL: db.url, SYMMETRIC_KEY: symmetricKey });
  local = await startLocalApi(api.handlers);
  const admin = await bearer('race-admin', true);
  for (const exchange_name of ['Binance', 'Kraken']) expect((await local.request('POST', EXCHANGE_PATH, { authorization: admin, body: { exchange_name } })).status).toBe(201);
});

afterAll(async () => {
  await local?.close();
  await closeHandlerPool();
  await db?.drop();
});

describe('concurrent requests', () => {
  it('50 identical registrations at once: exactly one 201, 49 × 409, one row that opens to what was sent', async () => {
    const authorization = await bearer('race-alice');
    const body = { exchange_id: 101, public_key: 'race-public-key-0123', private_key: 'race-private-key-abcdefgh' };
    const responses = await Promise.all(Array.from({ length: 50 }, () => local.request('POST', KEY_PATH, { authorization, body })));

    expect(tally(responses)).toEqual({ 201: 1, 409: 49 });
    for (const response of responses.filter(({ status }) => status === 409)) {
      expect(errorBody.parse(response.json)).toEqual({ detail: 'An API key is already registered for this exchange.' });
    }
    const users = await db.pool.query<{ user_no: number }>("SELECT user_no FROM tb_users WHERE auth_subject = 'race-alice'");
    expect(users.rowCount).toBe(1);
    const { rows } = await db.pool.query('SELECT * FROM tb_exchange_api_keys WHERE user_no = $1', [users.rows[0]!.user_no]);
    expect(rows).toHaveLength(1);
    const place = { table: 'tb_exchange_api_keys', userNo: rows[0].user_no, exchangeId: 101 } as const;
    const ring = await keyRingFromText(symmetricKey);
    expect(openEnvelope(rows[0].private_key, ring, { ...place, field: 'private_key' })).toBe(body.private_key);
    expect(openEnvelope(rows[0].public_key, ring, { ...place, field: 'public_key' })).toBe(body.public_key);
  });

  it('20 creations of one exchange name in 20 letter cases at once: one 201, 19 × 409, one row', async () => {
    const authorization = await bearer('race-admin', true);
    const base = 'bitflyer';
    // 20 distinct spellings of the name, from the bits of i: bit k set upper-cases letter k.
    const spellings = Array.from({ length: 20 }, (_, i) => Array.from(base, (letter, k) => ((i * 7 + 3) >> k) & 1 ? letter.toUpperCase() : letter).join(''));
    expect(new Set(spellings).size).toBe(20);

    const responses = await Promise.all(spellings.map((exchange_name) => local.request('POST', EXCHANGE_PATH, { authorization, body: { exchange_name } })));

    expect(tally(responses)).toEqual({ 201: 1, 409: 19 });
    const { rows } = await db.pool.query<{ exchange_name: string }>('SELECT exchange_name FROM tb_exchanges WHERE lower(exchange_name) = $1', [base]);
    expect(rows).toHaveLength(1);
    const winner = spellings[responses.findIndex(({ status }) => status === 201)];
    expect(rows[0]!.exchange_name).toBe(winner);
  });

  it('a new user whose first requests race for three exchanges gets one user row and all three keys', async () => {
    const authorization = await bearer('race-newcomer');
    const responses = await Promise.all(
      [101, 102, 103].map((exchange_id) => local.request('POST', KEY_PATH, { authorization, body: { exchange_id, public_key: `newcomer-public-${exchange_id}`, private_key: `newcomer-private-key-${exchange_id}` } })),
    );
    expect(tally(responses)).toEqual({ 201: 3 });
    expect((await db.pool.query("SELECT 1 FROM tb_users WHERE auth_subject = 'race-newcomer'")).rowCount).toBe(1);
    const listed = maskedApiKeyList.parse((await local.request('GET', KEY_PATH, { authorization })).json);
    expect(listed.map((key) => key.exchange_id)).toEqual([101, 102, 103]);
  });

  it('registrations for 60 users × 2 exchanges at once all land, each in its own user’s rows, listed back to that user only', async () => {
    const users = Array.from({ length: 60 }, (_, i) => `race-user-${String(i).padStart(2, '0')}`);
    // Masks show only a key's ends, so the ends carry the user and the exchange: a key listed to
    // the wrong user, or under the wrong exchange, shows a mask that differs.
    const keysOf = (subject: string, exchangeId: number) => {
      const tag = `${subject.slice(-2)}${exchangeId - 100}`;
      return { public_key: `U${tag}-public-key-${tag}`, private_key: `private-key-of-${subject}-${tag}` };
    };
    const tokens = new Map(await Promise.all(users.map(async (subject) => [subject, await bearer(subject)] as const)));

    const responses = await Promise.all(
      users.flatMap((subject) => [101, 102].map((exchange_id) => local.request('POST', KEY_PATH, { authorization: tokens.get(subject)!, body: { exchange_id, ...keysOf(subject, exchange_id) } }))),
    );
    expect(tally(responses)).toEqual({ 201: 120 });

    const { rows } = await db.pool.query<{ count: string; users: string }>(
      "SELECT count(*) AS count, count(DISTINCT k.user_no) AS users FROM tb_exchange_api_keys k JOIN tb_users u USING (user_no) WHERE u.auth_subject LIKE 'race-user-%'",
    );
    expect(rows[0]).toEqual({ count: '120', users: '60' });

    const lists = await Promise.all(users.map((subject) => local.request('GET', KEY_PATH, { authorization: tokens.get(subject)! })));
    lists.forEach((response, index) => {
      const subject = users[index]!;
      expect(response.status).toBe(200);
      const listed = maskedApiKeyList.parse(response.json);
      expect(listed.map((key) => [key.exchange_id, key.public_key_masked, key.private_key_masked])).toEqual(
        [101, 102].map((exchangeId) => {
          const { public_key, private_key } = keysOf(subject, exchangeId);
          const masks = masksByDesign(public_key, private_key);
          return [exchangeId, masks.public_key_masked, masks.private_key_masked];
        }),
      );
    });
  });
});
