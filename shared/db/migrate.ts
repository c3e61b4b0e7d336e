import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { runner } from 'node-pg-migrate';
import pg from 'pg';

/** Beside this module in the source tree, and beside the bundle's entry file in a Lambda bundle. */
export const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));
const MIGRATIONS_TABLE = 'vault_migrations';

export interface MigrationLog {
  info(message: string): void;
}

/** Attempts at a migration that met another database's migration on the same server's roles. */
const ROLE_COLLISION_ATTEMPTS = 5;

/**
 * The roles are the server's, not a database's: two databases of one server migrated at once (the
 * test suite's, two local servers on one PostgreSQL) update the same role rows, and PostgreSQL
 * refuses the later update with "tuple concurrently updated" rather than waiting. The whole run is
 * one transaction, rolled back with it, so running it again is safe.
 */
const isRoleCollision = (error: unknown): boolean =>
  error instanceof pg.DatabaseError && error.code === 'XX000' && error.message === 'tuple concurrently updated';

/**
 * Applies every pending migration in one transaction under node-pg-migrate's advisory lock;
 * a second runner waits for the first instead of failing. Returns the names it applied.
 */
export async function migrate(client: pg.ClientBase, log: MigrationLog, dir: string = MIGRATIONS_DIR): Promise<string[]> {
  for (let attempt = 1; ; attempt += 1) {
    try {
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
    } catch (error) {
      if (!isRoleCollision(error) || attempt === ROLE_COLLISION_ATTEMPTS) throw error;
      log.info(`another database's migration updated the same role at once; migrating again (attempt ${attempt + 1})`);
      await sleep(100 * attempt);
    }
  }
}
