import { parentPort, workerData } from 'node:worker_threads';
import type { FromFunctionThread, ToFunctionThread } from './function-thread.js';
import { lambdaContext } from './lambda-context.js';
import { type InvokedHandler, lambdaError } from './lambda-invoke.js';

/** The thread startFunctionThread starts: imports its functions (their cold start), then answers invocations. */
const port = parentPort!;
const { names } = workerData as { names: readonly string[] };
const handlers = new Map<string, InvokedHandler>();
for (const name of names) handlers.set(name, ((await import(`../functions/${name}.js`)) as { handler: InvokedHandler }).handler);
const { db } = await import('../shared/runtime/database.js');

const answer = (message: FromFunctionThread): void => port.postMessage(message);

async function invoke(id: number, name: string, event: unknown, awsRequestId: string): Promise<void> {
  try {
    const result = await handlers.get(name)!(event, lambdaContext(name, awsRequestId));
    answer({ kind: 'result', id, result: result ?? null });
  } catch (error) {
    answer({ kind: 'error', id, ...lambdaError(error) });
  }
}

port.on('message', (message: ToFunctionThread) => {
  if (message.kind === 'invoke') void invoke(message.id, message.name, message.event, message.awsRequestId);
  // The pool ends before the database stops, so no connection of it is cut; then the thread exits.
  else void db.end().then(() => port.close());
});
answer({ kind: 'ready' });
