import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { JWTPayload } from 'jose';
import type { ApiEvent } from '../shared/http/api-handler.js';
import type { HttpMethod, RouteSpec } from '../shared/routes.js';

/** API Gateway hands claims to the function as strings, arrays flattened to "[a b]". */
export function claimsAsApiGateway(payload: JWTPayload): Record<string, string> {
  return Object.fromEntries(
    Object.entries(payload).map(([name, value]) => [
      name,
      Array.isArray(value) ? `[${value.join(' ')}]` : typeof value === 'object' ? JSON.stringify(value) : String(value),
    ]),
  );
}

// ignoreBOM keeps a leading U+FEFF in the text, as API Gateway passes it on: the handler refuses
// such a body (422), and the local path must not make it acceptable by dropping the mark.
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function textOrBase64(body: Buffer): { body?: string; isBase64Encoded: boolean } {
  if (body.length === 0) return { isBase64Encoded: false };
  try {
    return { body: strictUtf8.decode(body), isBase64Encoded: false };
  } catch {
    return { body: body.toString('base64'), isBase64Encoded: true };
  }
}

/** The payload-2.0 event API Gateway's HTTP API would send for this request. */
export function toApiEvent(
  request: IncomingMessage,
  url: URL,
  route: RouteSpec,
  pathParameters: Record<string, string>,
  claims: Record<string, string>,
  body: Buffer,
): ApiEvent {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  const query: Record<string, string> = {};
  for (const [name, value] of url.searchParams) query[name] = name in query ? `${query[name]},${value}` : value;
  const now = new Date();
  // The route's template, `{exchange_id}` and all, as API Gateway names the route that matched.
  const routeKey = `${route.method} ${route.path}`;
  return {
    version: '2.0',
    routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    ...(url.search ? { queryStringParameters: query } : {}),
    ...(Object.keys(pathParameters).length > 0 ? { pathParameters } : {}),
    requestContext: {
      accountId: 'local',
      apiId: 'local',
      authorizer: { principalId: '', integrationLatency: 0, jwt: { claims, scopes: [] } },
      domainName: headers.host ?? 'localhost',
      domainPrefix: 'localhost',
      http: {
        method: route.method,
        path: url.pathname,
        protocol: `HTTP/${request.httpVersion}`,
        sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey,
      stage: '$default',
      time: now.toISOString(),
      timeEpoch: now.getTime(),
    },
    ...textOrBase64(body),
  };
}

export interface EventOptions {
  method: HttpMethod;
  /** The route's path; its `{name}` parameters are filled from `params`. */
  path: string;
  params?: Record<string, string>;
  /** The token's `sub`; omitted: no authorizer claims at all. */
  subject?: string;
  admin?: boolean;
  body?: unknown;
  /** Sent as it is, not JSON-encoded: for malformed bodies. */
  rawBody?: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  /** API Gateway's request id; a fresh one when omitted. */
  requestId?: string;
}

/** A route's path with its `{name}` parameters filled in, percent-encoded as a client sends them. */
export const fillPath = (path: string, params: Readonly<Record<string, string>> = {}): string =>
  path.replace(/\{([a-z_]+)\}/g, (_, name: string) => encodeURIComponent(params[name] ?? ''));

/**
 * An HTTP API payload-2.0 event as API Gateway sends it after its JWT authorizer allowed the call,
 * built from options rather than a request: the tests and the bench call handlers in process with it.
 */
export function apiEvent(options: EventOptions): ApiEvent {
  const rawPath = fillPath(options.path, options.params);
  const body = options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  const claims = options.subject === undefined ? undefined : { sub: options.subject, 'cognito:groups': options.admin ? '[admin]' : '[]' };
  return {
    version: '2.0',
    routeKey: `${options.method} ${options.path}`,
    rawPath,
    rawQueryString: new URLSearchParams(options.query).toString(),
    headers: { 'content-type': 'application/json', ...options.headers },
    ...(options.query ? { queryStringParameters: options.query } : {}),
    ...(options.params ? { pathParameters: options.params } : {}),
    requestContext: {
      accountId: 'test',
      apiId: 'test',
      authorizer: claims ? { principalId: '', integrationLatency: 0, jwt: { claims, scopes: [] } } : (undefined as never),
      domainName: 'test',
      domainPrefix: 'test',
      http: { method: options.method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'jest' },
      requestId: options.requestId ?? randomUUID(),
      routeKey: `${options.method} ${options.path}`,
      stage: '$default',
      time: new Date().toISOString(),
      timeEpoch: Date.now(),
    },
    ...(body === undefined ? {} : { body }),
    isBase64Encoded: false,
  };
}
