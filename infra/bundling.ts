/**
 * The esbuild target; it follows the runtime every function runs on (RUNTIME,
 * infra/constructs/vault-function.ts).
 */
export const ESBUILD_TARGET = 'node22';

/**
 * ESM bundles have no `require`; CommonJS dependencies bundled into them (pg, the AWS SDK's
 * transitive deps) call it for Node built-ins, so give them one.
 */
export const ESM_REQUIRE_BANNER = "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);";

/** The options below, in esbuild's own names (the CDK's `BundlingOptions` rename some). */
export interface FunctionBundling {
  readonly format: 'esm';
  readonly target: string;
  readonly mainFields: readonly string[];
  readonly minify: boolean;
  readonly sourcemap: boolean;
  readonly external: readonly string[];
  readonly banner: { readonly js: string };
}

/**
 * How every function is bundled: a minified ESM bundle with the AWS SDK inside it (the version we
 * test is the version that runs) and no source maps. The VaultFunction hands these to the CDK's
 * esbuild and bench/ builds with them beside it, so the two cannot drift. No aws-cdk-lib here:
 * bench/ loads this module without it.
 */
export const FUNCTION_BUNDLING: FunctionBundling = {
  format: 'esm',
  target: ESBUILD_TARGET,
  mainFields: ['module', 'main'],
  minify: true,
  sourcemap: false,
  // Only pg's optional native binding is left out: everything else, the SDK included, is bundled.
  external: ['pg-native'],
  banner: { js: ESM_REQUIRE_BANNER },
};
