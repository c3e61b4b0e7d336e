import { randomBytes } from 'node:crypto';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import pg from 'pg';
import { APP_ROLE, ENGINE_ROLE, READER_ROLE, setLoginPassword } from '../../shared/db/app-role.js';
import { scramSha256Verifier } from '../../shared/db/scram.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { allMigrations } from '../support/migrations.js';
import { captureOutput } from '../support/output-capture.js';
import { testClient } from '../support/pg.js';

/**
 * The migration function as the Trigger runs it, against the real PostgreSQL, with Secrets Manager
 * faked: it migrates, then makes vault_app and vault_reader log in with their secrets' passwords.
 * The only test file that sets their passwords (roles are cluster-wide).
 */
const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:vault-app-AbCdEf';
const READER_SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:vault-reader-GhIjKl';
const ENGINE_SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:vault-engine-AbCdEf';
const secrets = mockClient(SecretsManagerClient);
const newPassword = (): string => randomBytes(21).toString('base64url');
const secretFor = (username: string, password: string) => ({ SecretString: JSON.stringify({ username, password, engine: 'postgres' }) });

let db: TestDatabase;
let admin: pg.Client;
let migrateHandler: (event: unknown, context: { getRemainingTimeInMillis(): number }) => Promise<{ applied: string[] }>;
/** As the Trigger invokes it: a fresh five-minute budget. */
const handler = () => migrateHandler({}, { getRemainingTimeInMillis: () => 300_000 });

async function loginAs(user: string, password: string): Promise<string> {
  const url = new URL(db.url);
  url.username = user;
  url.password = password;
  const client = testClient({ connectionString: url.toString() });
  await client.connect();
  try {
    return (await client.query<{ who: string }>('SELECT current_user AS who')).rows[0]!.who;
  } finally {
    await client.end();
  }
}

/** Whether the role's stored SCRAM verifier is the one for `password`: holds on any server, trust auth included. */
async function storedVerifierIsFor(role: string, password: string): Promise<boolean> {
  const stored = (await admin.query<{ v: string }>('SELECT rolpassword AS v FROM pg_authid WHERE rolname = $1', [role])).rows[0]!.v;
  const [, iterations, salt] = /^SCRAM-SHA-256\$(\d+):([^$]+)\$/.exec(stored) ?? [];
  return salt !== undefined && scramSha256Verifier(password, { salt: Buffer.from(salt, 'base64'), iterations: Number(iterations) }) === stored;
}

/**
 * A server whose pg_hba.conf trusts local connections (a common container setup, which docs/design.md, Running it,
 * allows for TEST_DATABASE_URL) lets any password in; only a server that checks them can refuse one.
 */
async function serverChecksPasswords(): Promise<boolean> {
  const { rows } = await admin.query<{ trusted: boolean }>(
    "SELECT EXISTS (SELECT 1 FROM pg_hba_file_rules WHERE auth_method = 'trust' AND error IS NULL) AS trusted",
  );
  return !rows[0]!.trusted;
}

async function run(): Promise<{ result: { applied: string[] }; output: string }> {
  const capture = captureOutput();
  try {
    return { result: await handler(), output: capture.text() };
  } finally {
    capture.restore();
  }
}

beforeAll(async () => {
  db = await createTestDatabase({ migrated: false });
  admin = testClient({ connectionString: process.env.VAULT_TEST_ADMIN_URL });
  await admin.connect();
  Object.assign(process.env, {
    DATABASE_URL: db.url,
    DB_APP_SECRET_ARN: SECRET_ARN,
    DB_READER_SECRET_ARN: READER_SECRET_ARN,
    DB_ENGINE_SECRET_ARN: ENGINE_SECRET_ARN,
    POWERTOOLS_LOG_LEVEL: 'DEBUG',
  });
  ({ handler: migrateHandler } = await import('../../functions/migrate.js'));
});

beforeEach(() => {
  secrets.reset();
});

afterAll(async () => {
  // Dropping the database (WITH FORCE) also closes the handler's pooled connection, which the pool logs.
  const { logger } = await import('../../shared/logger.js');
  logger.setLogLevel('SILENT');
  await db.drop();
  await admin.end();
  secrets.restore();
});

