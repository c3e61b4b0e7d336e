import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { startEmbeddedPostgres } from '../../local/embedded-postgres.js';
import { freePort } from '../../local/free-port.js';
import { connectWithRetry } from '../../shared/db/connect-with-retry.js';
import { createPool } from '../../shared/db/pool.js';

describe('connectWithRetry', () => {
  it('waits for a database that comes up late, then connects', async () => {
    const port = await freePort();
    const dataDir = await mkdtemp(join(tmpdir(), 'vault-late-pg-'));
    const pool = createPool({ connectionString: `postgres://postgres:postgres@127.0.0.1:${port}/postgres`, connectionTimeoutMillis: 1000, max: 1 });
    const retries: string[] = [];
    let server: Awaited<ReturnType<typeof startEmbeddedPostgres>> | undefined;
    try {
      const deadline = Date.now() + 50_000;
      const connecting = connectWithRetry(pool, {
        delayMs: 250,
        attemptMs: 1000,
        remainingMs: () => deadline - Date.now(),
        onRetry: (attempt, reason) => {
          retries.push(reason);
          if (attempt === 2) void startEmbeddedPostgres({ dataDir, port, persistent: false }).then((started) => (server = started));
        },
      });
      const client = await connecting;
      expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
      client.release();
      expect(retries.length).toBeGreaterThanOrEqual(2);
      expect(retries[0]).toBe('ECONNREFUSED');
    } finally {
      await pool.end();
      await server?.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 60_000);

  it('gives up before its time is out, saying why, with the last failure as the cause', async () => {
    const pool = createPool({ connectionString: `postgres://u:p@127.0.0.1:${await freePort()}/d`, connectionTimeoutMillis: 500, max: 1 });
    const retries: number[] = [];
    const started = Date.now();
    const deadline = started + 1_500;
    const failure = connectWithRetry(pool, {
      delayMs: 200,
      attemptMs: 500,
      remainingMs: () => deadline - Date.now(),
      onRetry: (attempt) => retries.push(attempt),
    });
    await expect(failure).rejects.toThrow(/not reachable within the time allowed: \d+ attempt\(s\) in \d+ s, the last failing with ECONNREFUSED/);
    await expect(failure).rejects.toMatchObject({ cause: { code: 'ECONNREFUSED' } });
    // Every attempt it started could finish in time, and it stopped when the next could not.
    expect(Date.now()).toBeLessThanOrEqual(deadline);
    expect(retries.length).toBeGreaterThanOrEqual(2);
    await pool.end();
  });

  it('starts no attempt at all when there is no time for one', async () => {
    const pool = createPool({ connectionString: `postgres://u:p@127.0.0.1:${await freePort()}/d`, connectionTimeoutMillis: 500, max: 1 });
    const retries: number[] = [];
    await expect(connectWithRetry(pool, { delayMs: 200, attemptMs: 500, remainingMs: () => 100, onRetry: (attempt) => retries.push(attempt) })).rejects.toThrow(
      /0 attempt\(s\)/,
    );
    expect(retries).toEqual([]);
    await pool.end();
  });
});
