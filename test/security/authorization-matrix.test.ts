/**
 * Who may do what, over HTTP, as an attacker would try it: the local server (the same route
 * matching and JWT checks API Gateway does) in front of the real handlers on a real database,
 * with real signed tokens. Each dimension of the matrix is data; the tests are generated from it.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { exampleRequest } from '../../shared/openapi.js';
import { type RouteName, type RouteSpec, routes } from '../../shared/routes.js';
import { keyEventList, maskedApiKeyList } from '../../shared/schemas/api-keys.js';
import { errorBody } from '../../shared/schemas/errors.js';
import { exchangeList } from '../../shared/schemas/exchanges.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { fillPath } from '../support/events.js';
import { closeHandlerPool, loadHandlers, testSymmetricKey } from '../support/handlers.js';
import { type HttpReply, type LocalApi, type RequestOptions, startLocalApi } from '../support/http-server.js';
import { keyRowsOf, userNoOf } from './helpers.js';

let db: TestDatabase;
let local: LocalApi;

const ADMIN = 'matrix-root';
const VICTIM = 'matrix-bob';
const VICTIM_KEYS = { public_key: 'VICTIMpub-0123456789', private_key: 'VICTIMpriv-abcdefghijklmnop' };
const VICTIM_MASKS = ['VICT****6789', '****mnop'];
/** Exchanges created at setup: 102 for the parameter matrix, 103 only a forged request could write to. */
const SPARE_EXCHANGE = 102;
const UNTOUCHED_EXCHANGE = 103;

let victimNo: number;
let victimRows: unknown[];
let victimHistory: unknown[];

const victimEvents = async (): Promise<unknown[]> =>
  (await db.pool.query('SELECT * FROM tb_exchange_api_key_events WHERE user_no = $1 ORDER BY event_id', [victimNo])).rows;

const routeOf = (name: RouteName) => routes.find((route) => route.name === name)!;
/** `params` fills the route's path parameters; every key route acts on exchange 101 unless told. */
const send = (name: RouteName, options: RequestOptions & { params?: Record<string, string> }): Promise<HttpReply> => {
  const { params = { exchange_id: '101' }, ...rest } = options;
  return local.request(routeOf(name).method, fillPath(routeOf(name).path, params), rest);
};
const as = async (subject: string, admin = false) => `Bearer ${await local.tokens.valid(subject, { admin })}`;

const callerKeys = (subject: string) => ({ public_key: `${subject}-PUBLIC-key-0001`, private_key: `${subject}-PRIVATE-key-material-0001` });

/** Registers a key at 101 for a new subject so that it has a user row; returns its user_no. */
async function newUser(subject: string, admin = false): Promise<number> {
  const registered = await send('register-api-key', { authorization: await as(subject, admin), body: { exchange_id: 101, ...callerKeys(subject) } });
  expect(registered.status).toBe(201);
  return userNoOf(db.pool, subject);
}

const exchangeNames = async (): Promise<string[]> =>
  (await db.pool.query<{ exchange_name: string }>('SELECT exchange_name FROM tb_exchanges ORDER BY exchange_id')).rows.map((row) => row.exchange_name);

beforeAll(async () => {
  db = await createTestDatabase();
  const api = await loadHandlers({ DATABASE_URL: db.url, SYMMETRIC_KEY: testSymmetricKey() });
  local = await startLocalApi(api.handlers);
  for (const exchange_name of ['Binance', 'Kraken']) {
    expect((await send('create-exchange', { authorization: await as(ADMIN, true), body: { exchange_name } })).status).toBe(201);
  }
  expect((await exchangeNames()).length).toBe(3);
  for (const exchange_id of [101, SPARE_EXCHANGE]) {
    expect((await send('register-api-key', { authorization: await as(VICTIM), body: { exchange_id, ...VICTIM_KEYS } })).status).toBe(201);
  }
  victimNo = await userNoOf(db.pool, VICTIM);
  victimRows = await keyRowsOf(db.pool, victimNo);
  expect(victimRows).toHaveLength(2);
  victimHistory = await victimEvents();
  expect(victimHistory).toHaveLength(2);
});

