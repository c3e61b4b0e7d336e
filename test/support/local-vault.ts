/**
 * `npm start` as the end-to-end tests run it: the local server in a child process on a database of
 * its own, with the README's ways in (`npm run token`, HTTP, the Lambda Invoke API on the same port).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { LambdaClient, type LambdaClientConfig } from '@aws-sdk/client-lambda';
import type { EngineClient } from '../../client/engine-client.js';
import { followChanges } from '../../local/follow-changes.js';
import { freePort } from '../../local/free-port.js';
import type { KeyChange } from '../../shared/schemas/engine-lists.js';
import { createTestDatabase, type TestDatabase } from './database.js';

export const TSX = join(process.cwd(), 'node_modules', '.bin', 'tsx');
export const run = promisify(execFile);

/** pg_stat_activity's sessions of a login that acts as vault_engine (npm start's throwaway member of it), never a superuser. */
export const BY_THE_ENGINE = `usename IN (SELECT rolname FROM pg_roles WHERE NOT rolsuper AND pg_has_role(rolname, 'vault_engine', 'MEMBER'))`;

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  json: unknown;
}

export interface LocalVault {
  readonly db: TestDatabase;
  readonly baseUrl: string;
  readonly dataDir: string;
  /** The environment `npm start` and the npm scripts beside it run with. */
  env(): NodeJS.ProcessEnv;
  /** `npm run token` exactly as the README has it: the token is the last line printed. */
  token(...args: string[]): Promise<string>;
  /** One HTTP request to the server, its body read as text and, where there is one, as JSON. */
  call(method: string, path: string, bearer?: string, body?: unknown, headers?: Record<string, string>): Promise<Reply>;
  /** An engine's Lambda client exactly as in AWS but for `endpoint` (credentials and region are required, never checked here). */
  lambda(config?: LambdaClientConfig): LambdaClient;
  /** Until `count` of the engine's statements wait for a lock in the server's database: the invocations are in flight. */
  waitForLockWaits(count: number): Promise<void>;
  /** Stops the server, then drops its database and data folder. */
  stop(): Promise<void>;
}

function startServer(env: NodeJS.ProcessEnv, port: number): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const { SYMMETRIC_KEY: _unset, ...inherited } = env;
    const child = spawn(TSX, ['local/start.ts'], { env: { ...inherited, PORT: String(port) }, stdio: ['ignore', 'ignore', 'pipe'] });
    let output = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Exchange API key vault on')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`local server exited with ${code}: ${output}`)));
  });
}

/** `npm start` with the environment the test gives on top of its own (exchange checks on, say). */
export async function startLocalVault(extraEnv: NodeJS.ProcessEnv = {}): Promise<LocalVault> {
  const db = await createTestDatabase({ migrated: false });
  const dataDir = await mkdtemp(join(tmpdir(), 'vault-e2e-'));
  const baseUrl = `http://127.0.0.1:${await freePort()}`;
  const env = (): NodeJS.ProcessEnv => ({ ...process.env, VAULT_DATA_DIR: dataDir, DATABASE_URL: db.url, POWERTOOLS_LOG_LEVEL: 'SILENT', ...extraEnv });
  const server = await startServer(env(), Number(new URL(baseUrl).port)).catch(async (error: unknown) => {
    await db.drop();
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  });
  return {
    db,
    baseUrl,
    dataDir,
    env,
    async token(...args) {
      const { stdout } = await run(TSX, ['local/token.ts', ...args], { env: env() });
      return stdout.trim().split('\n').at(-1)!;
    },
    async call(method, path, bearer, body, headers = {}) {
      const response = await fetch(`${baseUrl}${path}`, {
        method,
        headers: { ...(bearer ? { authorization: `Bearer ${bearer}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}), ...headers },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      const text = await response.text();
      return { status: response.status, headers: response.headers, text, json: text ? (JSON.parse(text) as unknown) : undefined };
    },
    lambda: (config = {}) =>
      new LambdaClient({ endpoint: baseUrl, region: 'eu-west-1', credentials: { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local' }, ...config }),
    async waitForLockWaits(count) {
      for (;;) {
        const { rows } = await db.pool.query<{ waiting: number }>(
          `SELECT count(*)::int AS waiting FROM pg_stat_activity WHERE datname = current_database() AND ${BY_THE_ENGINE} AND wait_event_type = 'Lock'`,
        );
        if (rows[0]!.waiting >= count) return;
        await sleep(20);
      }
    },
    async stop() {
      // Stopped before its database is dropped: on its way out it drops the engine's login it made.
      if (server.exitCode === null) {
        const exited = once(server, 'exit');
        server.kill('SIGTERM');
        await exited;
      }
      await db.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** local/follow-changes.ts, failing the test when the change does not arrive. */
export async function followFeed(
  engine: EngineClient,
  after: string | undefined,
  arrived: (changes: readonly KeyChange[]) => boolean,
): Promise<{ changes: KeyChange[]; next: string }> {
  const followed = await followChanges(engine, after, arrived);
  if (!followed.arrived) throw new Error('the change did not arrive in the feed');
  return followed;
}
