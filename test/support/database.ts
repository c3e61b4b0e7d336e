import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { testClient, testPool } from './pg.js';

export const TEMPLATE_DATABASE = 'vault_test_template';

export interface TestDatabase {
  readonly url: string;
  readonly pool: pg.Pool;
  drop(): Promise<void>;
}

function adminUrl(): string {
  const url = process.env.VAULT_TEST_ADMIN_URL;
  if (!url) throw new Error('VAULT_TEST_ADMIN_URL is unset: run the tests through jest, whose global setup starts PostgreSQL');
  return url;
}

export function databaseUrl(database: string): string {
  const parsed = new URL(adminUrl());
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = testClient({ connectionString: adminUrl() });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** A database of its own for one test file, cloned from the migrated template (or empty). */
export async function createTestDatabase(options: { migrated: boolean } = { migrated: true }): Promise<TestDatabase> {
  const name = `vault_test_${randomBytes(6).toString('hex')}`;
  await admin((client) => client.query(options.migrated ? `CREATE DATABASE ${name} TEMPLATE ${TEMPLATE_DATABASE}` : `CREATE DATABASE ${name}`));
  const url = databaseUrl(name);
  const pool = testPool({ connectionString: url, max: 10 });
  return {
    url,
    pool,
    drop: async () => {
      await pool.end();
      await admin((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}
