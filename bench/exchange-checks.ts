/**
 * Part 7: keys checked at their exchange, against the local fake exchange (local/fake-exchange).
 * What a check adds to a registration beyond the exchange's own round trip, and what `check` over
 * many stored keys costs in time and memory. The handlers run in this process, as in part 2.
 */
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import * as z from 'zod/mini';
import { apiEvent } from '../local/api-event.js';
import { sampleCredentials } from '../local/fake-exchange/sample-keys.js';
import type { FakeExchange } from '../local/fake-exchange/server.js';
import { lambdaContext } from '../local/lambda-context.js';
import { ADAPTERS } from '../shared/exchanges/adapters/index.js';
import type { Credentials } from '../shared/exchanges/facts.js';
import { inProcessHandlers } from './lib/in-process.js';
import { liveHeapBytes, measureNodeCommand } from './lib/memory.js';
import { now, type Summary, summarize } from './lib/stats.js';

/** The kind whose fake answers with the least work (one HMAC): the round trip is mostly the trip. */
const KIND = 'binance';
const REPO = fileURLToPath(new URL('../', import.meta.url));
const REGISTER_PATH = '/api/settings/exchange-api-key';

export interface RegistrationCost {
  readonly withCheck: Summary;
  readonly without: Summary;
  /** The same probe sent by hand to the fake: signed before the clock, then one fetch and its body. */
  readonly probe: Summary;
  /** Per call: with check − without − the probe's round trip. */
  readonly overhead: Summary;
}

export interface CheckSweep {
  readonly keys: number;
  /** `npm run keys -- check`, the whole command: from spawn to exit. */
  readonly commandMs: number;
  /** checkKeys alone, in this process. */
  readonly checkMs: number;
  readonly batches: number;
  /** The command's peak resident set size. */
  readonly maxRssBytes: number;
  /** Live heap (after a full collection) at each batch's end, in process: after the first, the highest, after the last. */
  readonly live: { readonly first: number; readonly highest: number; readonly last: number };
}

/** What the bench reads of the command's JSON report. */
const checkReport = z.looseObject({ command: z.literal('check'), passed: z.number(), batches: z.number() });

export interface ChecksResults {
  readonly registration: RegistrationCost;
  readonly sweeps: readonly CheckSweep[];
}

export interface ChecksOptions {
  readonly url: string;
  readonly symmetricKey: string;
  readonly fake: FakeExchange;
  readonly calls: number;
  readonly warmup: number;
  /** Stored keys per `check` sweep, the largest last (e.g. 100 and 1000). */
  readonly sweepKeys: readonly number[];
  readonly log: (line: string) => void;
}

