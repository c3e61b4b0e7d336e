import { fileURLToPath } from 'node:url';
import type { BuildOptions } from 'esbuild';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

/**
 * The VaultFunction's esbuild options, for the builds the bench makes beside the CDK's. The
 * construct is imported only when a part needs it: it loads aws-cdk-lib.
 */
export async function vaultBundling(): Promise<BuildOptions & { write: false }> {
  const { ESBUILD_TARGET, ESM_REQUIRE_BANNER } = await import('../../infra/constructs/vault-function.js');
  return {
    absWorkingDir: REPO,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: ESBUILD_TARGET,
    mainFields: ['module', 'main'],
    minify: true,
    external: ['pg-native'],
    banner: { js: ESM_REQUIRE_BANNER },
    write: false,
    logLevel: 'silent',
  };
}
