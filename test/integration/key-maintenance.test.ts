import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type pg from 'pg';
import { newSealing, openEnvelope, seal } from '../../shared/crypto/envelope.js';
import { DEFAULT_RING_FRESHNESS } from '../../shared/crypto/freshness.js';
import { ringDocument } from '../../shared/crypto/ring-document.js';
import { ringStoreSource } from '../../shared/crypto/ring-store.js';
import { createExchangeKindMemory } from '../../shared/db/exchanges.js';
import { createUserDirectory } from '../../shared/db/users.js';
import { NO_CHECKS } from '../../shared/exchanges/checker.js';
import { type MaintenanceDeps, reencrypt, retire, rotate, verify } from '../../shared/key-maintenance/commands.js';
import { maskPrivateKey, maskPublicKey } from '../../shared/masking.js';
import { registerApiKey } from '../../shared/services/api-keys.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { testPool } from '../support/pg.js';
import { newKey } from '../unit/crypto/helpers.js';
import {
  allRows,
  frozenSource,
  insertSeedRows,
  kidsOf,
  memoryRingStore,
  openRow,
  type Plaintexts,
  plaintextsFor,
  register,
  SEED_KEY,
} from '../unit/key-ring/maintenance-helpers.js';

const databases: TestDatabase[] = [];
const pools: pg.Pool[] = [];

afterAll(async () => {
  await Promise.all(pools.map((pool) => pool.end()));
  await Promise.all(databases.map((db) => db.drop()));
});

/** A database of its own for each scenario, and the key-maintenance deps over a memory ring. */
async function scenario(ringText: string): Promise<{ db: TestDatabase; deps: MaintenanceDeps; ringText(): string }> {
  const db = await createTestDatabase();
  databases.push(db);
  const ring = memoryRingStore(ringText);
  return {
    db,
    deps: { db: db.pool, store: ring.store, keyRingSource: ringStoreSource(ring.store), freshness: DEFAULT_RING_FRESHNESS, checker: NO_CHECKS },
    ringText: ring.text,
  };
}

/** A time by which the freshness window after every rotation so far has passed: retire may go ahead. */
const afterTheWindow = (): Date => new Date(Date.now() + 20 * 60_000);

const ringDoc = (text: string) => ringDocument.parse(JSON.parse(text));

