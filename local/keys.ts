import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError } from '../shared/config.js';
import { type RingFreshness, ringFreshness } from '../shared/crypto/freshness.js';
import { type RingStore, ringStoreSource, ringText, textRingStore } from '../shared/crypto/ring-store.js';
import { ringStoreFromEnv } from '../shared/crypto/ring-store-env.js';
import { createPool, databaseConfig } from '../shared/db/pool.js';
import type { KeyChecker } from '../shared/exchanges/checker.js';
import { type ReencryptProgress, rotate } from '../shared/key-maintenance/commands.js';
import { MAINTENANCE_STATEMENT_TIMEOUT_MS } from '../shared/key-maintenance/lambda.js';
import type { MaintenanceFailure, MaintenanceReport } from '../shared/key-maintenance/reports.js';
import { expectedFailure, type MaintenanceCommand, maintenanceCommand, runCommand } from '../shared/key-maintenance/run.js';
import { keyCheckerFromEnv } from '../shared/runtime/exchange-checks.js';
import { describeIssues } from '../shared/schemas/issues.js';
import { type CommandIo, isEntry } from './cli.js';
import { DATA_DIR, DEV_RING_FILE, NoDevKey, readDevRingFile } from './dev-keys.js';
import { fileRingStore } from './file-ring-store.js';

const USAGE = `usage: npm run keys -- <command> [options]

commands:
  rotate             add a new 256-bit key to the ring and make it primary (old keys are kept)
  reencrypt          rewrite every row not under the primary (version-1 rows become version 2)
  verify             decrypt every row; exit 1 if any cannot be read
  retire <kid>       remove a key from the ring, only if no row still needs it
  check              ask each active key's exchange about it again: pause a key now rejected or
                     able to withdraw or transfer, flag one expiring within 14 days

options:
  --batch-size <n>   rows per transaction for reencrypt (default 100), keys per batch for check (default 50)
  --exchange-id <n>  check: only the keys at this exchange
  --after <key_no>   check: resume after this key (the "next" of a run that stopped early)
  --out <file>       rotate/retire with SYMMETRIC_KEY set: where to write the new ring (default: a new file in .data)

The database is DATABASE_URL. check asks the exchanges as the functions do: EXCHANGE_CHECKS=on,
EXCHANGE_API_URLS, REQUIRE_IP_RESTRICTION and EXCHANGE_PROBE_TIMEOUT_MS (docs/exchanges.md); with
checks off every key is counted unchecked. The ring is, in this order: the secret KEY_RING_SECRET_ARN names
(AWS credentials from the environment; KEY_RING_KMS_KEY_ID to wrap new keys), SYMMETRIC_KEY,
KEY_RING_FILE, or the dev ring file in .data that npm start uses. rotate and retire update a ring
file in place (npm start picks the change up within KEY_RING_MAX_AGE_S, default 300 s); with
SYMMETRIC_KEY set they write the new ring to a new file (mode 0600) and never print it. retire
waits out KEY_RING_MAX_AGE_S after a rotation: give it the value the server runs with.
Exit status: 0 done, 1 the command found or left a problem, 2 usage or configuration.`;

type Log = (line: string) => void;

/**
 * The ring the local runner uses, in this order: the AWS secret (as the function would), SYMMETRIC_KEY,
 * KEY_RING_FILE, or npm start's dev ring file. A ring file is updated in place; a SYMMETRIC_KEY ring
 * is the operator's to change, so its successor goes to a new file and is never printed.
 */
function localRingStore(env: NodeJS.ProcessEnv, out: string | undefined): RingStore {
  if (env.KEY_RING_SECRET_ARN) return ringStoreFromEnv(env);
  const inline = env.SYMMETRIC_KEY?.trim();
  if (inline) {
    return textRingStore({
      location: 'SYMMETRIC_KEY',
      read: async () => inline,
      async write(doc) {
        const file = out ?? join(DATA_DIR, `key-ring-${doc.primary}.json`);
        await mkdir(dirname(file), { recursive: true });
        // `wx`: never overwrite a ring file; it may be the only copy of a key.
        await writeFile(file, `${ringText(doc)}\n`, { mode: 0o600, flag: 'wx' });
        return `${file} (set SYMMETRIC_KEY to its content: export SYMMETRIC_KEY="$(cat ${file})")`;
      },
    });
  }
  const file = env.KEY_RING_FILE?.trim();
  return file ? fileRingStore(file) : fileRingStore(DEV_RING_FILE, () => readDevRingFile());
}

const printCounts = (log: Log, title: string, counts: Record<string, number>): void => {
  log(`${title}:`);
  const entries = Object.entries(counts);
  if (entries.length === 0) log('  (no rows)');
  for (const [kid, rows] of entries) log(`  ${kid.padEnd(32)} ${rows}`);
};

const describeProgress = (progress: ReencryptProgress): string | undefined => {
  switch (progress.type) {
    case 'batch-committed':
      return `pass ${progress.pass}, batch ${progress.batch}: rewrote ${progress.rewritten}${progress.failed ? `, ${progress.failed} unreadable` : ''}`;
    case 'pass-done':
      return `pass ${progress.pass} done: ${progress.remaining} row(s) left`;
    default:
      return undefined;
  }
};