afterAll(async () => {
  await local?.close();
  await closeHandlerPool();
  await db?.drop();
});

describe('every route refuses a missing, garbled, expired or forged token with 401', () => {
  /**
   * What each route would do for the victim (or an admin) if the token were believed: the table's
   * example request, or where that would not show the victim's rows or write somewhere checked below, this.
   */
  const forgedRequests: Partial<Record<RouteName, (attempt: number) => RequestOptions>> = {
    'create-exchange': (attempt) => ({ body: { exchange_name: `Forged${attempt}` } }),
    'register-api-key': () => ({ body: { exchange_id: UNTOUCHED_EXCHANGE, public_key: 'FORGEDpublic-00000000', private_key: 'FORGEDprivate-000000000000' } }),
    'list-api-keys': () => ({ query: { user_no: String(victimNo) } }),
    'get-api-key': () => ({ query: { user_no: String(victimNo) } }),
    'replace-api-key': () => ({ body: { public_key: 'FORGEDpublic-00000000', private_key: 'FORGEDprivate-000000000000' } }),
  };
  const wouldSucceed = (route: RouteSpec, attempt: number): RequestOptions & { params?: Record<string, string> } => {
    const forged = forgedRequests[route.name as RouteName];
    if (forged) return forged(attempt);
    const { params, body } = exampleRequest(route);
    return { params, ...(body === undefined ? {} : { body }) };
  };

  it('for every kind of bad token on every route, and writes nothing', async () => {
    const forged = await local.tokens.forged(VICTIM);
    expect(forged.length).toBeGreaterThanOrEqual(18);
    let attempt = 0;
    const accepted: string[] = [];
    for (const [kind, authorization] of forged) {
      for (const route of routes) {
        attempt += 1;
        const response = await send(route.name, { ...wouldSucceed(route, attempt), ...(authorization === undefined ? {} : { authorization }) });
        const leaked = VICTIM_MASKS.some((mask) => response.text.includes(mask));
        if (response.status !== 401 || response.headers.get('www-authenticate') !== 'Bearer' || leaked) {
          accepted.push(`${kind} / ${route.name}: ${response.status}${leaked ? ", showed the victim's keys" : ''}`);
        }
      }
    }
    expect(attempt).toBe(forged.length * routes.length);
    expect(accepted).toEqual([]);
    expect((await exchangeNames()).filter((name) => name.startsWith('Forged'))).toEqual([]);
    expect(await keyRowsOf(db.pool, victimNo)).toEqual(victimRows);
    expect(await victimEvents()).toEqual(victimHistory);
  });

  it('while the same requests with a valid token succeed (so the 401s above are the token, not the request)', async () => {
    const admin = await as(ADMIN, true);
    expect((await send('list-exchanges', { authorization: admin })).status).toBe(200);
    expect((await send('create-exchange', { authorization: admin, body: { exchange_name: 'NotForged' } })).status).toBe(201);
    expect((await send('list-api-keys', { authorization: await as(VICTIM), query: { user_no: String(victimNo) } })).status).toBe(200);
  });

  it('takes the token from the Authorization header only, not the query string or a cookie', async () => {
    const token = await local.tokens.valid(VICTIM);
    const elsewhere: RequestOptions[] = [
      { query: { access_token: token } },
      { headers: { cookie: `access_token=${token}` } },
      { headers: { 'x-amz-security-token': token } },
    ];
    for (const options of elsewhere) {
      expect((await send('list-api-keys', options)).status).toBe(401);
    }
  });
});

