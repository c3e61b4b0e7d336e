import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tsImport } from 'tsx/esm/api';

// Jest loads global setup outside its transform pipeline; tsx lets it use the TypeScript sources.
export default async function globalSetup() {
  const { startTestPostgres } = await tsImport('./test-postgres.ts', import.meta.url);
  await startTestPostgres();
  // The test/infra files synthesize each configuration once per run and share it here (test/infra/support/synth.ts).
  process.env.VAULT_TEST_SYNTH_DIR = await mkdtemp(join(tmpdir(), 'vault-test-synth-'));
}
