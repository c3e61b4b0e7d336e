import { type App, Tags } from 'aws-cdk-lib';
import { stackNames, type VaultConfig } from './config.js';
import { applyStageLogRetention, giveEveryFunctionLogRetention } from './constructs/function-logs.js';
import { ApiStack } from './stacks/api-stack.js';
import { DataStack } from './stacks/data-stack.js';

export interface VaultStacks {
  readonly data: DataStack;
  readonly api: ApiStack;
}

/**
 * The two stacks of one stage. Environment-agnostic on purpose: no account or region is baked in
 * and nothing is looked up, so `cdk synth` needs no credentials; `cdk deploy` targets whatever
 * account and region the caller's credentials name.
 */
export function buildVault(app: App, config: VaultConfig): VaultStacks {
  const names = stackNames(config.stage);
  const data = new DataStack(app, names.data, {
    config,
    description: `exchange-api-key-vault (${config.stage}): network, database, key ring, users`,
  });
  // No reference between the two: the API stack reads the data stack's values from SSM (data-values.ts).
  const api = new ApiStack(app, names.api, {
    config,
    description: `exchange-api-key-vault (${config.stage}): HTTP API, functions, migrations, alarms`,
  });
  api.addStackDependency(data);
  for (const stack of [data, api]) {
    giveEveryFunctionLogRetention(stack, config.logRetentionDays);
    applyStageLogRetention(stack, config.logRetentionDays);
  }

  Tags.of(app).add('project', 'exchange-api-key-vault');
  Tags.of(app).add('stage', config.stage);
  return { data, api };
}
