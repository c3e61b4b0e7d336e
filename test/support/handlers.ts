import { randomBytes } from 'node:crypto';
import { type Handlers, importAllRouteHandlers } from '../../local/route-handlers.js';
import type { ExchangeKind } from '../../shared/exchanges/kinds.js';
import type { RouteName } from '../../shared/routes.js';
import { exchangeList } from '../../shared/schemas/exchanges.js';
import { apiEvent, type EventOptions, lambdaContext, type Reply, reply } from './events.js';

export interface LoadedHandlers {
  readonly handlers: Handlers;
  /** Builds the event, invokes the handler the route table names for it, parses the reply. */
  call(route: RouteName, options: Omit<EventOptions, 'method' | 'path'>): Promise<Reply>;
}

export const testSymmetricKey = (): string => randomBytes(32).toString('base64');

/**
 * Loads every route's Lambda handler in-process, configured as in Lambda through the environment,
 * against the given database. Each jest test file has its own module registry, so its own pool.
 */
export async function loadHandlers(env: { DATABASE_URL: string; SYMMETRIC_KEY: string } & Record<string, string>): Promise<LoadedHandlers> {
  Object.assign(process.env, { POWERTOOLS_LOG_LEVEL: 'SILENT', DB_POOL_MAX: '10' }, env);
  const { routeNamed } = await import('../../shared/http/api-handler.js');
  const handlers = await importAllRouteHandlers();
  return {
    handlers,
    async call(name, options) {
      const route = routeNamed(name);
      return reply(await handlers[name](apiEvent({ method: route.method, path: route.path, ...options }), lambdaContext()));
    },
  };
}

export async function closeHandlerPool(): Promise<void> {
  const { db } = await import('../../shared/runtime/database.js');
  await db.end();
}

/** Creates an exchange through the create-exchange handler, as an admin: its id. */
export async function createExchangeNamed(api: LoadedHandlers, name: string, kind?: ExchangeKind): Promise<number> {
  const response = await api.call('create-exchange', { subject: 'root', admin: true, body: { exchange_name: name, ...(kind ? { kind } : {}) } });
  const row = exchangeList.parse(response.body).find((exchange) => exchange.exchange_name === name);
  if (!row) throw new Error(`${name} was not created`);
  return row.exchange_id;
}
