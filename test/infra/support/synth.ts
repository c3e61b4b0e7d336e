import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RawContext } from '../../../infra/config.js';

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation JSON is untyped, and the assertions walk it freely.
export type Json = any;

/** Set by the global setup (test/support/global-setup.js): the folder where the test files share what they synthesize. */
const SYNTH_DIR_VARIABLE = 'VAULT_TEST_SYNTH_DIR';

/** One configuration of the app as synthesized: plain JSON, the same in every test file. */
export interface Synthesized {
  /** The template of each stack. */
  readonly json: { readonly data: Json; readonly api: Json };
  /** The cloud assembly's manifest: each stack's environment, dependencies and termination protection. */
  readonly manifest: Json;
  readonly stackNames: { readonly data: string; readonly api: string };
}

/**
 * How long a file waits for another jest worker that is synthesizing the same configuration: below
 * jest's 30 s hook timeout (testTimeout in jest.config.js), so a waiter fails with this wait's own
 * message rather than a bare hook timeout.
 */
const WAIT_FOR_OTHER_WORKER_MS = 20_000;

/**
 * The app synthesized for a set of context values, as `infra/app.ts` would, once per test run: jest
 * gives each test file its own module registry, so a cache in memory would synthesize again in every
 * file. The first file to ask synthesizes and writes the JSON to the run's folder (another worker asking
 * meanwhile waits for it); the others read it, without even loading aws-cdk-lib. A failed synthesis
 * releases its lock, so each caller meets the error itself.
 */
export async function synthesized(context: RawContext = {}): Promise<Synthesized> {
  const dir = process.env[SYNTH_DIR_VARIABLE];
  if (!dir) return synthesize(context);
  const key = createHash('sha256')
    .update(JSON.stringify(Object.entries(context).sort()))
    .digest('hex')
    .slice(0, 16);
  const file = join(dir, `${key}.json`);
  const lock = join(dir, `${key}.lock`);
  const deadline = Date.now() + WAIT_FOR_OTHER_WORKER_MS;
  while (!claim(lock)) {
    if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as Synthesized;
    if (Date.now() > deadline) throw new Error(`waited ${WAIT_FOR_OTHER_WORKER_MS} ms for another jest worker to synthesize ${JSON.stringify(context)}`);
    await sleep(100);
  }
  let result: Synthesized;
  try {
    result = await synthesize(context);
  } catch (error) {
    // Released, so the next caller for this configuration synthesizes and meets the same error at once
    // instead of polling for a file that never comes.
    rmdirSync(lock);
    throw error;
  }
  // Whole or not at all: a reader never sees half a file.
  writeFileSync(`${file}.partial`, JSON.stringify(result));
  renameSync(`${file}.partial`, file);
  return result;
}

/** True for the one caller that creates the lock: it synthesizes, the others wait for its file. */
function claim(lock: string): boolean {
  try {
    mkdirSync(lock);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
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