describe('a user_no naming someone else is refused with 403, and their rows stay as they were', () => {
  type Whose = 'own' | 'other';
  interface Naming {
    body?: Whose;
    query?: Whose;
  }
  const namings: Naming[] = [
    {},
    { body: 'own' },
    { body: 'other' },
    { query: 'own' },
    { query: 'other' },
    { body: 'own', query: 'own' },
    { body: 'other', query: 'other' },
    { body: 'own', query: 'other' },
    { body: 'other', query: 'own' },
  ];
  /**
   * Where each route reads user_no: register from its JSON body and its query string, list from
   * its query string. A GET body is no input of any route (as in the seed's FastAPI app, and as
   * HTTP gives it no meaning): the request then acts for the caller alone, which the test checks
   * as strictly as a 403.
   */
  const READS = { 'register-api-key': ['body', 'query'], 'list-api-keys': ['query'] } as const;
  const namesOther = (route: keyof typeof READS, naming: Naming) => READS[route].some((place) => naming[place] === 'other');
  const roles = [
    { role: 'user', admin: false },
    { role: 'admin', admin: true },
  ];
  const describeNaming = (naming: Naming) =>
    Object.keys(naming).length === 0
      ? 'no user_no'
      : Object.entries(naming)
          .map(([place, whose]) => `${whose} in ${place}`)
          .join(', ');
  const cases = roles.flatMap(({ role, admin }) =>
    (['register-api-key', 'list-api-keys'] as const).flatMap((route) =>
      namings.map((naming) => {
        const expected = namesOther(route, naming) ? 403 : routeOf(route).successStatus;
        const unread = route === 'list-api-keys' && naming.body !== undefined ? ' (a GET body is not read)' : '';
        return { label: `${role}, ${route}, ${describeNaming(naming)}${unread} → ${expected}`, admin, route, naming, expected };
      }),
    ),
  );

  let caseNumber = 0;
  it.each(cases)('$label', async ({ admin, route, naming, expected }) => {
    caseNumber += 1;
    const subject = `matrix-${route}-${caseNumber}`;
    const callerNo = await newUser(subject, admin);
    const numberOf = (whose: Whose | undefined) => (whose === 'own' ? callerNo : victimNo);
    const body = naming.body === undefined ? undefined : { user_no: numberOf(naming.body) };
    const query = naming.query === undefined ? undefined : { user_no: String(numberOf(naming.query)) };
    const authorization = await as(subject, admin);

    const response =
      route === 'register-api-key'
        ? await send(route, { authorization, body: { exchange_id: SPARE_EXCHANGE, ...callerKeys(subject), ...body }, ...(query ? { query } : {}) })
        : await send(route, { authorization, ...(body ? { body } : {}), ...(query ? { query } : {}) });

    expect({ naming: describeNaming(naming), status: response.status }).toEqual({ naming: describeNaming(naming), status: expected });
    for (const mask of VICTIM_MASKS) expect(response.text).not.toContain(mask);
    expect(await keyRowsOf(db.pool, victimNo)).toEqual(victimRows);

    const callerExchanges = (
      await db.pool.query<{ exchange_id: number }>('SELECT exchange_id FROM tb_exchange_api_keys WHERE user_no = $1 ORDER BY exchange_id', [callerNo])
    ).rows.map((row) => row.exchange_id);
    if (expected === 403) {
      expect(errorBody.parse(response.json)).toEqual({ detail: 'user_no does not belong to the authenticated user.' });
      expect(callerExchanges).toEqual([101]);
    } else if (route === 'register-api-key') {
      expect(callerExchanges).toEqual([101, SPARE_EXCHANGE]);
    } else {
      expect(maskedApiKeyList.parse(response.json).map((key) => [key.exchange_id, key.public_key_masked])).toEqual([[101, `${subject.slice(0, 4)}****0001`]]);
    }
  });

  it('refuses a caller who has no user row yet the same way, on both routes', async () => {
    const authorization = await as('matrix-newcomer');
    expect((await send('list-api-keys', { authorization, query: { user_no: String(victimNo) } })).status).toBe(403);
    const registered = await send('register-api-key', { authorization, body: { exchange_id: UNTOUCHED_EXCHANGE, ...VICTIM_KEYS, user_no: victimNo } });
    expect(registered.status).toBe(403);
    expect(await keyRowsOf(db.pool, victimNo)).toEqual(victimRows);
    expect((await db.pool.query('SELECT 1 FROM tb_exchange_api_keys WHERE exchange_id = $1', [UNTOUCHED_EXCHANGE])).rowCount).toBe(0);
  });
});

