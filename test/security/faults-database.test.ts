/**
 * The database failing under the handlers, in every way a network or a server fails: connections
 * refused, connections that hang, connections cut mid-statement, statements that wait too long,
 * sessions the server terminates. Requests go over HTTP through the local server; the handlers
 * reach a real PostgreSQL through a TCP proxy that fails on demand. Every failure must be a 503
 * with Retry-After, soon; the pool must not leak; everything must work again once the database
 * does, with nothing half-written.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type pg from 'pg';
import { keyRingFromText } from '../../shared/crypto/key-ring.js';
import { RETRY_AFTER_SECONDS } from '../../shared/errors.js';
import { exampleRequest } from '../../shared/openapi.js';
import { type RouteName, routes } from '../../shared/routes.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { fillPath } from '../support/events.js';
import { BOUND_MS, CONNECT_TIMEOUT_MS, type FaultProxy, faultDatabaseTimeouts, STATEMENT_TIMEOUT_MS, startFaultProxy } from '../support/fault-proxy.js';
import { closeHandlerPool, loadHandlers, testSymmetricKey } from '../support/handlers.js';
import { type HttpReply, type LocalApi, startLocalApi } from '../support/http-server.js';
import { captureOutput, type OutputCapture } from '../support/output-capture.js';
import { testClient } from '../support/pg.js';
import { CANARY_PRIVATE_KEY, CANARY_PUBLIC_KEY, expectNoCanary, expectStoredWhole, insertKeyHolder, onOneKey } from './helpers.js';

const APPLICATION = 'vault-fault-handlers';

let db: TestDatabase;
let proxy: FaultProxy;
let local: LocalApi;
let handlerPool: pg.Pool;
let output: OutputCapture;
const symmetricKey = testSymmetricKey();

const routeOf = (name: RouteName) => routes.find((route) => route.name === name)!;
let subjects = 0;
const freshSubject = (): string => {
  subjects += 1;
  return `fault-user-${subjects}`;
};
const bearer = async (subject: string, admin = false) => `Bearer ${await local.tokens.valid(subject, { admin })}`;

/**
 * The bodies that differ from the table's example: a fresh exchange name per call, and the canary
 * keys, so that a leak of them anywhere is found.
 */
const faultBodies: Partial<Record<RouteName, () => unknown>> = {
  'create-exchange': () => ({ exchange_name: `Fault${Math.random().toString(36).slice(2, 10)}` }),
  'register-api-key': () => ({ exchange_id: 101, public_key: CANARY_PUBLIC_KEY, private_key: CANARY_PRIVATE_KEY }),
  'replace-api-key': () => ({ public_key: CANARY_PUBLIC_KEY, private_key: CANARY_PRIVATE_KEY }),
  // 101 keeps no kind here (test/support/test-postgres.ts), so the canary keys above stay valid.
  'set-exchange-kind': () => ({ kind: null }),
};

/** A request each route would answer with success while the database is up: the table's example, sent by a holder of a key at 101 (as an admin). */
async function requestFor(name: RouteName): Promise<HttpReply> {
  const route = routeOf(name);
  const { params, body: example } = exampleRequest(route);
  const body = faultBodies[name]?.() ?? example;
  const subject = freshSubject();
  // Written past the proxy, so the key is there whatever the proxy is doing.
  if (onOneKey(name)) await insertKeyHolder(db.pool, subject);
  return local.request(route.method, fillPath(route.path, params), { authorization: await bearer(subject, true), ...(body === undefined ? {} : { body }) });
}

async function timed(work: () => Promise<HttpReply>): Promise<HttpReply & { ms: number }> {
  const started = performance.now();
  const response = await work();
  return { ...response, ms: performance.now() - started };
}

const expectUnavailable = (response: HttpReply & { ms?: number }) => {
  expect({ status: response.status, json: response.json }).toEqual({ status: 503, json: { detail: 'The database is unavailable; retry shortly' } });
  expect(response.headers.get('retry-after')).toBe(String(RETRY_AFTER_SECONDS));
  expect(response.headers.get('cache-control')).toBe('no-store');
  if (response.ms !== undefined) expect(response.ms).toBeLessThan(BOUND_MS);
};

/** Backends the handlers' pool holds open on the server, seen from a connection of the test's own. */
const handlerBackends = async (state?: string): Promise<number> =>
  Number(
    (
      await db.pool.query<{ count: string }>('SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND ($2::text IS NULL OR state = $2)', [
        APPLICATION,
        state ?? null,
      ])
    ).rows[0]!.count,
  );

