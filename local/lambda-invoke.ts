import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Context } from 'aws-lambda';
import { lambdaContext } from './lambda-context.js';
import { readBody } from './read-body.js';

/** A function invoked directly (no HTTP route): any event in, any JSON-serializable result out. */
export type InvokedHandler = (event: unknown, context: Context) => Promise<unknown>;

export interface InvokedFunction {
  readonly handler: InvokedHandler;
  /** At most this many invocations at once, as the function's reserved concurrency caps it in AWS; none, no cap. */
  readonly reservedConcurrency?: number;
}

export type InvokedFunctions = Readonly<Record<string, InvokedFunction>>;

/** A router's answer: true when the request was the Invoke API's to answer (answered), false for any other path. */
export type InvokeEndpoint = (request: IncomingMessage, response: ServerResponse, url: URL) => Promise<boolean>;

const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;

/** Lambda's own limit for a synchronous invocation's request payload. */
const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

const LOCAL_HOST = /^(localhost|127\.0\.0\.1|\[::1\])(:\d+)?$/;

/**
 * A web page in this machine's browser reaches loopback too, and would get keys back (a DNS
 * rebinding page can even read them). An SDK client signs every call (SigV4) and sends no Origin;
 * a page cannot set Authorization without a CORS preflight this server never allows, always sends
 * Origin with a cross-site POST, and names its own host in Host.
 */
const fromSdkClient = (request: IncomingMessage): boolean =>
  request.headers.origin === undefined && /^AWS4-HMAC-SHA256 /.test(request.headers.authorization ?? '') && LOCAL_HOST.test(request.headers.host ?? '');

/** An error as the Lambda API answers it: the SDK reads its type from the header. */
function sendError(response: ServerResponse, status: number, type: string, message: string, fields: Record<string, string> = {}): void {
  response.writeHead(status, { 'content-type': 'application/json', 'x-amzn-errortype': type });
  response.end(JSON.stringify({ Type: 'User', message, ...fields }));
}

/** `open-api-key`, or the last part of a function ARN (`arn:aws:lambda:...:function:open-api-key[:qualifier]`). */
function functionName(encoded: string): string | undefined {
  let name: string;
  try {
    name = decodeURIComponent(encoded);
  } catch {
    return undefined;
  }
  return /^arn:aws[a-z-]*:lambda:[^:]*:[^:]*:function:([^:]+)(?::[^:]+)?$/.exec(name)?.[1] ?? name;
}

/**
 * The Lambda Invoke API (`POST /2015-03-31/functions/{name}/invocations`) for the functions that
 * have no HTTP route, so an engine developer points `@aws-sdk/client-lambda` at the local server
 * and changes nothing else. IAM is not imitated: only callers on this machine are served, and
 * request signatures are not checked. Past a function's reserved concurrency it answers 429
 * TooManyRequestsException as Lambda does, so an engine's retries can be tried locally.
 */
export function createInvokeEndpoint(functions: InvokedFunctions): InvokeEndpoint {
  const running = new Map<string, number>();
  return (request, response, url) => serveInvoke(request, response, url, functions, running);
}

async function serveInvoke(
  request: IncomingMessage,
  response: ServerResponse,
  url: URL,
  functions: InvokedFunctions,
  running: Map<string, number>,
): Promise<boolean> {
  const match = INVOKE_PATH.exec(url.pathname);
  if (!match) return false;
  if (!LOOPBACK.has(request.socket.remoteAddress ?? '')) {
    sendError(response, 403, 'AccessDeniedException', 'The local Lambda endpoint serves callers on this machine only');
    return true;
  }
  if (!fromSdkClient(request)) {
    sendError(response, 403, 'AccessDeniedException', 'The local Lambda endpoint serves signed SDK calls to localhost only, never a web page');
    return true;
  }
  if (request.method !== 'POST') {
    response.writeHead(405, { allow: 'POST' });
    response.end();
    return true;
  }
  const name = functionName(match[1]!);
  const fn = name !== undefined && Object.hasOwn(functions, name) ? functions[name] : undefined;
  if (name === undefined || !fn) {
    sendError(response, 404, 'ResourceNotFoundException', `Function not found: ${name ?? 'unknown'}`);
    return true;
  }
  const invocationType = request.headers['x-amz-invocation-type'] ?? 'RequestResponse';
  if (invocationType !== 'RequestResponse') {
    sendError(response, 400, 'InvalidParameterValueException', 'The local endpoint serves RequestResponse invocations only');
    return true;
  }
  const payload = await readBody(request, MAX_PAYLOAD_BYTES);
  if (!payload) {
    sendError(response, 413, 'RequestTooLargeException', `Request must be smaller than ${MAX_PAYLOAD_BYTES} bytes for the InvokeFunction operation`);
    return true;
  }
  let event: unknown;
  try {
    // Lambda hands an empty payload to the function as an empty object.
    event = payload.length === 0 ? {} : JSON.parse(payload.toString('utf8'));
  } catch {
    sendError(response, 400, 'InvalidRequestContentException', 'Could not parse request body into json');
    return true;
  }
  const inFlight = running.get(name) ?? 0;
  if (fn.reservedConcurrency !== undefined && inFlight >= fn.reservedConcurrency) {
    sendError(response, 429, 'TooManyRequestsException', 'Rate Exceeded.', { Reason: 'ReservedFunctionConcurrentInvocationLimitExceeded' });
    return true;
  }
  running.set(name, inFlight + 1);
  try {
    await invoke(fn.handler, name, event, response);
  } finally {
    running.set(name, (running.get(name) ?? 1) - 1);
  }
  return true;
}

/** A thrown value as Lambda reports it: its type and message, nothing else (no stack). */
export function lambdaError(error: unknown): { errorType: string; errorMessage: string } {
  const { name, message } = error instanceof Error ? error : { name: 'Error', message: String(error) };
  return { errorType: name, errorMessage: message };
}

async function invoke(handler: InvokedHandler, name: string, event: unknown, response: ServerResponse): Promise<void> {
  const context = lambdaContext(name);
  // Lambda's response names the invocation's request id, the one the function logs and the key's history records.
  const headers = { 'content-type': 'application/json', 'x-amz-executed-version': '$LATEST', 'x-amzn-requestid': context.awsRequestId };
  let result: unknown;
  try {
    result = await handler(event, context);
  } catch (error) {
    // As Lambda does: 200, the error named in a header, its type and message as the payload.
    const { errorType, errorMessage } = lambdaError(error);
    response.writeHead(200, { ...headers, 'x-amz-function-error': 'Unhandled' });
    response.end(JSON.stringify({ errorType, errorMessage }));
    return;
  }
  response.writeHead(200, headers);
  response.end(JSON.stringify(result ?? null));
}
