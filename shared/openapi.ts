import { OpenAPIRegistry, OpenApiGeneratorV3 } from '@asteasolutions/zod-to-openapi';
import * as z from 'zod';
import { type HttpMethod, type RouteSpec, routes } from './routes.js';
import { detailBody, gatewayErrorBody, validationErrorBody } from './schemas/errors.js';

const ERROR_DESCRIPTIONS: Record<number, string> = {
  401: 'Missing, expired or forged token',
  403: 'Not allowed for this caller',
  404: 'Not found: an unknown exchange, or no key of yours at it',
  409: 'Already exists',
  412: "If-Match is not the key's current ETag; nothing changed",
  413: 'Body larger than 16 KiB',
  415: 'Body is not application/json',
  422: 'Invalid input',
  503: 'Database or key ring unavailable; retry after Retry-After seconds',
};

/** The body each error status really has: API Gateway's own for 401, FastAPI's `{detail}` for the rest. */
const errorSchema = (status: number): z.ZodType => (status === 401 ? gatewayErrorBody : status === 422 ? validationErrorBody : detailBody);

const json = (schema: z.ZodType, example?: unknown) => ({ content: { 'application/json': { schema, ...(example === undefined ? {} : { example }) } } });

const ETAG_HEADER = { ETag: { description: "The key's entity tag, for If-Match", schema: { type: 'string' as const } } };

/** Routes that can answer 412 honour If-Match. */
const ifMatchHeader = z.object({
  'if-match': z.string().optional().meta({ description: "The ETag last read; when it is no longer the key's, 412 and nothing changes" }),
});

/** The OpenAPI 3 document, generated from the route table and the same zod schemas the handlers use. */
export function openApiDocument(serverUrl: string) {
  const registry = new OpenAPIRegistry();
  const bearer = registry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: 'Paste the token alone, without "Bearer " (the docs add it). Locally: npm run token -- --sub alice [--admin]',
  });
  for (const route of routes) {
    const statuses = [401, ...route.errors, ...('body' in route ? [413, 415] : []), 503];
    const spec: RouteSpec = route;
    const success = spec.response
      ? { description: 'Success', ...json(spec.response), ...(spec.etag ? { headers: ETAG_HEADER } : {}) }
      : { description: 'Done; no body' };
    registry.registerPath({
      method: spec.method.toLowerCase() as Lowercase<HttpMethod>,
      path: spec.path,
      summary: spec.summary,
      security: [{ [bearer.name]: [] }],
      request: {
        ...(spec.params ? { params: spec.params as z.ZodObject } : {}),
        ...(spec.body ? { body: { required: true, ...json(spec.body, spec.bodyExample) } } : {}),
        ...(spec.query ? { query: spec.query as z.ZodObject } : {}),
        ...(spec.errors.includes(412) ? { headers: ifMatchHeader } : {}),
      },
      responses: {
        [spec.successStatus]: success,
        ...Object.fromEntries(statuses.map((status) => [status, { description: ERROR_DESCRIPTIONS[status] ?? 'Error', ...json(errorSchema(status)) }])),
      },
    });
  }
  return new OpenApiGeneratorV3(registry.definitions).generateDocument({
    openapi: '3.0.3',
    info: { title: 'Exchange API key vault', version: '1.0.0', description: 'Stores exchange API keys encrypted; shows them only masked.' },
    servers: [{ url: serverUrl }],
  });
}
