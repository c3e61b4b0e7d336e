import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InvokeCommand } from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createEngineClient } from '../../client/engine-client.js';
import { DEFAULT_OPEN_CONCURRENCY } from '../../infra/config.js';
import { fillPath } from '../../local/api-event.js';
import { exampleRequest } from '../../shared/openapi.js';
import { routes } from '../../shared/routes.js';
import { keyEventList, maskedApiKey, maskedApiKeyList } from '../../shared/schemas/api-keys.js';
import { exchangeList } from '../../shared/schemas/exchanges.js';
import { openApiKeyResult } from '../../shared/schemas/open-api-key.js';
import type { TestDatabase } from '../support/database.js';
import { BY_THE_ENGINE, followFeed, type LocalVault, run, startLocalVault, TSX } from '../support/local-vault.js';

/** Private keys the engine tests register and expect back (Coinone's shape: a UUID). */
const LISTS_PRIVATE_KEY = '5c0e2a71-8d94-4b3f-a6e2-0f1d2c3b4a59';
const ENGINE_LOGIN_PRIVATE_KEY = 'a3e8f0d2-6b1c-4f47-9e5d-7c2b1a0f9e84';

let vault: LocalVault;
let db: TestDatabase;
let baseUrl: string;
let dataDir: string;

const env = (): NodeJS.ProcessEnv => vault.env();
const token: LocalVault['token'] = (...args) => vault.token(...args);
const call: LocalVault['call'] = (...args) => vault.call(...args);
const waitForLockWaits: LocalVault['waitForLockWaits'] = (count) => vault.waitForLockWaits(count);

beforeAll(async () => {
  vault = await startLocalVault();
  ({ db, baseUrl, dataDir } = vault);
}, 60_000);

afterAll(async () => {
  await vault?.stop();
});

