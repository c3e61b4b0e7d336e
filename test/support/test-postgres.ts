import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { migrate } from '../../shared/db/migrate.js';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../../local/embedded-postgres.js';
import { freePort } from '../../local/free-port.js';
import { databaseUrl, TEMPLATE_DATABASE } from './database.js';

declare global {
  var embeddedTestDatabase: EmbeddedDatabase | undefined;
}

/**
 * One real PostgreSQL for the whole run: TEST_DATABASE_URL when given, else an embedded one.
 * A migrated template database lets every test file clone a fresh database in milliseconds.
 */
export async function startTestPostgres(): Promise<void> {
  let adminUrl = process.env.TEST_DATABASE_URL;
  if (!adminUrl) {
    const dataDir = await mkdtemp(join(tmpdir(), 'vault-test-pg-'));
    globalThis.embeddedTestDatabase = await startEmbeddedPostgres({ dataDir, port: await freePort(), persistent: false });
    adminUrl = globalThis.embeddedTestDatabase.url;
  }
  process.env.VAULT_TEST_ADMIN_URL = adminUrl;

  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${TEMPLATE_DATABASE} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${TEMPLATE_DATABASE}`);
  } finally {
    await admin.end();
  }
  const template = new pg.Client({ connectionString: databaseUrl(TEMPLATE_DATABASE) });
  await template.connect();
  try {
    await migrate(template, { info: () => undefined });
  } finally {
    await template.end();
  }
}