export async function runExchangeChecks(options: ChecksOptions): Promise<ChecksResults> {
  const { fake, log } = options;
  const handlers = await inProcessHandlers({ ...options, exchangeApiUrls: fake.baseUrls });
  const admin = new pg.Client({ connectionString: options.url });
  admin.on('error', (error) => log(`  checks: admin connection: ${error.message}`));
  await admin.connect();

  const newExchange = async (name: string, kind: string | null): Promise<number> =>
    (await admin.query<{ exchange_id: number }>('INSERT INTO tb_exchanges (exchange_name, kind) VALUES ($1, $2) RETURNING exchange_id', [name, kind])).rows[0]!
      .exchange_id;
  /** A fresh Binance-shaped key the fake knows (read and trade, IP-bound: it passes). */
  const knownKey = (): Credentials => {
    const credentials = sampleCredentials(KIND);
    fake.addKey(KIND, credentials);
    return credentials;
  };
  const registration = (subject: string, exchangeId: number, credentials: Credentials) =>
    apiEvent({ method: 'POST', path: REGISTER_PATH, subject, body: { exchange_id: exchangeId, ...credentials } });
  const timedRegistration = async (event: ReturnType<typeof registration>): Promise<number> => {
    const context = lambdaContext('bench');
    const start = now();
    const result = await handlers['register-api-key'](event, context);
    const took = now() - start;
    if (result.statusCode !== 201) throw new Error(`checks: registration got ${result.statusCode}: ${result.body}`);
    return took;
  };

  try {
    const checkedId = await newExchange('checks-binance', KIND);
    const plainId = await newExchange('checks-no-kind', null);
    const base = new URL(fake.baseUrls[KIND]);
    const probeUrl = (path: string): string => `${base.origin}${base.pathname.replace(/\/+$/, '')}${path}`;

    log(`  checks: registration with a check vs without vs the probe alone, ${options.calls} calls each`);
    const withMs: number[] = [];
    const withoutMs: number[] = [];
    const probeMs: number[] = [];
    const overheadMs: number[] = [];
    for (let i = 0; i < options.warmup + options.calls; i++) {
      // Fresh subjects on both sides: each registration upserts its user, then inserts (the same two statements).
      const checked = registration(`checks-with-${i}`, checkedId, knownKey());
      const plain = registration(`checks-without-${i}`, plainId, sampleCredentials(KIND));
      const request = ADAPTERS[KIND].request(knownKey(), { host: base.host, now: new Date() });
      const probe = async (): Promise<number> => {
        const start = now();
        const response = await fetch(probeUrl(request.path), { method: request.method, headers: request.headers, body: request.body, redirect: 'error' });
        await response.text();
        const took = now() - start;
        if (response.status !== 200) throw new Error(`checks: the fake answered the probe with ${response.status}`);
        return took;
      };
      const measured = { with: 0, without: 0, probe: 0 };
      // The three in turn, each round starting with another, so none always runs on a cache the one before warmed.
      const steps: readonly (readonly [keyof typeof measured, () => Promise<number>])[] = [
        ['with', () => timedRegistration(checked)],
        ['without', () => timedRegistration(plain)],
        ['probe', probe],
      ];
      for (let s = 0; s < steps.length; s++) {
        const [name, step] = steps[(i + s) % steps.length]!;
        measured[name] = await step();
      }
      if (i < options.warmup) continue;
      withMs.push(measured.with);
      withoutMs.push(measured.without);
      probeMs.push(measured.probe);
      overheadMs.push(measured.with - measured.without - measured.probe);
    }
    const cost: RegistrationCost = { withCheck: summarize(withMs), without: summarize(withoutMs), probe: summarize(probeMs), overhead: summarize(overheadMs) };
    log(
      `  checks: with p50 ${cost.withCheck.p50.toFixed(3)} ms, without ${cost.without.p50.toFixed(3)} ms, probe ${cost.probe.p50.toFixed(3)} ms, overhead p50 ${cost.overhead.p50.toFixed(3)} ms`,
    );

    const sweeps: CheckSweep[] = [];
    for (const keys of options.sweepKeys) {
      const exchangeId = await newExchange(`checks-sweep-${keys}`, KIND);
      // Stored as users store them: registered through the handler, each checked on the way in.
      for (let k = 0; k < keys; k++) await timedRegistration(registration(`sweep-${keys}-${k}`, exchangeId, knownKey()));
      sweeps.push(await sweep(options, exchangeId, keys));
      const last = sweeps[sweeps.length - 1]!;
      log(
        `  checks: npm run keys -- check over ${keys} keys in ${last.commandMs.toFixed(0)} ms, peak RSS ${(last.maxRssBytes / 2 ** 20).toFixed(1)} MiB; in process ${last.checkMs.toFixed(0)} ms, live heap at most +${((last.live.highest - last.live.first) / 1024).toFixed(0)} KiB over batch 1`,
      );
    }
    return { registration: cost, sweeps };
  } finally {
    await admin.end();
  }
}

/**
 * `check` over one exchange's keys three times: as a user runs it (`npm run keys -- check`, its own
 * process: wall time and peak RSS); in this process, timed; and again with a full collection after
 * each batch, so the live heap shows whether anything stays behind as the batches go by.
 */
async function sweep(options: ChecksOptions, exchangeId: number, keys: number): Promise<CheckSweep> {
  const command = await measureNodeCommand(['--import', 'tsx', 'local/keys.ts', 'check', '--exchange-id', String(exchangeId)], {
    cwd: REPO,
    env: {
      ...process.env,
      DATABASE_URL: options.url,
      SYMMETRIC_KEY: options.symmetricKey,
      EXCHANGE_CHECKS: 'on',
      EXCHANGE_API_URLS: JSON.stringify(options.fake.baseUrls),
    },
  });
  const report = checkReport.safeParse(JSON.parse(command.stdout || '{}'));
  if (command.code !== 0 || !report.success || report.data.passed !== keys) {
    throw new Error(`checks: npm run keys -- check over ${keys} keys exited ${command.code}: ${command.stdout}${command.stderr}`);
  }

  // What functions/key-maintenance.ts composes, minus the ring store (check never writes the ring).
  const { checkKeys } = await import('../shared/key-maintenance/check.js');
  const { db } = await import('../shared/runtime/database.js');
  const { keyChecker } = await import('../shared/runtime/key-checker.js');
  const { keyRingSource } = await import('../shared/runtime/key-ring.js');
  const deps = { db, keyRingSource, checker: keyChecker };
  const start = now();
  const timed = await checkKeys(deps, { exchangeId });
  const checkMs = now() - start;
  const live: number[] = [];
  const again = await checkKeys(deps, { exchangeId, onBatch: () => void live.push(liveHeapBytes()) });
  if (timed.passed !== keys || again.passed !== keys)
    throw new Error(`checks: check in process over ${keys} keys passed ${timed.passed}, then ${again.passed}`);
  return {
    keys,
    commandMs: command.ms,
    checkMs,
    batches: report.data.batches,
    maxRssBytes: command.maxRssBytes,
    live: { first: live[0] ?? 0, highest: Math.max(...live), last: live[live.length - 1] ?? 0 },
  };
}