describe('npm start, used as the README says', () => {
  it('migrates its database, registers a key with a token from npm run token, and lists it masked', async () => {
    const alice = await token('--sub', 'alice');
    expect((await call('GET', '/api/settings/exchanges', alice)).json).toEqual([{ exchange_id: 101, exchange_name: 'Coinone', kind: 'coinone' }]);

    const registered = await call('POST', '/api/settings/exchange-api-key', alice, {
      exchange_id: 101,
      // Coinone's keys are UUIDs (docs/exchanges.md): 101 is `coinone` on a database migrated afresh.
      public_key: 'a1b2c3d4-0000-4000-8000-000000001234',
      private_key: 'e2e0e2e0-aaaa-4bbb-8ccc-ddddeeee9876',
    });
    expect(registered.status).toBe(201);
    expect(
      (await call('POST', '/api/settings/exchange-api-key', alice, { exchange_id: 101, public_key: randomUUID(), private_key: randomUUID() })).status,
    ).toBe(409);

    const listed = await call('GET', '/api/settings/exchange-api-key', alice);
    expect(listed.status).toBe(200);
    expect(listed.headers.get('cache-control')).toBe('no-store');
    expect(maskedApiKeyList.parse(listed.json).map((key) => [key.public_key_masked, key.private_key_masked])).toEqual([['a1b2****1234', '****9876']]);
    expect(listed.text).not.toContain('e2e0e2e0');
  });

  it('takes a key through its life as the README shows: read, replace, pause, delete, register again, and the history of it all', async () => {
    const carol = await token('--sub', 'carol');
    const key = '/api/settings/exchange-api-key/101';
    const first = { exchange_id: 101, public_key: 'ca201000-0000-4000-8000-000000000001', private_key: 'ca201000-aaaa-4bbb-8ccc-000000000001' };
    const registered = await call('POST', '/api/settings/exchange-api-key', carol, first);
    expect(registered.status).toBe(201);

    const read = await call('GET', key, carol);
    expect(read.status).toBe(200);
    expect(maskedApiKey.parse(read.json)).toMatchObject({ public_key_masked: 'ca20****0001', is_active: true });
    const etag = read.headers.get('etag')!;
    expect(etag).toMatch(/^"[0-9a-f]{32}"$/);

    const replaced = await call(
      'PUT',
      key,
      carol,
      { public_key: 'ca201000-0000-4000-8000-000000000002', private_key: 'ca201000-aaaa-4bbb-8ccc-000000000002' },
      { 'if-match': etag },
    );
    expect(replaced.status).toBe(200);
    expect(replaced.headers.get('etag')).not.toBe(etag);
    expect(maskedApiKeyList.parse((await call('GET', '/api/settings/exchange-api-key', carol)).json)[0]).toMatchObject({
      public_key_masked: 'ca20****0002',
      private_key_masked: '****0002',
    });

    const stale = await call('PATCH', key, carol, { is_active: false }, { 'if-match': etag });
    expect(stale.status).toBe(412);
    const paused = await call('PATCH', key, carol, { is_active: false }, { 'if-match': replaced.headers.get('etag')! });
    expect(paused.status).toBe(200);
    expect(maskedApiKey.parse(paused.json).is_active).toBe(false);

    const deleted = await call('DELETE', key, carol);
    expect([deleted.status, deleted.text]).toEqual([204, '']);
    expect((await call('GET', key, carol)).status).toBe(404);
    const again = await call('POST', '/api/settings/exchange-api-key', carol, first);
    expect(again.status).toBe(201);

    const history = await call('GET', `${key}/events`, carol);
    expect(history.status).toBe(200);
    const events = keyEventList.parse(history.json);
    expect(events.map((event) => event.event)).toEqual(['registered', 'deleted', 'deactivated', 'replaced', 'registered']);
    for (const event of events) expect(event.actor).toEqual({ kind: 'user', id: 'carol' });
    // Each step's request id, as the response's apigw-requestid header gave it.
    expect(events.map((event) => event.request_id)).toEqual([again, deleted, paused, replaced, registered].map((step) => step.headers.get('apigw-requestid')));
    expect(history.text).not.toMatch(/CARO|carol-private|\*\*\*\*/);

    expect((await call('GET', '/api/settings/exchange-api-key/abc', carol)).status).toBe(422);
    expect((await call('GET', key, await token('--sub', 'dave'))).status).toBe(404);
  });

  it('keeps its generated dev key in the data folder and never in a response', async () => {
    const devKey = (await readFile(join(dataDir, 'dev-symmetric-key'), 'utf8')).trim();
    expect(Buffer.from(devKey, 'base64')).toHaveLength(32);
    const listed = await call('GET', '/api/settings/exchange-api-key', await token('--sub', 'alice'));
    expect(listed.text).not.toContain(devKey);
  });

  it('lets only an admin token create an exchange', async () => {
    const body = { exchange_name: 'Binance' };
    expect((await call('POST', '/api/settings/exchanges', await token('--sub', 'bob'), body)).status).toBe(403);
    const created = await call('POST', '/api/settings/exchanges', await token('--sub', 'root', '--admin'), body);
    expect(created.status).toBe(201);
    expect(exchangeList.parse(created.json).map((exchange) => exchange.exchange_name)).toEqual(['Coinone', 'Binance']);
  });

  it('answers 401 as the JWT authorizer would: no token, a garbled one, an expired one', async () => {
    const expired = await token('--sub', 'alice', '--expires-in=-1m');
    for (const bearer of [undefined, 'not-a-jwt', expired]) {
      for (const route of routes) expect((await call(route.method, route.path, bearer)).status).toBe(401);
    }
  });

  it('answers 404 for an unknown path and 405 for an undeclared method', async () => {
    const alice = await token('--sub', 'alice');
    expect((await call('GET', '/api/settings/nothing', alice)).status).toBe(404);
    const wrongMethod = await call('DELETE', '/api/settings/exchanges', alice);
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('GET, POST');
    const onOneKey = await call('POST', '/api/settings/exchange-api-key/101', alice);
    expect(onOneKey.status).toBe(405);
    expect(onOneKey.headers.get('allow')).toBe('GET, PUT, PATCH, DELETE');
    expect((await call('GET', '/api/settings/exchange-api-key/101/nothing', alice)).status).toBe(404);
  });

  it('serves the OpenAPI document from the same route table, and interactive docs', async () => {
    const document = (await call('GET', '/openapi.json')).json as { paths: Record<string, Record<string, unknown>> };
    for (const route of routes) expect(document.paths[route.path]?.[route.method.toLowerCase()]).toBeDefined();
    const put = document.paths['/api/settings/exchange-api-key/{exchange_id}']!.put as { parameters: Array<{ in: string; name: string; required?: boolean }> };
    expect(put.parameters).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ in: 'path', name: 'exchange_id', required: true }),
        expect.objectContaining({ in: 'header', name: 'if-match' }),
      ]),
    );
    const undescribed = Object.entries(document.paths).flatMap(([path, operations]) =>
      Object.values(operations as Record<string, { parameters?: Array<{ name: string; description?: string }> }>).flatMap((operation) =>
        (operation.parameters ?? []).filter((parameter) => !parameter.description).map((parameter) => `${path} ${parameter.name}`),
      ),
    );
    expect(undescribed).toEqual([]);
    // Each request body's example works as sent, on the example exchange_id, in the order a client would send them.
    type Operation = {
      requestBody?: { content: Record<string, { example?: unknown }> };
      parameters?: Array<{ in: string; name: string; schema: { example?: string } }>;
    };
    const exampleOf = (path: string, method: string) => (document.paths[path]![method] as Operation).requestBody?.content['application/json']?.example;
    const exampleId = (document.paths['/api/settings/exchange-api-key/{exchange_id}']!.put as Operation).parameters!.find((p) => p.in === 'path')!.schema
      .example!;
    const erin = await token('--sub', 'erin');
    const onKey = `/api/settings/exchange-api-key/${exampleId}`;
    expect((await call('POST', '/api/settings/exchange-api-key', erin, exampleOf('/api/settings/exchange-api-key', 'post'))).status).toBe(201);
    expect((await call('PUT', onKey, erin, exampleOf('/api/settings/exchange-api-key/{exchange_id}', 'put'))).status).toBe(200);
    expect((await call('PATCH', onKey, erin, exampleOf('/api/settings/exchange-api-key/{exchange_id}', 'patch'))).status).toBe(200);
    expect((await call('POST', '/api/settings/exchanges', await token('--sub', 'root', '--admin'), exampleOf('/api/settings/exchanges', 'post'))).status).toBe(
      201,
    );
    const docs = await fetch(`${baseUrl}/docs`);
    expect(await docs.text()).toContain('swagger-ui-bundle.js');
    expect((await fetch(`${baseUrl}/docs/swagger-ui-bundle.js`)).status).toBe(200);
    for (const path of ['/docs', '/openapi.json', '/docs/swagger-ui.css']) {
      const head = await fetch(`${baseUrl}${path}`, { method: 'HEAD' });
      expect({ path, status: head.status, body: await head.text() }).toEqual({ path, status: 200, body: '' });
    }
  });

  it('states the length bounds the server enforces on text: at the bound accepted, one past it a 422 at that field', async () => {
    type StringSchema = { minLength: number; maxLength: number };
    type Doc = {
      paths: Record<string, { post: { requestBody: { content: { 'application/json': { schema: { properties: Record<string, StringSchema> } } } } } }>;
    };
    const document = (await call('GET', '/openapi.json')).json as Doc;
    const field = (path: string, name: string) => document.paths[path]!.post.requestBody.content['application/json'].schema.properties[name]!;
    const name = field('/api/settings/exchanges', 'exchange_name');
    const key = field('/api/settings/exchange-api-key', 'public_key');
    expect([name.minLength, key.minLength]).toEqual([1, 1]);
    const root = await token('--sub', 'root', '--admin');
    const longest = `Z${'x'.repeat(name.maxLength - 1)}`;
    const created = await call('POST', '/api/settings/exchanges', root, { exchange_name: longest });
    expect(created.status).toBe(201);
    // An exchange without a kind takes any text as a key: the bound is the only rule there.
    const kindless = exchangeList.parse(created.json).find((exchange) => exchange.exchange_name === longest)!.exchange_id;
    const tooLong = await call('POST', '/api/settings/exchanges', root, { exchange_name: `${longest}x` });
    expect(tooLong).toMatchObject({ status: 422, json: { detail: [{ loc: ['body', 'exchange_name'], type: 'string_too_long' }] } });
    const grace = await token('--sub', 'grace');
    const keyBody = (length: number) => ({ exchange_id: kindless, public_key: 'p'.repeat(length), private_key: 'private-key-of-grace' });
    const keyTooLong = await call('POST', '/api/settings/exchange-api-key', grace, keyBody(key.maxLength + 1));
    expect(keyTooLong).toMatchObject({ status: 422, json: { detail: [{ loc: ['body', 'public_key'], type: 'string_too_long' }] } });
    expect((await call('POST', '/api/settings/exchange-api-key', grace, keyBody(key.maxLength))).status).toBe(201);
  });

  it('documents each error with the body it really has: 401 as API Gateway answers, 422 as a list of issues, the rest as a sentence', async () => {
    type Doc = {
      paths: Record<string, Record<string, { responses: Record<string, { content: Record<string, { schema: { properties: Record<string, unknown> } }> }> }>>;
      components: { securitySchemes: Record<string, { description: string }> };
    };
    const document = (await call('GET', '/openapi.json')).json as Doc;
    const schemaOf = (status: string) => document.paths['/api/settings/exchange-api-key']!.post!.responses[status]!.content['application/json']!.schema;
    const unauthorized = await call('POST', '/api/settings/exchange-api-key', undefined, {});
    expect(Object.keys(unauthorized.json as object)).toEqual(Object.keys(schemaOf('401').properties));
    const invalid = await call('POST', '/api/settings/exchange-api-key', await token('--sub', 'frank'), { exchange_id: 'x' });
    expect(invalid.status).toBe(422);
    expect(schemaOf('422').properties.detail).toMatchObject({ type: 'array' });
    expect(Array.isArray((invalid.json as { detail: unknown }).detail)).toBe(true);
    expect(schemaOf('403').properties.detail).toMatchObject({ type: 'string' });
    expect(document.components.securitySchemes.bearer!.description).toMatch(/without "Bearer "/);
  });
});

