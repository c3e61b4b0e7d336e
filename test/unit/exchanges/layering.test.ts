import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { build } from 'esbuild';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const tsFiles = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? tsFiles(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  );
const importsOf = (file: string): string[] => [...readFileSync(file, 'utf8').matchAll(/^import [^;]*? from '([^']+)';/gms)].map((m) => m[1]!);

describe('shared/exchanges is a lower layer', () => {
  it('imports node built-ins, zod/mini, itself and the shared configuration only: no http, services, db, crypto or runtime', () => {
    const outside = tsFiles(join(ROOT, 'shared/exchanges')).flatMap((file) =>
      importsOf(file)
        .filter((path) => !path.startsWith('node:') && path !== 'zod/mini')
        .map((path) => relative(ROOT, join(file, '..', path)))
        .filter((path) => !path.startsWith('shared/exchanges/') && path !== 'shared/config.js'),
    );
    expect(outside).toEqual([]);
  });

  it('the fake exchange, which npm run fake-exchange starts, imports no test code', () => {
    const files = [...tsFiles(join(ROOT, 'local/fake-exchange')), join(ROOT, 'local/fake-exchange.ts')];
    const fromTest = files.flatMap((file) => importsOf(file).filter((path) => relative(ROOT, join(file, '..', path)).startsWith('test/')));
    expect(fromTest).toEqual([]);
  });
});

describe('the exchange prober bundle', () => {
  it('holds no database access and no key ring', async () => {
    const { metafile } = await build({
      absWorkingDir: ROOT,
      entryPoints: ['functions/probe-exchange-key.ts'],
      bundle: true,
      write: false,
      metafile: true,
      outdir: 'out',
      platform: 'node',
      format: 'esm',
      packages: 'external',
      logLevel: 'silent',
    });
    const inputs = Object.keys(metafile.inputs);
    expect(inputs.filter((path) => /^shared\/(db|crypto|runtime|services|http)\//.test(path))).toEqual([]);
    const packages = new Set(Object.values(metafile.outputs).flatMap((output) => output.imports.map((i) => i.path)));
    expect([...packages].filter((name) => /^(pg|@aws-sdk\/client-(kms|secrets-manager))/.test(name))).toEqual([]);
  });
});
