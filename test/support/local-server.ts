import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { promisify } from 'node:util';

export const TSX = join(process.cwd(), 'node_modules', '.bin', 'tsx');
/** A local command (`tsx local/<name>.ts`), as npm runs it, with the environment given. */
export const runLocal = promisify(execFile);

/** `npm run token` exactly as the README has it: the token is the last line printed. */
export async function localToken(env: NodeJS.ProcessEnv, ...args: string[]): Promise<string> {
  const { stdout } = await runLocal(TSX, ['local/token.ts', ...args], { env });
  return stdout.trim().split('\n').at(-1)!;
}

/** `npm start` on `port` with `env`, its ring from the data folder (never SYMMETRIC_KEY): resolves once it serves. */
export function startLocalServer(env: NodeJS.ProcessEnv, port: number): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const { SYMMETRIC_KEY: _unset, ...inherited } = env;
    const child = spawn(TSX, ['local/start.ts'], { env: { ...inherited, PORT: String(port) }, stdio: ['ignore', 'ignore', 'pipe'] });
    let output = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Exchange API key vault on')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`local server exited with ${code}: ${output}`)));
  });
}

/** Stops the server before its database is dropped: on its way out it drops the engine's login it made. */
export async function stopLocalServer(server: ChildProcess | undefined): Promise<void> {
  if (!server || server.exitCode !== null) return;
  const exited = once(server, 'exit');
  server.kill('SIGTERM');
  await exited;
}
