/**
 * Part 1b: cold starts. Each run is a fresh `node` process that imports a bundle and handles one
 * API Gateway v2 event (bench/cold-start-child.mjs), timed from spawn until its response exists;
 * beside it the same harness with an empty handler. Variants are run round-robin, so drift in
 * the machine's load touches all of them alike.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ApiEvent } from '../shared/http/api-handler.js';
import type { NodeBinary } from './lib/lambda-node.js';
import { median, now } from './lib/stats.js';

const CHILD = fileURLToPath(new URL('./cold-start-child.mjs', import.meta.url));

export interface ColdTarget {
  readonly name: string;
  /** The module file exporting `handler` (a bundle's index.mjs). */
  readonly file: string;
  readonly env: Readonly<Record<string, string>>;
  /** The event for run i (API Gateway's, or an engine's): every run may need fresh data (a new subject, a new exchange name). */
  readonly event: (run: number) => ApiEvent | Record<string, unknown>;
  /** An HTTP status; an engine function's `ok: true` counts as 200. */
  readonly expectStatus: number;
}

export interface ColdResult {
  readonly name: string;
  /** The node version that ran it (`v22.23.5`). */
  readonly node: string;
  readonly runs: number;
  /** Median ms from spawn until the response exists. */
  readonly total: number;
  /** Medians of the parts, as the process saw them: node's boot, the import, the first request. */
  readonly boot: number;
  readonly init: number;
  readonly invoke: number;
}

export interface Run {
  wall: number;
  boot: number;
  init: number;
  invoke: number;
  status: number;
}

/** One fresh process importing the target and handling its event for `run`. */
export function runOnce(node: NodeBinary, target: ColdTarget, run: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const start = now();
    const child = spawn(node.path, [CHILD, target.file, JSON.stringify(target.event(run))], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TZ: 'UTC', ...target.env },
      stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
    });
    let wall: number | undefined;
    let output = '';
    let errors = '';
    child.stdio[3]?.on('data', (chunk: Buffer) => {
      wall ??= now() - start;
      output += chunk.toString();
    });
    child.stderr?.on('data', (chunk: Buffer) => (errors += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const line = output.trim();
      if (code !== 0 || !line || wall === undefined) {
        reject(new Error(`${target.name}: cold start run ${run} exited ${code}: ${errors.slice(0, 2000)}`));
        return;
      }
      const parsed = JSON.parse(line) as Omit<Run, 'wall'>;
      if (parsed.status !== target.expectStatus) {
        reject(new Error(`${target.name}: cold start run ${run} answered ${parsed.status}, expected ${target.expectStatus}`));
        return;
      }
      resolve({ ...parsed, wall });
    });
  });
}

/** An empty handler module: what a cold start costs with nothing to import. */
export async function emptyHandler(): Promise<{ file: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'vault-bench-empty-'));
  const file = join(dir, 'index.mjs');
  await writeFile(file, "export const handler = async () => ({ statusCode: 200, headers: { 'content-type': 'application/json' }, body: '[]' });\n");
  return { file, remove: () => rm(dir, { recursive: true, force: true }) };
}

export async function runColdStarts(
  targets: readonly ColdTarget[],
  options: { runs: number; node: NodeBinary; log: (line: string) => void },
): Promise<ColdResult[]> {
  const samples = new Map<string, Run[]>(targets.map((target) => [target.name, []]));
  // Round 0 is not recorded: it pulls the files into the page cache, which Lambda's does not measure either.
  for (let round = 0; round <= options.runs; round++) {
    for (const target of targets) {
      const run = await runOnce(options.node, target, round);
      if (round > 0) samples.get(target.name)!.push(run);
    }
  }
  return targets.map((target) => {
    const runs = samples.get(target.name)!;
    const result: ColdResult = {
      name: target.name,
      node: options.node.version,
      runs: runs.length,
      total: median(runs.map((run) => run.wall)),
      boot: median(runs.map((run) => run.boot)),
      init: median(runs.map((run) => run.init)),
      invoke: median(runs.map((run) => run.invoke)),
    };
    options.log(
      `  ${target.name} on Node ${result.node}: ${result.total.toFixed(1)} ms (boot ${result.boot.toFixed(1)}, import ${result.init.toFixed(1)}, first request ${result.invoke.toFixed(1)})`,
    );
    return result;
  });
}
