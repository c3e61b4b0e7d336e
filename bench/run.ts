/**
 * `npm run bench`: bundles and cold starts, warm per-route latency against the raw SQL floor,
 * round trips per request, list scaling, HTTP throughput; printed as one table and written to
 * BENCHMARKS.md with the machine and the date. Not part of `npm test`.
 *
 *   npm run bench                  the real run (writes BENCHMARKS.md)
 *   npm run bench -- --quick       fewer samples, for trying changes (never writes)
 *   npm run bench -- --skip=bundles,cold,imports,warm,http,checks --no-write
 *   npm run bench -- --wait-quiet  first wait (up to 10 minutes) for a 1-minute load average below 1
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { apiEvent, type EventOptions } from '../local/api-event.js';
import { startFakeExchange } from '../local/fake-exchange/server.js';
import { newPlainKey } from '../shared/crypto/ring-document.js';
import { exampleRequest } from '../shared/openapi.js';
import { type RouteName, type RouteSpec, routes } from '../shared/routes.js';
import { type Synthesis, synthesizeBundles } from './bundles.js';
import { type ColdResult, type ColdTarget, emptyHandler, runColdStarts, runOnce } from './cold-start.js';
import type { EngineThroughput } from './engine-throughput.js';
import { type ChecksResults, runExchangeChecks } from './exchange-checks.js';
import { type HttpResult, runHttp } from './http.js';
import { type ImportCost, runImportCosts } from './import-cost.js';
import { closeInProcessHandlers } from './lib/in-process.js';
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
  engineRounds: quick ? 5 : 30,
  connections: [1, 16, 64],
  checkSweepKeys: quick ? [20, 200] : [100, 1000],
};

const log = (line: string): boolean => process.stderr.write(`${line}\n`);
const startedAt = Date.now();
const elapsed = (): string => `${((Date.now() - startedAt) / 1000).toFixed(0)} s`;

/** Holds the one key (at 101) that the cold starts of the key routes read and change. */
const HOLDER = 'cold-holder';

