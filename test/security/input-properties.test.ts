/**
 * Property-based tests with fast-check: whatever an authenticated caller sends, each route answers
 * with one of its contract's statuses, never a 5xx, and what it stores comes back exactly as sent
 * (after trimming). The handlers run in-process, for speed, against a real PostgreSQL database.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { openEnvelope } from '../../shared/crypto/envelope.js';
import { type KeyRing, keyRingFromText } from '../../shared/crypto/key-ring.js';
import { type RouteName, routes } from '../../shared/routes.js';
import { keyEventList, maskedApiKey } from '../../shared/schemas/api-keys.js';
import { errorBody } from '../../shared/schemas/errors.js';
import { exchangeList } from '../../shared/schemas/exchanges.js';
import { INT4_MAX } from '../../shared/schemas/text.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { apiEvent, type EventOptions, lambdaContext, type Reply, reply } from '../support/events.js';
import { closeHandlerPool, type LoadedHandlers, loadHandlers, testSymmetricKey } from '../support/handlers.js';
import { anyField, anyJson, anyNumber, anyText, hostileString, isInt4Id, isValidText, longString, nested, SQL_LOOKING } from './arbitraries.js';
import { BODY_LIMIT_BYTES, contractStatuses, masksByDesign, overLimit } from './helpers.js';

let db: TestDatabase;
let api: LoadedHandlers;
let ring: KeyRing;
const symmetricKey = testSymmetricKey();
const ADMIN = 'prop-admin';
const KNOWN_EXCHANGES = [101, 102];

/** A fresh subject for every run, so that no run's registration makes another's a 409. */
let runs = 0;
const freshSubject = (prefix: string): string => {
  runs += 1;
  return `${prefix}-${runs}`;
};

/** Calls a route's handler with a body sent exactly as given (already JSON text, or raw). */
async function callRaw(name: RouteName, options: Omit<EventOptions, 'method' | 'path'> & { base64?: boolean }): Promise<Reply> {
  const { base64, ...rest } = options;
  const route = routes.find((candidate) => candidate.name === name)!;
  const event = apiEvent({ method: route.method, path: route.path, ...rest });
  if (base64) event.isBase64Encoded = true;
  return reply(await api.handlers[name](event, lambdaContext()));
}

const expectNever5xx = (response: Reply, name: RouteName, extra: number[] = []) => {
  expect(response.status).toBeLessThan(500);
  expect([...contractStatuses(name), ...extra]).toContain(response.status);
  if (response.status >= 400) errorBody.parse(response.body);
};

const PROPERTY = { numRuns: 120, interruptAfterTimeLimit: 20_000 } as const;

beforeAll(async () => {
  db = await createTestDatabase();
  api = await loadHandlers({ DATABASE_URL: db.url, SYMMETRIC_KEY: symmetricKey });
  ring = await keyRingFromText(symmetricKey);
  expect((await api.call('create-exchange', { subject: ADMIN, admin: true, body: { exchange_name: 'Binance' } })).status).toBe(201);
});

afterAll(async () => {
  await closeHandlerPool();
  await db?.drop();
});

describe('POST /api/settings/exchanges (as an admin)', () => {
  it('answers any exchange_name with 201, 409, 413 or 422 as the contract says, and stores it exactly as sent after trimming', async () => {
    await fc.assert(
      fc.asyncProperty(anyText, async (name) => {
        const body = JSON.stringify({ exchange_name: name });
        const taken =
          isValidText(name, 20, false) &&
          (await db.pool.query('SELECT 1 FROM tb_exchanges WHERE lower(exchange_name) = lower($1)', [name.trim()])).rowCount! > 0;
        const response = await callRaw('create-exchange', { subject: ADMIN, admin: true, rawBody: body });
        expectNever5xx(response, 'create-exchange');
        const expected = overLimit(body) ? 413 : !isValidText(name, 20, false) ? 422 : taken ? 409 : 201;
        expect(response.status).toBe(expected);
        if (expected !== 201) return;
        const stored = name.trim();
        expect(exchangeList.parse(response.body).filter((exchange) => exchange.exchange_name === stored)).toHaveLength(1);
        const listed = exchangeList.parse((await api.call('list-exchanges', { subject: 'prop-reader' })).body);
        expect(listed.filter((exchange) => exchange.exchange_name === stored)).toHaveLength(1);
        const { rows } = await db.pool.query<{ exchange_name: string }>('SELECT exchange_name FROM tb_exchanges WHERE exchange_name = $1', [stored]);
        expect(rows.map((row) => row.exchange_name)).toEqual([stored]);
      }),
      { ...PROPERTY, numRuns: 200 },
    );
  });

  it('answers Unicode names (emoji, combining marks, CJK, RTL) with 201 and returns them unchanged', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 6 }), fc.integer({ min: 0, max: 1_000_000 }), async (graphemes, salt) => {
        const name = `${graphemes}${salt}`;
        fc.pre(isValidText(name, 20, false) && name === name.trim());
        const taken = (await db.pool.query('SELECT 1 FROM tb_exchanges WHERE lower(exchange_name) = lower($1)', [name])).rowCount! > 0;
        fc.pre(!taken);
        const response = await api.call('create-exchange', { subject: ADMIN, admin: true, body: { exchange_name: name } });
        expect(response.status).toBe(201);
        expect(exchangeList.parse(response.body).map((exchange) => exchange.exchange_name)).toContain(name);
      }),
      { ...PROPERTY, numRuns: 60 },
    );
  });

  it('answers any JSON body at all with a contract status, never 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(anyJson, fc.dictionary(hostileString(12), anyJson, { maxKeys: 4 })), async (value) => {
        const response = await callRaw('create-exchange', { subject: ADMIN, admin: true, rawBody: JSON.stringify(value) });
        expectNever5xx(response, 'create-exchange');
      }),
      PROPERTY,
    );
  });
});

