import { type Handlers, importAllRouteHandlers } from '../../local/route-handlers.js';

export interface InProcessOptions {
  readonly url: string;
  readonly symmetricKey: string;
  /** The local fake exchange's base URL per kind: checks are on against it. */
  readonly exchangeApiUrls: Readonly<Record<string, string>>;
}

/**
 * The route handlers, imported in this process once the environment they read at their cold start
 * is set. Every part that calls handlers in process shares this one configuration (and so one
 * database): a module once imported keeps what it read. Checks are on against the fake exchange;
 * an exchange without a kind is never asked, so the warm routes, all at such exchanges, run as with checks off.
 */
export async function inProcessHandlers(options: InProcessOptions): Promise<Handlers> {
  Object.assign(process.env, {
    DATABASE_URL: options.url,
    SYMMETRIC_KEY: options.symmetricKey,
    // A Lambda container holds one connection (the handlers' default); the floor gets the same.
    DB_POOL_MAX: '1',
    // Embedded metrics are stdout lines for CloudWatch; thousands of them would only flood the console.
    POWERTOOLS_METRICS_DISABLED: 'true',
    // The success paths log nothing; WARN keeps the 409 path's INFO line out of the console.
    POWERTOOLS_LOG_LEVEL: 'WARN',
    EXCHANGE_CHECKS: 'on',
    EXCHANGE_API_URLS: JSON.stringify(options.exchangeApiUrls),
  });
  return importAllRouteHandlers();
}

/** Closes the handlers' pool, once no part calls them any more. */
export async function closeInProcessHandlers(): Promise<void> {
  const { db } = await import('../../shared/runtime/database.js');
  await db.end();
}
