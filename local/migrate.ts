import pg from 'pg';
import { migrate } from '../shared/db/migrate.js';
import { type LocalCommand, parseOptions, runCommandLine, UsageError } from './cli.js';

const USAGE = `usage: DATABASE_URL=postgres://user:password@host:port/database npm run migrate

Applies the pending migrations to the database DATABASE_URL names, in one transaction under an
advisory lock (a second run waits, then finds nothing to do). npm start and npm test migrate their
own databases; this is for a database of your own.`;

/** Where the URL points, without its password: enough to say which database could not be reached. */
const describeTarget = (url: string): string => {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || 5432}${parsed.pathname}`;
  } catch {
    throw new UsageError('DATABASE_URL is not a URL such as postgres://user:password@localhost:5432/vault');
  }
};

export const migrateCommand: LocalCommand = {
  name: 'npm run migrate',
  usage: USAGE,
  async run(args, io) {
    parseOptions(args, {});
    const connectionString = io.env.DATABASE_URL;
    if (!connectionString) throw new UsageError('DATABASE_URL must be set: npm run migrate applies the migrations to that database');
    const target = describeTarget(connectionString);
    const client = new pg.Client({ connectionString, connectionTimeoutMillis: 10_000 });
    try {
      await client.connect();
    } catch (error) {
      // The server's own words name the problem (no such database, wrong password); a socket's code does.
      const reason = error instanceof pg.DatabaseError ? error.message : ((error as { code?: string }).code ?? String(error));
      throw new Error(`cannot connect to the database at ${target}: ${reason}`);
    }
    try {
      const applied = await migrate(client, { info: (message) => io.stderr.write(`${message}\n`) });
      io.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'already up to date\n');
    } finally {
      await client.end();
    }
  },
};

await runCommandLine(migrateCommand, import.meta.url);
