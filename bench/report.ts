/** The one table (and BENCHMARKS.md around it): every measurement, its baseline, its target, met or not. */
import type { FunctionBundle, Synthesis } from './bundles.js';
import type { ColdResult } from './cold-start.js';
import type { EngineThroughput } from './engine-throughput.js';
import type { CheckSweep, ChecksResults, RegistrationCost } from './exchange-checks.js';
import type { HttpResult } from './http.js';
import type { ImportCost } from './import-cost.js';
import { type Machine, machineLine } from './lib/machine.js';
import { ms, times } from './lib/stats.js';
import type { WarmResult, WarmResults } from './warm.js';

export interface Report {
  readonly loadAtEnd: number;
  readonly machine: Machine;
  readonly settings: {
    coldRuns: number;
    importRuns: number;
    calls: number;
    warmup: number;
    httpSeconds: number;
    engineRounds: number;
    connections: readonly number[];
    checkSweepKeys: readonly number[];
  };
  readonly quick: boolean;
  readonly synthesis: Synthesis | undefined;
  readonly cold: readonly ColdResult[] | undefined;
  readonly imports: readonly ImportCost[] | undefined;
  readonly warm: WarmResults | undefined;
  readonly http: readonly HttpResult[] | undefined;
  readonly engine: EngineThroughput | undefined;
  readonly checks: ChecksResults | undefined;
  readonly failures: readonly string[];
  readonly seconds: number;
}

/** Targets, as the issues state them. Cold starts are judged on the runtime's Node (nodejs22.x). */
export const TARGETS = {
  floorRatio: 1.5,
  roundTrips: 1,
  bundleWithSdkKB: 250,
  bundleWithoutSdkKB: 150,
  coldRatio: 2,
  coldRatioWithSdk: 3,
  /** A batch of keys opened at least this many times faster than the same keys opened singly at the reserved concurrency. */
  batchThroughput: 20,
  /** A registration with a check costs the exchange's round trip plus at most this (p50, ms) over one without. */
  checkOverheadMs: 15,
  /** `check` runs in bounded memory: the live heap after its last batch at most this above the first's. */
  checkLiveGrowthMiB: 1,
} as const;

type Row = [part: string, measurement: string, result: string, baseline: string, ratio: string, target: string, status: string];

const KB = 1024;
const kb = (bytes: number): string => `${(bytes / KB).toFixed(1)} KB`;
const met = 'met';
const missed = (by: string): string => `**MISSED** by ${by}`;

/** Whether the bundle holds AWS service clients (`@aws-sdk/client-*`); unknown if no build reproduced it. */
const withSdkClients = (bundle: FunctionBundle): boolean | undefined => (bundle.sdkClients ? bundle.sdkClients.length > 0 : undefined);

function bundleRow(bundle: FunctionBundle): Row {
  const sdk = withSdkClients(bundle);
  const limitKB = sdk === undefined ? undefined : sdk ? TARGETS.bundleWithSdkKB : TARGETS.bundleWithoutSdkKB;
  const sizeKB = bundle.bytes / KB;
  const target = limitKB === undefined ? 'n/a (composition unknown)' : `≤ ${limitKB} KB (${sdk ? 'with' : 'without'} SDK clients)`;
  const status = limitKB === undefined ? '' : sizeKB <= limitKB ? met : missed(`${(sizeKB - limitKB).toFixed(1)} KB (${times(sizeKB / limitKB)} the limit)`);
  return ['1', `bundle: ${bundle.name}`, kb(bundle.bytes), '', limitKB === undefined ? '' : times(sizeKB / limitKB), target, status];
}