describe("another user's key is not found (404, never 403); a user_no naming another is 403; nothing of theirs changes", () => {
  const KEY_ROUTES = ['get-api-key', 'replace-api-key', 'set-api-key-active', 'delete-api-key', 'list-api-key-events'] as const;
  const bodies: Partial<Record<RouteName, unknown>> = {
    'replace-api-key': { public_key: 'ATTACKERpub-000000000', private_key: 'ATTACKERpriv-0000000000000' },
    'set-api-key-active': { is_active: false },
  };
  const request = (route: RouteName, authorization: string, exchange: number, query?: Record<string, string>) =>
    send(route, { authorization, params: { exchange_id: String(exchange) }, ...(bodies[route] ? { body: bodies[route] } : {}), ...(query ? { query } : {}) });

  let caseNumber = 0;
  const cases = [false, true].flatMap((admin) => KEY_ROUTES.map((route) => ({ route, admin, role: admin ? 'admin' : 'user' })));

  it.each(cases)(
    "$role, $route: the victim's exchange → 404 (events: empty), ?user_no= the victim's → 403, ?user_no= own → success",
    async ({ route, admin }) => {
      caseNumber += 1;
      const subject = `matrix-life-${caseNumber}`;
      const callerNo = await newUser(subject, admin);
      const authorization = await as(subject, admin);

      const elsewhere = await request(route, authorization, SPARE_EXCHANGE);
      if (route === 'list-api-key-events') {
        expect(elsewhere.status).toBe(200);
        expect(keyEventList.parse(elsewhere.json)).toEqual([]);
      } else {
        expect(elsewhere.status).toBe(404);
        expect(errorBody.parse(elsewhere.json)).toEqual({ detail: 'No API key is registered for this exchange.' });
      }

      const naming = await request(route, authorization, 101, { user_no: String(victimNo) });
      expect(naming.status).toBe(403);
      expect(errorBody.parse(naming.json)).toEqual({ detail: 'user_no does not belong to the authenticated user.' });

      for (const response of [elsewhere, naming]) for (const mask of VICTIM_MASKS) expect(response.text).not.toContain(mask);
      expect(await keyRowsOf(db.pool, victimNo)).toEqual(victimRows);
      expect(await victimEvents()).toEqual(victimHistory);

      const own = await request(route, authorization, 101, { user_no: String(callerNo) });
      expect(own.status).toBe(routeOf(route).successStatus);
    },
  );
});

describe('only an admin may create an exchange', () => {
  const notAdmin: Array<[string, Record<string, unknown>]> = [
    ['no groups claim', {}],
    ['no groups', { 'cognito:groups': [] }],
    ['group "Admin"', { 'cognito:groups': ['Admin'] }],
    ['group "ADMIN"', { 'cognito:groups': ['ADMIN'] }],
    ['group "admins"', { 'cognito:groups': ['admins'] }],
    ['group "administrator"', { 'cognito:groups': ['administrator'] }],
    ['group "not-admin"', { 'cognito:groups': ['not-admin'] }],
    ['group "[admin]" as one name', { 'cognito:groups': ['[admin]'] }],
    ['admin in a "groups" claim', { groups: ['admin'] }],
    ['admin in "cognito:roles"', { 'cognito:roles': ['admin'] }],
    ['admin as a scope', { scope: 'admin' }],
    ['admin in a custom attribute', { 'custom:role': 'admin' }],
  ];

  it.each(notAdmin)('refuses a user token with %s: 403, nothing created', async (_kind, claims) => {
    const token = await local.tokens.signed({ sub: 'matrix-mallory', ...claims }, { expiresIn: '1h' });
    const response = await send('create-exchange', { authorization: `Bearer ${token}`, body: { exchange_name: 'Evil' } });
    expect(response.status).toBe(403);
    expect(errorBody.parse(response.json)).toEqual({ detail: 'Only administrators may do this.' });
    expect(await exchangeNames()).not.toContain('Evil');
  });

  it('refuses before reading the body: a non-admin learns nothing from validation', async () => {
    const response = await send('create-exchange', { authorization: await as('matrix-mallory'), rawBody: '{not json' });
    expect(response.status).toBe(403);
  });

  it.each([
    ['a Cognito admin token', { 'cognito:groups': ['admin'] }],
    ['admin among other groups', { 'cognito:groups': ['traders', 'admin'] }],
  ])('accepts %s: 201', async (kind, claims) => {
    const token = await local.tokens.signed({ sub: ADMIN, ...claims }, { expiresIn: '1h' });
    const name = kind === 'a Cognito admin token' ? 'Bybit' : 'Upbit';
    const response = await send('create-exchange', { authorization: `Bearer ${token}`, body: { exchange_name: name } });
    expect(response.status).toBe(201);
    expect(exchangeList.parse(response.json).map((exchange) => exchange.exchange_name)).toContain(name);
  });

  it('ignores a method-override header: a GET stays a read', async () => {
    const before = await exchangeNames();
    const response = await send('list-exchanges', {
      authorization: await as(ADMIN, true),
      headers: { 'x-http-method-override': 'POST' },
      body: { exchange_name: 'Override' },
    });
    expect(response.status).toBe(200);
    expect(await exchangeNames()).toEqual(before);
  });
});

