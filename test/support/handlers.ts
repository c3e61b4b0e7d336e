import { randomBytes } from 'node:crypto';
import type { Context } from 'aws-lambda';
import type { ApiEvent, ApiResult } from '../../shared/http/api-handler.js';
import type { RouteName } from '../../shared/routes.js';
import { apiEvent, lambdaContext, reply, type EventOptions, type Reply } from './events.js';

type Handler = (event: ApiEvent, context: Context) => Promise<ApiResult>;

export interface LoadedHandlers {
  readonly handlers: Record<RouteName, Handler>;
  /** Builds the event, invokes the handler the route table names for it, parses the reply. */
  call(route: RouteName, options: Omit<EventOptions, 'method' | 'path'>): Promise<Reply>;
}

export const testSymmetricKey = (): string => randomBytes(32).toString('base64');

/**
 * Loads the four Lambda handlers in-process, configured as in Lambda through the environment,
 * against the given database. Each jest test file has its own module registry, so its own pool.
 */
export async function loadHandlers(env: { DATABASE_URL: string; SYMMETRIC_KEY: string } & Record<string, string>): Promise<LoadedHandlers> {
  Object.assign(process.env, { POWERTOOLS_LOG_LEVEL: 'SILENT', DB_POOL_MAX: '10' }, env);
  const { routeNamed } = await import('../../shared/http/api-handler.js');
  const handlers: Record<RouteName, Handler> = {
    'list-exchanges': (await import('../../functions/list-exchanges.js')).handler,
    'create-exchange': (await import('../../functions/create-exchange.js')).handler,
    'register-api-key': (await import('../../functions/register-api-key.js')).handler,
    'list-api-keys': (await import('../../functions/list-api-keys.js')).handler,
  };
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
