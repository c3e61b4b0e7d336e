/**
 * Part 5: the local server as `npm start` runs it (`tsx local/start.ts`, its own process, its
 * default pool of 10 connections) under autocannon in this process, loopback only, at several
 * concurrencies per route. Every POST is distinct, so each one inserts: register-api-key walks
 * (subject, exchange) pairs of subjects the server already knows; create-exchange uses fresh
 * names while a cleanup loop removes them, so the list each call returns stays near one size.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import pg from 'pg';
import { freePort } from '../local/free-port.js';
import type { HttpMethod } from '../shared/routes.js';
import { type EngineThroughput, runEngineThroughput } from './engine-throughput.js';
import { ensureExchanges } from './lib/postgres.js';
import { type Summary, summarize } from './lib/stats.js';
import { ROUTE_EXCHANGES } from './warm.js';

const REPO = fileURLToPath(new URL('../', import.meta.url));

export interface HttpResult {
  readonly route: string;
  readonly connections: number;
  readonly seconds: number;
  /** Successful (2xx) responses per second. */
  readonly rps: number;
  readonly latency: Summary;
  readonly non2xx: number;
  readonly errors: number;
}

export interface HttpOptions {
  readonly url: string;
  readonly symmetricKey: string;
  readonly dataDir: string;
  readonly connections: readonly number[];
  readonly seconds: number;
  /** Rounds of part 6 (the engine's batch against its single opens), on the same server. */
  readonly engineRounds: number;
  readonly log: (line: string) => void;
}

/** Subjects pre-registered per concurrency level; each then has ROUTE_EXCHANGES - 1 exchanges left to register. */
const SUBJECTS_PER_LEVEL = 500;
const LIST_KEYS_HELD = 10;

async function startServer(options: HttpOptions): Promise<{ base: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(join(REPO, 'node_modules/.bin/tsx'), ['local/start.ts'], {
    cwd: REPO,
    env: {
      ...process.env,
      DATABASE_URL: options.url,
      PORT: String(port),
      SYMMETRIC_KEY: options.symmetricKey,
      VAULT_DATA_DIR: options.dataDir,
      POWERTOOLS_LOG_LEVEL: 'WARN',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`local server did not start:\n${output}`)), 60_000);
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Exchange API key vault on')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`local server exited ${code}:\n${output}`));
    });
  });
  return { base: `http://127.0.0.1:${port}`, child };
}

async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await exited;
}

interface Load {
  readonly route: string;
  readonly method: HttpMethod;
  readonly path: string;
  readonly token: string;
  /** For POSTs: a distinct body (and token) per request. */
  readonly next?: () => { body: string; token?: string };
}

async function load(base: string, spec: Load, connections: number, seconds: number): Promise<HttpResult> {
  const samples: number[] = [];
  const headers = { authorization: `Bearer ${spec.token}`, 'content-type': 'application/json' };
  const next = spec.next;
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: base,
        connections,
        pipelining: 1,
        duration: seconds,
        requests: [
          {
            method: spec.method,
            path: spec.path,
            headers,
            ...(next && {
              setupRequest: (request: autocannon.Request) => {
                const { body, token } = next();
                return { ...request, body, headers: token ? { ...headers, authorization: `Bearer ${token}` } : headers };
              },
            }),
          },
        ],
      },
      (error: unknown, finished: autocannon.Result) => (error ? reject(error instanceof Error ? error : new Error(String(error))) : resolve(finished)),
    );
    instance.on('response', (_client, _status, _bytes, responseTime) => samples.push(responseTime));
  });
  return {
    route: spec.route,
    connections,
    seconds: result.duration,
    rps: result['2xx'] / result.duration,
    latency: summarize(samples),
    non2xx: result.non2xx,
    errors: result.errors,
  };
}

async function call(base: string, method: HttpMethod, path: string, token: string, body?: unknown): Promise<number> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  await response.arrayBuffer();
  return response.status;
}

async function inParallel<T>(items: readonly T[], width: number, work: (item: T) => Promise<void>): Promise<void> {
  let index = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (index < items.length) await work(items[index++]!);
    }),
  );
}

