import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import type { InvokedHandler } from './lambda-invoke.js';

/** What the server asks of the thread. */
export type ToFunctionThread = { kind: 'invoke'; id: number; name: string; event: unknown; awsRequestId: string } | { kind: 'end' };

/** What the thread answers: loaded, or an invocation's result or error (as Lambda reports one). */
export type FromFunctionThread =
  | { kind: 'ready' }
  | { kind: 'result'; id: number; result: unknown }
  | { kind: 'error'; id: number; errorType: string; errorMessage: string };

export interface FunctionThread {
  /** Runs `name` in the thread, with the invocation's context (its request id) as the server made it. */
  handler(name: string): InvokedHandler;
  /** Closes the functions' database pool and the thread. */
  end(): Promise<void>;
}

/**
 * The thread's first lines: tsx's loader, then the worker module. Node 20 does not pass the loader
 * tsx gave this thread on to a worker (Node 22 does); registering it again is harmless.
 */
const bootstrap = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))})
  .then(({ register }) => { register(); return import(${JSON.stringify(new URL('./function-worker.ts', import.meta.url).href)}); })`;

interface Pending {
  resolve(result: unknown): void;
  reject(error: Error): void;
}

/**
 * Functions of `functions/` loaded in a thread of their own, with an environment of their own
 * (`env`): their own module graph, so their own configuration, database pool and login, as a
 * Lambda function has apart from every other. The local server answers the Invoke API through it.
 */
export async function startFunctionThread(names: readonly string[], env: NodeJS.ProcessEnv): Promise<FunctionThread> {
  const worker = new Worker(bootstrap, { eval: true, env, workerData: { names } });
  const pending = new Map<number, Pending>();
  let stopped: Error | undefined;
  let nextId = 0;
  worker.on('message', (message: FromFunctionThread) => {
    if (message.kind === 'ready') return;
    const waiting = pending.get(message.id);
    pending.delete(message.id);
    if (message.kind === 'result') waiting?.resolve(message.result);
    else waiting?.reject(Object.assign(new Error(message.errorMessage), { name: message.errorType }));
  });
  worker.once('exit', (code) => {
    stopped = new Error(`the functions' thread stopped (exit code ${code})`);
    for (const waiting of pending.values()) waiting.reject(stopped);
    pending.clear();
  });
  // Loading fails as a cold start fails: the error (a missing setting) stops the server's start.
  await new Promise<void>((resolve, reject) => {
    worker.once('error', reject);
    worker.once('message', () => resolve());
  });
  worker.on('error', (error) => process.stderr.write(`functions' thread: ${error.stack ?? String(error)}\n`));
  return {
    handler(name) {
      if (!names.includes(name)) throw new Error(`${name} is not loaded in the functions' thread`);
      return (event, context) =>
        new Promise((resolve, reject) => {
          if (stopped) return reject(stopped);
          nextId += 1;
          pending.set(nextId, { resolve, reject });
          worker.postMessage({ kind: 'invoke', id: nextId, name, event, awsRequestId: context.awsRequestId } satisfies ToFunctionThread);
        });
    },
    async end() {
      if (stopped) return;
      worker.postMessage({ kind: 'end' } satisfies ToFunctionThread);
      await once(worker, 'exit');
    },
  };
}
