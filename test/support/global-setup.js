import { readdirSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tsImport } from 'tsx/esm/api';

const INFRA_TESTS = fileURLToPath(new URL('../infra/', import.meta.url));

/** True when the run includes a test/infra file (all of them, or one a path pattern picks). */
function runsInfraTests(globalConfig) {
  const patterns = globalConfig.testPathPatterns;
  if (!patterns?.isSet()) return true;
  const matcher = patterns.toExecutor({ rootDir: globalConfig.rootDir });
  return readdirSync(INFRA_TESTS).some((file) => matcher.isMatch(join(INFRA_TESTS, file)));
}

// Jest loads global setup outside its transform pipeline; tsx lets it use the TypeScript sources.
export default async function globalSetup(globalConfig) {
  const { startTestPostgres } = await tsImport('./test-postgres.ts', import.meta.url);
  // The test/infra files read each configuration synthesized once here, before any of them starts, so
  // none waits on another or synthesizes within a hook's timeout (test/infra/support/synth.ts).
  const synthDir = await mkdtemp(join(tmpdir(), 'vault-test-synth-'));
  process.env.VAULT_TEST_SYNTH_DIR = synthDir;
  const synthesizeAll = async () => {
    if (!runsInfraTests(globalConfig)) return;
    const { synthesizeAll } = await tsImport('../infra/support/synth.ts', import.meta.url);
    await synthesizeAll(synthDir);
  };
  await Promise.all([startTestPostgres(), synthesizeAll()]);
}
