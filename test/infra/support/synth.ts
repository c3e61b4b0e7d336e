import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { parseConfig, type RawContext } from '../../../infra/config.js';
import { buildVault, type VaultStacks } from '../../../infra/vault.js';

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation JSON is untyped, and the assertions walk it freely.
export type Json = any;

export interface SynthOptions {
  /**
   * Run esbuild for every function (real assets in `app.outdir`). Off, the assets are left
   * unbundled (the CDK's `aws:cdk:bundling-stacks` context): same templates, a fraction of the time.
   */
  readonly bundle?: boolean;
}

export interface Synthesized {
  readonly app: App;
  readonly stacks: VaultStacks;
  readonly data: Template;
  readonly api: Template;
  /** The raw template JSON of each stack, by stack name. */
  readonly json: { readonly data: Json; readonly api: Json };
}

/** Builds and synthesizes the whole app once for a set of context values, as `infra/app.ts` does. */
export function synthVault(context: RawContext = {}, options: SynthOptions = {}): Synthesized {
  const app = new App({
    context: options.bundle ? {} : { 'aws:cdk:bundling-stacks': [] },
    analyticsReporting: false,
  });
  const stacks = buildVault(app, parseConfig(context));
  const data = Template.fromStack(stacks.data);
  const api = Template.fromStack(stacks.api);
  return { app, stacks, data, api, json: { data: data.toJSON(), api: api.toJSON() } };
}

export interface Resource {
  readonly logicalId: string;
  readonly Type: string;
  readonly Properties: Json;
  readonly DependsOn?: string[];
  readonly DeletionPolicy?: string;
  readonly UpdateReplacePolicy?: string;
}

export function resources(template: Json, type?: string): Resource[] {
  return Object.entries(template.Resources as Record<string, Json>)
    .filter(([, r]) => type === undefined || r.Type === type)
    .map(([logicalId, r]) => ({ logicalId, Properties: {}, ...r }));
}

export function resource(template: Json, logicalId: string): Resource {
  const r = template.Resources[logicalId];
  if (!r) throw new Error(`no resource ${logicalId}`);
  return { logicalId, Properties: {}, ...r };
}

export function onlyResource(template: Json, type: string): Resource {
  const found = resources(template, type);
  if (found.length !== 1) throw new Error(`expected exactly one ${type}, found ${found.length}`);
  return found[0]!;
}

/** The API stack's functions by handler name (the description starts with `<name>:`). */
export function functionsByName(template: Json): Record<string, Resource> {
  const byName: Record<string, Resource> = {};
  for (const fn of resources(template, 'AWS::Lambda::Function')) {
    const match = /^([a-z-]+):/.exec(fn.Properties.Description ?? '');
    if (match) byName[match[1]!] = fn;
  }
  return byName;
}

export interface Statement {
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Resource: Json;
  readonly Condition?: Json;
  readonly Sid?: string;
}

export const actionsOf = (s: Statement): string[] => (Array.isArray(s.Action) ? s.Action : [s.Action]);
export const resourcesOf = (s: Statement): Json[] => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]);

/** Every statement any policy grants to a role: attached AWS::IAM::Policy documents and inline policies. */
export function statementsOfRole(template: Json, roleLogicalId: string): Statement[] {
  const role = resource(template, roleLogicalId);
  const inline = (role.Properties.Policies ?? []).flatMap((p: Json) => p.PolicyDocument.Statement);
  const attached = resources(template, 'AWS::IAM::Policy')
    .filter((p) => (p.Properties.Roles ?? []).some((r: Json) => r.Ref === roleLogicalId))
    .flatMap((p) => p.Properties.PolicyDocument.Statement);
  return [...inline, ...attached];
}

export function roleOfFunction(fn: Resource): string {
  const role = fn.Properties.Role;
  const logicalId = role?.['Fn::GetAtt']?.[0];
  if (typeof logicalId !== 'string') throw new Error(`function ${fn.logicalId} has no role in this template`);
  return logicalId;
}

export const statementsOfFunction = (template: Json, fn: Resource): Statement[] => statementsOfRole(template, roleOfFunction(fn));

/**
 * The data-stack resource an SSM parameter of the data stack holds the value of (its `Ref` or
 * `Fn::GetAtt`), by the parameter's name: how the API stack's values trace back to the data stack.
 */
export function publishedLogicalId(dataTemplate: Json, parameterName: unknown): string | undefined {
  const parameter = resources(dataTemplate, 'AWS::SSM::Parameter').find((p) => p.Properties.Name === parameterName);
  const value = parameter?.Properties.Value;
  return value?.Ref ?? value?.['Fn::GetAtt']?.[0];
}

/**
 * A reference in either stack to a data-stack resource: its logical ID, or undefined. In the API
 * stack that is a template parameter CloudFormation fills from the data stack's SSM parameter.
 */
export function referencedLogicalId(templates: { readonly data: Json; readonly api: Json }, value: Json): string | undefined {
  const parameter = typeof value?.Ref === 'string' ? templates.api.Parameters?.[value.Ref] : undefined;
  if (parameter?.Type === 'AWS::SSM::Parameter::Value<String>') return publishedLogicalId(templates.data, parameter.Default);
  return value?.Ref ?? value?.['Fn::GetAtt']?.[0];
}
