/**
 * The layers (docs/design.md, Layers) are held by biome.json's noRestrictedImports overrides, so
 * `npm run lint` fails a wrong import. This runs the project's own Biome configuration over scratch
 * files placed in each layer of a temporary tree: the imports the layers forbid are errors, the ones
 * they allow are not.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { REPO_ROOT } from '../../infra/paths.js';

/** Scratch file -> the module it imports. */
const FORBIDDEN: Record<string, string> = {
  'shared/services/imports-http.ts': '../http/identity.js',
  'shared/services/imports-tests.ts': '../../test/support/events.js',
  'shared/key-maintenance/imports-a-service.ts': '../services/api-keys.js',
  'shared/key-maintenance/imports-http.ts': '../http/error-responder.js',
  'shared/db/imports-a-service.ts': '../services/api-keys.js',
  'shared/crypto/imports-db.ts': '../db/query.js',
  'shared/imports-db.ts': './db/query.js',
  'bench/imports-tests.ts': '../test/support/events.js',
  'local/imports-tests.ts': '../test/support/handlers.js',
};
const ALLOWED: Record<string, string> = {
  'shared/http/imports-a-service.ts': '../services/caller.js',
  'shared/services/imports-db.ts': '../db/query.js',
  'shared/key-maintenance/imports-db.ts': '../db/tables.js',
  'functions/imports-http.ts': '../shared/http/api-handler.js',
  'bench/imports-local.ts': '../local/api-event.js',
};

interface Diagnostic {
  category: string;
  location: { path: string };
}

const scratch = mkdtempSync(join(tmpdir(), 'vault-layers-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function lintScratchTree(): Diagnostic[] {
  const config = JSON.parse(readFileSync(join(REPO_ROOT, 'biome.json'), 'utf8')) as Record<string, unknown>;
  // The scratch tree is no git checkout and has no node_modules: keep only the rules.
  const { $schema: _schema, vcs: _vcs, files: _files, ...rules } = config;
  writeFileSync(join(scratch, 'biome.json'), JSON.stringify(rules));
  for (const [file, target] of Object.entries({ ...FORBIDDEN, ...ALLOWED })) {
    mkdirSync(dirname(join(scratch, file)), { recursive: true });
    writeFileSync(join(scratch, file), `import { imported } from '${target}';\n\nexport const used = imported;\n`);
  }
  const biome = join(REPO_ROOT, 'node_modules', '@biomejs', 'biome', 'bin', 'biome');
  const run = spawnSync(process.execPath, [biome, 'lint', '--reporter=json', '.'], { cwd: scratch, encoding: 'utf8' });
  return (JSON.parse(run.stdout) as { diagnostics: Diagnostic[] }).diagnostics;
}

describe('layers', () => {
  it("the linter fails every import against the layers' direction, and only those", () => {
    const flagged = lintScratchTree()
      .filter((diagnostic) => diagnostic.category === 'lint/style/noRestrictedImports')
      .map((diagnostic) => diagnostic.location.path)
      .sort();
    expect(flagged).toEqual(Object.keys(FORBIDDEN).sort());
  });
});