describe('POST /api/settings/exchange-api-key', () => {
  const registration = fc.record(
    {
      exchange_id: anyField(fc.oneof(fc.constantFrom(...KNOWN_EXCHANGES), anyNumber)),
      public_key: anyField(anyText),
      private_key: anyField(anyText),
      user_no: anyField(fc.oneof(fc.constant('own' as const), anyNumber)),
    },
    { requiredKeys: [] },
  );
  const extraFields = fc.dictionary(
    hostileString(10).filter((key) => !['exchange_id', 'public_key', 'private_key', 'user_no'].includes(key)),
    anyJson,
    { maxKeys: 2 },
  );

  it('answers any registration with exactly the status the contract gives it, and stores the keys exactly as sent after trimming', async () => {
    await fc.assert(
      fc.asyncProperty(registration, fc.option(extraFields, { nil: undefined }), async (fields, extra) => {
        const subject = freshSubject('prop-reg');
        const { rows } = await db.pool.query<{ user_no: number }>('INSERT INTO tb_users (auth_subject) VALUES ($1) RETURNING user_no', [subject]);
        const own = rows[0]!.user_no;
        const sent: Record<string, unknown> = { ...extra, ...fields };
        if (sent.user_no === 'own') sent.user_no = own;
        const body = JSON.stringify(sent);

        const response = await callRaw('register-api-key', { subject, rawBody: body });
        expectNever5xx(response, 'register-api-key');

        const hasExtra = extra !== undefined && Object.keys(extra).length > 0;
        const valid =
          !hasExtra &&
          isInt4Id(sent.exchange_id) &&
          isValidText(sent.public_key, 4096, true) &&
          isValidText(sent.private_key, 4096, true) &&
          (sent.user_no === undefined || isInt4Id(sent.user_no));
        const exchangeExists = valid && (await db.pool.query('SELECT 1 FROM tb_exchanges WHERE exchange_id = $1', [sent.exchange_id])).rowCount === 1;
        const expected = overLimit(body) ? 413 : !valid ? 422 : sent.user_no !== undefined && sent.user_no !== own ? 403 : !exchangeExists ? 404 : 201;
        expect({ status: response.status, body: response.body }).toEqual({ status: expected, body: expect.anything() });

        const stored = await db.pool.query('SELECT * FROM tb_exchange_api_keys WHERE user_no = $1', [own]);
        expect(stored.rowCount).toBe(expected === 201 ? 1 : 0);
        if (expected !== 201) return;
        const row = stored.rows[0];
        const place = { table: 'tb_exchange_api_keys', userNo: row.user_no, exchangeId: row.exchange_id, sealing: row.sealing } as const;
        const publicKey = (sent.public_key as string).trim();
        const privateKey = (sent.private_key as string).trim();
        expect(openEnvelope(row.public_key, ring, { ...place, field: 'public_key' })).toBe(publicKey);
        expect(openEnvelope(row.private_key, ring, { ...place, field: 'private_key' })).toBe(privateKey);
        expect({ public_key_masked: row.public_key_masked, private_key_masked: row.private_key_masked }).toEqual(masksByDesign(publicKey, privateKey));
      }),
      { ...PROPERTY, numRuns: 200 },
    );
  });

  it('answers keys up to and past the size limits with 201, 422 or 413 as their length decides', async () => {
    await fc.assert(
      fc.asyncProperty(longString, fc.boolean(), async (key, inPrivate) => {
        const subject = freshSubject('prop-long');
        const body = JSON.stringify({
          exchange_id: 101,
          public_key: inPrivate ? 'a-public-key-0000' : key,
          private_key: inPrivate ? key : 'a-private-key-000000000',
        });
        const response = await callRaw('register-api-key', { subject, rawBody: body });
        const expected = overLimit(body) ? 413 : isValidText(key, 4096, true) ? 201 : 422;
        expect(response.status).toBe(expected);
      }),
      { ...PROPERTY, numRuns: 60 },
    );
  });

  it('answers any raw body (text or base64 bytes, valid UTF-8 or not) with a contract status, never 5xx', async () => {
    const rawBodies = fc.oneof(
      hostileString(200).map((text) => ({ text, base64: false })),
      fc
        .constantFrom('{', '{"exchange_id": 101,', '[]', 'null', '"x"', '1e999', '{"__proto__": {"isAdmin": true}}', '\ufeff{}', '{"exchange_id":101}{}')
        .map((text) => ({ text, base64: false })),
      fc.uint8Array({ maxLength: 300 }).map((bytes) => ({ text: Buffer.from(bytes).toString('base64'), base64: true })),
      fc
        .uint8Array({ minLength: BODY_LIMIT_BYTES - 10, maxLength: BODY_LIMIT_BYTES + 10 })
        .map((bytes) => ({ text: Buffer.from(bytes).toString('base64'), base64: true })),
    );
    await fc.assert(
      fc.asyncProperty(rawBodies, fc.constantFrom<RouteName>('register-api-key', 'create-exchange'), async ({ text, base64 }, name) => {
        const response = await callRaw(name, { subject: freshSubject('prop-raw'), admin: true, rawBody: text, base64 });
        expectNever5xx(response, name);
        const bytes = base64 ? Buffer.from(text, 'base64').length : Buffer.byteLength(text);
        if (bytes > BODY_LIMIT_BYTES) expect(response.status).toBe(413);
      }),
      PROPERTY,
    );
  });

  it('answers deeply nested JSON, inside the limit and past it, with 422 or 413', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 12_000 }), fc.boolean(), fc.boolean(), async (depth, asObject, atRoot) => {
        const inner = nested(depth, '"x"', asObject);
        const body = atRoot ? inner : `{"exchange_id":101,"public_key":${inner},"private_key":"p"}`;
        const response = await callRaw('register-api-key', { subject: freshSubject('prop-deep'), rawBody: body });
        expect(response.status).toBe(overLimit(body) ? 413 : 422);
      }),
      { ...PROPERTY, numRuns: 40 },
    );
  });

  it('treats SQL-looking keys as text: stored exactly, tables intact', async () => {
    const tables = "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1";
    const before = (await db.pool.query(tables)).rows;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...SQL_LOOKING), fc.constantFrom(...SQL_LOOKING), async (publicKey, privateKey) => {
        const subject = freshSubject('prop-sql');
        expect((await api.call('register-api-key', { subject, body: { exchange_id: 101, public_key: publicKey, private_key: privateKey } })).status).toBe(201);
        const { rows } = await db.pool.query('SELECT k.* FROM tb_exchange_api_keys k JOIN tb_users u USING (user_no) WHERE u.auth_subject = $1', [subject]);
        const place = { table: 'tb_exchange_api_keys', userNo: rows[0].user_no, exchangeId: 101, sealing: rows[0].sealing } as const;
        expect(openEnvelope(rows[0].private_key, ring, { ...place, field: 'private_key' })).toBe(privateKey.trim());
      }),
      { ...PROPERTY, numRuns: 30 },
    );
    expect((await db.pool.query(tables)).rows).toEqual(before);
    expect(before.length).toBeGreaterThanOrEqual(3);
    expect((await db.pool.query('SELECT 1 FROM tb_exchanges WHERE exchange_id = 101')).rowCount).toBe(1);
  });
});

