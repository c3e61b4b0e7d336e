/**
 * Registration on a database adopted from the seed, whose tb_users has NOT NULL columns of its
 * own (user_id, user_name, password): the vault cannot create users there, so a subject registers
 * only once the adoption runbook has linked it to a seed user (docs/key-management.md).
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { migrate } from '../../shared/db/migrate.js';
import { upsertUserNo } from '../../shared/db/users.js';
import { AppError, SubjectNotLinked } from '../../shared/errors.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { closeHandlerPool, type LoadedHandlers, loadHandlers, testSymmetricKey } from '../support/handlers.js';
import { testClient } from '../support/pg.js';

let db: TestDatabase;
let api: LoadedHandlers;

const aKey = (exchangeId: number) => ({ exchange_id: exchangeId, public_key: 'PUBLICabcdefghijkl', private_key: 'PRIVATE-0123456789-abcdefWXYZ' });

beforeAll(async () => {
  db = await createTestDatabase({ migrated: false });
  await db.pool.query(await readFile(new URL('../fixtures/seed-database.sql', import.meta.url), 'utf8'));
  const client = testClient({ connectionString: db.url });
  await client.connect();
  try {
    await migrate(client, { info: () => undefined });
  } finally {
    await client.end();
  }
  // The runbook's step 3: the seed's users kim (1) and lee (2) get the subjects their tokens carry.
  await db.pool.query(`UPDATE tb_users SET auth_subject = 'sub-kim' WHERE user_id = 'kim'`);
  await db.pool.query(`UPDATE tb_users SET auth_subject = 'sub-lee' WHERE user_id = 'lee'`);
  api = await loadHandlers({ DATABASE_URL: db.url, SYMMETRIC_KEY: testSymmetricKey() });
});

afterAll(async () => {
  await closeHandlerPool();
  await db.drop();
});

const keysOf = async (userNo: number): Promise<number[]> =>
  (await db.pool.query<{ exchange_id: number }>('SELECT exchange_id FROM tb_exchange_api_keys WHERE user_no = $1 ORDER BY exchange_id', [userNo])).rows.map(
    (row) => row.exchange_id,
  );

describe('registering on an adopted seed database', () => {
  it('succeeds for a linked subject that names no user_no', async () => {
    const response = await api.call('register-api-key', { subject: 'sub-kim', body: aKey(102) });
    expect(response).toMatchObject({ status: 201, body: { message: 'API key registered successfully.' } });
    expect(await keysOf(1)).toEqual([101, 102]);
  });

  it('succeeds for a linked subject that names its own user_no, in the body or the query', async () => {
    // Coinone (101, `coinone` since migration 010) takes only keys of its shape: UUIDs.
    const coinoneKey = { exchange_id: 101, public_key: '3f2a1c9e-5b7d-4e8a-9c6f-1a2b3c4d5e6f', private_key: '9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a' };
    expect((await api.call('register-api-key', { subject: 'sub-lee', body: { ...coinoneKey, user_no: 2 } })).status).toBe(201);
    expect((await api.call('register-api-key', { subject: 'sub-lee', body: aKey(103), query: { user_no: '2' } })).status).toBe(201);
    expect(await keysOf(2)).toEqual([101, 102, 103]);
  });

  it('refuses a subject no seed user is linked to with the clear 403, and creates no user', async () => {
    const response = await api.call('register-api-key', { subject: 'sub-stranger', body: aKey(101) });
    expect(response).toMatchObject({ status: 403, body: { detail: 'This sign-in is not linked to a user of this service yet.' } });
    expect((await db.pool.query('SELECT count(*)::int AS n FROM tb_users')).rows).toEqual([{ n: 2 }]);
  });

  it('the data layer says why in its own terms; the status is for the error responder to give', async () => {
    const refused = upsertUserNo(db.pool, 'sub-stranger');
    await expect(refused).rejects.toBeInstanceOf(SubjectNotLinked);
    await expect(refused).rejects.not.toBeInstanceOf(AppError);
  });

  it('refuses a linked subject naming another user_no with 403', async () => {
    expect((await api.call('register-api-key', { subject: 'sub-kim', body: { ...aKey(103), user_no: 2 } })).status).toBe(403);
    expect(await keysOf(1)).toEqual([101, 102]);
  });
});
