import { readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { build, type Metafile } from 'esbuild';
import { routes } from '../../shared/routes.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const RUNTIME_RING = 'shared/runtime/key-ring.ts';

/** Each function's bundle, as esbuild resolves it (the CDK bundles with esbuild too): one build of every entry, for all the assertions below. */
let bundles: Metafile['outputs'][string][];

beforeAll(async () => {
  const entries = (await readdir(`${ROOT}functions`)).filter((file) => file.endsWith('.ts')).map((file) => `functions/${file}`);
  const { metafile } = await build({
    absWorkingDir: ROOT,
    entryPoints: entries,
    bundle: true,
    write: false,
    metafile: true,
    outdir: 'out',
    platform: 'node',
    format: 'esm',
    packages: 'external',
    logLevel: 'silent',
  });
  bundles = Object.values(metafile.outputs);
});

describe('who holds the key ring', () => {
  it('only the functions that seal or open bundle the runtime ring, whatever path an import takes to it', () => {
    const holders = bundles.filter((output) => RUNTIME_RING in output.inputs).map((output) => output.entryPoint);
    // report-api-key opens the key it re-checks, and loads the ring only with checks on (shared/runtime/report-recheck.ts).
    expect(holders.sort()).toEqual([
      'functions/check-api-key.ts',
      'functions/key-maintenance.ts',
      'functions/open-api-key.ts',
      'functions/register-api-key.ts',
      'functions/replace-api-key.ts',
      'functions/report-api-key.ts',
    ]);
  });
});

describe('who asks an exchange about a key', () => {
  it('only the routes the table marks probesExchange, key maintenance and report-api-key (marked in ENGINE_FUNCTIONS) bundle the key checker (the infra binds the prober to them)', () => {
    const askers = bundles.filter((output) => 'shared/runtime/key-checker.ts' in output.inputs).map((output) => output.entryPoint);
    const marked = routes.filter((route) => 'probesExchange' in route && route.probesExchange).map((route) => `functions/${route.name}.ts`);
    expect(marked).toEqual(['functions/register-api-key.ts', 'functions/replace-api-key.ts', 'functions/check-api-key.ts']);
    expect(askers.sort()).toEqual([...marked, 'functions/key-maintenance.ts', 'functions/report-api-key.ts'].sort());
  });
});

describe('what the functions import of zod', () => {
  it('is zod/mini and its English locale alone: no classic API, no OpenAPI generator', () => {
    const packages = new Set(bundles.flatMap((output) => output.imports.map((imported) => imported.path)));
    expect([...packages].filter((name) => name.startsWith('zod')).sort()).toEqual(['zod/mini', 'zod/v4/locales/en.js']);
  });
});
