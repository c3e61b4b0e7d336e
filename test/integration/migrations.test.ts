import { readFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from '@jest/globals';
import type pg from 'pg';
import { migrate } from '../../shared/db/migrate.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { allMigrations } from '../support/migrations.js';
import { testClient } from '../support/pg.js';

const silent = { info: () => undefined };
const databases: TestDatabase[] = [];

async function emptyDatabase(): Promise<TestDatabase> {
  const database = await createTestDatabase({ migrated: false });
  databases.push(database);
  return database;
}

async function migrateWith(url: string): Promise<string[]> {
  const client = testClient({ connectionString: url });
  await client.connect();
  try {
    return await migrate(client, silent);
  } finally {
    await client.end();
  }
}

/** Every row of every seed table, as text, in a stable order. */
async function snapshot(pool: pg.Pool): Promise<Record<string, unknown[]>> {
  const tables = { tb_users: 'user_no', tb_exchanges: 'exchange_id', tb_exchange_api_keys: 'key_no' };
  const result: Record<string, unknown[]> = {};
  for (const [table, key] of Object.entries(tables)) {
    result[table] = (await pool.query(`SELECT * FROM ${table} ORDER BY ${key}`)).rows;
  }
  return result;
}

afterEach(async () => {
  await Promise.all(databases.splice(0).map((database) => database.drop()));
});

describe('migrations', () => {
  it('create the seed schema with Coinone as 101 and the next exchange at 102', async () => {
    const db = await emptyDatabase();
    expect(await migrateWith(db.url)).toEqual(await allMigrations());
    expect((await db.pool.query('SELECT exchange_id, exchange_name, kind FROM tb_exchanges')).rows).toEqual([
      { exchange_id: 101, exchange_name: 'Coinone', kind: 'coinone' },
    ]);
    expect((await db.pool.query("SELECT nextval('exchange_no_seq') AS next")).rows[0].next).toBe('102');
    const constraints = await db.pool.query<{ conname: string }>(
      "SELECT conname FROM pg_constraint WHERE conrelid = 'tb_exchange_api_keys'::regclass AND contype = 'u'",
    );
    expect(constraints.rows.map((row) => row.conname)).toEqual(['uq_user_exchange']);
    const columns = await db.pool.query<{ table_name: string; column_name: string }>(
      `SELECT table_name, column_name FROM information_schema.columns
        WHERE column_name IN ('auth_subject', 'public_key_masked', 'private_key_masked') ORDER BY column_name`,
    );
    expect(columns.rows).toEqual([
      { table_name: 'tb_users', column_name: 'auth_subject' },
      { table_name: 'tb_exchange_api_keys', column_name: 'private_key_masked' },
      { table_name: 'tb_exchange_api_keys', column_name: 'public_key_masked' },
    ]);
  });

  it('are idempotent: a second run applies nothing and changes nothing', async () => {
    const db = await emptyDatabase();
    await migrateWith(db.url);
    const before = await snapshot(db.pool);
    expect(await migrateWith(db.url)).toEqual([]);
    expect(await snapshot(db.pool)).toEqual(before);
  });

  it('run once when two runners race: the advisory lock makes the second wait, then find nothing to do', async () => {
    const db = await emptyDatabase();
    const results = await Promise.all([migrateWith(db.url), migrateWith(db.url)]);
    expect(results.map((applied) => applied.length).sort()).toEqual([0, (await allMigrations()).length]);
  });

  it('adopt a database the seed wrote without losing or changing a row', async () => {
    const db = await emptyDatabase();
    await db.pool.query(await readFile(new URL('../fixtures/seed-database.sql', import.meta.url), 'utf8'));
    const before = await snapshot(db.pool);

    expect(await migrateWith(db.url)).toEqual(await allMigrations());

    const after = await snapshot(db.pool);
    const withoutAdditions = (rows: unknown[], added: string[]) =>
      rows.map((row) => Object.fromEntries(Object.entries(row as object).filter(([column]) => !added.includes(column))));
    expect(withoutAdditions(after.tb_users!, ['auth_subject'])).toEqual(before.tb_users);
    expect(withoutAdditions(after.tb_exchanges!, ['kind'])).toEqual(before.tb_exchanges);
    // Coinone (101) is known for what it is (migration 010); the seed's other exchanges are left to an admin.
    expect(after.tb_exchanges!.map((row) => (row as { kind: unknown }).kind)).toEqual(['coinone', null, null]);
    expect(
      withoutAdditions(after.tb_exchange_api_keys!, [
        'public_key_masked',
        'private_key_masked',
        'sealing',
        'key_version',
        'etag',
        'passphrase',
        'has_passphrase',
        'check_status',
        'checked_at',
        'check_permissions',
        'check_ip_restricted',
        'check_expires_at',
        'check_reason',
      ]),
    ).toEqual(before.tb_exchange_api_keys);
    expect(after.tb_exchange_api_keys!.every((row) => (row as { public_key_masked: unknown }).public_key_masked === null)).toBe(true);
    // Rows from before checks read as never checked (migration 013).
    expect(after.tb_exchange_api_keys!.map((row) => (row as { check_status: unknown; checked_at: unknown }).check_status)).toEqual(['unchecked', 'unchecked']);
    // Every seed envelope is bound to its row and column, once: running the binding again records nothing.
    expect((await db.pool.query('SELECT key_no, field FROM tb_v1_envelope_bindings ORDER BY 1, 2')).rows).toEqual([
      { key_no: 1, field: 'private_key' },
      { key_no: 1, field: 'public_key' },
      { key_no: 2, field: 'private_key' },
      { key_no: 2, field: 'public_key' },
    ]);
    expect((await db.pool.query('SELECT bind_v1_envelopes() AS recorded')).rows).toEqual([{ recorded: '0' }]);
    // The adopted sequence is not moved backwards: the next exchange follows Upbit (103).
    expect((await db.pool.query("SELECT nextval('exchange_no_seq') AS next")).rows[0].next).toBe('104');
  });
});
