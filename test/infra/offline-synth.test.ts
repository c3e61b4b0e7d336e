import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ESM_REQUIRE_BANNER } from '../../infra/bundling.js';
import { ENGINE_FUNCTIONS } from '../../infra/constructs/engine-functions.js';
import { REPO_ROOT } from '../../infra/paths.js';
import { MIGRATIONS_DIR } from '../../shared/db/migrate.js';
import { routes } from '../../shared/routes.js';
import { functionsByName, type Json, type Resource, resources } from './support/synth.js';

/**
 * `npx cdk synth` exactly as a developer or CI runs it (cdk.json's app, tsx, esbuild), with no
 * AWS credentials, no region, no profile, no instance metadata, and every HTTP(S) request sent
 * to a closed port: a lookup or any other call to AWS would fail the synth.
 */
let outdir: string;
let result: SpawnSyncReturns<string>;
let contextFileBefore: boolean;

beforeAll(() => {
  outdir = mkdtempSync(join(tmpdir(), 'vault-synth-'));
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!/^(AWS_|CDK_)/.test(name) && !/_PROXY$/i.test(name)) env[name] = value;
  }
  Object.assign(env, {
    AWS_CONFIG_FILE: join(outdir, 'no-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(outdir, 'no-aws-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    CDK_DISABLE_CLI_TELEMETRY: 'true',
    HTTP_PROXY: 'http://127.0.0.1:9',
    HTTPS_PROXY: 'http://127.0.0.1:9',
    NO_PROXY: '',
  });
  contextFileBefore = existsSync(join(REPO_ROOT, 'cdk.context.json'));
  result = spawnSync(join(REPO_ROOT, 'node_modules', '.bin', 'cdk'), ['synth', '--quiet', '--no-notices', '--output', outdir], {
    cwd: REPO_ROOT,
    env,
    encoding: 'utf8',
    timeout: 480_000,
  });
}, 490_000);

afterAll(() => {
  rmSync(outdir, { recursive: true, force: true });
});

describe('cdk synth offline', () => {
  it('exits 0 with no AWS credentials, region or network', () => {
    expect({ status: result.status, signal: result.signal, error: result.error?.message }).toEqual({ status: 0, signal: null, error: undefined });
    // The whole output: with nothing cached yet, every bundle's esbuild report follows the CLI's line.
    expect(`${result.stdout}\n${result.stderr}`).toContain('Successfully synthesized');
  });

  it('writes both stacks of the default stage, environment-agnostic', () => {
    const manifest = JSON.parse(readFileSync(join(outdir, 'manifest.json'), 'utf8'));
    const stacks = Object.entries(manifest.artifacts as Record<string, { type: string; environment: string }>).filter(
      ([, a]) => a.type === 'aws:cloudformation:stack',
    );
    expect(stacks.map(([name]) => name).sort()).toEqual(['vault-dev-api', 'vault-dev-data']);
    for (const [, artifact] of stacks) expect(artifact.environment).toBe('aws://unknown-account/unknown-region');
  });

  it('needed no lookup: no missing context, no cdk.context.json written', () => {
    const manifest = JSON.parse(readFileSync(join(outdir, 'manifest.json'), 'utf8'));
    expect(manifest.missing).toBeUndefined();
    expect(existsSync(join(REPO_ROOT, 'cdk.context.json'))).toBe(contextFileBefore);
  });
});

describe('the bundles it built', () => {
  const template = (stack: string): Json => JSON.parse(readFileSync(join(outdir, `${stack}.template.json`), 'utf8'));
  const assetDir = (fn: Resource): string => join(outdir, `asset.${String(fn.Properties.Code.S3Key).replace(/\.zip$/, '')}`);
  const ROUTED = routes.map((r) => r.name);
  let fns: Record<string, Resource>;
  let initializer: Resource;

  beforeAll(() => {
    fns = functionsByName(template('vault-dev-api'));
    initializer = resources(template('vault-dev-data'), 'AWS::Lambda::Function').find((f) => f.logicalId.startsWith('KeyRingInitializer'))!;
  });

  it.each([...ROUTED, 'key-maintenance', 'migrate', ...ENGINE_FUNCTIONS.map((spec) => spec.name)])(
    '%s is one minified ESM file with the AWS SDK inside and no source map',
    (name) => {
      const dir = assetDir(fns[name]!);
      expect(readdirSync(dir).sort()).toEqual(name === 'migrate' ? ['index.mjs', 'migrations'] : ['index.mjs']);
      const code = readFileSync(join(dir, 'index.mjs'), 'utf8');
      expect(code.slice(0, ESM_REQUIRE_BANNER.length)).toBe(ESM_REQUIRE_BANNER);
      expect(code).toMatch(/export\s*\{[^}]*\bas handler\b[^}]*\};?\s*(\/\*[\s\S]*\*\/\s*)?$/);
      // Minified: an unminified esbuild bundle of these handlers is about 20% whitespace, a minified one under 5%.
      expect(code.replace(/[^ \t\n]/g, '').length / code.length).toBeLessThan(0.05);
      expect(code.includes('//# sourceMappingURL=')).toBe(false);
      // The AWS SDK is inside the bundle: its SigV4 signer is (every function signs RDS tokens or SDK calls).
      expect(code.includes('AWS4-HMAC-SHA256')).toBe(true);
    },
  );

  it('every bundle, the ring initializer included, imports only Node built-ins', () => {
    for (const fn of [...Object.values(fns), initializer]) {
      const code = readFileSync(join(assetDir(fn), 'index.mjs'), 'utf8');
      const statics = [...code.matchAll(/(?:^|[;}\n])\s*import\s*(?:[\w$\s{},*]+?\s*from\s*)?["']([^"']+)["']/g)].map((m) => m[1]!);
      const dynamics = [...code.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1]!);
      expect(statics).toContain('node:module');
      expect([...statics, ...dynamics].filter((spec) => !spec.startsWith('node:') && !builtinModules.includes(spec))).toEqual([]);
    }
  });

  it('ships the SQL migrations beside the migration bundle, byte for byte', () => {
    const dir = join(assetDir(fns.migrate!), 'migrations');
    const expected = readdirSync(MIGRATIONS_DIR)
      .filter((f) => f.endsWith('.sql'))
      .sort();
    expect(expected.length).toBeGreaterThan(0);
    expect(readdirSync(dir).sort()).toEqual(expected);
    for (const file of expected) expect(readFileSync(join(dir, file), 'utf8')).toBe(readFileSync(join(MIGRATIONS_DIR, file), 'utf8'));
    const others = Object.entries(fns).filter(([name]) => name !== 'migrate');
    for (const [, fn] of others) expect(existsSync(join(assetDir(fn), 'migrations'))).toBe(false);
  });
});
