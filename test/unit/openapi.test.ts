import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { openApiDocument } from '../../shared/openapi.js';

type Parameter = { name: string; in: string; required: boolean; schema: Record<string, unknown> };
const document = openApiDocument('http://localhost:3000');
const parametersOf = (path: string, method: string): Parameter[] =>
  ((document.paths[path] as Record<string, { parameters?: Parameter[] }>)[method]!.parameters ?? []) as Parameter[];

describe('the OpenAPI document that /docs shows', () => {
  it("names this package's version", () => {
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(document.info.version).toBe(version);
  });

  it('shows integer parameters as integers, with their bounds, example and default as numbers', () => {
    const events = parametersOf('/api/settings/exchange-api-key/{exchange_id}/events', 'get');
    const byName = Object.fromEntries(events.map((parameter) => [parameter.name, parameter]));
    expect(byName.exchange_id).toMatchObject({ in: 'path', required: true, schema: { type: 'integer', minimum: 1, maximum: 2_147_483_647, example: 101 } });
    expect(byName.user_no).toMatchObject({ in: 'query', required: false, schema: { type: 'integer', minimum: 1 } });
    // limit has a default, so a client may leave it out.
    expect(byName.limit).toMatchObject({ in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 100, default: 50 } });
    for (const parameter of events) expect(parameter.schema).not.toHaveProperty('pattern');
  });
});
