import pg from 'pg';
import { UsageError } from './cli.js';

/** Where the URL points, without its password: enough to say which database could not be reached. */
const describeTarget = (url: string): string => {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || 5432}${parsed.pathname}`;
  } catch {
    throw new UsageError('DATABASE_URL is not a URL such as postgres://user:password@localhost:5432/vault');
  }
};

/**
 * A connected client for a local command, or an error of one line naming the database (never its
 * password) and why it could not be reached; `hint` says what to set.
 */
export async function connectedClient(connectionString: string, hint = ''): Promise<pg.Client> {
  const target = describeTarget(connectionString);
  const client = new pg.Client({ connectionString, connectionTimeoutMillis: 10_000 });
  try {
    await client.connect();
    return client;
  } catch (error) {
    // The server's own words name the problem (no such database, wrong password); a socket's code does.
    const reason = error instanceof pg.DatabaseError ? error.message : ((error as { code?: string }).code ?? String(error));
    throw new Error(`cannot connect to the database at ${target}: ${reason}${hint}`);
  }
}
