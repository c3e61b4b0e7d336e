/**
 * The engine's open when what it depends on fails: the database (refused, hung, slow, cut
 * mid-statement, through a TCP proxy that fails on demand in front of a real PostgreSQL) and the
 * key ring. Every failure is the value `unavailable`, soon, never a throw; no failure writes an
 * `opened` event without returning the key, none returns a key without its event, and the next
 * open works once the dependency does.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type OpenApiKeyResult, openApiKeyResult } from '../../shared/schemas/open-api-key.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { engineContext, keyEvents, loadOpenHandler, type OpenHandler } from '../support/engine.js';
import { BOUND_MS, CONNECT_TIMEOUT_MS, type FaultProxy, faultDatabaseTimeouts, STATEMENT_TIMEOUT_MS, startFaultProxy } from '../support/fault-proxy.js';
import { closeHandlerPool, loadHandlers, testSymmetricKey } from '../support/handlers.js';
import { captureOutput, type OutputCapture } from '../support/output-capture.js';
import { testClient } from '../support/pg.js';
import { CANARY_PRIVATE_KEY, CANARY_PUBLIC_KEY, expectNoCanary, userNoOf } from './helpers.js';

let db: TestDatabase;
let proxy: FaultProxy;
let open: OpenHandler;
let output: OutputCapture;
let userNo: number;
const symmetricKey = testSymmetricKey();

async function timedOpen(): Promise<{ result: OpenApiKeyResult; ms: number }> {
  const started = performance.now();
  const result = openApiKeyResult.parse(await open({ user_no: userNo, exchange_id: 101, purpose: 'fault-probe' }, engineContext()));
  return { result, ms: performance.now() - started };
}

const opened = async () => (await keyEvents(db.pool, userNo, 101)).filter((event) => event.event === 'opened').length;

/** `fault` breaks something, opens, and mends it again; the history is read only before and after. */
async function expectUnavailableWithoutEvent(fault: () => Promise<{ result: OpenApiKeyResult; ms: number }>, detail: string): Promise<number> {
  const before = await opened();
  const { result, ms } = await fault();
  expect(result).toEqual({ ok: false, error: 'unavailable', detail });
  expect(ms).toBeLessThan(BOUND_MS);
  expect(await opened()).toBe(before);
  return ms;
}

const DATABASE_DOWN = 'The database is unavailable; retry shortly';

const expectOpensAgain = async () =>
  expect((await timedOpen()).result).toMatchObject({ ok: true, public_key: CANARY_PUBLIC_KEY, private_key: CANARY_PRIVATE_KEY });

