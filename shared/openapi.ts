import { readFileSync } from 'node:fs';
import * as z from 'zod/mini';
import { type RouteSpec, routes } from './routes.js';
import { detailBody, gatewayErrorBody, validationErrorBody } from './schemas/errors.js';

/** The document describes this version of the vault: package.json's. */
const PACKAGE_VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

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
const errorSchema = (status: number): z.ZodMiniType => (status === 401 ? gatewayErrorBody : status === 422 ? validationErrorBody : detailBody);

type JsonSchema = z.core.JSONSchema.BaseSchema;

/** OpenAPI 3.0's `nullable` does not widen an `enum`: a nullable one lists null itself, or null fails validation. */
const nullInEnum = ({ jsonSchema }: { jsonSchema: JsonSchema }): void => {
  if (jsonSchema.nullable === true && jsonSchema.enum !== undefined && !jsonSchema.enum.includes(null)) jsonSchema.enum = [...jsonSchema.enum, null];
};

// The input side throughout: requests are parsed from it, and a service's response is typed as its
// schema's input too (`Served` in api-handler.ts), which is what goes out as JSON.
const jsonSchema = (schema: z.ZodMiniType, io: 'input' | 'output' = 'input'): JsonSchema => {
  const { '~standard': _standard, ...plain } = z.toJSONSchema(schema, { target: 'openapi-3.0', io, override: nullInEnum });
  return plain;
};

/** A default or example, written as the text a path or query holds, shown as the value it stands for. */
const asTyped = (value: unknown, type: unknown): unknown => (type === 'integer' && typeof value === 'string' ? Number(value) : value);

const json = (schema: z.ZodMiniType, example?: unknown) => ({
  content: { 'application/json': { schema: jsonSchema(schema), ...(example === undefined ? {} : { example }) } },
});

/**
 * One parameter per property of an object schema, described as its property is. A parameter
 * arrives as text and is parsed into its value, so its schema is the output side (an integer is
 * an integer, with its bounds), while whether it is required and its default come from the input
 * side, the text a client may leave out.
 */
const parameters = (schema: z.ZodMiniType, location: 'path' | 'query' | 'header') => {
  const { properties = {}, required = [] } = jsonSchema(schema);
  const parsed = jsonSchema(schema, 'output').properties ?? {};
  return Object.entries(properties).map(([name, sent]) => {
    const value = parsed[name];
    const property = typeof sent === 'object' && typeof value === 'object' ? { ...value } : sent;
    if (typeof property === 'object' && typeof sent === 'object') {
      if (sent.default !== undefined) property.default = asTyped(sent.default, property.type);
      if (property.example !== undefined) property.example = asTyped(property.example, property.type);
    }
    return {
      name,
      in: location,
      required: required.includes(name),
      ...(typeof property === 'object' && property.description !== undefined ? { description: property.description } : {}),
      schema: property,
    };
  });
};

/**
 * The request the document shows for a route: each path parameter's example and the body example.
 * On a fresh database (Coinone is exchange 101) it is one that route answers with success, given a
 * caller the route allows and, for a key route, a key there; the tests and the bench send it.
 */
export function exampleRequest(spec: RouteSpec): { params: Record<string, string>; body?: unknown } {
  const params: Record<string, string> = {};
  for (const { name, schema } of spec.params ? parameters(spec.params, 'path') : []) {
    const example = typeof schema === 'object' ? schema.example : undefined;
    if (example === undefined) throw new Error(`route ${spec.name}: path parameter ${name} has no example in its schema`);
    params[name] = String(example);
  }
  return { params, ...(spec.bodyExample === undefined ? {} : { body: spec.bodyExample }) };
}

const ETAG_HEADER = { ETag: { description: "The key's entity tag, for If-Match", schema: { type: 'string' as const } } };

/** Routes that can answer 412 honour If-Match. */
const ifMatchHeader = z.object({
  'if-match': z
    .optional(z.string())
    .check(z.meta({ description: "The ETag last read, quotes included; when it is no longer the key's, 412 and nothing changes; a malformed one is a 422" })),
});

const operation = (spec: RouteSpec) => {
  const statuses = [401, ...spec.errors, ...(spec.body ? [413, 415] : []), 503];
  const success = spec.response
    ? { description: 'Success', ...(spec.etag ? { headers: ETAG_HEADER } : {}), ...json(spec.response) }
    : { description: 'Done; no body' };
  const parameterList = [
    ...(spec.params ? parameters(spec.params, 'path') : []),
    ...(spec.query ? parameters(spec.query, 'query') : []),
    ...(spec.errors.includes(412) ? parameters(ifMatchHeader, 'header') : []),
  ];
  return {
    summary: spec.summary,
    security: [{ bearer: [] }],
    ...(parameterList.length > 0 ? { parameters: parameterList } : {}),
    ...(spec.body ? { requestBody: { required: true, ...json(spec.body, spec.bodyExample) } } : {}),
    responses: {
      [spec.successStatus]: success,
      ...Object.fromEntries(statuses.map((status) => [status, { description: ERROR_DESCRIPTIONS[status] ?? 'Error', ...json(errorSchema(status)) }])),
    },
  };
};

/** The OpenAPI 3 document, generated from the route table and the same zod schemas the handlers use. */
export function openApiDocument(serverUrl: string) {
  const paths: Record<string, Record<string, ReturnType<typeof operation>>> = {};
  for (const route of routes) {
    const spec: RouteSpec = route;
    paths[spec.path] = { ...paths[spec.path], [spec.method.toLowerCase()]: operation(spec) };
  }
  return {
    openapi: '3.0.3',
    info: { title: 'Exchange API key vault', version: PACKAGE_VERSION, description: 'Stores exchange API keys encrypted; shows them only masked.' },
    servers: [{ url: serverUrl }],
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: 'Paste the token alone, without "Bearer " (the docs add it). Locally: npm run token -- --sub alice [--admin]',
        },
      },
    },
    paths,
  };
}
