/**
 * Opens racing the owner's changes, against a real PostgreSQL: eight engines open one key as fast
 * as they can while it is replaced again and again and then deleted. No open may return a key that
 * had already been replaced or deleted when its read ran, nor half of one version and half of
 * another; every key returned has its `opened` event, and no `opened` event lacks its key.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { keyRingFromText } from '../../shared/crypto/key-ring.js';
import { type OpenApiKeyResult, openApiKeyResult } from '../../shared/schemas/open-api-key.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { engineContext, loadOpenHandler, type OpenHandler } from '../support/engine.js';
import { closeHandlerPool, loadHandlers, testSymmetricKey } from '../support/handlers.js';
import { sealedPair } from '../support/sealing.js';
import { userNoOf } from './helpers.js';

const ENGINES = 8;
const REPLACES = 15;
const symmetricKey = testSymmetricKey();

let db: TestDatabase;
let open: OpenHandler;
let userNo: number;

const keysOf = (version: number) => ({ public_key: `race-pub-v${version}`, private_key: `race-priv-v${version}-0123456789abcdef` });
const versionOf = (result: Extract<OpenApiKeyResult, { ok: true }>): number => {
  const pub = Number(/^race-pub-v(\d+)$/.exec(result.public_key)?.[1]);
  const priv = Number(/^race-priv-v(\d+)-/.exec(result.private_key)?.[1]);
  // Both fields come from one row version: never a public key of one replace with the private key of another.
  if (pub !== priv) throw new Error(`torn open: public v${pub}, private v${priv}`);
  return pub;
};
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  db = await createTestDatabase();
  const api = await loadHandlers({ DATABASE_URL: db.url, SYMMETRIC_KEY: symmetricKey });
  open = await loadOpenHandler();
  expect((await api.call('register-api-key', { subject: 'race-owner', body: { exchange_id: 101, ...keysOf(0) } })).status).toBe(201);
  userNo = await userNoOf(db.pool, 'race-owner');
});

afterAll(async () => {
  await closeHandlerPool();
  await db?.drop();
});

describe('opens racing replaces and a delete', () => {
  it('never return a key replaced or deleted before the open began, nor a torn one, and each key returned is in the history', async () => {
    const ring = await keyRingFromText(symmetricKey);
    const at = { table: 'tb_exchange_api_keys', userNo, exchangeId: 101 } as const;
    /** When each version's replace had committed (its statement returned), by version. */
    const committedAt: number[] = [0];
    let deletedAt = Number.POSITIVE_INFINITY;
    let owner = true;

    const opens: Array<{ startedAt: number; requestId: string; result: OpenApiKeyResult }> = [];
    /** The owner's pace is the engines' own: the next change waits for `count` more opens, however loaded the machine. */
    const afterOpens = async (count: number) => {
      const target = opens.length + count;
      while (opens.length < target) await pause(1);
    };
    const ownerChanges = async () => {
      for (let version = 1; version <= REPLACES; version += 1) {
        await afterOpens(ENGINES + Math.floor(Math.random() * ENGINES));
        const keys = keysOf(version);
        // A replace is one statement, as the owner's PUT is: both envelopes sealed afresh for the row's place.
        await db.pool.query(
          'UPDATE tb_exchange_api_keys SET public_key = $1, private_key = $2, sealing = $3, update_date = now() WHERE user_no = $4 AND exchange_id = 101',
          [...sealedPair(ring, at, keys), userNo],
        );
        committedAt[version] = performance.now();
      }
      await afterOpens(ENGINES);
      await db.pool.query('DELETE FROM tb_exchange_api_keys WHERE user_no = $1 AND exchange_id = 101', [userNo]);
      deletedAt = performance.now();
      // At most ENGINES opens were in flight at the delete: the rest of these began after it.
      await afterOpens(2 * ENGINES);
      owner = false;
    };

    const engine = async () => {
      while (owner) {
        const requestId = randomUUID();
        const startedAt = performance.now();
        const result = openApiKeyResult.parse(await open({ user_no: userNo, exchange_id: 101, purpose: 'race' }, engineContext(requestId)));
        opens.push({ startedAt, requestId, result });
      }
    };
    await Promise.all([ownerChanges(), ...Array.from({ length: ENGINES }, engine)]);

    const outcomes = new Set<string>();
    for (const { startedAt, result } of opens) {
      const newestBefore = committedAt.reduce((newest, at, version) => (at < startedAt ? version : newest), 0);
      if (startedAt > deletedAt) {
        expect(result).toMatchObject({ ok: false, error: 'not_found' });
      } else if (result.ok) {
        expect(versionOf(result)).toBeGreaterThanOrEqual(newestBefore);
      } else if (result.error === 'unavailable') {
        // Replaced again between its read and its event, three times over: no key, no event, retry.
        expect(result.detail).toMatch(/kept changing/);
      } else {
        expect(result.error).toBe('not_found'); // the delete committed while this open waited
      }
      outcomes.add(result.ok ? `v${versionOf(result)}` : result.error);
    }
    // The race really happened: opens saw several versions, and the deletion. (An open is two
    // statements, its read and its event, so about one per engine per replace.)
    expect(opens.length).toBeGreaterThan((ENGINES * REPLACES) / 2);
    expect(outcomes.size).toBeGreaterThan(3);
    expect(outcomes).toContain('not_found');

    const { rows } = await db.pool.query<{ request_id: string }>("SELECT request_id FROM tb_exchange_api_key_events WHERE user_no = $1 AND event = 'opened'", [
      userNo,
    ]);
    const returned = opens.filter(({ result }) => result.ok).map(({ requestId }) => requestId);
    expect(new Set(rows.map((row) => row.request_id))).toEqual(new Set(returned));
    expect(rows).toHaveLength(returned.length);
  });
});
