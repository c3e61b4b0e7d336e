import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { type EmbeddedDatabase, startEmbeddedPostgres } from '../../local/embedded-postgres.js';
import { freePort } from '../../local/free-port.js';
import { migrate } from '../../shared/db/migrate.js';
import { databaseUrl, TEMPLATE_DATABASE } from './database.js';
import { holdOlderTransactions, type OlderTransaction } from './older-transaction.js';
import { testClient } from './pg.js';

declare global {
  var embeddedTestDatabase: EmbeddedDatabase | undefined;
  /** The service's roles (vault_*) that existed before the run: on a server of the user's own, only the others are ours to drop. */
  var vaultRolesBeforeTests: string[] | undefined;
  var olderTransaction: OlderTransaction | undefined;
}

const VAULT_ROLES = "SELECT rolname FROM pg_roles WHERE rolname LIKE 'vault\\_%' ORDER BY 1";

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

  const admin = testClient({ connectionString: adminUrl });
  await admin.connect();
  try {
    globalThis.vaultRolesBeforeTests = (await admin.query<{ rolname: string }>(VAULT_ROLES)).rows.map((row) => row.rolname);
    await admin.query(`DROP DATABASE IF EXISTS ${TEMPLATE_DATABASE} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${TEMPLATE_DATABASE}`);
  } finally {
    await admin.end();
  }
  const template = testClient({ connectionString: databaseUrl(TEMPLATE_DATABASE) });
  await template.connect();
  try {
    await migrate(template, { info: () => undefined });
    // The suite's keys at exchange 101 are free-form text, written before exchanges had kinds and
    // testing everything but shapes; Coinone's keys are UUIDs. So the template's 101 has no kind, as
    // an exchange adopted from the seed would. The tests of kinds and shapes create exchanges of
    // their own kinds; migrations.test.ts and the e2e tests see 101 as `coinone`, as migrated.
    await template.query('UPDATE tb_exchanges SET kind = NULL WHERE exchange_id = 101');
  } finally {
    await template.end();
  }
  globalThis.olderTransaction = await holdOlderTransactions(adminUrl);
}

/**
 * Leaves the server as the run found it: the embedded one is removed whole; on TEST_DATABASE_URL's
 * server the template database goes, and so do the roles the migrations created (roles are
 * cluster-wide, so one that was there before the run is someone else's and stays).
 */
export async function stopTestPostgres(): Promise<void> {
  await globalThis.olderTransaction?.stop();
  if (globalThis.embeddedTestDatabase) return globalThis.embeddedTestDatabase.stop();
  const admin = testClient({ connectionString: process.env.VAULT_TEST_ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${TEMPLATE_DATABASE} WITH (FORCE)`);
    const before = new Set(globalThis.vaultRolesBeforeTests ?? []);
    for (const { rolname } of (await admin.query<{ rolname: string }>(VAULT_ROLES)).rows) {
      if (!before.has(rolname)) await admin.query(`DROP ROLE ${pg.escapeIdentifier(rolname)}`);
    }
  } finally {
    await admin.end();
  }
}
