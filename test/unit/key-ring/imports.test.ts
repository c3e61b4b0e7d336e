import { readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { build } from 'esbuild';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const RUNTIME_RING = 'shared/runtime/key-ring.ts';

/**
 * What each function's bundle holds, as esbuild resolves it (the CDK bundles with esbuild too):
 * the module that loads the ring at runtime reaches exactly the functions that seal or open,
 * whatever path an import takes to it.
 */
async function functionsBundling(module: string): Promise<string[]> {
  const entries = (await readdir(`${ROOT}functions`)).filter((file) => file.endsWith('.ts')).map((file) => `functions/${file}`);
  const holders: string[] = [];
  for (const entry of entries) {
    const { metafile } = await build({
      absWorkingDir: ROOT,
      entryPoints: [entry],
      bundle: true,
      write: false,
      metafile: true,
      platform: 'node',
      format: 'esm',
      packages: 'external',
      logLevel: 'silent',
    });
    if (module in metafile.inputs) holders.push(entry);
  }
  return holders.sort();
}

describe('who holds the key ring', () => {
  it('only the functions that seal or open bundle the runtime ring', async () => {
    expect(await functionsBundling(RUNTIME_RING)).toEqual([
      'functions/key-maintenance.ts',
      'functions/open-api-key.ts',
      'functions/register-api-key.ts',
      'functions/replace-api-key.ts',
    ]);
  });
});
