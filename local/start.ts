import { join } from 'node:path';
import pg from 'pg';
import { DEFAULT_OPEN_CONCURRENCY } from '../infra/config.js';
import { migrate } from '../shared/db/migrate.js';
import { answeredHelp } from './cli.js';
import { DATA_DIR, DEV_RING_FILE, devSigningKeys, readDevRingFile } from './dev-keys.js';
import { DEFAULT_EMBEDDED_PG_PORT, startEmbeddedPostgres } from './embedded-postgres.js';
import { createEngineLogin } from './engine-login.js';
import { assertPortFree } from './free-port.js';
import { startFunctionThread } from './function-thread.js';
import { importAllRouteHandlers } from './route-handlers.js';
import { createLocalServer } from './server.js';

const USAGE = `usage: npm start

Serves the API on http://localhost:$PORT through the same handlers Lambda runs, with interactive docs
at /docs. Settings come from the environment (docs/configuration.md):
  PORT               HTTP port (default 3000)
  DATABASE_URL       a PostgreSQL of your own; unset: an embedded one, kept in $VAULT_DATA_DIR/postgres
  EMBEDDED_PG_PORT   the embedded PostgreSQL's port (default 54329)
  VAULT_DATA_DIR     local state: embedded database, dev ring file, token signing key (default .data)
  SYMMETRIC_KEY      the key ring, fixed for the server's life (default: KEY_RING_FILE)
  KEY_RING_FILE      a file holding the key ring, re-read as the ring ages (default: the dev ring
                     file in $VAULT_DATA_DIR, which npm run keys rotates)
  KEY_RING_MAX_AGE_S seconds before the held ring is checked again (default 300)
Tokens: npm run token -- --sub alice [--admin]`;
if (answeredHelp(USAGE)) process.exit(0);

const log = (message: string): boolean => process.stderr.write(`${message}\n`);
/** What is in the way, in one line: a person started this, and the line says what to change. */
const fail = (error: unknown): never => {
  log(`npm start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
};

/** A port setting as a person may type it wrong: one line naming the variable, exit 1. */
function portSetting(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const port = /^[0-9]{1,5}$/.test(text) ? Number(text) : Number.NaN;
  if (!(port >= 1 && port <= 65_535)) return fail(`${name} must be a port number from 1 to 65535, not "${text}"`);
  return port;
}

const port = portSetting('PORT', 3000);
await assertPortFree(port, 'PORT').catch(fail);
const embedded = process.env.DATABASE_URL
  ? undefined
  : await startEmbeddedPostgres({
      dataDir: join(DATA_DIR, 'postgres'),
      port: portSetting('EMBEDDED_PG_PORT', DEFAULT_EMBEDDED_PG_PORT),
      persistent: true,
    }).catch(fail);
process.env.DATABASE_URL ??= embedded?.url;
// The dev ring file is read again whenever the ring is older than KEY_RING_MAX_AGE_S, so a
// rotation by `npm run keys` reaches this server as it reaches warm containers in AWS.
if (!process.env.SYMMETRIC_KEY && !process.env.KEY_RING_FILE) {
  await readDevRingFile({ create: true });
  process.env.KEY_RING_FILE = DEV_RING_FILE;
}
// The local server handles many requests at once in one process; a Lambda container handles one.
process.env.DB_POOL_MAX ??= '10';
process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
// No CloudWatch here to read embedded metrics: the opens would only be JSON lines on the console.
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';

const migrator = new pg.Client({ connectionString: process.env.DATABASE_URL });
await migrator.connect();
await migrate(migrator, { info: (message) => log(`migrate: ${message}`) });
const engineLogin = await createEngineLogin(migrator, process.env.DATABASE_URL!);
await migrator.end();

// Imported only now: the handlers read their configuration once, at load, as they do in Lambda.
const handlers = await importAllRouteHandlers();
// Not routed: answered on the Lambda Invoke API, as the trading engine calls it in AWS, and capped at
// the reserved concurrency a deployment gives it by default. The engine's functions run apart, logged
// in as the engine's role, as they do in AWS.
const ENGINE_FUNCTIONS = ['open-api-key', 'list-active-keys', 'list-key-changes', 'report-api-key'];
const engine = await startFunctionThread(ENGINE_FUNCTIONS, { ...process.env, DATABASE_URL: engineLogin.url }).catch(fail);
const invoked = Object.fromEntries(ENGINE_FUNCTIONS.map((name) => [name, { handler: engine.handler(name), reservedConcurrency: DEFAULT_OPEN_CONCURRENCY }]));
const { db } = await import('../shared/runtime/database.js');

const server = createLocalServer(handlers, (await devSigningKeys({ create: true })).publicKey, invoked, log);
server.listen(port, '127.0.0.1', () => {
  log(`Exchange API key vault on http://localhost:${port}  (docs: http://localhost:${port}/docs)`);
  // The embedded server's URL carries only its fixed local password, and `npm run keys` needs it.
  log(`database: ${embedded ? `embedded PostgreSQL in ${join(DATA_DIR, 'postgres')}, DATABASE_URL=${embedded.url}` : 'DATABASE_URL'}`);
  log('get a token: npm run token -- --sub alice [--admin]');
  log(`the engine's way in: Lambda Invoke of open-api-key with endpoint http://localhost:${port} (docs/engine.md)`);
});

// The handlers' pools end before the database stops, so no connection of them is cut (which a pool
// would log as lost), and the engine's throwaway login goes with them; keep-alive connections of
// clients are closed with the server.
const shutdown = (): void => {
  log('npm start: stopping');
  server.closeAllConnections();
  server.close();
  void Promise.all([db.end(), engine.end()])
    .then(() => engineLogin.drop())
    .catch((error: unknown) => log(`npm start: the engine's login was not dropped: ${error instanceof Error ? error.message : String(error)}`))
    .then(() => embedded?.stop())
    .then(() => {
      log('npm start: stopped');
      process.exit(0);
    });
};
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);