async function prepareColdDatabase(url: string): Promise<void> {
  await ensureExchanges(url, ROUTE_EXCHANGES);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    // The list reads only the stored masks, so the holder's one key needs no real envelopes.
    const { rows } = await client.query<{ user_no: number }>('INSERT INTO tb_users (auth_subject) VALUES ($1) RETURNING user_no', [HOLDER]);
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

interface ColdRequest {
  readonly expect: number;
  readonly options: (run: number) => EventOptions;
}

/**
 * A route's cold-start request: the table's example (exchange 101, the body example), sent by the
 * holder of the one key at 101, or as an admin where the route is for admins. Routes whose every
 * run must differ, or that would use up the holder's key, say their own below.
 */
function coldRequest(route: RouteSpec): ColdRequest {
  const special = specialColdRequests[route.name as RouteName];
  if (special) return special;
  const { params, body } = exampleRequest(route);
  return {
    expect: route.successStatus,
    options: () => ({ method: route.method, path: route.path, params, subject: HOLDER, admin: route.adminOnly, ...(body === undefined ? {} : { body }) }),
  };
}

const specialColdRequests: Partial<Record<RouteName, ColdRequest>> = {
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
  // Sealing needs no readable envelope: the holder's placeholder row is simply replaced, with key-sized halves.
  'replace-api-key': {
    expect: 200,
    options: () => ({
      method: 'PUT',
      path: HOLDER_KEY,
      params: HOLDER_PARAMS,
      subject: HOLDER,
      body: { public_key: randomBytes(48).toString('base64'), private_key: randomBytes(48).toString('base64') },
    }),
  },
  // Not the table's example (101): a kind there would refuse the 64-character keys the other runs register at 101.
  'set-exchange-kind': {
    expect: 200,
    options: (run) => ({
      method: 'PATCH',
      path: '/api/settings/exchanges/{exchange_id}',
      params: { exchange_id: '102' },
      subject: 'cold-admin',
      admin: true,
      body: { kind: run % 2 === 0 ? 'okx' : null },
    }),
  },
  // One key to delete per run would need as many rows set up; the not-found path runs the same one statement.
  'delete-api-key': { expect: 404, options: (run) => ({ method: 'DELETE', path: HOLDER_KEY, params: HOLDER_PARAMS, subject: `cold-nobody-${run}` }) },
};

const isRoute = (name: string): name is RouteName => routes.some((route) => route.name === name);

/** The engine's open, cold: its bundle's name in the synthesized app, and the key it opens (registered by a cold register first). */
const OPEN_BUNDLE = 'open-api-key/function';
const COLD_ENGINE_SUBJECT = 'cold-engine';
const routeNamed = (name: RouteName): RouteSpec => routes.find((route) => route.name === name)!;

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
  let engine: EngineThroughput | undefined;
  let checks: ChecksResults | undefined;
  const inProcess = !skip.has('warm') || !skip.has('checks');
  // One database and one fake exchange for both in-process parts: the handlers read their settings once.
  const inProcessUrl = inProcess ? await postgres.database('bench_warm') : undefined;
  const fake = inProcess ? await startFakeExchange() : undefined;
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
      warm = await runWarm({ url: inProcessUrl!, symmetricKey, exchangeApiUrls: fake!.baseUrls, calls: settings.calls, warmup: settings.warmup, log });
    }
    if (!skip.has('checks')) {
      log(
        `part 7: keys checked at the local fake exchange, ${settings.calls} registrations, check over ${settings.checkSweepKeys.join(' and ')} keys (${elapsed()})`,
      );
      checks = await runExchangeChecks({
        url: inProcessUrl!,
        symmetricKey,
        fake: fake!,
        calls: settings.calls,
        warmup: settings.warmup,
        sweepKeys: settings.checkSweepKeys,
        log,
      });
    }
    if (!skip.has('http')) {
      log(`parts 5-6: HTTP, ${settings.httpSeconds} s per run, then the engine's Invoke API, ${settings.engineRounds} rounds (${elapsed()})`);
      ({ http, engine } = await runHttp({
        url: await postgres.database('bench_http'),
        symmetricKey,
        dataDir,
        connections: settings.connections,
        seconds: settings.httpSeconds,
        engineRounds: settings.engineRounds,
        log,
      }));
    }
  } finally {
    if (inProcess) await closeInProcessHandlers();
    await fake?.close();
    await postgres.stop();
    await synthesis?.remove();
    await rm(dataDir, { recursive: true, force: true });
  }

  const loadAtEnd = currentLoad();
  const report: Report = {
    loadAtEnd,
    machine,
    settings,
    quick,
    synthesis,
    cold,
    imports,
    warm,
    http,
    engine,
    checks,
    failures,
    seconds: (Date.now() - startedAt) / 1000,
  };
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
      { name: 'empty handler', file: empty.file, env: baseEnv, event: () => apiEvent(coldRequest(routeNamed('list-exchanges')).options(0)), expectStatus: 200 },
    ];
    // The function's own settings, minus those that point at AWS (the proxy, the ring's secret).
    const ownEnv = (bundle: Synthesis['bundles'][number]) => ({
      ...Object.fromEntries(Object.entries(bundle.env).filter(([name]) => !/^(DB_|KEY_RING_)/.test(name))),
      ...baseEnv,
    });
    for (const bundle of synthesis.bundles) {
      if (bundle.name === OPEN_BUNDLE) {
        targets.push({
          name: bundle.name,
          file: bundle.file,
          env: ownEnv(bundle),
          event: () => ({ subject: COLD_ENGINE_SUBJECT, exchange_id: 101, purpose: 'bench' }),
          expectStatus: 200,
        });
      }
      if (!isRoute(bundle.name)) continue;
      const request = coldRequest(routeNamed(bundle.name));
      targets.push({
        name: bundle.name,
        file: bundle.file,
        env: ownEnv(bundle),
        event: (run) => apiEvent(request.options(run)),
        expectStatus: request.expect,
      });
    }
    // The open needs a key sealed as registration seals one: a cold register makes it.
    const register = synthesis.bundles.find((bundle) => bundle.name === 'register-api-key');
    if (register && targets.some((target) => target.name === OPEN_BUNDLE)) {
      const body = { exchange_id: 101, public_key: randomBytes(48).toString('base64'), private_key: randomBytes(48).toString('base64') };
      await runOnce(
        runtime,
        {
          name: 'register-api-key (the engine key)',
          file: register.file,
          env: ownEnv(register),
          event: () => apiEvent({ method: 'POST', path: '/api/settings/exchange-api-key', subject: COLD_ENGINE_SUBJECT, body }),
          expectStatus: 201,
        },
        0,
      );
    }
    return await runColdStarts(targets, { runs: settings.coldRuns, node: runtime, log });
  } finally {
    await empty.remove();
  }
}

await main();
