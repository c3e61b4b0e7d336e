import type { Context } from 'aws-lambda';
import type { ApiEvent, ApiResult } from '../shared/http/api-handler.js';
import { type RouteName, type RouteSpec, routes } from '../shared/routes.js';

export type LambdaHandler = (event: ApiEvent, context: Context) => Promise<ApiResult>;
export type Handlers = Readonly<Record<RouteName, LambdaHandler>>;

/**
 * Every route's Lambda handler, imported from `functions/<name>.ts` as the route table names it,
 * so no caller keeps a list of its own. `only` imports a subset (a test that loads handlers under
 * different settings); importing is what runs a handler's cold start, so call it once the
 * environment is set.
 */
export async function importRouteHandlers(only: (route: RouteSpec) => boolean = () => true): Promise<Partial<Record<RouteName, LambdaHandler>>> {
  const handlers: Partial<Record<RouteName, LambdaHandler>> = {};
  // One at a time: jest's ESM loader fails modules that two concurrent imports share.
  for (const route of routes.filter((candidate: RouteSpec) => only(candidate))) {
    handlers[route.name] = ((await import(`../functions/${route.name}.js`)) as { handler: LambdaHandler }).handler;
  }
  return handlers;
}

/** All of them: what the local server, the tests and the bench serve. */
export async function importAllRouteHandlers(): Promise<Handlers> {
  const handlers = await importRouteHandlers();
  const missing = routes.filter((route) => !handlers[route.name]);
  if (missing.length > 0) throw new Error(`no handler for ${missing.map((route) => route.name).join(', ')}`);
  return handlers as Handlers;
}
