import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import pg from 'pg';
import { APP_ROLE, setLoginPassword } from '../../shared/db/app-role.js';
import { scramSha256Verifier } from '../../shared/db/scram.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { captureOutput } from '../support/output-capture.js';

/**
 * The migration function as the Trigger runs it, against the real PostgreSQL, with Secrets Manager
 * faked: it migrates, then makes vault_app log in with its secret's password. The only test file
 * that sets vault_app's password (roles are cluster-wide).
 */
const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:vault-app-AbCdEf';
const secrets = mockClient(SecretsManagerClient);
const newPassword = (): string => randomBytes(21).toString('base64url');
const secretFor = (username: string, password: string) => ({ SecretString: JSON.stringify({ username, password, engine: 'postgres' }) });

let db: TestDatabase;
let admin: pg.Client;
let handler: () => Promise<{ applied: string[] }>;

async function loginAs(user: string, password: string): Promise<string> {
  const url = new URL(db.url);
  url.username = user;
  url.password = password;
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    return (await client.query<{ who: string }>('SELECT current_user AS who')).rows[0]!.who;
  } finally {
    await client.end();
  }
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
  admin = new pg.Client({ connectionString: process.env.VAULT_TEST_ADMIN_URL });
  await admin.connect();
  Object.assign(process.env, { DATABASE_URL: db.url, DB_APP_SECRET_ARN: SECRET_ARN, POWERTOOLS_LOG_LEVEL: 'DEBUG' });
  ({ handler } = await import('../../functions/migrate.js'));
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

  it('applies the migrations, then lets vault_app log in with the password in its secret, and never logs it', async () => {
    secrets.on(GetSecretValueCommand, { SecretId: SECRET_ARN }).resolves(secretFor(APP_ROLE, password));
    const { result, output } = await run();
    expect(result).toEqual({ applied: ['001_seed-schema.up', '002_vault-additions.up', '003_app-role.up', '004_key-events.up', '007_key-life.up'] });
    expect(await loginAs(APP_ROLE, password)).toBe(APP_ROLE);
    await expect(loginAs(APP_ROLE, `${password}x`)).rejects.toMatchObject({ code: '28P01' });
    expect(output).toContain('app role password set');
    expect(output).not.toContain(password);
  });

  it('stores a SCRAM-SHA-256 verifier, never the password', async () => {
    const { rows } = await admin.query<{ rolpassword: string; rolcanlogin: boolean }>('SELECT rolpassword, rolcanlogin FROM pg_authid WHERE rolname = $1', [APP_ROLE]);
    expect(rows[0]!.rolcanlogin).toBe(true);
    expect(rows[0]!.rolpassword).toMatch(/^SCRAM-SHA-256\$4096:/);
    expect(rows[0]!.rolpassword).not.toContain(password);
  });

  it('on a later deploy applies nothing and sets the same password again', async () => {
    secrets.on(GetSecretValueCommand, { SecretId: SECRET_ARN }).resolves(secretFor(APP_ROLE, password));
    expect((await run()).result).toEqual({ applied: [] });
    expect(await loginAs(APP_ROLE, password)).toBe(APP_ROLE);
  });

  it.each([
    ['a secret for another user', () => secrets.on(GetSecretValueCommand).resolves(secretFor('vault_admin', 'other-Password-123')), /not for user vault_app/],
    ['a secret that is not JSON', () => secrets.on(GetSecretValueCommand).resolves({ SecretString: 'other-Password-123' }), /not JSON/],
    ['Secrets Manager failing', () => secrets.on(GetSecretValueCommand).rejects(new Error('AccessDeniedException')), new RegExp(`GetSecretValue on ${SECRET_ARN} failed`)],
  ])('fails the deploy on %s, quoting no value, and leaves the password as it was', async (_, arrange, message) => {
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
