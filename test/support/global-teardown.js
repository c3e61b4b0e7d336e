import { rm } from 'node:fs/promises';
import { tsImport } from 'tsx/esm/api';

export default async function globalTeardown() {
  const { stopTestPostgres } = await tsImport('./test-postgres.ts', import.meta.url);
  await stopTestPostgres();
  if (process.env.VAULT_TEST_SYNTH_DIR) await rm(process.env.VAULT_TEST_SYNTH_DIR, { recursive: true, force: true });
}
