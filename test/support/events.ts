import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';
import type { ApiEvent, ApiResult } from '../../shared/http/api-handler.js';
import type { HttpMethod } from '../../shared/routes.js';

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

/** An HTTP API payload-2.0 event as API Gateway sends it after its JWT authorizer allowed the call. */
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

export const lambdaContext = (): Context =>
  ({ awsRequestId: randomUUID(), functionName: 'test', getRemainingTimeInMillis: () => 10_000 }) as unknown as Context;

export interface Reply {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

export const reply = (result: ApiResult): Reply => ({
  status: result.statusCode ?? 0,
  headers: (result.headers ?? {}) as Record<string, string>,
  body: result.body === undefined ? undefined : JSON.parse(result.body),
});