describe('GET /api/settings/exchange-api-key', () => {
  const OWNER = 'prop-owner';
  let ownerNo: number;

  beforeAll(async () => {
    expect(
      (await api.call('register-api-key', { subject: OWNER, body: { exchange_id: 101, public_key: 'owner-public-0000', private_key: 'owner-private-000000' } }))
        .status,
    ).toBe(201);
    ownerNo = (await db.pool.query<{ user_no: number }>('SELECT user_no FROM tb_users WHERE auth_subject = $1', [OWNER])).rows[0]!.user_no;
  });

  it('answers any query string with 200, 403 or 422 exactly as the contract says', async () => {
    const userNoText = fc.oneof(
      fc.constant('own'),
      fc.integer({ min: 0, max: INT4_MAX }).map(String),
      fc.constantFrom('0', '-1', '01', '1.0', '1e3', ' 1', '1 ', '2147483648', '99999999999', '', '0x10', '١٢', ...SQL_LOOKING),
      hostileString(12),
    );
    const query = fc.oneof(
      fc.record({ user_no: userNoText }),
      fc.dictionary(fc.oneof(fc.constant('user_no'), hostileString(8)), fc.oneof(userNoText, hostileString(12)), { maxKeys: 3 }),
    );
    await fc.assert(
      fc.asyncProperty(query, async (generated) => {
        const params = Object.fromEntries(Object.entries(generated).map(([name, value]) => [name, value === 'own' ? String(ownerNo) : value]));
        const response = await api.call('list-api-keys', { subject: OWNER, query: params });
        expectNever5xx(response, 'list-api-keys');
        const names = Object.keys(params);
        const text = params.user_no;
        const wellFormed =
          names.every((name) => name === 'user_no') && (text === undefined || (/^[0-9]{1,10}$/.test(text) && Number(text) >= 1 && Number(text) <= INT4_MAX));
        const expected = !wellFormed ? 422 : text !== undefined && Number(text) !== ownerNo ? 403 : 200;
        expect(response.status).toBe(expected);
      }),
      PROPERTY,
    );
  });
});

