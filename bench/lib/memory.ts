import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { now } from './stats.js';

let gc: (() => void) | undefined;

/**
 * The live heap now: heapUsed right after a full garbage collection, so only what is still
 * reachable counts. The bench runs without --expose-gc (tsx starts it); the flag set at run time
 * exposes gc to a new context.
 */
export function liveHeapBytes(): number {
  if (!gc) {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
  }
  gc();
  return process.memoryUsage().heapUsed;
}

const MAX_RSS = fileURLToPath(new URL('../max-rss.mjs', import.meta.url));

export interface MeasuredCommand {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** From spawn until the process exited. */
  readonly ms: number;
  /** The process's peak resident set size, as the kernel counted it. */
  readonly maxRssBytes: number;
}

/** Runs `node <args>` (this process's Node) with bench/max-rss.mjs preloaded: its wall time and its peak RSS. */
export async function measureNodeCommand(args: readonly string[], options: { cwd: string; env: NodeJS.ProcessEnv }): Promise<MeasuredCommand> {
  const start = now();
  const child = spawn(process.execPath, ['--import', MAX_RSS, ...args], { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
  const read = (stream: NodeJS.ReadableStream | null | undefined): Promise<string> =>
    new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      stream?.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream?.on('error', reject);
      stream?.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    });
  const [stdout, stderr, rss, code] = await Promise.all([
    read(child.stdout),
    read(child.stderr),
    read(child.stdio[3] as NodeJS.ReadableStream),
    new Promise<number | null>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', resolve);
    }),
  ]);
  const maxRssBytes = Number(rss.trim());
  if (!Number.isFinite(maxRssBytes) || maxRssBytes <= 0) throw new Error(`no peak RSS from node ${args.join(' ')} (exit ${code}): ${stderr}`);
  return { code, stdout, stderr, ms: now() - start, maxRssBytes };
}