/** Runs `work` while an ACCESS EXCLUSIVE lock on `table` makes every statement touching it wait. */
async function whileLocked<T>(table: string, work: () => Promise<T>): Promise<T> {
  const client = testClient({ connectionString: db.url });
  await client.connect();
  try {
    await client.query('BEGIN');
    await client.query(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
    return await work();
  } finally {
    await client.query('ROLLBACK');
    await client.end();
  }
}

const poll = () => new Promise((resolve) => setTimeout(resolve, 20));

/** The server process of the handler's statement once it waits for a lock (whileLocked's). */
async function backendWaitingForLock(): Promise<number> {
  for (;;) {
    const { rows } = await db.pool.query<{ pid: number }>(
      `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()`,
    );
    if (rows[0]) return rows[0].pid;
    await poll();
  }
}

/** Until the server process `pid` has finished its statement (idle, or gone with its connection). */
async function statementEnded(pid: number): Promise<void> {
  for (;;) {
    const { rows } = await db.pool.query(`SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND state = 'active'`, [pid]);
    if (rows.length === 0) return;
    await poll();
  }
}

/** Drops every connection through the proxy, and waits until the handler's pool has noticed. */
async function cutAll(): Promise<void> {
  proxy.cut();
  const { db: pool } = await import('../../shared/runtime/database.js');
  while (pool.totalCount > 0) await new Promise((resolve) => setTimeout(resolve, 20));
}

beforeAll(async () => {
  db = await createTestDatabase();
  const target = new URL(db.url);
  proxy = await startFaultProxy({ host: target.hostname, port: Number(target.port) });
  output = captureOutput();
  const api = await loadHandlers({
    DATABASE_URL: proxy.urlFor(db.url),
    SYMMETRIC_KEY: symmetricKey,
    ...faultDatabaseTimeouts(),
    POWERTOOLS_LOG_LEVEL: 'DEBUG',
  });
  open = await loadOpenHandler();
  expect(
    (await api.call('register-api-key', { subject: 'fault-owner', body: { exchange_id: 101, public_key: CANARY_PUBLIC_KEY, private_key: CANARY_PRIVATE_KEY } }))
      .status,
  ).toBe(201);
  userNo = await userNoOf(db.pool, 'fault-owner');
  await expectOpensAgain();
});

afterAll(async () => {
  output?.restore();
  await closeHandlerPool();
  await proxy?.close();
  await db?.drop();
});

describe('the database failing under an open', () => {
  it('is unavailable at once while connections are refused, and opens again after', async () => {
    await proxy.setMode('refuse');
    await cutAll();
    try {
      await expectUnavailableWithoutEvent(timedOpen, DATABASE_DOWN);
    } finally {
      await proxy.setMode('pass');
    }
    await expectOpensAgain();
  });

  it('gives up on a connection that never answers after the connect timeout', async () => {
    await proxy.setMode('blackhole');
    await cutAll();
    try {
      expect(await expectUnavailableWithoutEvent(timedOpen, DATABASE_DOWN)).toBeGreaterThanOrEqual(CONNECT_TIMEOUT_MS - 50);
    } finally {
      proxy.cut();
      await proxy.setMode('pass');
    }
    await expectOpensAgain();
  });

  it('is unavailable when the history cannot be appended in time, and then returns no key', async () => {
    const ms = await expectUnavailableWithoutEvent(() => whileLocked('tb_exchange_api_key_events', timedOpen), DATABASE_DOWN);
    expect(ms).toBeGreaterThanOrEqual(STATEMENT_TIMEOUT_MS - 50);
    await expectOpensAgain();
  });

  it('is unavailable when the connection is cut in the middle of the read, and the history then says nothing: no event is written before the key opens', async () => {
    const before = await opened();
    const { result, reader } = await whileLocked('tb_exchange_api_keys', async () => {
      const pending = timedOpen();
      const reader = await backendWaitingForLock();
      proxy.cut();
      return { result: (await pending).result, reader };
    });
    expect(result).toEqual({ ok: false, error: 'unavailable', detail: DATABASE_DOWN });
    // The read, waiting for the lock until now, still runs to its end on the server; it appends
    // nothing for an active key, so no `opened` claims an open whose answer never left.
    await statementEnded(reader);
    expect(await opened()).toBe(before);
    await expectOpensAgain();
  });
});

describe('the key ring failing under an open', () => {
  it('is unavailable before the statement runs (no event), tries the ring again on the next open, and opens once it loads', async () => {
    const { textRingStore, ringStoreSource } = await import('../../shared/crypto/ring-store.js');
    const { openApiKey } = await import('../../shared/services/open-api-key.js');
    const { metrics } = await import('../../shared/runtime/metrics.js');
    const { db: pool } = await import('../../shared/runtime/database.js');
    const { reloadingOpener } = await import('../../shared/crypto/reloading-opener.js');
    let reachable = false;
    let reads = 0;
    const keyRingSource = ringStoreSource(
      textRingStore({
        location: 'fault-probe',
        read: async () => {
          reads += 1;
          if (!reachable) throw new Error('ThrottlingException: Rate exceeded');
          return symmetricKey;
        },
      }),
    );
    const openWith = async () => {
      const started = performance.now();
      const result = await openApiKey(
        { db: pool, keyRingSource, open: reloadingOpener(keyRingSource), metrics },
        { user_no: userNo, exchange_id: 101, purpose: 'fault-probe' },
        { functionName: 'probe', awsRequestId: randomUUID() },
      );
      return { result, ms: performance.now() - started };
    };
    await expectUnavailableWithoutEvent(openWith, 'The encryption keys are unavailable; retry shortly');
    await expectUnavailableWithoutEvent(openWith, 'The encryption keys are unavailable; retry shortly');
    expect(reads).toBe(2);
    reachable = true;
    expect((await openWith()).result).toMatchObject({ ok: true, private_key: CANARY_PRIVATE_KEY });
  });
});

describe('afterwards', () => {
  it('no log line holds the key, and every failure was logged with what was unavailable and why', () => {
    expectNoCanary(output.text(), 'log output');
    const unavailable = output.logRecords().filter((record) => record.message === 'api key open unavailable');
    expect(new Set(unavailable.map((record) => record.dependency))).toEqual(new Set(['database', 'key-ring']));
    for (const record of unavailable) expect(record.reason).toEqual(expect.any(String));
  });
});
