import { fileURLToPath } from 'node:url';
import { runner } from 'node-pg-migrate';
import type pg from 'pg';

/** Beside this module in the source tree, and beside the bundle's entry file in a Lambda bundle. */
export const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));
const MIGRATIONS_TABLE = 'vault_migrations';

export interface MigrationLog {
  info(message: string): void;
}

/**
 * Applies every pending migration in one transaction under node-pg-migrate's advisory lock;
 * a second runner waits for the first instead of failing. Returns the names it applied.
 */
export async function migrate(client: pg.ClientBase, log: MigrationLog, dir: string = MIGRATIONS_DIR): Promise<string[]> {
  const applied = await runner({
    dbClient: client,
    dir,
    migrationsTable: MIGRATIONS_TABLE,
    direction: 'up',
    singleTransaction: true,
    advisoryLockMode: 'wait',
    checkOrder: true,
    log: (message: string) => log.info(message),
  });
  return applied.map((migration) => migration.name);
}