describe('the routes on one key, whatever is sent', () => {
  const KEY_ROUTES = ['get-api-key', 'replace-api-key', 'set-api-key-active', 'delete-api-key', 'list-api-key-events'] as const;

  // A URL cannot carry a lone surrogate (its bytes would not be UTF-8), so path segments are well formed.
  it('answer any path segment, query string, If-Match and body with one of their contract statuses, never 5xx', async () => {
    const segment = fc.oneof(
      fc.constantFrom('101', '102', '0', '-1', '2147483648', '1e3', '%', ...SQL_LOOKING),
      fc.integer({ min: 0, max: INT4_MAX }).map(String),
      hostileString(12).filter((text) => text.isWellFormed()),
    );
    const query = fc.dictionary(fc.constantFrom('user_no', 'limit', 'before', 'x'), fc.oneof(fc.integer({ min: -5, max: 200 }).map(String), hostileString(8)), {
      maxKeys: 3,
    });
    const ifMatch = fc.option(fc.oneof(fc.constantFrom('*', '""', 'W/"x"', '"a", "b"'), hostileString(20)), { nil: undefined });
    const body = fc.oneof(anyJson, fc.record({ public_key: anyText, private_key: anyText }), fc.record({ is_active: fc.oneof(fc.boolean(), anyJson) }));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...KEY_ROUTES), segment, query, ifMatch, body, async (name, exchangeId, params, tag, sent) => {
        const subject = freshSubject('prop-key');
        await api.call('register-api-key', { subject, body: { exchange_id: 101, public_key: 'prop-key-public-0000', private_key: 'prop-key-private-000000' } });
        const response = await callRaw(name, {
          subject,
          params: { exchange_id: exchangeId },
          query: params,
          ...(tag === undefined ? {} : { headers: { 'content-type': 'application/json', 'if-match': tag } }),
          ...('body' in routes.find((route) => route.name === name)! ? { rawBody: JSON.stringify(sent) } : {}),
        });
        expectNever5xx(response, name);
      }),
      PROPERTY,
    );
  });
});

