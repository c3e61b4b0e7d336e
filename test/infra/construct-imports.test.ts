import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import ts from 'typescript';
import { REPO_ROOT } from '../../infra/paths.js';

const CONSTRUCTS = join(REPO_ROOT, 'infra', 'constructs');

/**
 * Which construct files each construct file imports, type-only imports included (a bundler drops
 * those, and a cycle through types still ties two constructs together): file -> imported files.
 */
function constructImports(): Record<string, string[]> {
  const files = readdirSync(CONSTRUCTS).filter((file) => file.endsWith('.ts'));
  const graph: Record<string, string[]> = {};
  for (const file of files) {
    const { importedFiles } = ts.preProcessFile(readFileSync(join(CONSTRUCTS, file), 'utf8'), true, true);
    graph[file] = importedFiles
      .map(({ fileName }) => fileName)
      .filter((spec) => spec.startsWith('.'))
      .map((spec) => relative(CONSTRUCTS, resolve(CONSTRUCTS, spec)).replace(/\.js$/, '.ts'))
      .filter((target) => files.includes(target));
  }
  return graph;
}

/** The first import cycle found, as the path that closes it (`[a, b, a]`), or undefined. */
function findCycle(graph: Record<string, readonly string[]>): string[] | undefined {
  const done = new Set<string>();
  const visit = (node: string, path: string[]): string[] | undefined => {
    if (path.includes(node)) return [...path.slice(path.indexOf(node)), node];
    if (done.has(node)) return undefined;
    for (const next of graph[node] ?? []) {
      const cycle = visit(next, [...path, node]);
      if (cycle) return cycle;
    }
    done.add(node);
    return undefined;
  };
  for (const node of Object.keys(graph)) {
    const cycle = visit(node, []);
    if (cycle) return cycle;
  }
  return undefined;
}

describe('infra/constructs imports', () => {
  it('finds a cycle when there is one, through any number of files', () => {
    expect(findCycle({ 'a.ts': ['b.ts'], 'b.ts': ['a.ts'] })).toEqual(['a.ts', 'b.ts', 'a.ts']);
    expect(findCycle({ 'a.ts': ['b.ts'], 'b.ts': ['c.ts'], 'c.ts': ['b.ts'] })).toEqual(['b.ts', 'c.ts', 'b.ts']);
    expect(findCycle({ 'a.ts': ['b.ts', 'c.ts'], 'b.ts': ['c.ts'], 'c.ts': [] })).toBeUndefined();
  });

  it('reads type-only imports too', () => {
    // engine-functions names the database and the ring only as types (`import type`).
    const graph = constructImports();
    expect(graph['engine-functions.ts']).toEqual(expect.arrayContaining(['database.ts', 'vault-function.ts']));
    expect(graph['engine-functions.ts']!.some((file) => file.startsWith('key-ring'))).toBe(true);
  });

  it('has no cycle: a resource binds itself to a function; the function construct knows no resource', () => {
    const graph = constructImports();
    expect(findCycle(graph)).toBeUndefined();
    expect(graph['vault-function.ts']).toEqual([]);
  });
});