export async function runHttp(options: HttpOptions): Promise<{ http: HttpResult[]; engine: EngineThroughput }> {
  const { log } = options;
  const exchangeIds = await ensureExchanges(options.url, ROUTE_EXCHANGES);
  // The server and this process share the dev signing key through VAULT_DATA_DIR.
  process.env.VAULT_DATA_DIR = options.dataDir;
  const { devSigningKeys } = await import('../local/dev-keys.js');
  const { signToken } = await import('../local/tokens.js');
  const { privateKey } = await devSigningKeys({ create: true });
  const token = (subject: string, admin = false) => signToken(privateKey, { subject, admin, expiresIn: '2h' });

  const { base, child } = await startServer(options);
  const cleaner = new pg.Client({ connectionString: options.url });
  await cleaner.connect();
  try {
    const reader = await token('http-reader');
    const admin = await token('http-admin', true);
    const holder = await token('http-holder');
    for (const id of exchangeIds.slice(0, LIST_KEYS_HELD)) {
      const status = await call(base, 'POST', '/api/settings/exchange-api-key', holder, {
        exchange_id: id,
        public_key: 'p'.repeat(64),
        private_key: 's'.repeat(64),
      });
      if (status !== 201) throw new Error(`setup registration got ${status}`);
    }

    const results: HttpResult[] = [];
    const reads: Load[] = [
      { route: 'list-exchanges', method: 'GET', path: '/api/settings/exchanges', token: reader },
      { route: `list-api-keys (${LIST_KEYS_HELD} keys)`, method: 'GET', path: '/api/settings/exchange-api-key', token: holder },
    ];
    for (const spec of reads) await load(base, spec, 16, 1); // warm-up, not recorded

    for (const connections of options.connections) {
      for (const spec of reads) results.push(await load(base, spec, connections, options.seconds));

      // create-exchange: a fresh name per request; the cleanup loop keeps the table near its size.
      let created = 0;
      let cleaning = true;
      const cleanup = (async () => {
        while (cleaning) {
          await cleaner.query(`DELETE FROM tb_exchanges WHERE exchange_name LIKE 'x%'`);
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      })();
      results.push(
        await load(
          base,
          {
            route: 'create-exchange',
            method: 'POST',
            path: '/api/settings/exchanges',
            token: admin,
            next: () => ({ body: JSON.stringify({ exchange_name: `x${connections}-${created++}` }) }),
          },
          connections,
          options.seconds,
        ),
      );
      cleaning = false;
      await cleanup;

      // register-api-key: subjects this server already knows (one untimed registration each),
      // then one distinct (subject, exchange) pair per request.
      const subjects = await Promise.all(Array.from({ length: SUBJECTS_PER_LEVEL }, (_, s) => token(`http-c${connections}-${s}`)));
      await inParallel(subjects, 8, async (subject) => {
        const status = await call(base, 'POST', '/api/settings/exchange-api-key', subject, {
          exchange_id: exchangeIds[0],
          public_key: 'p'.repeat(64),
          private_key: 's'.repeat(64),
        });
        if (status !== 201) throw new Error(`pre-registration got ${status}`);
      });
      let sent = 0;
      const registered = await load(
        base,
        {
          route: 'register-api-key, known subject',
          method: 'POST',
          path: '/api/settings/exchange-api-key',
          token: subjects[0]!,
          next: () => {
            const k = sent++;
            const exchange = exchangeIds[1 + Math.floor(k / SUBJECTS_PER_LEVEL)];
            // Past the last pair a request repeats one: a 409, counted as non-2xx.
            return {
              token: subjects[k % SUBJECTS_PER_LEVEL],
              body: JSON.stringify({ exchange_id: exchange ?? exchangeIds[1], public_key: 'p'.repeat(64), private_key: 's'.repeat(64) }),
            };
          },
        },
        connections,
        options.seconds,
      );
      results.push(registered);
      for (const result of results.slice(-4)) {
        log(
          `  c=${result.connections} ${result.route}: ${result.rps.toFixed(0)} req/s, p50 ${result.latency.p50.toFixed(2)} ms, p99 ${result.latency.p99.toFixed(2)} ms, non-2xx ${result.non2xx}, errors ${result.errors}`,
        );
      }
    }
    const engine = await runEngineThroughput({
      base,
      exchangeId: exchangeIds[0]!,
      rounds: options.engineRounds,
      log,
      register: (subjects) =>
        inParallel(subjects, 8, async (subject) => {
          const status = await call(base, 'POST', '/api/settings/exchange-api-key', await token(subject), {
            exchange_id: exchangeIds[0],
            public_key: 'p'.repeat(64),
            private_key: 's'.repeat(64),
          });
          if (status !== 201) throw new Error(`engine key registration got ${status}`);
        }),
    });
    return { http: results, engine };
  } finally {
    await cleaner.end();
    await stopServer(child);
  }
}
