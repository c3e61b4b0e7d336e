import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

async function sources(dir: string): Promise<string[]> {
  const entries = await readdir(join(ROOT, dir), { withFileTypes: true, recursive: true });
  return entries.filter((entry) => entry.isFile() && entry.name.endsWith('.ts')).map((entry) => join(entry.parentPath, entry.name).slice(ROOT.length));
}

describe('who holds the key ring', () => {
  it('only the functions that encrypt or decrypt import the runtime ring; no shared module does', async () => {
    const importers: string[] = [];
    for (const file of [...(await sources('functions')), ...(await sources('shared'))]) {
      if (/from '(\.\.\/)+(shared\/)?runtime\/key-ring\.js'/.test(await readFile(join(ROOT, file), 'utf8'))) importers.push(file);
    }
    expect(importers.sort()).toEqual([
      'functions/key-maintenance.ts',
      'functions/open-api-key.ts',
      'functions/register-api-key.ts',
      'functions/replace-api-key.ts',
    ]);
  });
});