/** One block per Node binary: each bundle against the empty handler run on the same binary. */
function coldRows(cold: readonly ColdResult[], bundles: readonly FunctionBundle[], judgedOn: string): Row[] {
  const rows: Row[] = [];
  for (const node of [...new Set(cold.map((result) => result.node))]) {
    const onNode = cold.filter((result) => result.node === node);
    const empty = onNode.find((result) => result.name === 'empty handler');
    if (!empty) continue;
    const judged = node === judgedOn;
    rows.push(['1', `cold start on Node ${node}: empty handler`, `${ms(empty.total)} ms (node boot ${ms(empty.boot)})`, '', '', '', '']);
    for (const result of onNode) {
      if (result === empty) continue;
      const bundle = bundles.find((candidate) => candidate.name === result.name);
      const sdk = bundle ? withSdkClients(bundle) : undefined;
      const limit = sdk === undefined ? undefined : sdk ? TARGETS.coldRatioWithSdk : TARGETS.coldRatio;
      const ratio = result.total / empty.total;
      const target = !judged
        ? `judged on Node ${judgedOn}`
        : limit === undefined
          ? 'n/a (composition unknown)'
          : `≤ ${limit}× empty (${sdk ? 'with' : 'without'} SDK clients)`;
      const status =
        !judged || limit === undefined ? '' : ratio <= limit ? met : missed(`${ms(result.total - limit * empty.total)} ms (${times(ratio / limit)} the limit)`);
      rows.push([
        '1',
        `cold start on Node ${node}: ${result.name}`,
        `${ms(result.total)} ms (import ${ms(result.init)}, 1st request ${ms(result.invoke)}), median of ${result.runs}`,
        `empty ${ms(empty.total)} ms`,
        times(ratio),
        target,
        status,
      ]);
    }
  }
  return rows;
}

function latencyRow(part: string, result: WarmResult, label = result.label): Row {
  const ratio = result.handler.p50 / result.floor.p50;
  return [
    part,
    `warm: ${label}`,
    `p50 ${ms(result.handler.p50, 3)} / p99 ${ms(result.handler.p99, 3)} ms (${result.handler.n} calls)`,
    `SQL p50 ${ms(result.floor.p50, 3)} / p99 ${ms(result.floor.p99, 3)} ms`,
    times(ratio),
    `p50 ≤ ${TARGETS.floorRatio}× SQL`,
    ratio <= TARGETS.floorRatio
      ? met
      : missed(`${ms(result.handler.p50 - TARGETS.floorRatio * result.floor.p50, 3)} ms (${times(ratio / TARGETS.floorRatio)} the limit)`),
  ];
}

function roundTripRow(result: WarmResult): Row {
  const counts = Object.entries(result.roundTrips).map(([trips, calls]) => ({ trips: Number(trips), calls }));
  const worst = Math.max(...counts.map((count) => count.trips));
  const statements = counts.map(({ trips, calls }) => `${trips} statement${trips === 1 ? '' : 's'} (${calls} of ${result.handler.n} calls)`).join(', ');
  const reconnects =
    result.connects > 0 ? `; ${result.connects} of ${result.handler.n} calls also opened a new connection (≥ 3 more round trips: startup, SCRAM)` : '';
  const over = [worst > TARGETS.roundTrips ? `${worst - TARGETS.roundTrips} statement round trip` : '', result.connects > 0 ? 'a reconnect per call' : '']
    .filter(Boolean)
    .join(' + ');
  return ['3', `round trips: ${result.label}`, `${statements}${reconnects}`, '', '', `${TARGETS.roundTrips}`, over ? missed(over) : met];
}

function scalingRow(result: WarmResult & { keys: number }, first: WarmResult): Row {
  const row = latencyRow('4', result, `${result.label}, ${kb(result.responseBytes)} response`);
  row[3] = `${row[3]}; p50 ${times(result.handler.p50 / first.handler.p50)} the 1-key p50`;
  return row;
}

function httpRow(result: HttpResult): Row {
  const trouble = result.non2xx + result.errors > 0 ? `; ${result.non2xx} non-2xx, ${result.errors} errors` : '';
  return [
    '5',
    `HTTP c=${result.connections}: ${result.route}`,
    `${result.rps.toFixed(0)} req/s, p50 ${ms(result.latency.p50)} / p99 ${ms(result.latency.p99)} ms${trouble}`,
    '',
    '',
    '',
    '',
  ];
}