describe('adopting a database written by the seed', () => {
  let s: Awaited<ReturnType<typeof scenario>>;
  let seedRows: Map<number, Plaintexts>;

  beforeAll(async () => {
    // The seed's SYMMETRIC_KEY, moved over unchanged: a bare 16-byte key.
    s = await scenario(SEED_KEY);
    seedRows = await insertSeedRows(s.db.pool, 12);
  });

  it('a bare 16-byte seed key reads but cannot seal: verify works, reencrypt refuses until rotate gives it a 256-bit primary', async () => {
    expect(await verify(s.deps)).toMatchObject({ ok: true, rows: 12, byKid: { '(v1)': 12 } });
    await expect(reencrypt(s.deps)).rejects.toMatchObject({ name: 'Unavailable', dependency: 'sealing-key' });
    await expect(reencrypt(s.deps)).rejects.toThrow(/needs a 32-byte primary key .*run `rotate`/);
    await expect(retire(s.deps, 'default')).resolves.toMatchObject({ ok: false, refused: expect.stringMatching(/primary/) });

    const report = await rotate(s.deps);
    expect(report).toMatchObject({ ok: true, previousPrimary: 'default', v1: 'default', kids: expect.arrayContaining(['default', report.primary]) });
    const doc = ringDoc(s.ringText());
    expect(doc).toEqual({
      primary: report.primary,
      v1: 'default',
      keys: { default: SEED_KEY, [report.primary]: expect.any(String) },
      rotated_at: expect.any(String),
    });
    expect(Buffer.from(doc.keys[report.primary] as string, 'base64')).toHaveLength(32);
    expect(JSON.stringify(report)).not.toContain(SEED_KEY);
  });

  it('verify reads every seed row and counts them as pending masks', async () => {
    const report = await verify(s.deps);
    expect(report).toMatchObject({ ok: true, rows: 12, byKid: { '(v1)': 12 }, withoutMasks: 12, failureCount: 0 });
  });

  it('retire refuses the seed key while version-1 rows need it, and says how many', async () => {
    const report = await retire(s.deps, 'default', afterTheWindow());
    expect(report).toMatchObject({ ok: false, rowsNeedingKey: 12, written: null });
    expect(report.refused).toMatch(/12 row\(s\) still need key default/);
    expect(ringDoc(s.ringText()).keys).toHaveProperty('default');
  });

  it('reencrypt turns every seed row into version 2 under the primary, with masks from the plaintext', async () => {
    const primary = ringDoc(s.ringText()).primary;
    const report = await reencrypt(s.deps, { batchSize: 5 });
    expect(report).toMatchObject({
      ok: true,
      complete: true,
      primary,
      before: { '(v1)': 12 },
      after: { [primary]: 12 },
      rewritten: 12,
      batches: 3,
      remaining: 0,
    });

    const ring = await s.deps.keyRingSource.current();
    for (const row of await allRows(s.db.pool)) {
      const expected = seedRows.get(row.key_no)!;
      expect(openRow(ring, row)).toEqual(expected);
      expect(row.public_key).toMatchObject({ version: 3, kid: primary });
      expect([row.public_key_masked, row.private_key_masked]).toEqual([maskPublicKey(expected.public_key), maskPrivateKey(expected.private_key)]);
    }
    expect(await verify(s.deps)).toMatchObject({ ok: true, withoutMasks: 0 });
  });

  it('a second run finds nothing to do', async () => {
    expect(await reencrypt(s.deps)).toMatchObject({ ok: true, rewritten: 0, batches: 0, passes: 1 });
  });

  it('retire then removes the seed key and its v1 role', async () => {
    const primary = ringDoc(s.ringText()).primary;
    expect(await retire(s.deps, 'default', afterTheWindow())).toMatchObject({ ok: true, rowsNeedingKey: 0, kids: [primary], written: 'memory' });
    expect(ringDoc(s.ringText())).toEqual({ primary, keys: { [primary]: expect.any(String) }, rotated_at: expect.any(String) });
    expect(await verify(s.deps)).toMatchObject({ ok: true, rows: 12 });
  });
});

describe('masks under an older rule', () => {
  it('are recomputed by the next reencrypt: a 12-character public key that showed 8 of its characters shows none', async () => {
    const s = await scenario(SEED_KEY);
    const seedRows = await insertSeedRows(s.db.pool, 4);
    await rotate(s.deps);
    await reencrypt(s.deps);
    const [keyNo] = [...seedRows.keys()];
    const plain = seedRows.get(keyNo!)!;
    // A row as an earlier release stored it: a short public key, masked under the old 12-character rule.
    const shortPublic = 'ABCD1234wxyz';
    const ring = await s.deps.keyRingSource.current();
    const { rows } = await s.db.pool.query<{ user_no: number; exchange_id: number }>(
      'SELECT user_no, exchange_id FROM tb_exchange_api_keys WHERE key_no = $1',
      [keyNo],
    );
    const place = { table: 'tb_exchange_api_keys', userNo: rows[0]!.user_no, exchangeId: rows[0]!.exchange_id, sealing: newSealing() } as const;
    await s.db.pool.query('UPDATE tb_exchange_api_keys SET public_key = $1, private_key = $2, public_key_masked = $3, sealing = $4 WHERE key_no = $5', [
      seal(shortPublic, ring, { ...place, field: 'public_key' }),
      seal(plain.private_key, ring, { ...place, field: 'private_key' }),
      'ABCD****wxyz',
      place.sealing,
      keyNo,
    ]);

    await rotate(s.deps);
    expect(await reencrypt(s.deps)).toMatchObject({ ok: true, complete: true });
    const { rows: after } = await s.db.pool.query('SELECT public_key_masked, private_key_masked FROM tb_exchange_api_keys WHERE key_no = $1', [keyNo]);
    expect(after).toEqual([{ public_key_masked: '********', private_key_masked: maskPrivateKey(plain.private_key) }]);
  });
});

