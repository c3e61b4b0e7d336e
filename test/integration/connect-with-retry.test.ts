import { describe, expect, it } from '@jest/globals';
import { connectWithRetry } from '../../shared/db/connect-with-retry.js';
import { createPool } from '../../shared/db/pool.js';
import { startEmbeddedPostgres } from '../../local/embedded-postgres.js';
import { freePort } from '../../local/free-port.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

describe('connectWithRetry', () => {
  it('waits for a database that comes up late, then connects', async () => {
    const port = await freePort();
    const dataDir = await mkdtemp(join(tmpdir(), 'vault-late-pg-'));
    const pool = createPool({ connectionString: `postgres://postgres:postgres@127.0.0.1:${port}/postgres`, connectionTimeoutMillis: 1000, max: 1 });
    const retries: string[] = [];
    let server: Awaited<ReturnType<typeof startEmbeddedPostgres>> | undefined;
    try {
      const connecting = connectWithRetry(pool, {
        attempts: 60,
        delayMs: 250,
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

  it('gives up after its attempts and throws the last failure', async () => {
    const pool = createPool({ connectionString: `postgres://u:p@127.0.0.1:${await freePort()}/d`, connectionTimeoutMillis: 500, max: 1 });
    const retries: number[] = [];
    await expect(connectWithRetry(pool, { attempts: 3, delayMs: 10, onRetry: (attempt) => retries.push(attempt) })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(retries).toEqual([1, 2]);
    await pool.end();
  });
});
