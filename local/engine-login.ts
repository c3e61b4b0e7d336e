import type pg from 'pg';
import { ENGINE_ROLE, setLoginPassword } from '../shared/db/app-role.js';
import { readEngineDbPassword } from './dev-keys.js';

/**
 * DATABASE_URL's database logged in as the engine's role, as open-api-key logs in through the
 * proxy in AWS: the role itself, so its own settings (statement and transaction timeouts) and
 * the row-level security that names it apply. `owner` (the migrating client) gives the role the
 * password kept in the data folder, as the migrate handler gives it its secret's after migrating.
 */
export async function engineDatabaseUrl(owner: pg.ClientBase, databaseUrl: string): Promise<string> {
  const password = await readEngineDbPassword();
  await setLoginPassword(owner, ENGINE_ROLE, password);
  const url = new URL(databaseUrl);
  url.username = ENGINE_ROLE;
  url.password = password;
  return url.toString();
}
