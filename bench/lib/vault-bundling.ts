import { fileURLToPath } from 'node:url';
import type { BuildOptions } from 'esbuild';
import { FUNCTION_BUNDLING } from '../../infra/bundling.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

/** The functions' esbuild options (infra/bundling.ts), for the builds the bench makes beside the CDK's. */
export function vaultBundling(): BuildOptions & { write: false } {
  return {
    ...FUNCTION_BUNDLING,
    mainFields: [...FUNCTION_BUNDLING.mainFields],
    external: [...FUNCTION_BUNDLING.external],
    absWorkingDir: REPO,
    bundle: true,
    platform: 'node',
    write: false,
    logLevel: 'silent',
  };
}