describe('a key with a passphrase', () => {
  it('is re-sealed whole by reencrypt, the passphrase with the other halves in the new sealing, and verify opens all three', async () => {
    const s = await scenario(JSON.stringify({ primary: 'k1', keys: { k1: newKey() } }));
    const plain = { public_key: 'PASS-PUBLIC-0123456789', private_key: 'PASS-PRIVATE-0123456789', passphrase: 'a passphrase' };
    const deps = {
      db: s.db.pool,
      users: createUserDirectory(s.db.pool),
      kinds: createExchangeKindMemory(),
      keyRingSource: s.deps.keyRingSource,
      checker: NO_CHECKS,
    };
    await registerApiKey(deps, { subject: 'passphrase-owner', isAdmin: false }, { exchange_id: 101, ...plain });
    const before = (await s.db.pool.query('SELECT passphrase, sealing FROM tb_exchange_api_keys')).rows[0];

    await rotate(s.deps);
    expect(await reencrypt(s.deps)).toMatchObject({ ok: true, rewritten: 1, complete: true });
    const { rows } = await s.db.pool.query('SELECT user_no, passphrase, sealing FROM tb_exchange_api_keys');
    expect(rows[0].sealing).not.toBe(before.sealing);
    expect(rows[0].passphrase.kid).not.toBe(before.passphrase.kid);
    const ring = await s.deps.keyRingSource.current();
    const place = { table: 'tb_exchange_api_keys', userNo: rows[0].user_no, exchangeId: 101, sealing: rows[0].sealing, field: 'passphrase' } as const;
    expect(openEnvelope(rows[0].passphrase, ring, place)).toBe(plain.passphrase);
    expect(await verify(s.deps)).toMatchObject({ ok: true, failureCount: 0 });
  });
});

