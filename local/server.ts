import { createReadStream } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, extname, join } from 'node:path';
import type { CryptoKey } from 'jose';
import { openApiDocument } from '../shared/openapi.js';
import { pathParameterNames, type RouteSpec, routes } from '../shared/routes.js';
import { claimsAsApiGateway, toApiEvent } from './api-event.js';
import { lambdaContext } from './lambda-context.js';
import { createInvokeEndpoint, type InvokedFunctions } from './lambda-invoke.js';
import { readBody } from './read-body.js';
import type { Handlers } from './route-handlers.js';
import { verifyToken } from './tokens.js';

export type { Handlers, LambdaHandler } from './route-handlers.js';

/** API Gateway's own payload limit is far larger; this only stops a runaway upload before the handler's 16 KiB check. */
const MAX_READ_BYTES = 1024 * 1024;

function send(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
  response.end(JSON.stringify(body));
}

const DOCS_PAGE = `<!doctype html><html><head><meta charset="utf-8"><title>Exchange API key vault</title>
<link rel="stylesheet" href="/docs/swagger-ui.css"></head><body><div id="ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script>SwaggerUIBundle({ url: '/openapi.json', dom_id: '#ui' });</script></body></html>`;

const SWAGGER_UI_DIR = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));

const STATIC_TYPES: Record<string, string> = { '.css': 'text/css', '.js': 'text/javascript', '.png': 'image/png' };

function serveDocs(url: URL, response: ServerResponse): boolean {
  // The server's root has nothing of its own: a person who opens it wants the docs.
  if (url.pathname === '/') {
    response.writeHead(302, { location: '/docs' });
    response.end();
    return true;
  }
  if (url.pathname === '/docs' || url.pathname === '/docs/') {
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    response.end(DOCS_PAGE);
    return true;
  }
  const asset = /^\/docs\/([\w.-]+\.(?:css|js|png))$/.exec(url.pathname)?.[1];
  if (!asset) return false;
  response.writeHead(200, { 'content-type': STATIC_TYPES[extname(asset)] ?? 'application/octet-stream' });
  createReadStream(join(SWAGGER_UI_DIR, asset))
    .on('error', () => response.end())
    .pipe(response);
  return true;
}

/** The request's URL, or undefined when the client's Host header or target cannot form one. */
function requestUrl(request: IncomingMessage): URL | undefined {
  try {
    return new URL(request.url ?? '/', `http://${request.headers.host ?? 'localhost'}`);
  } catch {
    return undefined;
  }
}

interface CompiledRoute {
  readonly route: RouteSpec;
  readonly pattern: RegExp;
  readonly names: readonly string[];
}

const escapeRegExp = (text: string): string => text.replace(/[.*+?^$()|[\]\\{}]/g, '\\$&');

/** As API Gateway matches: a `{name}` is one whole, non-empty path segment. */
const compile = (route: RouteSpec): CompiledRoute => {
  const segments = route.path.split('/').map((segment) => (/^\{[a-z_]+\}$/.test(segment) ? '([^/]+)' : escapeRegExp(segment)));
  return { route, pattern: new RegExp(`^${segments.join('/')}$`), names: pathParameterNames(route.path) };
};

const COMPILED = routes.map(compile);

/** API Gateway hands path parameters to the function percent-decoded; a segment that will not decode stays as sent. */
const decodeSegment = (segment: string): string => {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
};

/** The routes whose path matches, each with the parameters it binds. */
function routesAt(pathname: string): { route: RouteSpec; pathParameters: Record<string, string> }[] {
  return COMPILED.flatMap(({ route, pattern, names }) => {
    const match = pattern.exec(pathname);
    if (!match) return [];
    return [{ route, pathParameters: Object.fromEntries(names.map((name, i) => [name, decodeSegment(match[i + 1]!)])) }];
  });
}

/**
 * Serves the route table over HTTP through the very handlers Lambda runs: it does what API Gateway
 * does in AWS (route matching, the JWT authorizer, the payload-2.0 event) and nothing more; and the
 * Lambda Invoke API for the functions with no route (`invoked`). `log` hears why a request got its
 * 401, which the response, like API Gateway's, does not say.
 */
export function createLocalServer(
  handlers: Handlers,
  publicKey: CryptoKey,
  invoked: InvokedFunctions = {},
  log: (line: string) => void = () => undefined,
): Server {
  const serveInvoke = createInvokeEndpoint(invoked);
  return createServer((request, response) => {
    void dispatch(request, response).catch(() => send(response, 500, { message: 'Internal Server Error' }));
  });

  async function dispatch(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = requestUrl(request);
    if (!url) return send(response, 400, { message: 'Bad Request' });
    if (await serveInvoke(request, response, url)) return;
    // HEAD wherever GET works: node's server sends the headers and drops the body.
    const reading = request.method === 'GET' || request.method === 'HEAD';
    if (reading && url.pathname === '/openapi.json') return send(response, 200, openApiDocument(url.origin));
    if (reading && serveDocs(url, response)) return;

    const atPath = routesAt(url.pathname);
    const matched = atPath.find((candidate) => candidate.route.method === request.method);
    if (!matched) {
      if (atPath.length === 0) return send(response, 404, { message: 'Not Found' });
      return send(response, 405, { message: 'Method Not Allowed' }, { allow: atPath.map((candidate) => candidate.route.method).join(', ') });
    }
    const { route, pathParameters } = matched;

    const token = /^Bearer ([^\s]+)$/i.exec(request.headers.authorization ?? '')?.[1];
    const verified = token ? await verifyToken(publicKey, token) : { refused: 'no Authorization: Bearer <token> header' };
    if (!verified.claims) {
      log(`401 ${request.method} ${url.pathname}: ${verified.refused}`);
      return send(response, 401, { message: 'Unauthorized' }, { 'www-authenticate': 'Bearer' });
    }
    const claims = verified.claims;

    const body = await readBody(request, MAX_READ_BYTES);
    if (!body) return send(response, 413, { message: 'Request Entity Too Large' });
    const event = toApiEvent(request, url, route, pathParameters, claimsAsApiGateway(claims), body);
    const result = await handlers[route.name as keyof Handlers](event, lambdaContext(route.name));
    // As API Gateway's HTTP API does: the id a key's history records for this request.
    response.writeHead(result.statusCode ?? 200, { ...(result.headers as Record<string, string>), 'apigw-requestid': event.requestContext.requestId });
    response.end(result.body);
  }
}
