import { migrate } from '../shared/db/migrate.js';
import { type LocalCommand, parseOptions, runCommandLine, UsageError } from './cli.js';
import { connectedClient } from './database-client.js';

const USAGE = `usage: DATABASE_URL=postgres://user:password@host:port/database npm run migrate

Applies the pending migrations to the database DATABASE_URL names, in one transaction under an
advisory lock (a second run waits, then finds nothing to do). npm start and npm test migrate their
own databases; this is for a database of your own.`;

export const migrateCommand: LocalCommand = {
  name: 'npm run migrate',
  usage: USAGE,
  async run(args, io) {
    parseOptions(args, {});
    const connectionString = io.env.DATABASE_URL;
    if (!connectionString) throw new UsageError('DATABASE_URL must be set: npm run migrate applies the migrations to that database');
    const client = await connectedClient(connectionString);
    try {
      const applied = await migrate(client, { info: (message) => io.stderr.write(`${message}\n`) });
      io.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'already up to date\n');
    } finally {
      await client.end();
    }
  },
};

await runCommandLine(migrateCommand, import.meta.url);
