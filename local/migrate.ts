import pg from 'pg';
import { migrate } from '../shared/db/migrate.js';

const connectionString = process.env.DATABASE_URL;
if (!connectionString) {
  process.stderr.write('DATABASE_URL must be set: npm run migrate applies the migrations to that database\n');
  process.exit(2);
}
const client = new pg.Client({ connectionString });
await client.connect();
try {
  const applied = await migrate(client, { info: (message) => process.stderr.write(`${message}\n`) });
  process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'already up to date\n');
} finally {
  await client.end();
}
