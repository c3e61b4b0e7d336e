import { CrossStackReferences, ReferenceStrength, Tags, type App } from 'aws-cdk-lib';
import type { VaultConfig } from './config.js';
import { ApiStack } from './stacks/api-stack.js';
import { DataStack } from './stacks/data-stack.js';

export interface VaultStacks {
  readonly data: DataStack;
  readonly api: ApiStack;
}

export const stackNames = (stage: string) => ({ data: `vault-${stage}-data`, api: `vault-${stage}-api` });

/**
 * The two stacks of one stage. Environment-agnostic on purpose: no account or region is baked in
 * and nothing is looked up, so `cdk synth` needs no credentials; `cdk deploy` targets whatever
 * account and region the caller's credentials name.
 */
export function buildVault(app: App, config: VaultConfig): VaultStacks {
  const names = stackNames(config.stage);
  // Exports/imports: the data stack cannot be deleted, nor an output the API uses removed, while the API uses it.
  CrossStackReferences.of(app).consume(ReferenceStrength.STRONG);
  const data = new DataStack(app, names.data, {
    config,
    description: `exchange-api-key-vault (${config.stage}): network, database, key ring, users`,
  });
  const api = new ApiStack(app, names.api, {
    config,
    data,
    description: `exchange-api-key-vault (${config.stage}): HTTP API, functions, migrations, alarms`,
  });
  api.addStackDependency(data);

  Tags.of(app).add('project', 'exchange-api-key-vault');
  Tags.of(app).add('stage', config.stage);
  return { data, api };
}