describe("the engine's way in: Lambda Invoke on the same port", () => {
  const engine = () => vault.lambda();
  const invoke = async (functionName: string, payload: unknown) => {
    const response = await engine().send(new InvokeCommand({ FunctionName: functionName, Payload: JSON.stringify(payload) }));
    return { ...response, result: JSON.parse(Buffer.from(response.Payload ?? []).toString('utf8')) as unknown };
  };

  it('npm run engine-demo opens a key it registered, is refused once the owner deactivates it, and finds both in the history', async () => {
    const { stdout } = await run(TSX, ['local/engine-demo.ts'], { env: { ...env(), VAULT_URL: baseUrl } });
    expect(stdout).not.toContain('FAIL');
    expect(stdout.split('\n').filter((line) => line.startsWith('ok '))).toHaveLength(8);
    const { rows } = await db.pool.query(
      `SELECT e.event, e.actor_kind, e.actor_id, e.purpose FROM tb_exchange_api_key_events e JOIN tb_users u USING (user_no)
        WHERE u.auth_subject LIKE 'engine-demo-%' AND e.actor_kind = 'engine' ORDER BY e.event_id`,
    );
    expect(rows).toEqual([
      { event: 'opened', actor_kind: 'engine', actor_id: 'open-api-key', purpose: 'engine-demo' },
      { event: 'opened', actor_kind: 'engine', actor_id: 'open-api-key', purpose: 'engine-demo' },
      { event: 'open_refused', actor_kind: 'engine', actor_id: 'open-api-key', purpose: 'engine-demo' },
    ]);
  });

  it('answers the batch open and both lists through the typed engine client, each list a page at a time', async () => {
    const client = createEngineClient(engine());
    const owner = await token('--sub', 'e2e-engine-lists');
    const registered = await call('POST', '/api/settings/exchange-api-key', owner, {
      exchange_id: 101,
      // Coinone's keys are UUIDs (101 is a coinone exchange).
      public_key: randomUUID(),
      private_key: LISTS_PRIVATE_KEY,
    });
    expect(registered.status).toBe(201);
    const active = await client.listActiveKeys({ limit: 1000 });
    expect(active.result).toMatchObject({ ok: true, keys: expect.arrayContaining([expect.objectContaining({ subject: 'e2e-engine-lists', key_version: 1 })]) });
    const batch = await client.openApiKeys({
      keys: [
        { subject: 'e2e-engine-lists', exchange_id: 101 },
        { user_no: 2_000_000_000, exchange_id: 101 },
      ],
      purpose: 'e2e',
    });
    expect(batch.result).toMatchObject({
      ok: true,
      results: [
        { ok: true, private_key: LISTS_PRIVATE_KEY },
        { ok: false, error: 'not_found' },
      ],
    });
    const { changes } = await followFeed(client, undefined, (seen) =>
      seen.some((change) => change.subject === 'e2e-engine-lists' && change.event === 'registered'),
    );
    expect(changes.filter((change) => change.subject === 'e2e-engine-lists')).toEqual([expect.objectContaining({ event: 'registered', key_version: 1 })]);
    expect((await client.listKeyChanges({ limit: 0 })).result).toMatchObject({ ok: false, error: 'invalid_request' });
  });

  it("records the engine's report of a refused key through the typed client, refuses a stale one, and the owner reads it in the history", async () => {
    const client = createEngineClient(engine());
    const owner = await token('--sub', 'e2e-report');
    const key = '/api/settings/exchange-api-key/101';
    expect(
      (await call('POST', '/api/settings/exchange-api-key', owner, { exchange_id: 101, public_key: randomUUID(), private_key: randomUUID() })).status,
    ).toBe(201);
    const reported = await client.reportApiKey({ subject: 'e2e-report', exchange_id: 101, key_version: 1, reason: 'ip_not_allowed' });
    expect(reported.result).toMatchObject({ ok: true, subject: 'e2e-report', key_version: 1, reason: 'ip_not_allowed', event_id: 2 });
    expect((await call('PUT', key, owner, { public_key: randomUUID(), private_key: randomUUID() })).status).toBe(200);
    expect((await client.reportApiKey({ subject: 'e2e-report', exchange_id: 101, key_version: 1, reason: 'exchange_rejected' })).result).toMatchObject({
      ok: false,
      error: 'stale',
    });
    const history = keyEventList.parse((await call('GET', `${key}/events`, owner)).json);
    expect(history.map((event) => [event.event, event.reason, event.request_id])).toEqual([
      ['replaced', null, expect.any(String)],
      ['reported', 'ip_not_allowed', reported.requestId],
      ['registered', null, expect.any(String)],
    ]);
    expect(history[1]!.actor).toEqual({ kind: 'engine', id: 'report-api-key' });
  });

  it('answers refusals as results with 200, by function name or ARN, and names the invocation by its request id', async () => {
    const missing = await invoke('open-api-key', { user_no: 2_000_000_000, exchange_id: 101, purpose: 'e2e' });
    expect(missing.StatusCode).toBe(200);
    expect(missing.FunctionError).toBeUndefined();
    expect(missing.$metadata.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(openApiKeyResult.parse(missing.result)).toMatchObject({ ok: false, error: 'not_found' });
    const invalid = await invoke('arn:aws:lambda:eu-west-1:123456789012:function:open-api-key', { user_no: 1, exchange_id: 101 });
    expect(openApiKeyResult.parse(invalid.result)).toMatchObject({ ok: false, error: 'invalid_request' });
  });

  /** A key of its own for `subject`, registered over HTTP; its user_no, as the engine names it. */
  const registeredKey = async (subject: string): Promise<number> => {
    const registered = await call('POST', '/api/settings/exchange-api-key', await token('--sub', subject), {
      exchange_id: 101,
      public_key: randomUUID(),
      private_key: ENGINE_LOGIN_PRIVATE_KEY,
    });
    expect(registered.status).toBe(201);
    const { rows } = await db.pool.query<{ user_no: number }>('SELECT user_no FROM tb_users WHERE auth_subject = $1', [subject]);
    return rows[0]!.user_no;
  };

  it('runs the engine functions logged in as vault_engine, as in AWS: what that role may not do is refused', async () => {
    const userNo = await registeredKey('engine-login-e2e');
    const opened = await invoke('open-api-key', { user_no: userNo, exchange_id: 101, purpose: 'e2e' });
    expect(openApiKeyResult.parse(opened.result)).toMatchObject({ ok: true, private_key: ENGINE_LOGIN_PRIVATE_KEY });
    // The routes' handlers log in as DATABASE_URL's user (the test's, a superuser); the open's session is the engine role's.
    const { rows: logins } = await db.pool.query(
      `SELECT count(*)::int AS sessions FROM pg_stat_activity WHERE datname = current_database() AND ${BY_THE_ENGINE}`,
    );
    expect(logins[0].sessions).toBeGreaterThan(0);

    // The table owner could still write the event; the engine's role, without this grant, cannot.
    await db.pool.query('REVOKE INSERT (purpose) ON tb_exchange_api_key_events FROM vault_engine');
    try {
      const refused = await invoke('open-api-key', { user_no: userNo, exchange_id: 101, purpose: 'e2e' });
      expect(refused.FunctionError).toBe('Unhandled');
    } finally {
      await db.pool.query('GRANT INSERT (purpose) ON tb_exchange_api_key_events TO vault_engine');
    }
    const { rows: events } = await db.pool.query(
      `SELECT e.event FROM tb_exchange_api_key_events e WHERE e.user_no = $1 AND e.actor_kind = 'engine' ORDER BY e.key_event_no`,
      [userNo],
    );
    expect(events).toEqual([{ event: 'opened' }]);
  });

  it('answers TooManyRequestsException past the reserved concurrency, and serves the held opens once the row is free', async () => {
    const userNo = await registeredKey('engine-concurrency-e2e');
    // The owner's row lock holds every open at its read, so the opens stay in flight until it ends.
    const holder = await db.pool.connect();
    let held: Array<Promise<Awaited<ReturnType<typeof invoke>>>> = [];
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT key_no FROM tb_exchange_api_keys WHERE user_no = $1 FOR UPDATE', [userNo]);
      held = Array.from({ length: DEFAULT_OPEN_CONCURRENCY }, () => invoke('open-api-key', { user_no: userNo, exchange_id: 101, purpose: 'e2e' }));
      await waitForLockWaits(DEFAULT_OPEN_CONCURRENCY);
      await expect(invoke('open-api-key', { user_no: userNo, exchange_id: 101, purpose: 'e2e' })).rejects.toMatchObject({
        name: 'TooManyRequestsException',
        $metadata: { httpStatusCode: 429 },
      });
    } finally {
      await holder.query('COMMIT');
      holder.release();
    }
    for (const opened of await Promise.all(held)) expect(openApiKeyResult.parse(opened.result)).toMatchObject({ ok: true });
  });

  it('answers an unknown function as Lambda does: ResourceNotFoundException', async () => {
    await expect(invoke('list-api-keys', {})).rejects.toMatchObject({ name: 'ResourceNotFoundException', $metadata: { httpStatusCode: 404 } });
  });
});