/** Waits until the check holds; the test's own timeout ends a wait for something that never comes. */
async function eventually(check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((resolve) => setTimeout(resolve, 50));
}

/** Holds an ACCESS EXCLUSIVE lock on a table until released: every statement touching it waits. */
async function lockTable(table: string): Promise<() => Promise<void>> {
  const client = testClient({ connectionString: db.url });
  await client.connect();
  await client.query('BEGIN');
  await client.query(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
  return async () => {
    await client.query('ROLLBACK');
    await client.end();
  };
}

const expectAllRoutesWork = async () => {
  for (const route of routes) expect((await requestFor(route.name)).status).toBe(route.successStatus);
};

beforeAll(async () => {
  db = await createTestDatabase();
  const target = new URL(db.url);
  proxy = await startFaultProxy({ host: target.hostname, port: Number(target.port) });
  const url = new URL(proxy.urlFor(db.url));
  url.searchParams.set('application_name', APPLICATION);
  output = captureOutput();
  const api = await loadHandlers({
    DATABASE_URL: url.toString(),
    SYMMETRIC_KEY: symmetricKey,
    ...faultDatabaseTimeouts(),
    POWERTOOLS_LOG_LEVEL: 'DEBUG',
  });
  handlerPool = (await import('../../shared/runtime/database.js')).db;
  local = await startLocalApi(api.handlers);
  await expectAllRoutesWork();
});

afterEach(async () => {
  await proxy.setMode('pass');
  // No leaked connection: nobody is left waiting for one, the pool stays within its bound, and
  // every connection it counts is one backend on the server (none orphaned, none stuck running).
  expect(handlerPool.waitingCount).toBe(0);
  expect(handlerPool.totalCount).toBeLessThanOrEqual(10);
  await eventually(async () => (await handlerBackends()) === handlerPool.totalCount);
  expect(await handlerBackends('active')).toBe(0);
});

afterAll(async () => {
  output?.restore();
  await local?.close();
  await closeHandlerPool();
  await proxy?.close();
  await db?.drop();
});

describe('when the database cannot be reached', () => {
  it('answers every route 503 with Retry-After at once while connections are refused, and recovers', async () => {
    await proxy.setMode('refuse');
    proxy.cut();
    for (const route of routes) expectUnavailable(await timed(() => requestFor(route.name)));
    await proxy.setMode('pass');
    await expectAllRoutesWork();
  });

  it('gives up on a connection that never answers after the connect timeout, not later', async () => {
    await proxy.setMode('blackhole');
    proxy.cut();
    for (const route of routes) {
      const response = await timed(() => requestFor(route.name));
      expectUnavailable(response);
      expect(response.ms).toBeGreaterThanOrEqual(CONNECT_TIMEOUT_MS - 50);
    }
    proxy.cut();
    await proxy.setMode('pass');
    await expectAllRoutesWork();
  });

  it('answers 503 when the connection is cut in the middle of a statement, and the next request works', async () => {
    const release = await lockTable('tb_exchanges');
    try {
      const pending = timed(() => requestFor('list-exchanges'));
      await eventually(async () => (await handlerBackends('active')) === 1);
      proxy.cut();
      expectUnavailable(await pending);
    } finally {
      await release();
    }
    await expectAllRoutesWork();
  });
});

describe('when the database is slow or ends sessions', () => {
  it('cancels a statement that waits past the statement timeout: 503, and the connection stays usable', async () => {
    const release = await lockTable('tb_exchanges');
    try {
      const response = await timed(() => requestFor('list-exchanges'));
      expectUnavailable(response);
      expect(response.ms).toBeGreaterThanOrEqual(STATEMENT_TIMEOUT_MS - 50);
      // Cancelled on the server, not only abandoned by the client.
      await eventually(async () => (await handlerBackends('active')) === 0);
    } finally {
      await release();
    }
    await expectAllRoutesWork();
  });

  it('writes no key when the insert times out, and the retry registers it whole', async () => {
    const subject = freshSubject();
    const authorization = await bearer(subject);
    const body = { exchange_id: 101, public_key: CANARY_PUBLIC_KEY, private_key: CANARY_PRIVATE_KEY };
    const release = await lockTable('tb_exchange_api_keys');
    try {
      expectUnavailable(await timed(() => local.request('POST', '/api/settings/exchange-api-key', { authorization, body })));
    } finally {
      await release();
    }
    const rows = () => db.pool.query('SELECT k.* FROM tb_exchange_api_keys k JOIN tb_users u USING (user_no) WHERE u.auth_subject = $1', [subject]);
    expect((await rows()).rowCount).toBe(0);
    expect((await local.request('POST', '/api/settings/exchange-api-key', { authorization, body })).status).toBe(201);
    expect((await rows()).rowCount).toBe(1);
  });

  it('answers 503, never 500, when the server terminates the sessions, idle or mid-statement, and recovers', async () => {
    await expectAllRoutesWork();
    expect(await handlerBackends()).toBeGreaterThan(0);
    const terminate = () => db.pool.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [APPLICATION]);

    await terminate();
    // An idle connection the server ended is found dead either before use (a new one is made) or
    // in use (the request fails with 503); a client retrying as Retry-After asks then succeeds.
    for (const route of routes) {
      const first = await requestFor(route.name);
      if (first.status !== route.successStatus) expectUnavailable(first);
    }

    const release = await lockTable('tb_exchanges');
    try {
      const pending = timed(() => requestFor('list-exchanges'));
      await eventually(async () => (await handlerBackends('active')) === 1);
      await terminate();
      expectUnavailable(await pending);
    } finally {
      await release();
    }
    await expectAllRoutesWork();
  });
});

