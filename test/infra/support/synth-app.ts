import { App } from 'aws-cdk-lib';
import { parseConfig, type RawContext } from '../../../infra/config.js';
import { buildVault, type VaultStacks } from '../../../infra/vault.js';
import type { Json } from './synth.js';

/** The app with its construct tree, for what only the tree shows (cdk-nag, a grant added in a test). */
export interface SynthesizedApp {
  readonly app: App;
  readonly stacks: VaultStacks;
  /** The template of each stack. */
  readonly json: { readonly data: Json; readonly api: Json };
}

/**
 * Builds and synthesizes the whole app for a set of context values, as `infra/app.ts` does. The
 * assets are left unbundled (the CDK's `aws:cdk:bundling-stacks` context): same templates, a fraction
 * of the time; the bundles are checked on the real `cdk synth` (offline-synth.test.ts). Tests that read
 * only the templates take them from `synthesized` (synth.ts), made once per run.
 */
export function synthVault(context: RawContext = {}): SynthesizedApp {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] }, analyticsReporting: false });
  const stacks = buildVault(app, parseConfig(context));
  const assembly = app.synth();
  const template = (artifactId: string): Json => assembly.getStackArtifact(artifactId).template;
  return { app, stacks, json: { data: template(stacks.data.artifactId), api: template(stacks.api.artifactId) } };
}
