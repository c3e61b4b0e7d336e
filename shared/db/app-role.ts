import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import pg from 'pg';
import { describeAwsFailure } from '../aws-failure.js';
import { scramSha256Verifier } from './scram.js';

/**
 * The database role the API and key-maintenance functions connect as (created and
 * granted by migration 003; only the migration function keeps the master user). The SQL names it literally.
 */
export const APP_ROLE = 'vault_app';

/** The SELECT-only role the list and read routes connect as (created and granted by migration 005). */
export const READER_ROLE = 'vault_reader';

/** The engine's role: open-api-key connects as it; it reads keys and appends engine events only (migration 009). */
export const ENGINE_ROLE = 'vault_engine';

/**
 * The password in a generated database secret (`{"username", "password", ...}`), which must be the
 * given user's. Error messages never quote the secret: JSON.parse's own would.
 */
export function passwordFromSecret(text: string, user: string): string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error('the database secret is not JSON');
  }
  const { username, password } = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  if (username !== user) throw new Error(`the database secret is not for user ${user}`);
  if (typeof password !== 'string' || password === '') throw new Error('the database secret has no password');
  return password;
}

/**
 * Lets `role` log in with `password`. ALTER ROLE takes no bind parameters, so the statement
 * carries a SCRAM verifier computed here, never the password: the statement log and
 * pg_stat_activity cannot reveal it.
 */
export async function setLoginPassword(client: pg.ClientBase, role: string, password: string): Promise<void> {
  const verifier = scramSha256Verifier(password);
  await client.query(`ALTER ROLE ${pg.escapeIdentifier(role)} WITH LOGIN PASSWORD ${pg.escapeLiteral(verifier)}`);
}

/** Reads a login role's generated secret and makes the database accept its password for that role. */
export async function applyRoleSecret(client: pg.ClientBase, secrets: SecretsManagerClient, role: string, secretArn: string): Promise<void> {
  let text: string | undefined;
  try {
    text = (await secrets.send(new GetSecretValueCommand({ SecretId: secretArn }))).SecretString;
  } catch (error) {
    throw new Error(describeAwsFailure(`Secrets Manager GetSecretValue on ${secretArn}`, error));
  }
  if (text === undefined) throw new Error(`Secrets Manager secret ${secretArn} has no string value`);
  await setLoginPassword(client, role, passwordFromSecret(text, role));
}