function engineRow(result: EngineThroughput): Row {
  const speedup = result.singles.p50 / result.batch.p50;
  return [
    '6',
    `engine: ${result.keys} keys opened through npm start's Invoke API, one batch vs ${result.keys} single opens at concurrency ${result.concurrency}`,
    `batch p50 ${ms(result.batch.p50)} / p99 ${ms(result.batch.p99)} ms (${(result.keys / (result.batch.p50 / 1000)).toFixed(0)} keys/s), ${result.batch.n} rounds`,
    `singles p50 ${ms(result.singles.p50)} / p99 ${ms(result.singles.p99)} ms (${(result.keys / (result.singles.p50 / 1000)).toFixed(0)} keys/s)`,
    times(speedup),
    `≥ ${TARGETS.batchThroughput}× the singles' throughput`,
    speedup >= TARGETS.batchThroughput ? met : missed(`${times(TARGETS.batchThroughput / speedup)} (${times(speedup)} of ${TARGETS.batchThroughput}×)`),
  ];
}

const MiB = 1024 * 1024;
const mib = (bytes: number): string => `${(bytes / MiB).toFixed(2)} MiB`;

function registrationCheckRow(cost: RegistrationCost): Row {
  const { overhead } = cost;
  return [
    '7',
    'warm: register-api-key with a check (binance, local fake exchange) − without − the probe round trip',
    `p50 ${ms(overhead.p50, 3)} / p99 ${ms(overhead.p99, 3)} ms (${overhead.n} calls)`,
    `with p50 ${ms(cost.withCheck.p50, 3)}, without p50 ${ms(cost.without.p50, 3)}, probe round trip p50 ${ms(cost.probe.p50, 3)} ms`,
    '',
    `p50 ≤ ${TARGETS.checkOverheadMs} ms`,
    overhead.p50 <= TARGETS.checkOverheadMs ? met : missed(`${ms(overhead.p50 - TARGETS.checkOverheadMs, 3)} ms`),
  ];
}

function sweepRow(sweep: CheckSweep, smallest: CheckSweep): Row {
  const limit = TARGETS.checkLiveGrowthMiB * MiB;
  const growth = sweep.live.highest - sweep.live.first;
  const judged = sweep !== smallest;
  const rate = (keys: number, took: number): string => `${(keys / (took / 1000)).toFixed(0)} keys/s`;
  return [
    '7',
    `check over ${sweep.keys} stored keys (binance, local fake exchange), ${sweep.batches} batches`,
    `npm run keys -- check ${ms(sweep.commandMs)} ms from spawn to exit, peak RSS ${mib(sweep.maxRssBytes)}; checkKeys in process ${ms(sweep.checkMs)} ms (${rate(sweep.keys, sweep.checkMs)}), live heap after batch 1 ${mib(sweep.live.first)}, at most ${mib(sweep.live.highest)}, after the last ${mib(sweep.live.last)}`,
    judged
      ? `${smallest.keys} keys: command ${ms(smallest.commandMs)} ms, peak RSS ${mib(smallest.maxRssBytes)}; in process ${ms(smallest.checkMs)} ms, live heap at most ${mib(smallest.live.highest)}`
      : '',
    judged ? `peak RSS ${times(sweep.maxRssBytes / smallest.maxRssBytes)}` : '',
    judged ? `live heap ≤ batch 1's + ${TARGETS.checkLiveGrowthMiB} MiB` : '',
    !judged ? '' : growth <= limit ? met : missed(mib(growth - limit)),
  ];
}

