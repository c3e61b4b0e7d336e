import { randomBytes } from 'node:crypto';
import { expect } from '@jest/globals';
import type pg from 'pg';
import { ENGINE_ROLE } from '../../shared/db/app-role.js';
import { userNoOf } from '../security/helpers.js';
import { createTestDatabase, type TestDatabase } from './database.js';
import { closeHandlerPool, type LoadedHandlers, loadHandlers } from './handlers.js';
import { testClient, testPool } from './pg.js';
import { createRoleMember } from './role-member.js';

/**
 * A test database for the engine's services: the route handlers (as its owners change their keys
 * over HTTP) and a pool logged in as a throwaway member of vault_engine, the role the engine's
 * functions run as.
 */
export interface EngineDatabase {
  readonly db: TestDatabase;
  readonly api: LoadedHandlers;
  readonly asEngine: pg.Pool;
  /** Registers a key at exchange 101 for `subject` through the handler; the subject's user_no. */
  register(subject: string): Promise<number>;
  end(): Promise<void>;
}

export async function createEngineDatabase(env: Record<string, string> = {}): Promise<EngineDatabase> {
  const db = await createTestDatabase();
  const api = await loadHandlers({ DATABASE_URL: db.url, SYMMETRIC_KEY: randomBytes(32).toString('base64'), ...env });
  const admin = testClient({ connectionString: process.env.VAULT_TEST_ADMIN_URL });
  await admin.connect();
  const member = await createRoleMember(admin, ENGINE_ROLE);
  const asEngine = testPool({ connectionString: member.urlFor(db.url), max: 2 });
  return {
    db,
    api,
    asEngine,
    async register(subject) {
      const reply = await api.call('register-api-key', {
        subject,
        body: { exchange_id: 101, public_key: `pub-${subject}-0123456789`, private_key: `priv-${subject}-abcdefghijklmnop` },
      });
      expect(reply.status).toBe(201);
      return userNoOf(db.pool, subject);
    },
    async end() {
      await asEngine.end();
      await member.drop();
      await admin.end();
      await closeHandlerPool();
      await db.drop();
    },
  };
}
