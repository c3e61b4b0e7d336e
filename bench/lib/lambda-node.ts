/**
 * The Node.js binary of the major Lambda runs the functions on (infra's RUNTIME, nodejs22.x), to
 * time cold starts where they happen: on Node 20, importing pg alone costs twice what it does on 22
 * (its Cloudflare check loads undici). The official binary comes from the npm registry's
 * `node-<platform>-<arch>` package, fetched once into the data folder with `npm pack`.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { arch, platform } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { RUNTIME } from '../../infra/constructs/vault-function.js';

const run = promisify(execFile);

/** An exact release of the runtime's major, so a rerun measures the same binary. */
export const LAMBDA_NODE_VERSION = '22.23.5';

const CACHE = fileURLToPath(new URL('../../.data/bench-node/', import.meta.url));

export interface NodeBinary {
  readonly path: string;
  readonly version: string;
}

const major = (version: string): string => version.replace(/^v/, '').split('.')[0]!;

/** This process's node when it is already the runtime's major; else the pinned release, fetched on first use. */
export async function lambdaNode(log: (line: string) => void): Promise<NodeBinary> {
  const runtimeMajor = /^nodejs(\d+)\.x$/.exec(RUNTIME.name)?.[1];
  if (runtimeMajor !== major(LAMBDA_NODE_VERSION)) throw new Error(`LAMBDA_NODE_VERSION ${LAMBDA_NODE_VERSION} is not the major of ${RUNTIME.name}`);
  if (major(process.version) === runtimeMajor) return { path: process.execPath, version: process.version };
  const name = `node-${platform()}-${arch()}`;
  const dir = join(CACHE, `${name}-${LAMBDA_NODE_VERSION}`);
  const binary = join(dir, 'package', 'bin', 'node');
  if (!existsSync(binary)) {
    log(`  fetching ${name}@${LAMBDA_NODE_VERSION} from the npm registry (once; kept in ${dir})`);
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    const { stdout } = await run('npm', ['pack', `${name}@${LAMBDA_NODE_VERSION}`, '--pack-destination', dir, '--silent']);
    await run('tar', ['-xzf', join(dir, stdout.trim().split('\n').at(-1)!), '-C', dir]);
  }
  const { stdout } = await run(binary, ['--version']);
  return { path: binary, version: stdout.trim() };
}
