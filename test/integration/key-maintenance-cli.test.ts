import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { keyRingFromText, parseRingText } from '../../shared/crypto/key-ring.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { newKey } from '../unit/crypto/helpers.js';
import { frozenSource, register, SEED_KEY } from '../unit/key-ring/maintenance-helpers.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

let db: TestDatabase;
let dataDir: string;
let keysMain: typeof import('../../local/keys.js')['main'];

beforeAll(async () => {
  db = await createTestDatabase();
  dataDir = await mkdtemp(join(tmpdir(), 'vault-keys-cli-'));
  // local/dev-keys.ts reads VAULT_DATA_DIR once, as it loads: this test's folder holds the dev key file.
  process.env.VAULT_DATA_DIR = dataDir;
  keysMain = (await import('../../local/keys.js')).main;
  // npm start makes the dev ring file; the commands beside it only use it.
  await (await import('../../local/dev-keys.js')).readDevRingFile({ create: true });
});

afterAll(async () => {
  delete process.env.VAULT_DATA_DIR;
  await db.drop();
  await rm(dataDir, { recursive: true, force: true });
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

const environment = (env: Record<string, string>): Record<string, string> => ({ VAULT_DATA_DIR: dataDir, DATABASE_URL: db.url, ...env });

/**
 * `npm run keys -- <args>` run in this process (starting tsx for each would take a second or two),
 * with only the environment given here. An error it throws ends a real run with status 1 and the
 * error on stderr, as Node does with an uncaught one.
 */
async function keys(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const out = { stdout: '', stderr: '' };
  const io = { env: environment(env), stdout: { write: (text: string) => (out.stdout += text) }, stderr: { write: (text: string) => (out.stderr += text) } };
  const code = await keysMain(args, io).catch((error: unknown) => {
    out.stderr += `${error instanceof Error ? error.stack : String(error)}\n`;
    return 1;
  });
  return { code, ...out };
}

/** The one real `npm run keys -- <args>`, as a developer runs it: package.json's script, tsx, the entry's exit status. */
const spawnedKeys = (args: string[]): Promise<Run> =>
  new Promise((resolve) => {
    execFile(
      'npm',
      ['run', '--silent', 'keys', '--', ...args],
      { cwd: ROOT, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...environment({}) }, timeout: 60_000 },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });

const devRingFile = () => join(dataDir, 'dev-symmetric-key');
const report = (run: Run): Record<string, unknown> => JSON.parse(run.stdout) as Record<string, unknown>;
/** Every key the ring text holds, which must appear in no output. */
const keysIn = (text: string): string[] => Object.values(parseRingText(text).keys).map((entry) => (typeof entry === 'string' ? entry : entry.kms));

describe('npm run keys', () => {
  it('says a mistake in one line naming what to fix, and exits 2, as its usage says', async () => {
    const mistakes: Array<[string[], RegExp]> = [
      [[], /name a command: rotate, reencrypt, verify, retire or check/],
      [['retire'], /retire needs the kid to remove/],
      [['rotate', 'now'], /unexpected arguments: now/],
      [['frobnicate'], /command: /],
      [['verify', '--batch'], /Unknown option '--batch'/],
    ];
    for (const [args, what] of mistakes) {
      const run = await keys(args);
      expect({ args, code: run.code, lines: run.stderr.trimEnd().split('\n').length, stdout: run.stdout }).toEqual({ args, code: 2, lines: 1, stdout: '' });
      expect(run.stderr).toMatch(/^npm run keys: .*\(npm run keys -- --help shows the commands and options\)\n$/);
      expect(run.stderr).toMatch(what);
    }
    expect((await keys(['--help'])).stderr).toMatch(/^usage: npm run keys/);
  });

  it("refuses in one line naming the folder, exit 2, when npm start's dev ring file is not there (another VAULT_DATA_DIR)", async () => {
    await rename(devRingFile(), `${devRingFile()}.away`);
    try {
      for (const command of ['rotate', 'verify']) {
        const run = await keys([command]);
        expect({ command, code: run.code, stderr: run.stderr }).toEqual({
          command,
          code: 2,
          stderr: `npm run keys: no dev key (dev-symmetric-key) in ${dataDir}: run npm start first, or give this command the VAULT_DATA_DIR npm start has\n`,
        });
      }
      // Nothing made in its place: a new key there would only fail later, as rows that do not open.
      await expect(readFile(devRingFile(), 'utf8')).rejects.toMatchObject({ code: 'ENOENT' });
    } finally {
      await rename(`${devRingFile()}.away`, devRingFile());
    }
  });

  it('exits 2 when a command that reads rows has no DATABASE_URL', async () => {
    const run = await keys(['verify'], { DATABASE_URL: '' });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/DATABASE_URL must be set/);
  });

  it('exits 2 for a setting it reads only as the command runs, as for any other configuration', async () => {
    const run = await keys(['verify'], { DB_CONNECT_TIMEOUT_MS: 'soon' });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/DB_CONNECT_TIMEOUT_MS/);
    expect(run.stdout).toBe('');
  });

  it('check counts every active key, each unchecked with checks off, and says so in one line', async () => {
    const run = await keys(['check', '--batch-size', '2']);
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report).toMatchObject({ command: 'check', ok: true, complete: true, passed: 0, paused: 0, unchecked: report.keys });
    expect(run.stderr).toContain(
      `${report.keys} active key(s): 0 passed (0 flagged expiring within 14 days), 0 paused, 0 unreachable, ${report.keys} unchecked`,
    );
  });

  it('check refuses an option of another command, and a checks setting it cannot read, exit 2', async () => {
    expect((await keys(['verify', '--exchange-id', '101'])).code).toBe(2);
    const run = await keys(['check'], { EXCHANGE_CHECKS: 'yes' });
    expect({ code: run.code, stderr: run.stderr.trim() }).toEqual({ code: 2, stderr: 'EXCHANGE_CHECKS must be "on" or "off"' });
  });

  it('runs the rotation runbook against the dev ring file of npm start', async () => {
    expect((await keys(['verify'])).code).toBe(0);
    const original = (await readFile(devRingFile(), 'utf8')).trim();
    const writer = frozenSource(await keyRingFromText(original));
    for (const subject of ['a', 'b', 'c', 'd', 'e']) await register(db.pool, writer, subject);

    const rotated = await keys(['rotate']);
    expect(rotated.code).toBe(0);
    const ringText = await readFile(devRingFile(), 'utf8');
    const ring = parseRingText(ringText);
    expect(ring).toMatchObject({ primary: report(rotated).primary, v1: 'default', keys: { default: original } });
    expect((await stat(devRingFile())).mode & 0o777).toBe(0o600);

    const reencrypted = await keys(['reencrypt', '--batch-size', '2']);
    expect(reencrypted.code).toBe(0);
    expect(report(reencrypted)).toMatchObject({ ok: true, before: { default: 5 }, after: { [ring.primary]: 5 }, rewritten: 5, batches: 3 });
    expect(reencrypted.stderr).toMatch(/rows by kid before:\n {2}default +5\nrows by kid after:\n {2}k\d{8}T\d{6}Z-[0-9a-f]{8} +5/);

    // A running npm start may still seal under default until it re-checks the file.
    const early = await keys(['retire', 'default']);
    expect(early.code).toBe(1);
    expect(early.stderr).toMatch(/refused: the ring was rotated at .*; .* retire is allowed from \d{4}-\d\d-\d\dT/);
    await writeFile(devRingFile(), JSON.stringify({ ...ring, rotated_at: new Date(Date.now() - 20 * 60_000).toISOString() }));

    const retired = await keys(['retire', 'default']);
    expect(retired.code).toBe(0);
    expect(parseRingText(await readFile(devRingFile(), 'utf8'))).toEqual({
      primary: ring.primary,
      keys: { [ring.primary]: expect.any(String) },
      rotated_at: expect.any(String),
    });

    const refused = await keys(['retire', ring.primary]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/refused: .* is the primary key/);

    // No run printed a key.
    for (const run of [rotated, reencrypted, retired, refused]) {
      for (const key of keysIn(ringText)) expect(run.stdout + run.stderr).not.toContain(key);
    }
  }, 90_000);

  it('verify exits 1 and names the rows that do not open (run as npm run keys, in its own process)', async () => {
    const { rows } = await db.pool.query<{ key_no: number }>('SELECT key_no FROM tb_exchange_api_keys ORDER BY key_no LIMIT 1');
    const keyNo = rows[0]!.key_no;
    await db.pool.query(`UPDATE tb_exchange_api_keys SET private_key = jsonb_set(private_key, '{kid}', '"gone"') WHERE key_no = $1`, [keyNo]);
    const run = await spawnedKeys(['verify']);
    expect(run.code).toBe(1);
    expect(report(run)).toMatchObject({ ok: false, failures: [{ key_no: keyNo, field: 'private_key', reason: 'unknown_kid' }] });
    expect(run.stderr).toContain(`unreadable: key_no ${keyNo} private_key (unknown_kid)`);
  });

  it('retire constructor is refused and leaves the ring file as it was', async () => {
    const before = await readFile(devRingFile(), 'utf8');
    const run = await keys(['retire', 'constructor']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('refused: the ring has no key constructor');
    expect(await readFile(devRingFile(), 'utf8')).toBe(before);
  });

  it('verify works with a bare 16-byte seed key, which reads but cannot seal', async () => {
    const run = await keys(['verify'], { SYMMETRIC_KEY: SEED_KEY });
    expect(report(run)).toMatchObject({ command: 'verify', rows: expect.any(Number) });
    expect(run.stderr).not.toMatch(/16 bytes/);
  });

  it('with SYMMETRIC_KEY set, rotate writes the new ring to a new file and never prints it', async () => {
    const symmetricKey = newKey();
    const out = join(dataDir, 'next-ring.json');
    const run = await keys(['rotate', '--out', out], { SYMMETRIC_KEY: symmetricKey });
    expect(run.code).toBe(0);
    const text = await readFile(out, 'utf8');
    expect(parseRingText(text)).toMatchObject({ v1: 'default', keys: { default: symmetricKey } });
    expect((await stat(out)).mode & 0o777).toBe(0o600);
    expect(run.stdout).toContain(out);
    for (const key of keysIn(text)) expect(run.stdout + run.stderr).not.toContain(key);

    // Never over an existing file: it may be the only copy of a key.
    const again = await keys(['rotate', '--out', out], { SYMMETRIC_KEY: symmetricKey });
    expect(again.code).not.toBe(0);
    expect(await readFile(out, 'utf8')).toBe(text);
  }, 60_000);
});
