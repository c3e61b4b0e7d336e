import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { ENGINE_ROLE, setLoginPassword } from '../shared/db/app-role.js';

/** A login for the engine's functions while `npm start` runs: DATABASE_URL's database as it, and its removal. */
export interface EngineLogin {
  readonly url: string;
  drop(): Promise<void>;
}

/**
 * A throwaway member of the engine's role that logs in as it: its `role` setting makes every
 * session's current user vault_engine, so the role's grants and row-level security apply, and it
 * carries the role's own limits (timeouts), as open-api-key's sessions through the proxy in AWS
 * do. Not the role itself: its password is cluster-wide, the migrate handler's to set, and another
 * `npm start` or a test on the same server would take it away. `owner` is the migrating client.
 */
export async function createEngineLogin(owner: pg.ClientBase, databaseUrl: string): Promise<EngineLogin> {
  const name = `${ENGINE_ROLE}_local_${randomBytes(4).toString('hex')}`;
  const password = randomBytes(24).toString('base64url');
  const login = pg.escapeIdentifier(name);
  await owner.query(`CREATE ROLE ${login} NOLOGIN IN ROLE ${pg.escapeIdentifier(ENGINE_ROLE)}`);
  const { rows } = await owner.query<{ setting: string }>(
    'SELECT unnest(setconfig) AS setting FROM pg_db_role_setting WHERE setrole = $1::regrole AND setdatabase = 0',
    [ENGINE_ROLE],
  );
  for (const { setting } of rows) {
    const [key = '', value = ''] = setting.split(/=(.*)/s);
    await owner.query(`ALTER ROLE ${login} SET ${pg.escapeIdentifier(key)} = ${pg.escapeLiteral(value)}`);
  }
  await owner.query(`ALTER ROLE ${login} SET role = ${pg.escapeLiteral(ENGINE_ROLE)}`);
  await setLoginPassword(owner, name, password);
  const url = new URL(databaseUrl);
  url.username = name;
  url.password = password;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: databaseUrl });
      client.on('error', () => undefined);
      await client.connect();
      try {
        await client.query(`DROP ROLE IF EXISTS ${login}`);
      } finally {
        await client.end();
      }
    },
  };
}
