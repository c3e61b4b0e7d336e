/**
 * Races, over HTTP through the local server, with the handlers sharing one pool of 10 connections
 * (more requests at once than connections, as on a busy container behind RDS Proxy). Uniqueness
 * is the database's to decide: exactly one request wins, the others get 409, nothing is doubled
 * and nothing is lost. Changes to one key race the same way: each change and its event are one
 * statement, so the history always says exactly what happened to the row.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { openEnvelope } from '../../shared/crypto/envelope.js';
import { keyRingFromText } from '../../shared/crypto/key-ring.js';
import { maskedApiKey, maskedApiKeyList } from '../../shared/schemas/api-keys.js';
import { errorBody } from '../../shared/schemas/errors.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { closeHandlerPool, loadHandlers, testSymmetricKey } from '../support/handlers.js';
import { type HttpReply, type LocalApi, startLocalApi } from '../support/http-server.js';
import { masksByDesign } from './helpers.js';

let db: TestDatabase;
let local: LocalApi;
const symmetricKey = testSymmetricKey();

const KEY_PATH = '/api/settings/exchange-api-key';
const EXCHANGE_PATH = '/api/settings/exchanges';
const bearer = async (subject: string, admin = false) => `Bearer ${await local.tokens.valid(subject, { admin })}`;
const tally = (responses: HttpReply[]) =>
  responses.reduce<Record<number, number>>((counts, { status }) => {
    counts[status] = (counts[status] ?? 0) + 1;
    return counts;
  }, {});

beforeAll(async () => {
  db = await createTestDatabase();
  const api = await loadHandlers({ DATABASE_URL: db.url, SYMMETRIC_KEY: symmetricKey });
  local = await startLocalApi(api.handlers);
  const admin = await bearer('race-admin', true);
  for (const exchange_name of ['Binance', 'Kraken'])
    expect((await local.request('POST', EXCHANGE_PATH, { authorization: admin, body: { exchange_name } })).status).toBe(201);
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
    const place = { table: 'tb_exchange_api_keys', userNo: rows[0].user_no, exchangeId: 101, sealing: rows[0].sealing } as const;
    const ring = await keyRingFromText(symmetricKey);
    expect(openEnvelope(rows[0].private_key, ring, { ...place, field: 'private_key' })).toBe(body.private_key);
    expect(openEnvelope(rows[0].public_key, ring, { ...place, field: 'public_key' })).toBe(body.public_key);
  });

  it('20 creations of one exchange name in 20 letter cases at once: one 201, 19 × 409, one row', async () => {
    const authorization = await bearer('race-admin', true);
    const base = 'bitflyer';
    // 20 distinct spellings of the name, from the bits of i: bit k set upper-cases letter k.
    const spellings = Array.from({ length: 20 }, (_, i) => Array.from(base, (letter, k) => (((i * 7 + 3) >> k) & 1 ? letter.toUpperCase() : letter)).join(''));
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
      [101, 102, 103].map((exchange_id) =>
        local.request('POST', KEY_PATH, {
          authorization,
          body: { exchange_id, public_key: `newcomer-public-${exchange_id}`, private_key: `newcomer-private-key-${exchange_id}` },
        }),
      ),
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
      users.flatMap((subject) =>
        [101, 102].map((exchange_id) =>
          local.request('POST', KEY_PATH, { authorization: tokens.get(subject)!, body: { exchange_id, ...keysOf(subject, exchange_id) } }),
        ),
      ),
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

describe("races on one key's life", () => {
  const keyPath = (exchangeId = 101) => `${KEY_PATH}/${exchangeId}`;
  const pair = (n: number) => ({
    public_key: `race-life-public-${String(n).padStart(4, '0')}`,
    private_key: `race-life-private-key-${String(n).padStart(4, '0')}`,
  });

  async function registered(subject: string): Promise<{ authorization: string; etag: string; userNo: number }> {
    const authorization = await bearer(subject);
    expect((await local.request('POST', KEY_PATH, { authorization, body: { exchange_id: 101, ...pair(0) } })).status).toBe(201);
    const read = await local.request('GET', keyPath(), { authorization });
    const userNo = (await db.pool.query<{ user_no: number }>('SELECT user_no FROM tb_users WHERE auth_subject = $1', [subject])).rows[0]!.user_no;
    return { authorization, etag: read.headers.get('etag')!, userNo };
  }

  const eventsOf = async (userNo: number): Promise<string[]> =>
    (
      await db.pool.query<{ event: string }>('SELECT event FROM tb_exchange_api_key_events WHERE user_no = $1 AND exchange_id = 101 ORDER BY event_id', [
        userNo,
      ])
    ).rows.map((row) => row.event);

  /** Which pair the row holds: both envelopes must open to the same one, never half of each. */
  async function heldPair(userNo: number): Promise<number | undefined> {
    const { rows } = await db.pool.query('SELECT * FROM tb_exchange_api_keys WHERE user_no = $1 AND exchange_id = 101', [userNo]);
    if (rows.length === 0) return undefined;
    const ring = await keyRingFromText(symmetricKey);
    const place = { table: 'tb_exchange_api_keys', userNo, exchangeId: 101, sealing: rows[0].sealing } as const;
    const opened = {
      public_key: openEnvelope(rows[0].public_key, ring, { ...place, field: 'public_key' }),
      private_key: openEnvelope(rows[0].private_key, ring, { ...place, field: 'private_key' }),
    };
    const n = Number(opened.public_key.slice(-4));
    expect(opened).toEqual(pair(n));
    expect([rows[0].public_key_masked, rows[0].private_key_masked]).toEqual(Object.values(masksByDesign(opened.public_key, opened.private_key)));
    return n;
  }

  it('10 PUTs with the same If-Match at once: one 200, nine 412; the row holds the winner, one replaced event', async () => {
    const { authorization, etag, userNo } = await registered('race-life-put');
    const responses = await Promise.all(
      Array.from({ length: 10 }, (_, i) => local.request('PUT', keyPath(), { authorization, headers: { 'if-match': etag }, body: pair(i + 1) })),
    );
    expect(tally(responses)).toEqual({ 200: 1, 412: 9 });
    const winner = responses.findIndex(({ status }) => status === 200) + 1;
    expect(await heldPair(userNo)).toBe(winner);
    expect(await eventsOf(userNo)).toEqual(['registered', 'replaced']);
    const shown = maskedApiKey.parse(responses[winner - 1]!.json);
    expect(shown.public_key_masked).toBe(masksByDesign(pair(winner).public_key, pair(winner).private_key).public_key_masked);
    expect(responses[winner - 1]!.headers.get('etag')).toBe((await local.request('GET', keyPath(), { authorization })).headers.get('etag'));
  });

  it('PUT, PATCH and DELETE racing on one key, 5 rounds of 30: every success has its event and no event lacks its success; never half a key', async () => {
    for (let round = 0; round < 5; round++) {
      const { authorization, userNo } = await registered(`race-life-mix-${round}`);
      const requests = Array.from({ length: 30 }, (_, i) => {
        if (i % 3 === 0) return { kind: 'PUT', send: () => local.request('PUT', keyPath(), { authorization, body: pair(i + 1) }) };
        if (i % 3 === 1) return { kind: 'PATCH', send: () => local.request('PATCH', keyPath(), { authorization, body: { is_active: i % 2 === 0 } }) };
        return { kind: 'DELETE', send: () => local.request('DELETE', keyPath(), { authorization }) };
      });
      const responses = await Promise.all(requests.map((request) => request.send()));
      const succeeded = (kind: string) => responses.filter((response, i) => requests[i]!.kind === kind && response.status < 300).length;
      const allowed: Record<string, number[]> = { PUT: [200, 404], PATCH: [200, 404], DELETE: [204, 404] };
      expect(
        responses
          .map((response, i) => `${requests[i]!.kind} ${response.status}`)
          .filter((line) => !allowed[line.split(' ')[0]!]!.includes(Number(line.split(' ')[1]))),
      ).toEqual([]);

      const events = await eventsOf(userNo);
      expect(events[0]).toBe('registered');
      expect(events.filter((event) => event === 'replaced')).toHaveLength(succeeded('PUT'));
      expect(events.filter((event) => event === 'deleted')).toHaveLength(succeeded('DELETE'));
      expect(succeeded('DELETE')).toBe(1);
      expect(events.at(-1)).toBe('deleted');
      // A PATCH to the value the key already has is a 200 that records nothing; one that changes it records one event.
      expect(events.filter((event) => event === 'deactivated' || event === 'reactivated').length).toBeLessThanOrEqual(succeeded('PATCH'));
      // Flips alternate: each recorded one changed the flag from what the one before left.
      const flips = events.filter((event) => event === 'deactivated' || event === 'reactivated');
      expect(flips).toEqual(flips.map((_, i) => (i % 2 === 0 ? 'deactivated' : 'reactivated')));
      expect(await heldPair(userNo)).toBeUndefined();
    }
  });

  it('DELETE (with If-Match) racing PUT, 10 rounds: the new key or no key, never a half, and the history says which', async () => {
    for (let round = 0; round < 10; round++) {
      const { authorization, etag, userNo } = await registered(`race-life-del-${round}`);
      // If-Match on the DELETE: a PUT that lands first makes it stale, so the new key survives.
      const [put, del] = await Promise.all([
        local.request('PUT', keyPath(), { authorization, body: pair(round + 1) }),
        local.request('DELETE', keyPath(), { authorization, headers: { 'if-match': etag } }),
      ]);
      const outcome = { put: put.status, del: del.status, events: await eventsOf(userNo), held: await heldPair(userNo) };
      expect([
        { put: 200, del: 412, events: ['registered', 'replaced'], held: round + 1 },
        { put: 404, del: 204, events: ['registered', 'deleted'], held: undefined },
      ]).toContainEqual(outcome);
    }
  });
});