describe('verify and reencrypt on rows that do not open', () => {
  let s: Awaited<ReturnType<typeof scenario>>;
  const keyNo: Record<string, number> = {};

  beforeAll(async () => {
    s = await scenario(JSON.stringify({ primary: 'k1', keys: { k1: newKey() } }));
    for (const subject of ['ok1', 'tampered', 'donor', 'moved', 'ghost', 'malformed', 'ok2']) {
      await register(s.db.pool, s.deps.keyRingSource, subject);
    }
    for (const row of await allRows(s.db.pool)) keyNo[row.auth_subject!] = row.key_no;
    // One bit of the ciphertext flipped, still canonical base64.
    const { rows } = await s.db.pool.query<{ enc: string }>("SELECT private_key->>'enc' AS enc FROM tb_exchange_api_keys WHERE key_no = $1", [keyNo.tampered]);
    const enc = Buffer.from(rows[0]!.enc, 'base64');
    enc[0] = enc[0]! ^ 1;
    await s.db.pool.query(`UPDATE tb_exchange_api_keys SET private_key = jsonb_set(private_key, '{enc}', to_jsonb($1::text)) WHERE key_no = $2`, [
      enc.toString('base64'),
      keyNo.tampered,
    ]);
    // A ciphertext copied into another user's row: its associated data names the donor's row.
    await s.db.pool.query('UPDATE tb_exchange_api_keys SET public_key = (SELECT public_key FROM tb_exchange_api_keys WHERE key_no = $1) WHERE key_no = $2', [
      keyNo.donor,
      keyNo.moved,
    ]);
    await s.db.pool.query(
      `UPDATE tb_exchange_api_keys SET public_key = jsonb_set(public_key, '{kid}', '"ghost"'), private_key = jsonb_set(private_key, '{kid}', '"ghost"') WHERE key_no = $1`,
      [keyNo.ghost],
    );
    await s.db.pool.query(`UPDATE tb_exchange_api_keys SET private_key = private_key - 'tag' WHERE key_no = $1`, [keyNo.malformed]);
  });

  it('verify reports each unreadable field by key_no and why', async () => {
    const report = await verify(s.deps);
    expect(report.ok).toBe(false);
    expect(report.rows).toBe(7);
    expect(report.failureCount).toBe(5);
    expect(report.failures).toEqual([
      { key_no: keyNo.tampered, field: 'private_key', reason: 'unreadable' },
      { key_no: keyNo.moved, field: 'public_key', reason: 'unreadable' },
      { key_no: keyNo.ghost, field: 'public_key', reason: 'unknown_kid' },
      { key_no: keyNo.ghost, field: 'private_key', reason: 'unknown_kid' },
      { key_no: keyNo.malformed, field: 'private_key', reason: 'malformed' },
    ]);
    expect(report.byKid).toEqual({ k1: 6, ghost: 1 });
    // Reports carry identifiers and reasons, never a value.
    expect(JSON.stringify(report)).not.toMatch(/PUB-|PRIV-|"enc"|"nonce"/);
  });

  it('reencrypt rewrites the readable rows, leaves the unreadable ones as they are and reports them', async () => {
    const before = await allRows(s.db.pool);
    await rotate(s.deps);
    const primary = ringDoc(s.ringText()).primary;
    const report = await reencrypt(s.deps, { batchSize: 2, maxPasses: 2, passDelayMs: 1 });
    expect(report).toMatchObject({ ok: false, complete: true, rewritten: 3, remaining: 0, failureCount: 5 });
    expect(report.failures.map((failure) => failure.key_no)).toEqual([keyNo.tampered, keyNo.moved, keyNo.ghost, keyNo.ghost, keyNo.malformed]);
    expect(report.after).toEqual({ [primary]: 3, k1: 3, ghost: 1 });

    const after = await allRows(s.db.pool);
    const bad = new Set([keyNo.tampered, keyNo.moved, keyNo.ghost, keyNo.malformed]);
    for (const row of after) {
      const previous = before.find((candidate) => candidate.key_no === row.key_no)!;
      if (bad.has(row.key_no)) expect(row).toEqual(previous);
      else expect(openRow(await s.deps.keyRingSource.current(), row)).toEqual(plaintextsFor(row.auth_subject!));
    }
  });

  it('retire keeps a key that unreadable rows still name', async () => {
    expect(await retire(s.deps, 'k1', afterTheWindow())).toMatchObject({ ok: false, rowsNeedingKey: 3 });
  });
});