describe('anything the route table does not declare is 404 or 405', () => {
  const paths = [...new Set(routes.map((route) => route.path))];
  const methods = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'HEAD'];
  const undeclared = paths.flatMap((path) =>
    methods.filter((method) => !routes.some((route) => route.path === path && route.method === method)).map((method) => [method, path] as const),
  );

  it.each(undeclared)('%s %s → 405 naming the declared methods, with or without a token', async (method, path) => {
    const declared = routes.filter((route) => route.path === path).map((route) => route.method);
    for (const authorization of [undefined, await as(ADMIN, true)]) {
      const response = await local.request(method, fillPath(path, { exchange_id: '101' }), authorization === undefined ? {} : { authorization });
      expect(response.status).toBe(405);
      expect(response.headers.get('allow')).toBe(declared.join(', '));
    }
  });

  it('GET / points to the docs (302 to /docs), and nothing else is there', async () => {
    const authorization = await as(ADMIN, true);
    const root = await local.request('GET', '/', { authorization });
    expect({ status: root.status, location: root.headers.get('location') }).toEqual({ status: 302, location: '/docs' });
    expect((await local.request('POST', '/', { authorization, body: {} })).status).toBe(404);
  });

  it.each([
    '/api',
    '/api/settings',
    '/api/settings/exchanges/',
    '/api/settings/exchange-api-key/1/history',
    '/api/settings/exchange-api-key/101/events/1',
    '/api/settings/exchange-api-key//events',
    '/API/SETTINGS/EXCHANGES',
    '/api/settings/users',
    '/api/settings/exchanges%2F',
    '/api/settings/exchanges.json',
    '/api/settings/exchange-api-key;user_no=1',
  ])('GET and POST %s → 404', async (path) => {
    const authorization = await as(ADMIN, true);
    for (const method of ['GET', 'POST']) expect((await local.request(method, path, { authorization, body: {} })).status).toBe(404);
  });
});

describe('hostile HTTP framing gets a 4xx from the local server, never a 5xx', () => {
  it.each([
    ['a Host header that is not a host', 'GET /api/settings/exchanges HTTP/1.1\r\nHost: ['],
    ['a Host header with a space', 'GET /api/settings/exchanges HTTP/1.1\r\nHost: a b'],
    ['an absolute-form request target for another host', 'GET http://other.example/api/settings/exchanges HTTP/1.1\r\nHost: other.example'],
    ['an asterisk request target', 'OPTIONS * HTTP/1.1\r\nHost: localhost'],
    ['a path with dot segments', 'GET /api/settings/../../etc/passwd HTTP/1.1\r\nHost: localhost'],
    ['a query string with broken escapes', 'GET /api/settings/exchange-api-key?user_no=%ZZ%00 HTTP/1.1\r\nHost: localhost'],
  ])('%s', async (_kind, head) => {
    const status = await local.rawStatus(head);
    expect(status).toBeGreaterThanOrEqual(400);
    expect(status).toBeLessThan(500);
  });
});
