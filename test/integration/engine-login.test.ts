import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type pg from 'pg';
import { createEngineLogin, type EngineLogin } from '../../local/engine-login.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { testClient } from '../support/pg.js';

/**
 * `npm start` runs the engine's functions on a login of their own (local/engine-login.ts): a
 * throwaway member of vault_engine whose sessions act as that role, with its limits, and that is
 * gone once the server stops. The role's own password, which the migrate handler sets, is untouched.
 */
let db: TestDatabase;
let owner: pg.Client;
let login: EngineLogin;
let engine: pg.Client;

const engineVerifier = async (): Promise<string | null> =>
  (await owner.query<{ v: string | null }>(`SELECT rolpassword AS v FROM pg_authid WHERE rolname = 'vault_engine'`)).rows[0]!.v;

beforeAll(async () => {
  db = await createTestDatabase();
  owner = testClient({ connectionString: db.url });
  await owner.connect();
  const before = await engineVerifier();
  login = await createEngineLogin(owner, db.url);
  expect(await engineVerifier()).toBe(before);
  engine = testClient({ connectionString: login.url });
  await engine.connect();
});

afterAll(async () => {
  await login?.drop();
  await owner?.end();
  await db?.drop();
});

describe("npm start's engine login", () => {
  it('acts as vault_engine, with the limits migration 009 gives that role', async () => {
    const { rows } = await engine.query<{ current_user: string; idle: string }>(
      `SELECT current_user, current_setting('idle_in_transaction_session_timeout') AS idle`,
    );
    expect(rows).toEqual([{ current_user: 'vault_engine', idle: '30s' }]);
  });

  it("is refused what vault_engine may not do: another actor kind's event, a write of a key", async () => {
    const { rows } = await owner.query<{ user_no: number }>(`INSERT INTO tb_users (auth_subject) VALUES ('engine-login') RETURNING user_no`);
    await expect(
      engine.query(`INSERT INTO tb_exchange_api_key_events (user_no, exchange_id, event, actor_kind, actor_id) VALUES ($1, 101, 'deleted', 'user', 'x')`, [
        rows[0]!.user_no,
      ]),
    ).rejects.toMatchObject({ code: '42501' });
    await expect(engine.query('UPDATE tb_exchange_api_keys SET is_active = false')).rejects.toMatchObject({ code: '42501' });
  });

  it('is dropped when the server stops', async () => {
    const name = new URL(login.url).username;
    await engine.end();
    await login.drop();
    const { rows } = await owner.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [name]);
    expect(rows).toEqual([]);
  });
});
