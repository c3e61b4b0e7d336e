/**
 * Issue 14, points 1 and 10, in process: `npm start` (a long-lived key ring source over the dev ring
 * file, with the clock in the test's hands) and `npm run keys` (the maintenance commands over the
 * same file), against a real PostgreSQL.
 */

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KMSClient } from '@aws-sdk/client-kms';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { fileRingStore } from '../../local/file-ring-store.js';
import { newSealing, seal } from '../../shared/crypto/envelope.js';
import { DEFAULT_RING_FRESHNESS } from '../../shared/crypto/freshness.js';
import { ringStoreSource } from '../../shared/crypto/ring-store.js';
import { ringStoreFromEnv } from '../../shared/crypto/ring-store-env.js';
import { secretsManagerRingStore } from '../../shared/crypto/secrets-ring-store.js';
import { NO_CHECKS } from '../../shared/exchanges/checker.js';
import { type MaintenanceDeps, reencrypt, retire, rotate, verify } from '../../shared/key-maintenance/commands.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { newKey } from '../unit/crypto/helpers.js';
import { FakeKms, FakeSecret, SECRET_ARN } from '../unit/key-ring/aws-fakes.js';
import { allRows, kidsOf, register } from '../unit/key-ring/maintenance-helpers.js';

const databases: TestDatabase[] = [];
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vault-freshness-'));
});

afterAll(async () => {
  await Promise.all(databases.map((db) => db.drop()));
  await rm(dir, { recursive: true, force: true });
});

const database = async (): Promise<TestDatabase> => {
  const db = await createTestDatabase();
  databases.push(db);
  return db;
};

describe('rotate, reencrypt and retire while the server runs (issue 14, point 1)', () => {
  it('the running server seals under the new primary within the window, and retire waits until no one can seal under the old key', async () => {
    const db = await database();
    const file = join(dir, 'dev-symmetric-key');
    await writeFile(file, `${newKey()}\n`, { mode: 0o600 });
    let clock = Date.parse('2025-11-25T10:00:00.000Z');
    const at = (seconds: number) => {
      clock = Date.parse('2025-11-25T10:00:00.000Z') + seconds * 1000;
      return new Date(clock);
    };
    // npm start: the ring from KEY_RING_FILE, held and re-checked by one long-lived source.
    const server = ringStoreSource(ringStoreFromEnv({ KEY_RING_FILE: file }), DEFAULT_RING_FRESHNESS, () => clock);
    // npm run keys: the same file, written compare-and-set.
    const store = fileRingStore(file);
    const keys: MaintenanceDeps = { db: db.pool, store, keyRingSource: ringStoreSource(store), freshness: DEFAULT_RING_FRESHNESS, checker: NO_CHECKS };
    const kidOf = async (subject: string) => kidsOf((await allRows(db.pool)).find((row) => row.auth_subject === subject)!);

    at(0);
    await register(db.pool, server, 'alice');
    expect(await kidOf('alice')).toBe('default|default');

    const { primary } = await rotate(keys, at(10));
    expect(await reencrypt(keys)).toMatchObject({ ok: true, complete: true, after: { [primary]: 1 } });

    // What lost the key in the issue: retire answered ok here, while the server still sealed under default.
    const early = await retire(keys, 'default', at(20));
    expect(early).toMatchObject({ ok: false, written: null });
    expect(early.refused).toContain('retire is allowed from 2025-11-25T10:11:10.000Z');

    at(30);
    await register(db.pool, server, 'bob');
    expect(await kidOf('bob')).toBe('default|default');
    expect(await verify(keys)).toMatchObject({ ok: true, rows: 2 });

    // Past the window the server has re-read the file: new rows are sealed under the new primary.
    at(300);
    await register(db.pool, server, 'carol');
    expect(await kidOf('carol')).toBe(`${primary}|${primary}`);

    // Once the window, its grace and the margin have passed: reencrypt picks up bob, retire goes ahead.
    at(10 + 660);
    expect(await reencrypt(keys)).toMatchObject({ ok: true, rewritten: 1 });
    expect(await retire(keys, 'default', new Date(clock))).toMatchObject({ ok: true, kids: [primary] });
    await register(db.pool, server, 'dave');
    expect(await verify(keys)).toMatchObject({ ok: true, rows: 4, byKid: { [primary]: 4 }, failureCount: 0 });
  });
});

describe('verify over rows naming made-up kids (issue 14, point 10)', () => {
  it('reads the secret twice in all (the command’s load and one reload), not once per kid', async () => {
    const kms = new FakeKms();
    const secret = new FakeSecret(JSON.stringify({ primary: 'k1', keys: { k1: newKey() } }));
    try {
      const db = await database();
      const store = secretsManagerRingStore({ secretArn: SECRET_ARN, secrets: new SecretsManagerClient({}), kms: new KMSClient({}) });
      const ring = await ringStoreSource(store).current();
      const place = { table: 'tb_exchange_api_keys', userNo: 1, exchangeId: 101, sealing: newSealing() } as const;
      const template = seal('x', ring, { ...place, field: 'public_key' });
      await db.pool.query(
        `WITH u AS (INSERT INTO tb_users (auth_subject) SELECT 'ghost-' || n FROM generate_series(1, 300) AS n RETURNING user_no)
         INSERT INTO tb_exchange_api_keys (user_no, exchange_id, public_key, private_key, is_active, sealing)
         SELECT user_no, 101, jsonb_set($1::jsonb, '{kid}', to_jsonb('pub-' || user_no)), jsonb_set($1::jsonb, '{kid}', to_jsonb('priv-' || user_no)), true, gen_random_uuid() FROM u`,
        [JSON.stringify(template)],
      );
      const before = secret.mock.commandCalls(GetSecretValueCommand).length;

      const report = await verify({ db: db.pool, keyRingSource: ringStoreSource(store) });
      expect(report).toMatchObject({ ok: false, rows: 300, failureCount: 600 });
      expect(report.failures.every((failure) => failure.reason === 'unknown_kid')).toBe(true);
      expect(secret.mock.commandCalls(GetSecretValueCommand).length - before).toBe(2);
    } finally {
      kms.mock.restore();
      secret.mock.restore();
    }
  });
});