describe('every answer as the OpenAPI document says', () => {
  type Schema = Record<string, unknown>;
  type Operation = { responses: Record<string, { content?: Record<string, { schema: Schema }> }> };

  it('validates a real response of every route and every status it can give over HTTP against the document, with a JSON Schema validator', async () => {
    const { Ajv } = await import('ajv');
    // A CommonJS module whose exports are also its `default`: the same function either way.
    const { default: formats } = await import('ajv-formats');
    // OpenAPI 3.0 schemas: `nullable` is theirs (Ajv knows it); `example` and friends are annotations.
    const ajv = new Ajv({ strict: false, allErrors: true });
    formats.default(ajv);
    const document = (await call('GET', '/openapi.json')).json as { paths: Record<string, Record<string, Operation>> };
    const [owner, other, admin] = await Promise.all([token('--sub', 'conf-owner'), token('--sub', 'conf-other'), token('--sub', 'conf-admin', '--admin')]);
    const key = { exchange_id: 101, public_key: 'c0f00000-0000-4000-8000-000000000001', private_key: 'c0f00000-aaaa-4bbb-8ccc-000000000001' };
    const pair = { public_key: 'c0f00000-0000-4000-8000-000000000002', private_key: 'c0f00000-aaaa-4bbb-8ccc-000000000002' };
    const onKey = '/api/settings/exchange-api-key/101';
    const big = { exchange_name: 'x'.repeat(17 * 1024) };
    const seen: Array<{ route: string; status: number }> = [];

    const check = async (name: string, status: number, send: () => Promise<{ status: number; text: string; json: unknown }>) => {
      const route = routes.find((candidate) => candidate.name === name)!;
      const response = await send();
      expect({ name, status: response.status }).toEqual({ name, status });
      const documented = document.paths[route.path]?.[route.method.toLowerCase()]?.responses[String(status)];
      expect({ name, status, documented: documented !== undefined }).toEqual({ name, status, documented: true });
      const schema = documented?.content?.['application/json']?.schema;
      if (schema === undefined) expect(response.text).toBe('');
      else {
        const valid = ajv.validate(schema, response.json);
        expect({ name, status, valid, errors: ajv.errorsText(ajv.errors) }).toEqual({ name, status, valid: true, errors: 'No errors' });
      }
      seen.push({ route: name, status });
    };

    await check('list-exchanges', 200, () => call('GET', '/api/settings/exchanges', owner));
    await check('list-exchanges', 401, () => call('GET', '/api/settings/exchanges'));
    await check('create-exchange', 201, () => call('POST', '/api/settings/exchanges', admin, { exchange_name: 'ConfEx' }));
    await check('create-exchange', 403, () => call('POST', '/api/settings/exchanges', owner, { exchange_name: 'ConfEx2' }));
    await check('create-exchange', 409, () => call('POST', '/api/settings/exchanges', admin, { exchange_name: 'confex' }));
    await check('create-exchange', 413, () => call('POST', '/api/settings/exchanges', admin, big));
    await check('create-exchange', 415, () => call('POST', '/api/settings/exchanges', admin, undefined, { 'content-type': 'text/plain' }));
    await check('create-exchange', 422, () => call('POST', '/api/settings/exchanges', admin, { exchange_name: '' }));
    await check('set-exchange-kind', 200, () => call('PATCH', '/api/settings/exchanges/101', admin, { kind: 'coinone' }));
    await check('set-exchange-kind', 403, () => call('PATCH', '/api/settings/exchanges/101', owner, { kind: 'okx' }));
    await check('set-exchange-kind', 404, () => call('PATCH', '/api/settings/exchanges/999999', admin, { kind: 'okx' }));
    await check('set-exchange-kind', 422, () => call('PATCH', '/api/settings/exchanges/101', admin, { kind: 'ftx' }));
    await check('register-api-key', 201, () => call('POST', '/api/settings/exchange-api-key', owner, key));
    await check('register-api-key', 409, () => call('POST', '/api/settings/exchange-api-key', owner, key));
    await check('register-api-key', 404, () => call('POST', '/api/settings/exchange-api-key', owner, { ...key, exchange_id: 999_999 }));
    await check('register-api-key', 403, () => call('POST', '/api/settings/exchange-api-key', other, { ...key, user_no: 1 }));
    await check('register-api-key', 422, () => call('POST', '/api/settings/exchange-api-key', owner, { ...key, exchange_id: 'x' }));
    await check('list-api-keys', 200, () => call('GET', '/api/settings/exchange-api-key', owner));
    await check('list-api-keys', 403, () => call('GET', '/api/settings/exchange-api-key?user_no=2147483647', owner));
    await check('list-api-keys', 422, () => call('GET', '/api/settings/exchange-api-key?user_no=x', owner));
    const read = await call('GET', onKey, owner);
    await check('get-api-key', 200, async () => read);
    await check('get-api-key', 404, () => call('GET', onKey, other));
    await check('get-api-key', 422, () => call('GET', '/api/settings/exchange-api-key/x', owner));
    await check('replace-api-key', 412, () => call('PUT', onKey, owner, pair, { 'if-match': '"stale"' }));
    await check('replace-api-key', 200, () => call('PUT', onKey, owner, pair, { 'if-match': read.headers.get('etag')! }));
    await check('replace-api-key', 404, () => call('PUT', onKey, other, pair));
    await check('replace-api-key', 422, () => call('PUT', onKey, owner, { public_key: '' }));
    await check('set-api-key-active', 200, () => call('PATCH', onKey, owner, { is_active: false }));
    await check('set-api-key-active', 412, () => call('PATCH', onKey, owner, { is_active: true }, { 'if-match': '"stale"' }));
    await check('set-api-key-active', 422, () => call('PATCH', onKey, owner, { is_active: 'no' }));
    await check('list-api-key-events', 200, () => call('GET', `${onKey}/events`, owner));
    await check('list-api-key-events', 403, () => call('GET', `${onKey}/events?user_no=2147483647`, owner));
    await check('list-api-key-events', 422, () => call('GET', `${onKey}/events?limit=0`, owner));
    await check('check-api-key', 200, () => call('POST', `${onKey}/check`, owner));
    await check('check-api-key', 403, () => call('POST', `${onKey}/check?user_no=2147483647`, owner));
    await check('check-api-key', 404, () => call('POST', '/api/settings/exchange-api-key/2147483647/check', owner));
    await check('check-api-key', 422, () => call('POST', '/api/settings/exchange-api-key/0/check', owner));
    await check('delete-api-key', 412, () => call('DELETE', onKey, owner, undefined, { 'if-match': '"stale"' }));
    await check('delete-api-key', 204, () => call('DELETE', onKey, owner));
    await check('delete-api-key', 404, () => call('DELETE', onKey, owner));

    // Every route answered 401 (API Gateway's own body) and its success status at least once: a
    // route not tried above sends the table's example, as an admin where it is for admins.
    for (const route of routes) {
      const { params, body } = exampleRequest(route);
      const path = fillPath(route.path, params);
      if (!seen.some((entry) => entry.route === route.name && entry.status === 401)) await check(route.name, 401, () => call(route.method, path));
      if (!seen.some((entry) => entry.route === route.name && entry.status === route.successStatus))
        await check(route.name, route.successStatus, () => call(route.method, path, route.adminOnly ? admin : owner, body));
    }
  });
});
