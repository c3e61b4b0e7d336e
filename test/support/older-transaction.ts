import type pg from 'pg';
import { testClient } from './pg.js';

/** How long each of the transactions lasts: longer than a feed read, far shorter than a test. */
const HOLD_MS = 2000;

export interface OlderTransaction {
  stop(): Promise<void>;
}

/**
 * Keeps a transaction with a transaction id open on the server for the whole run, one after
 * another, as a busy production database always has one. The engine's change feed shows an event
 * only once every older transaction has ended (docs/engine.md), so a test that reads the feed once
 * and expects its own change fails here every time, not only when another file happens to hold a
 * transaction (CI failed twice on such tests before this existed).
 */
export async function holdOlderTransactions(adminUrl: string): Promise<OlderTransaction> {
  const client: pg.Client = testClient({ connectionString: adminUrl, application_name: 'vault-test-older-transaction' });
  await client.connect();
  let stopped = false;
  const cycle = async (): Promise<void> => {
    while (!stopped) {
      await client.query('BEGIN');
      await client.query('SELECT pg_current_xact_id()');
      await new Promise((resolve) => setTimeout(resolve, HOLD_MS));
      await client.query('COMMIT');
    }
  };
  const running = cycle().catch(() => undefined);
  return {
    async stop() {
      stopped = true;
      await running;
      await client.end();
    },
  };
}
