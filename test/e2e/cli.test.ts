import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type LocalCommand, runLocalCommand } from '../../local/cli.js';
import { engineDemoCommand } from '../../local/engine-demo.js';
import { freePort } from '../../local/free-port.js';
import { migrateCommand } from '../../local/migrate.js';
import { tokenCommand } from '../../local/token.js';
import { databaseUrl } from '../support/database.js';

/** The local commands as a person runs them: --help answers, and a mistake is one line and an exit status, never a stack trace. */
const TSX = join(process.cwd(), 'node_modules', '.bin', 'tsx');
const execute = promisify(execFile);

let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'vault-cli-'));
});

afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

async function run(script: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execute(TSX, [script, ...args], { env: { ...process.env, VAULT_DATA_DIR: dataDir, ...env } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const { code, stdout, stderr } = error as { code: number; stdout: string; stderr: string };
    return { code, stdout, stderr };
  }
}

/** A command run in this process (starting tsx for each would take a second or two), as its script runs it. */
async function runHere(command: LocalCommand, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = { stdout: '', stderr: '' };
  const io = { env, stdout: { write: (text: string) => (out.stdout += text) }, stderr: { write: (text: string) => (out.stderr += text) } };
  const code = await runLocalCommand(command, args, io);
  return { code, ...out };
}

const oneLine = (text: string): string[] => text.trimEnd().split('\n');

describe('npm start, npm run token and npm run migrate', () => {
  it('answer --help with their usage on stdout (each run as its script, in its own process)', async () => {
    const [token, migrate, start] = await Promise.all([
      run('local/token.ts', ['--help']),
      run('local/migrate.ts', ['--help']),
      run('local/start.ts', ['--help']),
    ]);
    expect(start).toMatchObject({ code: 0, stderr: '' });
    expect(start.stdout).toMatch(/^usage: npm start\n[\s\S]*EMBEDDED_PG_PORT[\s\S]*VAULT_DATA_DIR/);
    expect(token).toMatchObject({ code: 0, stderr: '' });
    expect(token.stdout).toMatch(/^usage: npm run token -- --sub <subject>/);
    expect(migrate).toMatchObject({ code: 0, stderr: '' });
    expect(migrate.stdout).toMatch(/npm run migrate/);
  });

  it.each([
    [['--sub'], /^npm run token: Option '--sub <value>' argument missing/],
    [[], /^npm run token: --sub <subject> is required/],
    [['--sub', 'bob', '--expires-in', '5x'], /^npm run token: --expires-in takes a period such as 30m, 1h or 7d, not "5x"/],
    [['--sub', 'bob', '--colour'], /^npm run token: Unknown option '--colour'/],
  ])('token %j: one line naming the mistake, exit 2', async (args, message) => {
    const result = await runHere(tokenCommand, args);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(oneLine(result.stderr)).toEqual([expect.stringMatching(message)]);
  });

  it.each([
    ['unset', 2, undefined, /^npm run migrate: DATABASE_URL must be set/],
    ['not a URL', 2, 'not a url', /^npm run migrate: DATABASE_URL is not a URL/],
    [
      'unreachable',
      1,
      'postgres://vault:secret-pw@127.0.0.1:1/vault',
      /^npm run migrate: cannot connect to the database at 127\.0\.0\.1:1\/vault: ECONNREFUSED$/,
    ],
  ])('migrate with DATABASE_URL %s: one line, no password, exit %i', async (_, code, url, message) => {
    const result = await runHere(migrateCommand, [], { DATABASE_URL: url ?? '' });
    expect(result.code).toBe(code);
    expect(oneLine(result.stderr)).toEqual([expect.stringMatching(message)]);
    expect(result.stderr).not.toContain('secret-pw');
  });

  it("token and start on a folder that is not npm start's, or a port that is no port: one line naming what to fix, exit 1", async () => {
    const empty = await mkdtemp(join(tmpdir(), 'vault-cli-empty-'));
    try {
      const [token, badPort, bigPort] = await Promise.all([
        run('local/token.ts', ['--sub', 'alice'], { VAULT_DATA_DIR: empty }),
        run('local/start.ts', [], { PORT: 'abc' }),
        run('local/start.ts', [], { PORT: '70000' }),
      ]);
      expect({ code: token.code, stdout: token.stdout, stderr: oneLine(token.stderr) }).toEqual({
        code: 1,
        stdout: '',
        stderr: [`npm run token: no dev key (dev-jwt-key.json) in ${empty}: run npm start first, or give this command the VAULT_DATA_DIR npm start has`],
      });
      // A token signed with a key made here would only be refused later, as a bare 401.
      await expect(readdir(empty)).resolves.toEqual([]);
      expect({ code: badPort.code, stderr: oneLine(badPort.stderr) }).toEqual({
        code: 1,
        stderr: ['npm start: PORT must be a port number from 1 to 65535, not "abc"'],
      });
      expect({ code: bigPort.code, stderr: oneLine(bigPort.stderr) }).toEqual({
        code: 1,
        stderr: ['npm start: PORT must be a port number from 1 to 65535, not "70000"'],
      });
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });

  it('migrate against a database that does not exist says so in one line, exit 1', async () => {
    const result = await runHere(migrateCommand, [], { DATABASE_URL: databaseUrl('vault_no_such_database') });
    expect(result.code).toBe(1);
    expect(oneLine(result.stderr)).toEqual([expect.stringMatching(/: database "vault_no_such_database" does not exist$/)]);
  });
});

describe('npm run engine-demo', () => {
  it('answers --help with its usage, naming what to give it as npm start has it', async () => {
    const result = await runHere(engineDemoCommand, ['--help']);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toMatch(/^usage: npm run engine-demo\n[\s\S]*PORT \(or\s+VAULT_URL\) and VAULT_DATA_DIR/);
  });

  it('with no vault at the URL says so in one line and what to set, exit 1', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const result = await runHere(engineDemoCommand, [], { VAULT_URL: url });
    expect(result.code).toBe(1);
    expect(oneLine(result.stderr)).toEqual([
      `npm run engine-demo: cannot reach the vault at ${url}: ECONNREFUSED (is npm start running? set PORT or VAULT_URL as it has them)`,
    ]);
  });

  it('refuses an unknown option in one line, exit 2', async () => {
    const result = await runHere(engineDemoCommand, ['--colour']);
    expect(result.code).toBe(2);
    expect(oneLine(result.stderr)).toEqual([expect.stringMatching(/^npm run engine-demo: Unknown option '--colour'/)]);
  });
});

describe('a second npm start', () => {
  it('with the port taken says which variable to set, in one line, exit 1', async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const port = (holder.address() as { port: number }).port;
    try {
      const result = await run('local/start.ts', [], { PORT: String(port), DATABASE_URL: databaseUrl('postgres') });
      expect(result.code).toBe(1);
      expect(oneLine(result.stderr)).toEqual([`npm start: port ${port} is in use (another npm start?): set PORT to a free port`]);
    } finally {
      holder.close();
    }
  });

  it('on a data folder whose PostgreSQL is running names the folder and the variables to set, exit 1', async () => {
    // PostgreSQL's lock file, naming a live process (this one) as a running server does.
    await mkdir(join(dataDir, 'postgres'), { recursive: true });
    await writeFile(join(dataDir, 'postgres', 'postmaster.pid'), `${process.pid}\n${dataDir}/postgres\n1700000000\n54329\n`);
    try {
      const result = await run('local/start.ts', [], { PORT: String(await freePort()), EMBEDDED_PG_PORT: String(await freePort()), DATABASE_URL: '' });
      expect(result.code).toBe(1);
      expect(oneLine(result.stderr)).toEqual([
        expect.stringMatching(
          new RegExp(
            `^npm start: the embedded PostgreSQL in ${dataDir}/postgres is already running \\(pid ${process.pid}, port 54329\\).*VAULT_DATA_DIR, PORT and EMBEDDED_PG_PORT$`,
          ),
        ),
      ]);
    } finally {
      await rm(join(dataDir, 'postgres'), { recursive: true, force: true });
    }
  });
});
