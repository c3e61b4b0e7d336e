/**
 * Issue 14, point 5: the seed's SYMMETRIC_KEY moved over unchanged is a 16-byte (or 24-byte) key.
 * It opens the seed's envelopes but must seal nothing: registering answers 503 saying what to do,
 * and everything that only reads keeps working.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { maskedApiKeyList } from '../../shared/schemas/api-keys.js';
import { errorBody } from '../../shared/schemas/errors.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { closeHandlerPool, type LoadedHandlers, loadHandlers } from '../support/handlers.js';
import { insertSeedRows, SEED_KEY } from '../unit/key-ring/maintenance-helpers.js';

let db: TestDatabase;
let api: LoadedHandlers;

beforeAll(async () => {
  db = await createTestDatabase();
  api = await loadHandlers({ DATABASE_URL: db.url, SYMMETRIC_KEY: SEED_KEY });
  const [keyNo] = (await insertSeedRows(db.pool, 1)).keys();
  await db.pool.query(`UPDATE tb_users SET auth_subject = 'seed-user' WHERE user_no = (SELECT user_no FROM tb_exchange_api_keys WHERE key_no = $1)`, [keyNo]);
});

afterAll(async () => {
  await closeHandlerPool();
  await db.drop();
});

describe('a bare 16-byte seed key as the ring', () => {
  it('register answers 503 with Retry-After, saying the ring needs a 32-byte primary and to run rotate; nothing is written', async () => {
    expect(Buffer.from(SEED_KEY, 'base64')).toHaveLength(16);
    const response = await api.call('register-api-key', {
      subject: 'new-user',
      body: { exchange_id: 101, public_key: 'PUBLICabcdefghijkl', private_key: 'PRIVATE-0123456789-abcdef' },
    });
    expect(response.status).toBe(503);
    expect(response.headers['retry-after']).toBe('5');
    expect(errorBody.parse(response.body).detail).toMatch(/needs a 32-byte primary key .*run `rotate`/);
    expect((await db.pool.query('SELECT 1 FROM tb_exchange_api_keys')).rowCount).toBe(1);
  });

  it("naming another user's user_no is still a 403: authorization never waits on the keys", async () => {
    const seedUserNo = (await db.pool.query<{ user_no: number }>("SELECT user_no FROM tb_users WHERE auth_subject = 'seed-user'")).rows[0]!.user_no;
    const response = await api.call('register-api-key', {
      subject: 'intruder',
      body: { exchange_id: 101, user_no: seedUserNo, public_key: 'PUBLICabcdefghijkl', private_key: 'PRIVATE-0123456789-abcdef' },
    });
    expect(response.status).toBe(403);
  });

  it('listing still works: the seed row is shown as pending its upgrade', async () => {
    const response = await api.call('list-api-keys', { subject: 'seed-user' });
    expect(response.status).toBe(200);
    expect(maskedApiKeyList.parse(response.body)).toEqual([expect.objectContaining({ exchange_id: 101, status: 'pending_upgrade' })]);
  });
});