describe('reencrypt beside live registrations, killed midway and resumed', () => {
  it('loses no row, leaves none unreadable, and finishes on the second run', async () => {
    const s = await scenario(JSON.stringify({ primary: 'k1', v1: 'seed', keys: { seed: SEED_KEY, k1: newKey() } }));
    const { pool } = s.db;
    // Seed rows in the middle of the table, so the crash comes before the job reaches them.
    for (let i = 0; i < 45; i += 1) await register(pool, s.deps.keyRingSource, `before-${i}`);
    const seedRows = await insertSeedRows(pool, 30);
    for (let i = 45; i < 90; i += 1) await register(pool, s.deps.keyRingSource, `before-${i}`);
    const oldRing = await s.deps.keyRingSource.current();

    await rotate(s.deps);
    const primary = ringDoc(s.ringText()).primary;
    const newRing = await s.deps.keyRingSource.reload();

    // Live writers: containers that already loaded the new ring, and warm ones still on the old primary.
    const registered: string[] = [];
    const writer = (name: string, ring: typeof oldRing) => {
      const state = { stop: false, done: Promise.resolve() };
      state.done = (async () => {
        for (let i = 0; !state.stop; i += 1) {
          const subject = `${name}-${i}`;
          await register(pool, frozenSource(ring), subject);
          registered.push(subject);
        }
      })();
      return state;
    };
    const fresh = writer('fresh', newRing);
    const stale = writer('stale', oldRing);

    // The job runs on its own connection, which the test kills while batch 4 holds its rows.
    const jobName = `vault-key-maintenance-${Date.now()}`;
    const jobPool = testPool({ connectionString: s.db.url, max: 1, application_name: jobName });
    pools.push(jobPool);
    const killed = reencrypt(
      { ...s.deps, db: jobPool },
      {
        batchSize: 10,
        onProgress: async (progress) => {
          if (progress.type === 'batch-locked' && progress.batch === 4) {
            await pool.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [jobName]);
          }
        },
      },
    );
    await expect(killed).rejects.toMatchObject({ name: 'Unavailable', dependency: 'database' });

    // Between the crash and the resume: the three committed batches stand, the fourth rolled back whole,
    // and every row still opens (old rows under the old keys, which the ring keeps).
    const midway = await verify(s.deps);
    expect(midway.ok).toBe(true);
    expect(midway.byKid[primary]).toBeGreaterThanOrEqual(30);
    expect(midway.byKid['(v1)']).toBe(30);
    expect(midway.byKid.k1).toBeGreaterThanOrEqual(90 - 30);

    // The warm containers recycle; new writes go on under the new primary while the job resumes.
    stale.stop = true;
    await stale.done;
    const resumed = await reencrypt(s.deps, { batchSize: 10, passDelayMs: 20 });
    fresh.stop = true;
    await fresh.done;

    expect(resumed).toMatchObject({ ok: true, complete: true, remaining: 0, failureCount: 0 });
    expect(resumed.before).toMatchObject({ '(v1)': 30, k1: expect.any(Number) });
    expect(Object.keys(resumed.after)).toEqual([primary]);

    // No row lost: the seed rows, the rows from before, and every registration that succeeded.
    const rows = await allRows(pool);
    expect(rows).toHaveLength(30 + 90 + registered.length);
    expect(registered.filter((subject) => subject.startsWith('stale')).length).toBeGreaterThan(0);
    const ring = await s.deps.keyRingSource.current();
    for (const row of rows) {
      expect(kidsOf(row)).toBe(`${primary}|${primary}`);
      expect(openRow(ring, row)).toEqual(row.auth_subject === null ? seedRows.get(row.key_no) : plaintextsFor(row.auth_subject));
      expect(row.public_key_masked).not.toBeNull();
    }
    expect(await verify(s.deps)).toMatchObject({ ok: true, rows: rows.length, byKid: { [primary]: rows.length }, withoutMasks: 0 });
    expect(await retire(s.deps, 'k1', afterTheWindow())).toMatchObject({ ok: true });
    expect(await retire(s.deps, 'seed', afterTheWindow())).toMatchObject({ ok: true });
    expect(ringDoc(s.ringText())).toEqual({ primary, keys: { [primary]: expect.any(String) }, rotated_at: expect.any(String) });
  });
});

