import { join } from 'node:path';
import pg from 'pg';
import { migrate } from '../shared/db/migrate.js';
import { DATA_DIR, devSigningKeys, devSymmetricKey } from './dev-keys.js';
import { DEFAULT_EMBEDDED_PG_PORT, startEmbeddedPostgres } from './embedded-postgres.js';
import { createLocalServer, type Handlers } from './server.js';

const log = (message: string): boolean => process.stderr.write(`${message}\n`);

const embedded = process.env.DATABASE_URL
  ? undefined
  : await startEmbeddedPostgres({ dataDir: join(DATA_DIR, 'postgres'), port: Number(process.env.EMBEDDED_PG_PORT ?? DEFAULT_EMBEDDED_PG_PORT), persistent: true });
process.env.DATABASE_URL ??= embedded?.url;
process.env.SYMMETRIC_KEY ??= await devSymmetricKey();
// The local server handles many requests at once in one process; a Lambda container handles one.
process.env.DB_POOL_MAX ??= '10';
process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
// No CloudWatch here to read embedded metrics: the opens would only be JSON lines on the console.
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';

const migrator = new pg.Client({ connectionString: process.env.DATABASE_URL });
await migrator.connect();
await migrate(migrator, { info: (message) => log(`migrate: ${message}`) });
await migrator.end();

// Imported only now: the handlers read their configuration once, at load, as they do in Lambda.
const handlers: Handlers = {
  'list-exchanges': (await import('../functions/list-exchanges.js')).handler,
  'create-exchange': (await import('../functions/create-exchange.js')).handler,
  'register-api-key': (await import('../functions/register-api-key.js')).handler,
  'list-api-keys': (await import('../functions/list-api-keys.js')).handler,
};
// Not routed: answered on the Lambda Invoke API, as the trading engine calls it in AWS.
const invoked = { 'open-api-key': (await import('../functions/open-api-key.js')).handler };

const port = Number(process.env.PORT ?? 3000);
const server = createLocalServer(handlers, (await devSigningKeys()).publicKey, invoked);
server.listen(port, '127.0.0.1', () => {
  log(`Exchange API key vault on http://localhost:${port}  (docs: http://localhost:${port}/docs)`);
  // The embedded server's URL carries only its fixed local password, and `npm run keys` needs it.
  log(`database: ${embedded ? `embedded PostgreSQL in ${join(DATA_DIR, 'postgres')}, DATABASE_URL=${embedded.url}` : 'DATABASE_URL'}`);
  log('get a token: npm run token -- --sub alice [--admin]');
  log(`the engine's way in: Lambda Invoke of open-api-key with endpoint http://localhost:${port} (docs/engine.md)`);
});

const shutdown = (): void => {
  server.close();
  void (embedded?.stop() ?? Promise.resolve()).then(() => process.exit(0));
};
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);
