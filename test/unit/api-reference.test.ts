import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { API_REFERENCE_FILE, apiReference, typeOf } from '../../local/api-reference.js';
import { routes } from '../../shared/routes.js';

describe('docs/api.md', () => {
  it('is what `npm run docs` writes from the route table (run it after changing a route or its schemas)', () => {
    // The diff shows which route's lines are stale.
    expect(readFileSync(API_REFERENCE_FILE, 'utf8')).toBe(apiReference());
  });

  it('has a section for every route of the table', () => {
    const text = apiReference();
    const missing = routes.filter((route) => !text.includes(`## \`${route.method} ${route.path}\``)).map((route) => route.name);
    expect(missing).toEqual([]);
  });

  it('shows a schema as a short type: optional fields, nullable values, bounds, enums', () => {
    const schema = {
      type: 'object',
      properties: {
        id: { type: 'integer', minimum: 1, maximum: 9 },
        name: { type: 'string', minLength: 1, maxLength: 20 },
        note: { type: 'string', nullable: true },
        kind: { type: 'string', enum: ['a', 'b'] },
        list: { type: 'array', items: { type: 'boolean' } },
      },
      required: ['id', 'name', 'kind', 'list'],
    };
    expect(typeOf(schema)).toBe('{ id: integer 1..9, name: string 1..20, note?: string | null, kind: "a" | "b", list: [boolean] }');
  });
});
