import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import type { APIGatewayProxyEventV2WithJWTAuthorizer, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type * as z from 'zod/mini';
import { forbidden } from '../errors.js';
import { logger } from '../logger.js';
import { type RouteName, type RouteSpec, routes } from '../routes.js';
import type { Caller } from '../services/caller.js';
import type { Tagged } from '../services/tagged.js';
import { errorResponder } from './error-responder.js';
import { callerFromEvent } from './identity.js';
import { readJsonBody } from './json-body.js';
import { ifMatchTags } from './preconditions.js';
import { emptyResponse, jsonResponse } from './response.js';
import { parseInput } from './validation.js';

export type ApiEvent = APIGatewayProxyEventV2WithJWTAuthorizer;
export type ApiResult = APIGatewayProxyStructuredResultV2;

type RouteNamed<N extends RouteName> = Extract<(typeof routes)[number], { name: N }>;
type Parsed<R, K extends 'params' | 'body' | 'query'> = R extends { [P in K]: infer S extends z.ZodMiniType } ? z.output<S> : undefined;

export interface ApiRequest<R> {
  readonly caller: Caller;
  /** API Gateway's id of this request: what the key's history records and the access log shows. */
  readonly requestId: string;
  readonly params: Parsed<R, 'params'>;
  readonly body: Parsed<R, 'body'>;
  readonly query: Parsed<R, 'query'>;
  /** The entity tags of `If-Match`; undefined when absent or `*` (any current key will do). */
  readonly ifMatch: readonly string[] | undefined;
}

/** What a service returns: the response body (with its ETag on routes that declare one), nothing for a 204. */
// biome-ignore lint/suspicious/noConfusingVoidType: a 204 route's service returns nothing; void is that return type.
export type Served<R> = R extends { response: infer S extends z.ZodMiniType } ? (R extends { etag: true } ? Tagged<z.input<S>> : z.input<S>) : void;

export const routeNamed = <N extends RouteName>(name: N): RouteNamed<N> => {
  const route = routes.find((candidate) => candidate.name === name);
  if (!route) throw new Error(`no route named ${name}`);
  return route as RouteNamed<N>;
};

/** Authenticates before the body is read: a stranger learns nothing from the parser's answers. */
const authorize = (route: RouteSpec): middy.MiddlewareObj<ApiEvent> => ({
  before: async ({ event }) => {
    logger.appendKeys({ api_request_id: event.requestContext?.requestId });
    const caller = callerFromEvent(event);
    if (route.adminOnly && !caller.isAdmin) throw forbidden('Only administrators may do this.');
  },
});

/** A route's Lambda handler: the shared middy chain around one call into a service. */
export function apiHandler<N extends RouteName>(name: N, serve: (request: ApiRequest<RouteNamed<N>>) => Promise<Served<RouteNamed<N>>>) {
  const route: RouteSpec = routeNamed(name);
  // logEvent: false overrides POWERTOOLS_LOGGER_LOG_EVENT: an event carries the keys being registered.
  const chain = middy<ApiEvent, ApiResult>()
    .use(injectLambdaContext(logger, { resetKeys: true, logEvent: false }))
    .use(authorize(route));
  if (route.body) chain.use(httpHeaderNormalizer());
  return chain.use(errorResponder()).handler(async (event) => {
    // Read first, as the body's own failures (413, 415, 422) come before those of the path or query.
    const json = route.body ? readJsonBody(event) : undefined;
    const request = {
      caller: callerFromEvent(event),
      requestId: event.requestContext.requestId,
      params: route.params ? parseInput(route.params, event.pathParameters ?? {}, 'path') : undefined,
      body: route.body ? parseInput(route.body, json, 'body') : undefined,
      query: route.query ? parseInput(route.query, event.queryStringParameters ?? {}, 'query') : undefined,
      // Only the routes that can answer 412 honour If-Match (and refuse a malformed one); others ignore it.
      ifMatch: route.errors.includes(412) ? ifMatchTags(event.headers) : undefined,
    } as ApiRequest<RouteNamed<N>>;
    const served: unknown = await serve(request);
    if (!route.response) return emptyResponse(route.successStatus);
    if (!route.etag) return jsonResponse(route.successStatus, served);
    const { value, etag } = served as Tagged<unknown>;
    return jsonResponse(route.successStatus, value, { etag });
  });
}