function markdownTable(rows: readonly Row[]): string {
  const header: Row = ['Part', 'Measurement', 'Result', 'Baseline', 'Ratio', 'Target', 'Status'];
  const line = (cells: readonly string[]): string => `| ${cells.map((cell) => cell.replace(/\|/g, '\\|')).join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

export function renderReport(report: Report): { table: string; markdown: string } {
  const rows: Row[] = [];
  const bundles = report.synthesis?.bundles ?? [];
  rows.push(...bundles.map(bundleRow));
  if (report.cold) rows.push(...coldRows(report.cold, bundles, report.cold[0]?.node ?? ''));
  if (report.warm) {
    rows.push(...report.warm.routes.map((result) => latencyRow('2', result)));
    rows.push(...report.warm.routes.map(roundTripRow));
    const [first] = report.warm.listScaling;
    if (first) rows.push(...report.warm.listScaling.map((result) => scalingRow(result, first)));
  }
  if (report.http) rows.push(...report.http.map(httpRow));
  if (report.engine) rows.push(engineRow(report.engine));
  if (report.checks) {
    rows.push(registrationCheckRow(report.checks.registration));
    const [smallest] = report.checks.sweeps;
    if (smallest) rows.push(...report.checks.sweeps.map((sweep) => sweepRow(sweep, smallest)));
  }
  for (const failure of report.failures) rows.push(['', 'not measured', failure, '', '', '', '**FAILED**']);

  const table = `${machineLine(report.machine)}\n\n${markdownTable(rows)}`;
  const statuses = rows.map((row) => row[6]);
  const tally = `${statuses.filter((status) => status === met).length} targets met, ${statuses.filter((status) => status.startsWith('**MISSED**')).length} missed`;

  const sections: string[] = [
    '# Benchmarks',
    '',
    `Written by \`npm run bench\` (bench/run.ts) on ${report.machine.date}; the whole run took ${report.seconds.toFixed(0)} s. Do not edit by hand: run it again.`,
    '',
    `Machine: ${report.machine.cpu}, ${report.machine.cores} cores, ${report.machine.memoryGiB} GiB RAM; Node ${report.machine.node}; ${report.machine.os}. 1-minute load average ${report.machine.loadAtStart.toFixed(2)} at the start, ${report.loadAtEnd.toFixed(2)} at the end (the bench's own load included).`,
    '',
    `${tally}. Why each missed target is missed, and what would fix it: [ADR 24](docs/decisions/0024-performance-targets-missed-on-purpose.md).`,
    '',
    markdownTable(rows),
    '',
    '## How each part was measured',
    '',
    `1. **Bundles**: \`cdk synth\` of \`infra/app.ts\` into a temporary cloud assembly (offline, no credentials, no lookups); each Lambda whose asset is an ESM bundle is found through its template's \`aws:asset:path\` metadata and its \`index.mjs\` measured (1 KB = 1024 bytes). "With SDK clients" means the bundle contains an \`@aws-sdk/client-*\` package, as established by an esbuild metafile build of the function's entry under the VaultFunction options whose output is byte-identical to the CDK asset. **Cold start**: a fresh \`node\` process (bench/cold-start-child.mjs), first on Node ${report.cold?.[0]?.node ?? '22'} (the major of the functions' \`nodejs22.x\` runtime, from the npm registry's \`node-<platform>-<arch>\` package when the machine's Node is another; the targets are judged on it), then on the machine's Node ${report.machine.node} when that differs, imports the asset's \`index.mjs\` and handles one API Gateway v2 event against a local PostgreSQL (DATABASE_URL, SYMMETRIC_KEY, the template's other string variables), timed from spawn until the response exists; the empty handler runs in the same harness. Median of ${report.settings.coldRuns} runs after one unrecorded round, variants interleaved. The bundles are built for arm64 Lambda but are plain JavaScript, so they run here on ${process.arch}.`,
    `2. **Warm latency**: the handlers imported in process with DB_POOL_MAX=1 (one pooled connection, as in a Lambda container), called with API Gateway v2 events; ${report.settings.warmup} unrecorded calls, then ${report.settings.calls} timed calls per scenario, each followed by its **SQL floor**: the statements the handler sent (captured from pg's Client.query on its first call) sent again with \`pg\` on a pool of the same configuration, with fresh values where the statement inserts. Events are built before the clock starts. POST scenarios insert on every call (fresh names, subjects or exchanges); create-exchange's row is deleted again after each call (untimed) so every call returns the same list. open-api-key is invoked with the engine's event (no route) on one active key, then with a batch of 100 keys named by subject (a tenth of the calls, each doing a hundred keys' work); its floor is its first statement (the key read) plus every envelope decrypted with AES-GCM (2 per key), the work no implementation can skip (the statement that then writes the opens' events is not in the floor). list-active-keys and list-key-changes are invoked for a page of 1000 (the scenarios before them leave thousands of active keys and changes), their floor their one statement. POWERTOOLS_LOG_LEVEL=WARN, embedded metrics off.`,
    '3. **Round trips**: every statement the handler sent during each timed call, counted at `pg.Client.prototype.query` (each is one extended-protocol round trip: Parse/Bind/Execute/Sync go out together), and every new connection it opened, counted at `pg.Client.prototype.connect`.',
    `4. **List scaling**: users holding 1, 10 and 100 keys (registered through the handler) among 100 exchanges, measured as in part 2.`,
    `5. **HTTP**: \`tsx local/start.ts\` (the \`npm start\` server, pool of 10) in its own process; autocannon in the bench process over loopback, ${report.settings.httpSeconds} s per run, pipelining 1; latency percentiles from autocannon's per-response times. Every POST inserts: register walks fresh (subject, exchange) pairs of subjects the server already knows; create-exchange uses fresh names while a loop deletes them every 50 ms. Load generator, server and PostgreSQL share the ${report.machine.cores} cores.`,
    `6. **The engine's batch**: on the same server, after part 5, 100 keys registered over HTTP, then opened through the typed engine client (\`client/engine-client.ts\`, one SigV4-signed Lambda Invoke per call on the server's Invoke API, the functions in their own thread logged in as the engine's role): one batch of the 100, then the 100 one by one by ${report.engine?.concurrency ?? 5} callers at once (the reserved concurrency), interleaved, ${report.settings.engineRounds} rounds after one unrecorded; the ratio is the singles' p50 over the batch's.`,
    `7. **Keys checked at their exchange**: the handlers of part 2 (same process, same database, EXCHANGE_CHECKS=on with EXCHANGE_API_URLS at the local fake exchange, \`local/fake-exchange\`, in the bench process on loopback). Registration: ${report.settings.warmup} unrecorded rounds, then ${report.settings.calls}, each of three steps in turn (each round starting with another): register a fresh Binance key (one the fake knows: read and trade, IP-bound) for a fresh subject at an exchange of kind \`binance\` (checked), the same at an exchange without a kind (not checked: the same two statements), and the fake's round trip alone (the same probe, signed before the clock, one \`fetch\` and its body). The row is the p50 of each round's with − without − round trip: what a check adds besides the exchange. \`check\`: ${report.settings.checkSweepKeys.join(' and ')} keys at one exchange of kind \`binance\` each, registered through the handler (so checked once already), then \`npm run keys -- check --exchange-id N\` (\`node --import tsx local/keys.ts\`, its own process, the same database and fake; the command \`checkKeys\` of shared/key-maintenance/check.ts runs, as the daily maintenance does) timed from spawn to exit (its start-up included), its peak RSS the kernel's (\`process.resourceUsage().maxRSS\`, reported at exit by bench/max-rss.mjs, preloaded); then \`checkKeys\` in the bench process on the handlers' one-connection pool, timed; then once more with a full collection after each batch: the live heap's highest above its first batch is what stays behind as the keys go by.`,
    '',
  ];

  if (report.warm) {
    sections.push('## Statements per route (as captured)', '');
    for (const result of report.warm.routes) {
      sections.push(`- **${result.label}**:`);
      for (const statement of result.statements) sections.push(`  - \`${statement}\``);
    }
    sections.push('');
  }

  const analysed = bundles.filter((bundle) => bundle.packages);
  if (analysed.length > 0) {
    sections.push(
      '## What fills each bundle (largest packages)',
      '',
      '| Function | SDK clients | other @aws-sdk | Largest packages |',
      '| --- | --- | --- | --- |',
    );
    for (const bundle of analysed) {
      const top = (bundle.packages ?? [])
        .slice(0, 6)
        .map((share) => `${share.name} ${kb(share.bytes)}`)
        .join(', ');
      const name = bundle.exact ? bundle.name : `${bundle.name} (rebuilt from ${bundle.entry}, not byte-identical to the asset)`;
      sections.push(`| ${name} | ${bundle.sdkClients?.join(', ') || 'none'} | ${bundle.sdkOther?.join(', ') || 'none'} | ${top} |`);
    }
    sections.push('');
  }
  if (report.imports) {
    sections.push(
      '## What each dependency costs on its own',
      '',
      `Each bundled alone with the VaultFunction options and imported by a fresh process of the runtime's Node through the cold-start harness (median of ${report.settings.importRuns}; the empty handler's import is the zero).`,
      '',
      '| Dependency | Bundle | Import |',
      '| --- | --- | --- |',
      ...report.imports.map((cost) => `| ${cost.label} | ${kb(cost.bytes)} | ${ms(cost.importMs)} ms |`),
      '',
    );
  }
  if (report.quick) sections.unshift('> Quick mode: too few samples to be the record.', '');
  return { table, markdown: `${sections.join('\n')}\n` };
}
