/**
 * Part 1a: each function's bundle exactly as the CDK build makes it. The app is synthesized with
 * the CDK CLI into a temporary cloud assembly (offline: no credentials, no lookups), and every
 * Lambda whose asset is an ESM bundle (`index.mjs`, a VaultFunction) is found through its
 * template's `aws:asset:path` metadata. To say what fills a bundle, each entry is also built with
 * esbuild under the VaultFunction's options with a metafile; a build counts only if its output is
 * byte-identical to the CDK asset, which proves the options are the same.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { vaultBundling } from './lib/vault-bundling.js';

const REPO = fileURLToPath(new URL('../', import.meta.url));

export interface PackageShare {
  readonly name: string;
  readonly bytes: number;
}

export interface FunctionBundle {
  /** The construct path inside its stack, kebab-cased: `list-exchanges`, `key-ring/initializer`. */
  readonly name: string;
  readonly stack: string;
  readonly logicalId: string;
  readonly assetDir: string;
  readonly file: string;
  /** Size of the minified bundle (index.mjs). */
  readonly bytes: number;
  /** Environment variables of the template whose values are plain strings (not tokens). */
  readonly env: Readonly<Record<string, string>>;
  /** The source entry whose esbuild build the composition below comes from. */
  readonly entry?: string;
  /** Whether that build was byte-identical to the CDK asset (else: the source changed since, or options differ). */
  readonly exact?: boolean;
  /** Bytes in the bundle per npm package (`(source)` for the repository's own code), largest first. */
  readonly packages?: readonly PackageShare[];
  /** `@aws-sdk/client-*` packages in the bundle: the service clients. */
  readonly sdkClients?: readonly string[];
  /** Every other `@aws-sdk/*` package (signer, credential chain, core). */
  readonly sdkOther?: readonly string[];
}

export interface Synthesis {
  readonly outdir: string;
  readonly seconds: number;
  readonly bundles: readonly FunctionBundle[];
  remove(): Promise<void>;
}

function run(command: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(output) : reject(new Error(`${command} ${args.join(' ')} exited ${code}:\n${output.slice(-3000)}`))));
  });
}

const kebab = (id: string): string => id.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();

interface TemplateResource {
  Type: string;
  Metadata?: Record<string, unknown>;
  Properties?: { Environment?: { Variables?: Record<string, unknown> } };
}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** Candidate entries: every Lambda source in the repository. */
async function candidateEntries(): Promise<string[]> {
  const entries: string[] = [];
  for (const dir of ['functions', 'infra/resources']) {
    const full = join(REPO, dir);
    if (!existsSync(full)) continue;
    for (const name of await readdir(full)) if (name.endsWith('.ts')) entries.push(join(dir, name));
  }
  return entries;
}

interface Breakdown {
  readonly entry: string;
  readonly hash: string;
  readonly packages: PackageShare[];
}

/** esbuild with the VaultFunction's bundling options, plus a metafile. */
async function breakdown(entry: string): Promise<Breakdown | undefined> {
  const { build } = await import('esbuild');
  try {
    const result = await build({ ...vaultBundling(), entryPoints: [entry], outfile: 'index.mjs', metafile: true });
    const [output] = result.outputFiles;
    const meta = Object.values(result.metafile.outputs)[0];
    if (!output || !meta) return undefined;
    const shares = new Map<string, number>();
    for (const [path, input] of Object.entries(meta.inputs)) {
      const name = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)?.[1] ?? '(source)';
      shares.set(name, (shares.get(name) ?? 0) + input.bytesInOutput);
    }
    const packages = [...shares].map(([name, bytes]) => ({ name, bytes })).sort((a, b) => b.bytes - a.bytes);
    return { entry, hash: sha256(output.contents), packages };
  } catch {
    return undefined;
  }
}

export async function synthesizeBundles(log: (line: string) => void): Promise<Synthesis> {
  const outdir = await mkdtemp(join(tmpdir(), 'vault-bench-cdk-'));
  const started = Date.now();
  // Offline: no credentials are looked for on the metadata service, nothing is reported anywhere.
  const env = { ...process.env, AWS_EC2_METADATA_DISABLED: 'true', CDK_DISABLE_CLI_TELEMETRY: 'true', CI: 'true' };
  await run(join(REPO, 'node_modules/.bin/cdk'), ['synth', '--output', outdir, '--quiet', '--no-notices', '--no-lookups'], env);
  const seconds = (Date.now() - started) / 1000;
  log(`  synthesized in ${seconds.toFixed(1)} s into ${outdir}`);

  const manifest = JSON.parse(await readFile(join(outdir, 'manifest.json'), 'utf8')) as {
    artifacts: Record<string, { type: string; properties?: { templateFile?: string } }>;
  };
  const breakdowns: Breakdown[] = [];
  for (const entry of await candidateEntries()) {
    const built = await breakdown(entry);
    if (built) breakdowns.push(built);
  }

  const bundles: FunctionBundle[] = [];
  for (const [stack, artifact] of Object.entries(manifest.artifacts)) {
    const templateFile = artifact.type === 'aws:cloudformation:stack' ? artifact.properties?.templateFile : undefined;
    if (!templateFile) continue;
    const template = JSON.parse(await readFile(join(outdir, templateFile), 'utf8')) as { Resources?: Record<string, TemplateResource> };
    for (const [logicalId, resource] of Object.entries(template.Resources ?? {})) {
      if (resource.Type !== 'AWS::Lambda::Function') continue;
      const assetPath = resource.Metadata?.['aws:asset:path'];
      const cdkPath = resource.Metadata?.['aws:cdk:path'];
      if (typeof assetPath !== 'string' || typeof cdkPath !== 'string') continue;
      const assetDir = join(outdir, assetPath);
      const file = join(assetDir, 'index.mjs');
      if (!existsSync(file)) continue; // CDK's own provider functions, not ours
      const contents = await readFile(file);
      const name = cdkPath.split('/').slice(1, -1).map(kebab).join('/');
      const env = Object.fromEntries(
        Object.entries(resource.Properties?.Environment?.Variables ?? {}).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
      );
      const hash = sha256(contents);
      const base = name.split('/').at(-1);
      const exactly = breakdowns.find((candidate) => candidate.hash === hash);
      const matched = exactly ?? breakdowns.find((candidate) => candidate.entry === `functions/${base}.ts`);
      const sdk = matched?.packages.map((share) => share.name).filter((pkg) => pkg.startsWith('@aws-sdk/')) ?? [];
      bundles.push({
        name,
        stack,
        logicalId,
        assetDir,
        file,
        bytes: (await stat(file)).size,
        env,
        ...(matched && {
          entry: matched.entry,
          exact: exactly !== undefined,
          packages: matched.packages,
          sdkClients: sdk.filter((pkg) => pkg.startsWith('@aws-sdk/client-')),
          sdkOther: sdk.filter((pkg) => !pkg.startsWith('@aws-sdk/client-')),
        }),
      });
    }
  }
  bundles.sort((a, b) => a.name.localeCompare(b.name));
  return { outdir, seconds, bundles, remove: () => rm(outdir, { recursive: true, force: true }) };
}