describe('rows held by live transactions', () => {
  let s: Awaited<ReturnType<typeof scenario>>;
  let holder: pg.PoolClient;
  let held: number;

  beforeAll(async () => {
    s = await scenario(JSON.stringify({ primary: 'k1', keys: { k1: newKey() } }));
    for (let i = 0; i < 6; i += 1) await register(s.db.pool, s.deps.keyRingSource, `held-${i}`);
    await rotate(s.deps);
    held = (await allRows(s.db.pool))[2]!.key_no;
  });

  const hold = async () => {
    holder = await s.db.pool.connect();
    await holder.query('BEGIN');
    await holder.query('SELECT 1 FROM tb_exchange_api_keys WHERE key_no = $1 FOR UPDATE', [held]);
  };
  const release = async () => {
    await holder.query('COMMIT');
    holder.release();
  };

  it('are skipped, not waited for, and reported as remaining; the next run picks them up', async () => {
    await hold();
    const first = await reencrypt(s.deps, { batchSize: 2, maxPasses: 2, passDelayMs: 1 });
    expect(first).toMatchObject({ ok: false, complete: false, rewritten: 5, remaining: 1, passes: 2 });
    await release();
    expect(await reencrypt(s.deps)).toMatchObject({ ok: true, complete: true, rewritten: 1 });
  });

  it('are come back to on a later pass of the same run once released', async () => {
    await rotate(s.deps);
    await hold();
    const report = await reencrypt(s.deps, {
      batchSize: 4,
      passDelayMs: 1,
      onProgress: async (progress) => {
        if (progress.type === 'pass-done' && progress.pass === 1) {
          expect(progress.remaining).toBe(1);
          await release();
        }
      },
    });
    expect(report).toMatchObject({ ok: true, complete: true, rewritten: 6, passes: 2, remaining: 0 });
  });

  it('a stop request between batches ends the run cleanly; the next run resumes', async () => {
    await rotate(s.deps);
    let batches = 0;
    const stopped = await reencrypt(s.deps, {
      batchSize: 2,
      shouldStop: () => batches >= 1,
      onProgress: (progress) => {
        if (progress.type === 'batch-committed') batches += 1;
      },
    });
    expect(stopped).toMatchObject({ ok: false, complete: false, stoppedEarly: true, rewritten: 2, remaining: 4 });
    expect(await reencrypt(s.deps)).toMatchObject({ ok: true, complete: true, rewritten: 4 });
  });
});

describe('retire', () => {
  it('refuses the primary and kids the ring does not hold, and writes nothing', async () => {
    const s = await scenario(JSON.stringify({ primary: 'k1', keys: { k1: newKey(), k0: newKey() } }));
    const text = s.ringText();
    expect(await retire(s.deps, 'k1')).toMatchObject({ ok: false, refused: expect.stringMatching(/primary/) });
    expect(await retire(s.deps, 'nope')).toMatchObject({ ok: false, refused: 'the ring has no key nope' });
    expect(s.ringText()).toBe(text);
    expect(await retire(s.deps, 'k0')).toMatchObject({ ok: true, kids: ['k1'] });
  });

  it.each(['constructor', '__proto__', 'hasOwnProperty', 'toString', 'valueOf'])(
    'refuses %s, which only Object.prototype has, and writes nothing',
    async (kid) => {
      const s = await scenario(JSON.stringify({ primary: 'k1', keys: { k1: newKey(), k0: newKey() } }));
      const text = s.ringText();
      expect(await retire(s.deps, kid)).toMatchObject({ ok: false, refused: `the ring has no key ${kid}`, written: null });
      expect(s.ringText()).toBe(text);
    },
  );
});

describe('kids in reports', () => {
  it('names a kid only if it fits the kid pattern; any other is (malformed), never repeated', async () => {
    const s = await scenario(JSON.stringify({ primary: 'k1', keys: { k1: newKey() } }));
    for (const subject of ['fits', 'spaced', 'long']) await register(s.db.pool, s.deps.keyRingSource, subject);
    const keyNo = new Map((await allRows(s.db.pool)).map((row) => [row.auth_subject, row.key_no]));
    const set = (kid: string, subject: string) =>
      s.db.pool.query(
        `UPDATE tb_exchange_api_keys SET public_key = jsonb_set(public_key, '{kid}', to_jsonb($1::text)), private_key = jsonb_set(private_key, '{kid}', to_jsonb($1::text)) WHERE key_no = $2`,
        [kid, keyNo.get(subject)],
      );
    await set('k 1', 'spaced');
    await set('k'.repeat(65), 'long');
    expect((await verify(s.deps)).byKid).toEqual({ k1: 1, '(malformed)': 2 });
  });
});
