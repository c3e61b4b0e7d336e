/**
 * The database server itself stopped in the middle of traffic, and started again: a PostgreSQL
 * of this file's own (local/embedded-postgres.ts, on a free port, its data kept across the
 * restart). While it is down every route answers 503 with Retry-After within the connect timeout;
 * once it is back every route works without restarting the handlers, and every key registered
 * before, during and after is whole.
 */

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type EmbeddedDatabase, startEmbeddedPostgres } from '../../local/embedded-postgres.js';
import { freePort } from '../../local/free-port.js';
import { keyRingFromText } from '../../shared/crypto/key-ring.js';
import { migrate } from '../../shared/db/migrate.js';
import { RETRY_AFTER_SECONDS } from '../../shared/errors.js';
import { exampleRequest } from '../../shared/openapi.js';
import { type RouteName, routes } from '../../shared/routes.js';
import { fillPath } from '../support/events.js';
import { BOUND_MS, CONNECT_TIMEOUT_MS } from '../support/fault-proxy.js';
import { closeHandlerPool, loadHandlers, testSymmetricKey } from '../support/handlers.js';
import { type HttpReply, type LocalApi, startLocalApi } from '../support/http-server.js';
import { testClient } from '../support/pg.js';
import { expectStoredWhole, insertKeyHolder, onOneKey } from './helpers.js';

let dataDir: string;
let port: number;
let server: EmbeddedDatabase | undefined;
let local: LocalApi;
let url: string;
const symmetricKey = testSymmetricKey();

const start = async () => {
  server = await startEmbeddedPostgres({ dataDir, port, persistent: true });
};
const stop = async () => {
  await server?.stop();
  server = undefined;
};

const bearer = async (subject: string, admin = false) => `Bearer ${await local.tokens.valid(subject, { admin })}`;
const keysOf = (subject: string) => ({ public_key: `${subject}-public-key`, private_key: `${subject}-private-key-material` });
const register = async (subject: string) =>
  local.request('POST', '/api/settings/exchange-api-key', { authorization: await bearer(subject), body: { exchange_id: 101, ...keysOf(subject) } });

let probes = 0;
/** More than the probes this file sends: each may act on a key of its own. */
const HOLDERS = 100;
/** One request a route answers with success while the database is up, timed. */
async function callRoute(route: (typeof routes)[number]): Promise<HttpReply & { ms: number }> {
  probes += 1;
  // The table's example, but a fresh name and fresh keys where a repeat would conflict.
  const bodies: Partial<Record<RouteName, unknown>> = {
    'create-exchange': { exchange_name: `Restart${probes}` },
    'register-api-key': { exchange_id: 101, ...keysOf(`restart-probe-${probes}`) },
    'replace-api-key': keysOf(`restart-holder-${probes}`),
    // 101 keeps no kind here (beforeAll), so the free-form keys above stay valid.
    'set-exchange-kind': { kind: null },
  };
  const { params, body: example } = exampleRequest(route);
  const body = bodies[route.name] ?? example;
  // The routes on one key act on a holder's, written before the server ever stops.
  const authorization = await bearer(onOneKey(route.name) ? `restart-holder-${probes}` : `restart-probe-${probes}`, true);
  const started = performance.now();
  const response = await local.request(route.method, fillPath(route.path, params), { authorization, ...(body === undefined ? {} : { body }) });
  return { ...response, ms: performance.now() - started };
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'vault-restart-pg-'));
  port = await freePort();
  await start();
  url = server!.url;
  const client = testClient({ connectionString: url });
  await client.connect();
  await migrate(client, { info: () => undefined });
  // As in the suite's template (test/support/test-postgres.ts): 101 without a kind takes the free-form keys here.
  await client.query('UPDATE tb_exchanges SET kind = NULL WHERE exchange_id = 101');
  for (let probe = 1; probe <= HOLDERS; probe += 1) await insertKeyHolder(client, `restart-holder-${probe}`);
  await client.end();
  const api = await loadHandlers({
    DATABASE_URL: url,
    SYMMETRIC_KEY: symmetricKey,
    DB_CONNECT_TIMEOUT_MS: String(CONNECT_TIMEOUT_MS),
    DB_STATEMENT_TIMEOUT_MS: '1000',
  });
  local = await startLocalApi(api.handlers);
}, 60_000);

