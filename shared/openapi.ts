import { OpenAPIRegistry, OpenApiGeneratorV3 } from '@asteasolutions/zod-to-openapi';
import type * as z from 'zod';
import { errorBody } from './schemas/errors.js';
import { routes } from './routes.js';

const ERROR_DESCRIPTIONS: Record<number, string> = {
  401: 'Missing, expired or forged token',
  403: 'Not allowed for this caller',
  404: 'Unknown exchange',
  409: 'Already exists',
  413: 'Body larger than 16 KiB',
  415: 'Body is not application/json',
  422: 'Invalid input',
  503: 'Database or key ring unavailable; retry after Retry-After seconds',
};

const json = (schema: z.ZodType) => ({ content: { 'application/json': { schema } } });

/** The OpenAPI 3 document, generated from the route table and the same zod schemas the handlers use. */
export function openApiDocument(serverUrl: string) {
  const registry = new OpenAPIRegistry();
  const bearer = registry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
  for (const route of routes) {
    const statuses = [401, ...route.errors, ...('body' in route ? [413, 415] : []), 503];
    registry.registerPath({
      method: route.method === 'GET' ? 'get' : 'post',
      path: route.path,
      summary: route.summary,
      security: [{ [bearer.name]: [] }],
      request: {
        ...('body' in route ? { body: { required: true, ...json(route.body) } } : {}),
        ...('query' in route ? { query: route.query } : {}),
      },
      responses: {
        [route.successStatus]: { description: 'Success', ...json(route.response) },
        ...Object.fromEntries(statuses.map((status) => [status, { description: ERROR_DESCRIPTIONS[status] ?? 'Error', ...json(errorBody) }])),
      },
    });
  }
  return new OpenApiGeneratorV3(registry.definitions).generateDocument({
    openapi: '3.0.3',
    info: { title: 'Exchange API key vault', version: '1.0.0', description: 'Stores exchange API keys encrypted; shows them only masked.' },
    servers: [{ url: serverUrl }],
  });
}
