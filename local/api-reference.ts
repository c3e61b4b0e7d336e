/**
 * `npm run docs`: writes docs/api.md, the HTTP API reference, from the OpenAPI document that
 * `/openapi.json` serves, itself built from shared/routes.ts and the route schemas. Nobody edits
 * docs/api.md by hand; test/unit/api-reference.test.ts fails when it is not what this writes.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { openApiDocument } from '../shared/openapi.js';
import { routes } from '../shared/routes.js';

export const API_REFERENCE_FILE = fileURLToPath(new URL('../docs/api.md', import.meta.url));

interface Schema {
  type?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  enum?: unknown[];
  const?: unknown;
  nullable?: boolean;
  anyOf?: Schema[];
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  format?: string;
  description?: string;
}

interface Parameter {
  name: string;
  in: string;
  required: boolean;
  description?: string;
  schema: Schema;
}

interface Operation {
  summary: string;
  parameters?: Parameter[];
  requestBody?: { content: Record<string, { schema: Schema; example?: unknown }> };
  responses: Record<string, { description: string; headers?: Record<string, unknown>; content?: Record<string, { schema: Schema }> }>;
}

const bounds = (low: number | undefined, high: number | undefined): string =>
  low === undefined && high === undefined ? '' : ` ${low ?? ''}..${high === Number.MAX_SAFE_INTEGER ? '' : (high ?? '')}`;

/** A schema as a short type expression: `{ a: integer 1..9, b?: string | null }`, `[ ... ]`, `"x" | "y"`. */
export function typeOf(schema: Schema): string {
  let shown: string;
  if (schema.anyOf) shown = schema.anyOf.map(typeOf).join(' | ');
  else if (schema.const !== undefined) shown = JSON.stringify(schema.const);
  // A nullable enum lists null itself (shared/openapi.ts): it is shown once, as any nullable's is.
  else if (schema.enum) shown = schema.enum.flatMap((value) => (value === null ? [] : [JSON.stringify(value)])).join(' | ');
  else if (schema.type === 'array') shown = `[${typeOf(schema.items ?? {})}]`;
  else if (schema.type === 'object' || schema.properties) {
    const required = new Set(schema.required ?? []);
    const fields = Object.entries(schema.properties ?? {}).map(([name, field]) => `${name}${required.has(name) ? '' : '?'}: ${typeOf(field)}`);
    shown = `{ ${fields.join(', ')} }`;
  } else if (schema.type === 'string') shown = schema.format ? `string (${schema.format})` : `string${bounds(schema.minLength, schema.maxLength)}`;
  else if (schema.type === 'integer' || schema.type === 'number') shown = `${schema.type}${bounds(schema.minimum, schema.maximum)}`;
  else shown = schema.type ?? 'any';
  return schema.nullable ? `${shown} | null` : shown;
}

const code = (text: string): string => `\`${text.replaceAll('`', "'")}\``;
/** A table cell: GitHub's tables split on every `|`, in code too, unless it is escaped. */
const cell = (text: string): string => text.replaceAll('|', '\\|');

function routeSection(method: string, path: string, name: string, adminOnly: boolean, operation: Operation): string[] {
  const lines = [
    `## ${code(`${method} ${path}`)}`,
    '',
    `${operation.summary}. Function \`functions/${name}.ts\`; ${adminOnly ? 'admins only' : 'any signed-in user'}.`,
    '',
  ];
  const parameters = operation.parameters ?? [];
  if (parameters.length > 0) {
    lines.push('| parameter | in | | type | |', '|---|---|---|---|---|');
    for (const parameter of parameters) {
      const description = cell(parameter.description ?? '');
      lines.push(
        `| ${code(parameter.name)} | ${parameter.in} | ${parameter.required ? 'required' : 'optional'} | ${cell(code(typeOf(parameter.schema)))} | ${description} |`,
      );
    }
    lines.push('');
  }
  const body = operation.requestBody?.content['application/json'];
  if (body) {
    lines.push(`Body: ${code(typeOf(body.schema))}`, '');
    const described = Object.entries(body.schema.properties ?? {}).filter(([, field]) => field.description);
    for (const [field, schema] of described) lines.push(`- ${code(field)}: ${schema.description}`);
    if (described.length > 0) lines.push('');
    if (body.example !== undefined) lines.push(`Example: ${code(JSON.stringify(body.example))}`, '');
  }
  lines.push('| status | meaning | body |', '|---|---|---|');
  for (const [status, response] of Object.entries(operation.responses)) {
    const schema = response.content?.['application/json']?.schema;
    const headers = response.headers ? ` (headers: ${Object.keys(response.headers).join(', ')})` : '';
    lines.push(`| ${status} | ${response.description}${headers} | ${schema ? cell(code(typeOf(schema))) : 'none'} |`);
  }
  lines.push('');
  return lines;
}

/** docs/api.md's text. */
export function apiReference(): string {
  const document = openApiDocument('http://localhost:3000');
  const lines = [
    '# HTTP API reference',
    '',
    '<!-- Written by `npm run docs` from shared/routes.ts; edit the route table or its schemas, never this file. -->',
    '',
    'Every route of the vault, as the route table declares it and the handlers enforce it: the same',
    'OpenAPI document that `npm start` serves at `/openapi.json` and shows at `/docs`. The rules every',
    "route shares (the token, the error bodies, the input rules, what a 503 means) are in [design.md's",
    'HTTP contract](design.md#http-contract); who may do what, in [security-model.md](security-model.md).',
    '',
    '| route | function | who |',
    '|---|---|---|',
    ...routes.map((route) => `| ${code(`${route.method} ${route.path}`)} | ${route.name} | ${route.adminOnly ? 'admins' : 'any user'} |`),
    '',
  ];
  for (const route of routes) {
    const operation = (document.paths[route.path] as Record<string, Operation>)[route.method.toLowerCase()]!;
    lines.push(...routeSection(route.method, route.path, route.name, route.adminOnly, operation));
  }
  return `${lines.join('\n').trimEnd()}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(API_REFERENCE_FILE, apiReference());
  process.stdout.write(`wrote ${API_REFERENCE_FILE}\n`);
}