function summarize(log: Log, report: MaintenanceReport | MaintenanceFailure): void {
  if ('error' in report) {
    log(`error: ${report.error}`);
    return;
  }
  switch (report.command) {
    case 'rotate':
      log(`new primary ${report.primary} (was ${report.previousPrimary}); ring: ${report.kids.join(', ')}; written to ${report.written}`);
      log('next: let the writers pick up the new ring, then npm run keys -- reencrypt');
      break;
    case 'reencrypt':
      printCounts(log, 'rows by kid before', report.before);
      printCounts(log, 'rows by kid after', report.after);
      log(`rewrote ${report.rewritten} row(s) in ${report.batches} batch(es), ${report.passes} pass(es)`);
      if (!report.complete) log(`${report.remaining} row(s) still need re-encryption: run reencrypt again`);
      break;
    case 'verify':
      printCounts(log, 'rows by kid', report.byKid);
      log(`${report.rows} row(s) checked; ${report.withoutMasks} without masks`);
      break;
    case 'retire':
      log(report.ok ? `retired ${report.kid}; ring: ${report.kids.join(', ')}; written to ${report.written}` : `refused: ${report.refused}`);
      break;
    case 'check':
      log(
        `${report.keys} active key(s): ${report.passed} passed (${report.expiring} flagged expiring within 14 days), ${report.paused} paused, ${report.unreachable} unreachable, ${report.unchecked} unchecked, ${report.changed} changed meanwhile`,
      );
      if (!report.complete) log(`stopped early: run check again with --after ${report.next}`);
      break;
  }
  if ('failures' in report) {
    for (const failure of report.failures) log(`  unreadable: key_no ${failure.key_no} ${failure.field} (${failure.reason})`);
    if (report.failureCount > report.failures.length) log(`  ... ${report.failureCount - report.failures.length} more`);
  }
}

const parseCommand = (argv: readonly string[]) =>
  parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      'batch-size': { type: 'string' },
      'exchange-id': { type: 'string' },
      after: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });

/** `npm run keys -- <argv>`: the exit status it ends with. */
export async function main(argv: readonly string[], io: CommandIo): Promise<number> {
  const { env } = io;
  const log: Log = (line) => io.stderr.write(`${line}\n`);
  /** A usage mistake: one line naming what to fix, exit 2 as the usage says. */
  const mistake = (what: string): number => {
    log(`npm run keys: ${what.split('\n')[0]} (npm run keys -- --help shows the commands and options)`);
    return 2;
  };
  let args: ReturnType<typeof parseCommand>;
  try {
    args = parseCommand(argv);
  } catch (error) {
    return mistake(error instanceof Error ? error.message : String(error));
  }
  if (args.values.help) {
    log(USAGE);
    return 0;
  }
  if (args.positionals.length === 0) return mistake('name a command: rotate, reencrypt, verify, retire or check');
  const [name, kid, ...extra] = args.positionals;
  if (name === 'retire' && kid === undefined) return mistake('retire needs the kid to remove: npm run keys -- retire <kid>');
  const numbers = { batchSize: args.values['batch-size'], exchangeId: args.values['exchange-id'], after: args.values.after };
  const parsed = maintenanceCommand.safeParse({
    command: name,
    ...(name === 'retire' ? { kid } : {}),
    ...Object.fromEntries(Object.entries(numbers).flatMap(([option, text]) => (text === undefined ? [] : [[option, Number(text)]]))),
  });
  if (!parsed.success || extra.length > 0 || (name !== 'retire' && kid !== undefined)) {
    return mistake(
      parsed.success ? `unexpected arguments: ${[...(name === 'retire' ? [] : [kid]), ...extra].join(' ')}` : describeIssues(parsed.error, 'event'),
    );
  }
  const command = parsed.data;

  let store: RingStore;
  let freshness: RingFreshness;
  let checker: KeyChecker;
  try {
    freshness = ringFreshness(env);
    store = localRingStore(env, args.values.out);
    checker = keyCheckerFromEnv(env);
  } catch (error) {
    if (error instanceof ConfigError) {
      log(error.message);
      return 2;
    }
    throw error;
  }
  if (command.command !== 'rotate' && !env.DATABASE_URL) {
    log(`DATABASE_URL must be set: ${command.command} works on the rows of that database`);
    return 2;
  }
  // No dev ring file here means this is not npm start's data folder: say so before any row is read.
  if (store.location === DEV_RING_FILE) {
    try {
      await readDevRingFile();
    } catch (error) {
      if (!(error instanceof NoDevKey)) throw error;
      log(`npm run keys: ${error.message}`);
      return 2;
    }
  }
  log(`ring: ${store.location}`);
  let report: MaintenanceReport | MaintenanceFailure;
  try {
    report = await execute({ store, freshness, checker }, command, env, log);
  } catch (error) {
    // A setting read only once the command runs (the DB_* timeouts) is still configuration: 2, not a failed report.
    if (error instanceof ConfigError) {
      log(error.message);
      return 2;
    }
    const failure = expectedFailure(error, command.command);
    if (!failure) throw error;
    report = failure;
  }
  summarize(log, report);
  io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  return report.ok ? 0 : 1;
}

async function execute(
  { store, freshness, checker }: { store: RingStore; freshness: RingFreshness; checker: KeyChecker },
  command: MaintenanceCommand,
  env: NodeJS.ProcessEnv,
  log: Log,
): Promise<MaintenanceReport> {
  // rotate touches no row.
  if (command.command === 'rotate') return rotate({ store });
  const db = createPool({
    ...databaseConfig(env),
    max: 2,
    statement_timeout: MAINTENANCE_STATEMENT_TIMEOUT_MS,
    query_timeout: MAINTENANCE_STATEMENT_TIMEOUT_MS + 5_000,
    application_name: 'vault-key-maintenance',
  });
  try {
    return await runCommand({ db, store, keyRingSource: ringStoreSource(store, freshness), freshness, checker }, command, {
      onProgress: (progress) => {
        const line = describeProgress(progress);
        if (line) log(line);
      },
      onBatch: ({ batch, keys, next }) => log(`check batch ${batch}: ${keys} key(s), up to key_no ${next}`),
    });
  } finally {
    await db.end();
  }
}

if (isEntry(import.meta.url)) process.exitCode = await main(process.argv.slice(2), process);