describe("a key's life, as any sequence of steps", () => {
  type Step = { kind: 'register' | 'replace' | 'pause' | 'resume' | 'delete'; ifMatch: 'none' | 'current' | 'stale'; n: number };
  const step: fc.Arbitrary<Step> = fc.record({
    kind: fc.constantFrom('register', 'replace', 'pause', 'resume', 'delete'),
    ifMatch: fc.constantFrom('none', 'none', 'current', 'stale'),
    n: fc.integer({ min: 0, max: 9999 }),
  });
  const pairOf = (n: number) => ({ public_key: `life-public-${String(n).padStart(4, '0')}`, private_key: `life-private-key-${String(n).padStart(4, '0')}` });
  const STALE_TAG = '"00000000000000000000000000000000"';

  it('yields a history that matches what happened, in order, with the request ids, and a key as the last step left it', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 12 }), async (steps) => {
        const subject = freshSubject('prop-life');
        const params = { exchange_id: '101' };
        // The model: the key as its owner should see it, and the history it should have.
        let key: { active: boolean; n: number } | undefined;
        const history: Array<{ event: string; request_id: string }> = [];

        for (const [i, { kind, ifMatch, n }] of steps.entries()) {
          const requestId = `life-${runs}-${i}`;
          let headers: Record<string, string> = {};
          if (kind !== 'register' && ifMatch !== 'none') {
            const current = await api.call('get-api-key', { subject, params });
            headers = { 'if-match': ifMatch === 'stale' || current.status !== 200 ? STALE_TAG : current.headers.etag! };
          }
          const options = { subject, params, headers, requestId };
          let response: Reply;
          if (kind === 'register') response = await api.call('register-api-key', { subject, requestId, body: { exchange_id: 101, ...pairOf(n) } });
          else if (kind === 'replace') response = await api.call('replace-api-key', { ...options, body: pairOf(n) });
          else if (kind === 'delete') response = await api.call('delete-api-key', options);
          else response = await api.call('set-api-key-active', { ...options, body: { is_active: kind === 'resume' } });

          let expected: number;
          if (kind === 'register') {
            expected = key ? 409 : 201;
            if (!key) {
              key = { active: true, n };
              history.push({ event: 'registered', request_id: requestId });
            }
          } else if (!key) {
            expected = 404;
          } else if (ifMatch === 'stale') {
            expected = 412;
          } else if (kind === 'delete') {
            expected = 204;
            key = undefined;
            history.push({ event: 'deleted', request_id: requestId });
          } else if (kind === 'replace') {
            expected = 200;
            key = { ...key, n };
            history.push({ event: 'replaced', request_id: requestId });
          } else {
            expected = 200;
            const active = kind === 'resume';
            if (key.active !== active) history.push({ event: active ? 'reactivated' : 'deactivated', request_id: requestId });
            key = { ...key, active };
          }
          expect({ i, kind, ifMatch, status: response.status }).toEqual({ i, kind, ifMatch, status: expected });
        }

        const events = keyEventList.parse((await api.call('list-api-key-events', { subject, params })).body);
        expect(events.map(({ event, request_id }) => ({ event, request_id })).reverse()).toEqual(history);
        for (const event of events) expect(event.actor).toEqual({ kind: 'user', id: subject });

        const shown = await api.call('get-api-key', { subject, params });
        if (!key) {
          expect(shown.status).toBe(404);
          return;
        }
        const masks = masksByDesign(pairOf(key.n).public_key, pairOf(key.n).private_key);
        expect(maskedApiKey.parse(shown.body)).toMatchObject({ ...masks, is_active: key.active });
      }),
      { ...PROPERTY, numRuns: 40 },
    );
  });
});

describe('the token subject, whatever the identity provider put in it', () => {
  it('never makes a 5xx, and one subject is never taken for another', async () => {
    const subjects = fc.oneof(
      hostileString(30),
      fc.constantFrom(...SQL_LOOKING),
      fc.constantFrom('x\ud800', 'x\udfff', 'x\ufffd', 'nul\u0000', 'a'.repeat(5000)),
    );
    await fc.assert(
      fc.asyncProperty(subjects, async (raw) => {
        // A suffix of its own per run: the same raw subject may come up twice.
        runs += 1;
        const salt = runs;
        const subject = `${raw}#${salt}`;
        const registered = await api.call('register-api-key', {
          subject,
          body: { exchange_id: 101, public_key: `pub-${salt}-0000000`, private_key: `priv-${salt}-000000000000` },
        });
        expect(registered.status).toBeLessThan(500);
        expect([201, 401]).toContain(registered.status);
        const listed = await api.call('list-api-keys', { subject });
        expect(listed.status).toBe(registered.status === 201 ? 200 : 401);
        if (registered.status !== 201) return;
        // A user row must name exactly this subject: one stored under a changed spelling (U+FFFD
        // for a lone surrogate) would be shared by every subject that changes into it.
        const { rows } = await db.pool.query<{ auth_subject: string }>('SELECT auth_subject FROM tb_users');
        expect(rows.some((row) => row.auth_subject === subject)).toBe(true);
      }),
      PROPERTY,
    );
  });
});
