import { readdir } from 'node:fs/promises';
import { MIGRATIONS_DIR } from '../../shared/db/migrate.js';

/** Every migration the repo holds, by the name node-pg-migrate reports, in the order it applies them. */
export async function allMigrations(): Promise<string[]> {
  const files = (await readdir(MIGRATIONS_DIR)).filter((file) => file.endsWith('.up.sql'));
  return files.map((file) => file.replace(/\.sql$/, '')).sort();
}