describe('the migration function', () => {
  const password = newPassword();
  const readerPassword = newPassword();
  const enginePassword = newPassword();
  const bothSecrets = (): void => {
    secrets.on(GetSecretValueCommand, { SecretId: SECRET_ARN }).resolves(secretFor(APP_ROLE, password));
    secrets.on(GetSecretValueCommand, { SecretId: READER_SECRET_ARN }).resolves(secretFor(READER_ROLE, readerPassword));
    secrets.on(GetSecretValueCommand, { SecretId: ENGINE_SECRET_ARN }).resolves(secretFor(ENGINE_ROLE, enginePassword));
  };

  it('applies the migrations, then lets vault_app, vault_reader and vault_engine log in with the passwords in their secrets, and never logs them', async () => {
    bothSecrets();
    const { result, output } = await run();
    expect(result).toEqual({
      applied: await allMigrations(),
    });
    expect(await loginAs(APP_ROLE, password)).toBe(APP_ROLE);
    expect(await loginAs(READER_ROLE, readerPassword)).toBe(READER_ROLE);
    expect(await loginAs(ENGINE_ROLE, enginePassword)).toBe(ENGINE_ROLE);
    expect(await storedVerifierIsFor(APP_ROLE, password)).toBe(true);
    expect(await storedVerifierIsFor(APP_ROLE, `${password}x`)).toBe(false);
    expect(await storedVerifierIsFor(READER_ROLE, readerPassword)).toBe(true);
    expect(await storedVerifierIsFor(READER_ROLE, password)).toBe(false);
    if (await serverChecksPasswords()) {
      await expect(loginAs(APP_ROLE, `${password}x`)).rejects.toMatchObject({ code: '28P01' });
      await expect(loginAs(READER_ROLE, password)).rejects.toMatchObject({ code: '28P01' });
    }
    expect(output).toContain('"role":"vault_app"');
    expect(output).toContain('"role":"vault_reader"');
    expect(output).not.toContain(password);
    expect(output).not.toContain(readerPassword);
  });

  it('stores a SCRAM-SHA-256 verifier, never the password', async () => {
    const { rows } = await admin.query<{ rolpassword: string; rolcanlogin: boolean }>(
      'SELECT rolpassword, rolcanlogin FROM pg_authid WHERE rolname = ANY($1) ORDER BY rolname',
      [[APP_ROLE, READER_ROLE]],
    );
    expect(rows).toHaveLength(2);
    for (const row of rows) {
      expect(row.rolcanlogin).toBe(true);
      expect(row.rolpassword).toMatch(/^SCRAM-SHA-256\$4096:/);
      expect(row.rolpassword).not.toContain(password);
      expect(row.rolpassword).not.toContain(readerPassword);
    }
  });

  it('on a later deploy applies nothing and sets the same passwords again', async () => {
    bothSecrets();
    expect((await run()).result).toEqual({ applied: [] });
    expect(await loginAs(APP_ROLE, password)).toBe(APP_ROLE);
    expect(await loginAs(READER_ROLE, readerPassword)).toBe(READER_ROLE);
  });

  it.each([
    ['a secret for another user', () => secrets.on(GetSecretValueCommand).resolves(secretFor('vault_admin', 'other-Password-123')), /not for user vault_app/],
    ['a secret that is not JSON', () => secrets.on(GetSecretValueCommand).resolves({ SecretString: 'other-Password-123' }), /not JSON/],
    [
      'Secrets Manager failing',
      () => secrets.on(GetSecretValueCommand).rejects(new Error('AccessDeniedException')),
      new RegExp(`GetSecretValue on ${SECRET_ARN} failed`),
    ],
    [
      "the reader's secret holding another user's credentials",
      () => {
        secrets.on(GetSecretValueCommand, { SecretId: SECRET_ARN }).resolves(secretFor(APP_ROLE, password));
        secrets.on(GetSecretValueCommand, { SecretId: READER_SECRET_ARN }).resolves(secretFor(APP_ROLE, 'other-Password-123'));
      },
      /not for user vault_reader/,
    ],
  ])('fails the deploy on %s, quoting no value, and leaves the passwords as they were', async (_, arrange, message) => {
    arrange();
    const capture = captureOutput();
    let error: unknown;
    try {
      await handler();
    } catch (caught) {
      error = caught;
    } finally {
      capture.restore();
    }
    expect((error as Error).message).toMatch(message);
    expect(`${(error as Error).message}\n${capture.text()}`).not.toContain('other-Password-123');
    expect(await loginAs(APP_ROLE, password)).toBe(APP_ROLE);
    expect(await loginAs(READER_ROLE, readerPassword)).toBe(READER_ROLE);
  });
});

describe('setLoginPassword', () => {
  it('sends PostgreSQL the verifier it would compute itself for that salt, and not the password', async () => {
    const role = `vault_scram_${randomBytes(4).toString('hex')}`;
    const secret = newPassword();
    try {
      // PostgreSQL's own verifier, hashed server-side with a random salt.
      await admin.query("SET password_encryption = 'scram-sha-256'");
      await admin.query(`CREATE ROLE ${pg.escapeIdentifier(role)} LOGIN PASSWORD ${pg.escapeLiteral(secret)}`);
      const theirs = (await admin.query<{ v: string }>('SELECT rolpassword AS v FROM pg_authid WHERE rolname = $1', [role])).rows[0]!.v;
      const [, iterations, salt] = /^SCRAM-SHA-256\$(\d+):([^$]+)\$/.exec(theirs)!;
      expect(scramSha256Verifier(secret, { salt: Buffer.from(salt!, 'base64'), iterations: Number(iterations) })).toBe(theirs);

      const sent = jest.spyOn(admin, 'query');
      await setLoginPassword(admin, role, secret);
      const statement = String(sent.mock.calls[0]![0]);
      sent.mockRestore();
      expect(statement).toMatch(new RegExp(`^ALTER ROLE "${role}" WITH LOGIN PASSWORD 'SCRAM-SHA-256\\$4096:[^']+'$`));
      expect(statement).not.toContain(secret);
      const ours = (await admin.query<{ v: string }>('SELECT rolpassword AS v FROM pg_authid WHERE rolname = $1', [role])).rows[0]!.v;
      expect(statement).toContain(ours);
      expect(await loginAs(role, secret)).toBe(role);
    } finally {
      await admin.query(`DROP ROLE IF EXISTS ${pg.escapeIdentifier(role)}`);
    }
  });
});
