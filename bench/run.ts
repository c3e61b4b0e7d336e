/**
 * `npm run bench`: bundles and cold starts, warm per-route latency against the raw SQL floor,
 * round trips per request, list scaling, HTTP throughput; printed as one table and written to
 * BENCHMARKS.md with the machine and the date. Not part of `npm test`.
 *
 *   npm run bench                  the real run (writes BENCHMARKS.md)
 *   npm run bench -- --quick       fewer samples, for trying changes (never writes)
 *   npm run bench -- --skip=bundles,cold,imports,warm,http --no-write
 *   npm run bench -- --wait-quiet  first wait (up to 10 minutes) for a 1-minute load average below 1
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { newPlainKey } from '../shared/crypto/ring-document.js';
import { type RouteName, routes } from '../shared/routes.js';
import { apiEvent } from '../test/support/events.js';
import { type Synthesis, synthesizeBundles } from './bundles.js';
import { type ColdResult, type ColdTarget, emptyHandler, runColdStarts } from './cold-start.js';
import { type HttpResult, runHttp } from './http.js';
import { type ImportCost, runImportCosts } from './import-cost.js';
import { lambdaNode, type NodeBinary } from './lib/lambda-node.js';
import { currentLoad, describeMachine, machineLine, waitForQuiet } from './lib/machine.js';
import { ensureExchanges, startBenchPostgres } from './lib/postgres.js';
import { type Report, renderReport } from './report.js';
import { ROUTE_EXCHANGES, runWarm, type WarmResults } from './warm.js';

const REPO = fileURLToPath(new URL('../', import.meta.url));
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const skip = new Set(
  args
    .find((arg) => arg.startsWith('--skip='))
    ?.slice('--skip='.length)
    .split(',') ?? [],
);
const write = !quick && !args.includes('--no-write');

const settings = {
  coldRuns: quick ? 5 : 21,
  importRuns: quick ? 3 : 11,
  calls: quick ? 300 : 2000,
  warmup: quick ? 50 : 200,
  httpSeconds: quick ? 1 : 3,
  connections: [1, 16, 64],
};

const log = (line: string): boolean => process.stderr.write(`${line}\n`);
const startedAt = Date.now();
const elapsed = (): string => `${((Date.now() - startedAt) / 1000).toFixed(0)} s`;

async function prepareColdDatabase(url: string): Promise<void> {
  await ensureExchanges(url, ROUTE_EXCHANGES);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    // The list reads only the stored masks, so the holder's one key needs no real envelopes.
    const { rows } = await client.query<{ user_no: number }>(`INSERT INTO tb_users (auth_subject) VALUES ('cold-holder') RETURNING user_no`);
    await client.query(
      `INSERT INTO tb_exchange_api_keys (user_no, exchange_id, public_key, private_key, public_key_masked, private_key_masked, is_active)
       VALUES ($1, 101, '{}', '{}', 'abcd****wxyz', '****wxyz', true)`,
      [rows[0]!.user_no],
    );
  } finally {
    await client.end();
  }
}

const HOLDER_KEY = '/api/settings/exchange-api-key/{exchange_id}';
const HOLDER_PARAMS = { exchange_id: '101' };

const coldRequests: Record<RouteName, { expect: number; options: (run: number) => Parameters<typeof apiEvent>[0] }> = {
  'list-exchanges': { expect: 200, options: () => ({ method: 'GET', path: '/api/settings/exchanges', subject: 'cold-reader' }) },
  'create-exchange': {
    expect: 201,
    options: (run) => ({
      method: 'POST',
      path: '/api/settings/exchanges',
      subject: 'cold-admin',
      admin: true,
      body: { exchange_name: `c${run}-${randomBytes(4).toString('hex')}` },
    }),
  },
  // A new container never knows the subject: its first registration upserts the user, then inserts.
  'register-api-key': {
    expect: 201,
    options: (run) => ({
      method: 'POST',
      path: '/api/settings/exchange-api-key',
      subject: `cold-${run}-${randomBytes(6).toString('hex')}`,
      body: { exchange_id: 101, public_key: randomBytes(48).toString('base64'), private_key: randomBytes(48).toString('base64') },
    }),
  },
  'list-api-keys': { expect: 200, options: () => ({ method: 'GET', path: '/api/settings/exchange-api-key', subject: 'cold-holder' }) },
  'get-api-key': { expect: 200, options: () => ({ method: 'GET', path: HOLDER_KEY, params: HOLDER_PARAMS, subject: 'cold-holder' }) },
  // Sealing needs no readable envelope: the holder's placeholder row is simply replaced.
  'replace-api-key': {
    expect: 200,
    options: () => ({
      method: 'PUT',
      path: HOLDER_KEY,
      params: HOLDER_PARAMS,
      subject: 'cold-holder',
      body: { public_key: randomBytes(48).toString('base64'), private_key: randomBytes(48).toString('base64') },
    }),
  },
  'set-api-key-active': {
    expect: 200,
    options: (run) => ({ method: 'PATCH', path: HOLDER_KEY, params: HOLDER_PARAMS, subject: 'cold-holder', body: { is_active: run % 2 === 0 } }),
  },
  // One key to delete per run would need as many rows set up; the not-found path runs the same one statement.
  'delete-api-key': { expect: 404, options: (run) => ({ method: 'DELETE', path: HOLDER_KEY, params: HOLDER_PARAMS, subject: `cold-nobody-${run}` }) },
  'list-api-key-events': { expect: 200, options: () => ({ method: 'GET', path: `${HOLDER_KEY}/events`, params: HOLDER_PARAMS, subject: 'cold-holder' }) },
};

const isRoute = (name: string): name is RouteName => routes.some((route) => route.name === name);

async function main(): Promise<void> {
  if (args.includes('--wait-quiet')) await waitForQuiet(1, 600, log);
  const machine = describeMachine();
  log(`bench: ${machineLine(machine)}${quick ? ' (quick mode: fewer samples, not written)' : ''}`);
  const symmetricKey = newPlainKey();
  const dataDir = await mkdtemp(join(tmpdir(), 'vault-bench-data-'));
  const failures: string[] = [];

  log(`starting PostgreSQL${skip.has('bundles') ? '' : ' and synthesizing the CDK app'}`);
  const [postgres, synthesis] = await Promise.all([
    startBenchPostgres(),
    skip.has('bundles')
      ? Promise.resolve(undefined)
      : synthesizeBundles(log).catch((error: unknown) => {
          failures.push(`bundles: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
          log(`  synth failed: ${error instanceof Error ? error.message : String(error)}`);
          return undefined;
        }),
  ]);

  let cold: ColdResult[] | undefined;
  let imports: ImportCost[] | undefined;
  let warm: WarmResults | undefined;
  let http: HttpResult[] | undefined;
  try {
    if (synthesis && !skip.has('cold')) {
      log(`part 1: cold starts, ${settings.coldRuns} runs each (${elapsed()})`);
      cold = await coldStarts(synthesis, await postgres.database('bench_cold'), symmetricKey, lambdaNode());
    }
    if (!skip.has('imports')) {
      log(`part 1, supplement: import cost per dependency, ${settings.importRuns} runs each (${elapsed()})`);
      imports = await runImportCosts({ runs: settings.importRuns, node: lambdaNode(), log });
    }
    if (!skip.has('warm')) {
      log(`parts 2-4: warm handlers in process, ${settings.calls} calls per scenario (${elapsed()})`);
      warm = await runWarm({ url: await postgres.database('bench_warm'), symmetricKey, calls: settings.calls, warmup: settings.warmup, log });
    }
    if (!skip.has('http')) {
      log(`part 5: HTTP, ${settings.httpSeconds} s per run (${elapsed()})`);
      http = await runHttp({
        url: await postgres.database('bench_http'),
        symmetricKey,
        dataDir,
        connections: settings.connections,
        seconds: settings.httpSeconds,
        log,
      });
    }
  } finally {
    await postgres.stop();
    await synthesis?.remove();
    await rm(dataDir, { recursive: true, force: true });
  }

  const loadAtEnd = currentLoad();
  const report: Report = { loadAtEnd, machine, settings, quick, synthesis, cold, imports, warm, http, failures, seconds: (Date.now() - startedAt) / 1000 };
  const { table, markdown } = renderReport(report);
  process.stdout.write(`\n${table}\n`);
  if (write) {
    await writeFile(join(REPO, 'BENCHMARKS.md'), markdown);
    log(`wrote BENCHMARKS.md (${elapsed()})`);
  } else {
    log(`not written (${quick ? '--quick' : '--no-write'}); ${elapsed()}`);
  }
}

async function coldStarts(synthesis: Synthesis, url: string, symmetricKey: string, runtime: NodeBinary): Promise<ColdResult[]> {
  await prepareColdDatabase(url);
  const empty = await emptyHandler();
  try {
    const baseEnv = { DATABASE_URL: url, SYMMETRIC_KEY: symmetricKey, AWS_REGION: 'us-east-1' };
    const targets: ColdTarget[] = [
      { name: 'empty handler', file: empty.file, env: baseEnv, event: () => apiEvent(coldRequests['list-exchanges'].options(0)), expectStatus: 200 },
    ];
    for (const bundle of synthesis.bundles) {
      if (!isRoute(bundle.name)) continue;
      const request = coldRequests[bundle.name];
      // The function's own settings, minus those that point at AWS (the proxy, the ring's secret).
      const own = Object.fromEntries(Object.entries(bundle.env).filter(([name]) => !/^(DB_|KEY_RING_)/.test(name)));
      targets.push({
        name: bundle.name,
        file: bundle.file,
        env: { ...own, ...baseEnv },
        event: (run) => apiEvent(request.options(run)),
        expectStatus: request.expect,
      });
    }
    return await runColdStarts(targets, { runs: settings.coldRuns, node: runtime, log });
  } finally {
    await empty.remove();
  }
}

await main();