describe('nothing half-written, nothing lost', () => {
  it('keeps every registration whole through connections cut at random, and a retry of each 503 lands it exactly once', async () => {
    const ring = await keyRingFromText(symmetricKey);
    const subjectsHere = Array.from({ length: 30 }, () => freshSubject());
    const keysOf = (subject: string) => ({ public_key: `${subject}-public-${CANARY_PUBLIC_KEY}`, private_key: `${CANARY_PRIVATE_KEY}\n${subject}` });
    const tokens = new Map(await Promise.all(subjectsHere.map(async (subject) => [subject, await bearer(subject)] as const)));
    const register = (subject: string) =>
      local.request('POST', '/api/settings/exchange-api-key', { authorization: tokens.get(subject)!, body: { exchange_id: 101, ...keysOf(subject) } });

    // Every open connection is cut twice while the registrations run: when the 5th and the 10th
    // succeed, with the others in flight at every stage (connecting, upserting, inserting, replying).
    // Counting successes, not answers: on a loaded machine the first answers can all be 503s (the
    // short connect bound), and a cut after them would spare nothing.
    let succeeded = 0;
    const first = await Promise.all(
      subjectsHere.map((subject) =>
        register(subject).then((response) => {
          if (response.status === 201) succeeded += 1;
          if (response.status === 201 && (succeeded === 5 || succeeded === 10)) proxy.cut();
          return response;
        }),
      ),
    );
    for (const response of first) expect([201, 503]).toContain(response.status);
    // The cuts must have hit requests in flight, and spared some, or this test would prove little.
    expect(first.filter((response) => response.status === 503).length).toBeGreaterThan(0);
    expect(first.filter((response) => response.status === 201).length).toBeGreaterThan(0);

    // A client retries a 503 until it is answered; on a loaded machine a retry can still meet a connection
    // the pool has not yet seen cut, and answer 503 once more. Retries are bounded: the cuts are over.
    const settle = async (subject: string) => {
      for (let attempt = 1; ; attempt += 1) {
        const response = await register(subject);
        if (response.status !== 503 || attempt === 5) return response;
      }
    };
    const retried = await Promise.all(subjectsHere.map(async (subject, index) => (first[index]!.status === 201 ? first[index]! : settle(subject))));
    // A 503 whose insert had committed before its connection was cut retries into a 409: the key is there.
    for (const response of retried) expect([201, 409]).toContain(response.status);

    for (const subject of subjectsHere) await expectStoredWhole(db.pool, ring, subject, keysOf(subject));
  });

  it('leaks no key material and no SQL into any log line written through all of the above', () => {
    const text = output.text();
    expect(output.logRecords().filter((record) => record.message === 'request failed').length).toBeGreaterThan(10);
    expectNoCanary(text, 'log output');
    expect(text).not.toMatch(/SELECT|INSERT|LOCK TABLE|pg_terminate_backend/);
  });
});