afterAll(async () => {
  await local?.close();
  await closeHandlerPool();
  await stop();
  await rm(dataDir, { recursive: true, force: true });
}, 30_000);

describe('PostgreSQL stopped mid-traffic and started again', () => {
  const before = Array.from({ length: 5 }, (_, i) => `restart-before-${i}`);
  const during = Array.from({ length: 20 }, (_, i) => `restart-during-${i}`);
  const outcomes = new Map<string, number>();

  it('works before the stop', async () => {
    for (const subject of before) expect((await register(subject)).status).toBe(201);
    for (const route of routes) expect((await callRoute(route)).status).toBe(route.successStatus);
  });

  it('answers requests in flight at the stop and every request while it is down with 503 and Retry-After, soon', async () => {
    // A table lock holds the registrations' inserts in flight, so the stop finds them there however
    // fast or slow the machine is: the server is stopped once five of them wait on it.
    const tokens = new Map(await Promise.all(during.map(async (subject) => [subject, await bearer(subject)] as const)));
    const holder = testClient({ connectionString: url });
    const watcher = testClient({ connectionString: url });
    await Promise.all([holder.connect(), watcher.connect()]);
    await holder.query('BEGIN');
    await holder.query('LOCK TABLE tb_exchange_api_keys IN SHARE MODE');
    const requests = Promise.all(
      during.map(async (subject) => {
        const response = await local.request('POST', '/api/settings/exchange-api-key', {
          authorization: tokens.get(subject)!,
          body: { exchange_id: 101, ...keysOf(subject) },
        });
        outcomes.set(subject, response.status);
      }),
    );
    for (;;) {
      const { rows } = await watcher.query<{ waiting: number }>(
        "SELECT count(*)::int AS waiting FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
      );
      if (rows[0]!.waiting >= 5) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await stop();
    await requests;
    // The stop ended both sessions; ending the clients only closes their sockets.
    await Promise.all([holder.end().catch(() => undefined), watcher.end().catch(() => undefined)]);
    const statuses = [...outcomes.values()];
    expect(statuses).toHaveLength(during.length);
    for (const status of statuses) expect(status).toBe(503);

    for (const route of routes) {
      const reply = await callRoute(route);
      expect({ status: reply.status, json: reply.json }).toEqual({ status: 503, json: { detail: 'The database is unavailable; retry shortly' } });
      expect(reply.headers.get('retry-after')).toBe(String(RETRY_AFTER_SECONDS));
      expect(reply.ms).toBeLessThan(BOUND_MS);
    }
    const pool = (await import('../../shared/runtime/database.js')).db;
    expect(pool.waitingCount).toBe(0);
  });

  it('recovers once the server is back, without restarting the handlers', async () => {
    await start();
    // Each request the pool serves on a connection it does not yet know is dead may still fail,
    // as 503; within a few retries every route must succeed.
    for (const route of routes) {
      let last: HttpReply | undefined;
      for (let attempt = 0; attempt < 5; attempt += 1) {
        last = await callRoute(route);
        if (last.status === route.successStatus) break;
        expect(last.status).toBe(503);
      }
      expect(last!.status).toBe(route.successStatus);
    }
  }, 30_000);

  it('lost nothing and half-wrote nothing: every key is whole, and each 503 retried lands exactly once', async () => {
    for (const subject of during) {
      if (outcomes.get(subject) === 503) expect([201, 409]).toContain((await register(subject)).status);
    }
    const ring = await keyRingFromText(symmetricKey);
    const client = testClient({ connectionString: url });
    await client.connect();
    try {
      for (const subject of [...before, ...during]) await expectStoredWhole(client, ring, subject, keysOf(subject));
      const incomplete = await client.query('SELECT key_no FROM tb_exchange_api_keys WHERE public_key_masked IS NULL OR private_key_masked IS NULL');
      expect(incomplete.rows).toEqual([]);
    } finally {
      await client.end();
    }
  });
});
