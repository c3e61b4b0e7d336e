import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';

const TEST_ROOT = fileURLToPath(new URL('..', import.meta.url));
const FACTORY = 'support/pg.ts';

const sources = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sources(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  );

/** A pool or client made without test/support/pg.ts, which gives each an 'error' listener. */
const UNGUARDED = /new\s+(?:pg\.)?(?:Pool|Client)\s*\(/;

describe('pg pools and clients in the tests', () => {
  it('all come from test/support/pg.ts, so a server ending a connection never crashes a test file', () => {
    const offenders = sources(TEST_ROOT)
      .map((file) => relative(TEST_ROOT, file))
      .filter((file) => file !== FACTORY && file !== relative(TEST_ROOT, fileURLToPath(import.meta.url)))
      .filter((file) => UNGUARDED.test(readFileSync(join(TEST_ROOT, file), 'utf8')));
    expect(offenders).toEqual([]);
  });
});
