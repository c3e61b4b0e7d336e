import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RawContext } from '../../../infra/config.js';
import { CONFIGURATIONS, type ConfigurationName } from './configurations.js';

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation JSON is untyped, and the assertions walk it freely.
export type Json = any;

/** Set by the global setup (test/support/global-setup.js): the folder where the run keeps what it synthesized. */
const SYNTH_DIR_VARIABLE = 'VAULT_TEST_SYNTH_DIR';

/** One configuration of the app as synthesized: plain JSON, the same in every test file. */
export interface Synthesized {
  /** The template of each stack. */
  readonly json: { readonly data: Json; readonly api: Json };
  /** The cloud assembly's manifest: each stack's environment, dependencies and termination protection. */
  readonly manifest: Json;
  readonly stackNames: { readonly data: string; readonly api: string };
}

const fileOf = (dir: string, name: ConfigurationName): string => join(dir, `${name}.json`);

/**
 * Synthesizes every configuration once, before the test files start (the global setup calls it):
 * jest gives each file its own module registry, so a cache in memory would synthesize again in every
 * file, and a file that synthesized in its own hook could run past jest's hook timeout on a loaded
 * machine. A configuration that fails is left out, so the file that asks for it meets the error itself.
 */
export async function synthesizeAll(dir: string): Promise<void> {
  for (const name of Object.keys(CONFIGURATIONS) as ConfigurationName[]) {
    let result: Synthesized;
    try {
      result = await synthesize(CONFIGURATIONS[name]);
    } catch {
      continue;
    }
    // Whole or not at all: a reader never sees half a file.
    writeFileSync(`${fileOf(dir, name)}.partial`, JSON.stringify(result));
    renameSync(`${fileOf(dir, name)}.partial`, fileOf(dir, name));
  }
}

/**
 * A configuration as the global setup synthesized it; synthesized here instead when the setup did not
 * (a run of other tests only, or a configuration whose synthesis failed: the caller meets its error).
 */
export async function synthesized(name: ConfigurationName): Promise<Synthesized> {
  const dir = process.env[SYNTH_DIR_VARIABLE];
  if (dir && existsSync(fileOf(dir, name))) return JSON.parse(readFileSync(fileOf(dir, name), 'utf8')) as Synthesized;
  return synthesize(CONFIGURATIONS[name]);
}

async function synthesize(context: RawContext): Promise<Synthesized> {
  const { synthVault } = await import('./synth-app.js');
  const { app, stacks, json } = synthVault(context);
  return { json, manifest: app.synth().manifest, stackNames: { data: stacks.data.stackName, api: stacks.api.stackName } };
}

/** A stack's entry in the cloud assembly's manifest. */
export function stackArtifact(synth: Synthesized, stack: 'data' | 'api'): Json {
  const artifact = synth.manifest.artifacts?.[synth.stackNames[stack]];
  if (artifact?.type !== 'aws:cloudformation:stack') throw new Error(`no stack ${synth.stackNames[stack]} in the manifest`);
  return artifact;
}

/** The stacks a stack is deployed after (its manifest dependencies that are stacks, not asset manifests). */
export const stackDependencies = (synth: Synthesized, stack: 'data' | 'api'): string[] =>
  (stackArtifact(synth, stack).dependencies ?? []).filter((id: string) => synth.manifest.artifacts[id]?.type === 'aws:cloudformation:stack');

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
