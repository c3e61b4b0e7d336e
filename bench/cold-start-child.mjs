// A cold start as Lambda's Node runtime does it: a fresh process imports the handler module,
// then handles one request. Plain JavaScript with no imports of its own, so the harness adds the
// same small constant to the bundle's runs and to the empty handler's.
// argv: <module file> <event JSON>; the result goes to fd 3 as one JSON line.
import { writeSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const started = performance.now(); // ms since this process began: node's own boot
const [file, eventJson] = process.argv.slice(2);
const event = JSON.parse(eventJson);
const context = {
  callbackWaitsForEmptyEventLoop: false,
  functionName: process.env.AWS_LAMBDA_FUNCTION_NAME ?? 'bench',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:local:000000000000:function:bench',
  memoryLimitInMB: '512',
  awsRequestId: 'cold-start',
  logGroupName: '/aws/lambda/bench',
  logStreamName: 'bench',
  getRemainingTimeInMillis: () => 10_000,
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
};
const module = await import(pathToFileURL(file).href);
const imported = performance.now();
const result = await module.handler(event, context);
const handled = performance.now();
// An engine function answers a value, not an HTTP response: `ok: true` counts as 200.
const status = result?.statusCode ?? (result?.ok === true ? 200 : undefined);
writeSync(3, `${JSON.stringify({ boot: started, init: imported - started, invoke: handled - imported, status })}\n`);
process.exit(0);
