import { request as httpRequest, IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo, Socket } from 'node:net';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { generateKeyPair } from 'jose';
import { TOKEN_ALGORITHM } from '../../../local/dev-keys.js';
import { createInvokeEndpoint } from '../../../local/lambda-invoke.js';
import { createLocalServer, type Handlers } from '../../../local/server.js';

/**
 * The local Lambda Invoke endpoint speaks Lambda's conventions, so @aws-sdk/client-lambda reads
 * its answers as it reads AWS's: a result is 200 with the JSON payload; a function that throws is
 * 200 with X-Amz-Function-Error and Lambda's error payload; callers from other machines are refused.
 */
let server: Server;
let client: LambdaClient;
const contexts: Array<{ functionName: string; awsRequestId: string }> = [];
/** Invocations of `gated` say they arrived, then wait here until the test opens the gate. */
let openGate: () => void = () => undefined;
let gate = Promise.resolve();
let arrived: () => void = () => undefined;
const GATED_CONCURRENCY = 2;

beforeAll(async () => {
  const { publicKey } = await generateKeyPair(TOKEN_ALGORITHM);
  server = createLocalServer({} as Handlers, publicKey, {
    echo: {
      handler: async (event, context) => {
        contexts.push({ functionName: context.functionName, awsRequestId: context.awsRequestId });
        return { received: event };
      },
    },
    boom: {
      handler: async () => {
        throw new TypeError('the function broke');
      },
    },
    gated: {
      handler: async (event) => {
        arrived();
        await gate;
        return event;
      },
      reservedConcurrency: GATED_CONCURRENCY,
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  client = new LambdaClient({ endpoint: `http://127.0.0.1:${port}`, region: 'us-east-1', credentials: { accessKeyId: 'AKID', secretAccessKey: 'secret' } });
});

afterAll(async () => {
  client?.destroy();
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
});

const payloadOf = (bytes: Uint8Array | undefined): unknown => JSON.parse(Buffer.from(bytes ?? []).toString('utf8'));

describe('the local Lambda Invoke endpoint', () => {
  it('hands the function the payload and a context of its own, and answers 200 with its result and the request id', async () => {
    const response = await client.send(new InvokeCommand({ FunctionName: 'echo', Payload: JSON.stringify({ a: [1, 'two'] }) }));
    expect({ status: response.StatusCode, error: response.FunctionError, version: response.ExecutedVersion }).toEqual({
      status: 200,
      error: undefined,
      version: '$LATEST',
    });
    expect(payloadOf(response.Payload)).toEqual({ received: { a: [1, 'two'] } });
    expect(contexts.at(-1)).toEqual({ functionName: 'echo', awsRequestId: response.$metadata.requestId });
  });

  it('passes an empty payload as an empty object, as Lambda does', async () => {
    const response = await client.send(new InvokeCommand({ FunctionName: 'echo' }));
    expect(payloadOf(response.Payload)).toEqual({ received: {} });
  });

  it('answers a function that throws with X-Amz-Function-Error: Unhandled and its error type and message', async () => {
    const response = await client.send(new InvokeCommand({ FunctionName: 'boom', Payload: '{}' }));
    expect(response.StatusCode).toBe(200);
    expect(response.FunctionError).toBe('Unhandled');
    expect(payloadOf(response.Payload)).toEqual({ errorType: 'TypeError', errorMessage: 'the function broke' });
  });

  it('refuses what Lambda refuses: an unknown function, a payload that is not JSON, an asynchronous invocation', async () => {
    await expect(client.send(new InvokeCommand({ FunctionName: 'hasOwnProperty', Payload: '{}' }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
    await expect(client.send(new InvokeCommand({ FunctionName: 'echo', Payload: '{"a":' }))).rejects.toMatchObject({ name: 'InvalidRequestContentException' });
    await expect(client.send(new InvokeCommand({ FunctionName: 'echo', InvocationType: 'Event', Payload: '{}' }))).rejects.toMatchObject({
      name: 'InvalidParameterValueException',
    });
  });

  it('serves callers on this machine only', async () => {
    const socket = new Socket();
    Object.defineProperty(socket, 'remoteAddress', { value: '192.0.2.7' });
    const request = new IncomingMessage(socket);
    request.method = 'POST';
    let invoked = false;
    const written: unknown[] = [];
    const response = { writeHead: (...args: unknown[]) => written.push(args), end: (body: unknown) => written.push(body) } as unknown as ServerResponse;
    const url = new URL('http://vault.example/2015-03-31/functions/echo/invocations');
    const serveInvoke = createInvokeEndpoint({ echo: { handler: async () => (invoked = true) } });
    expect(await serveInvoke(request, response, url)).toBe(true);
    expect(invoked).toBe(false);
    expect(written[0]).toEqual([403, expect.objectContaining({ 'x-amzn-errortype': 'AccessDeniedException' })]);
    socket.destroy();
  });

  it.each([
    ['a page posting a form (no signature)', { 'content-type': 'text/plain' }],
    ['a page naming its origin', { origin: 'http://evil.example', authorization: 'AWS4-HMAC-SHA256 Credential=x' }],
    ['a rebound host name', { host: 'evil.example:3000', authorization: 'AWS4-HMAC-SHA256 Credential=x' }],
  ])('refuses what a web page on this machine could send: %s', async (_, headers) => {
    const { port } = server.address() as AddressInfo;
    // node:http rather than fetch, which will not send a Host of its choosing.
    const answer = await new Promise<{ status: number | undefined; type: unknown }>((resolve, reject) => {
      const sent = httpRequest({ port, host: '127.0.0.1', method: 'POST', path: '/2015-03-31/functions/echo/invocations', headers }, (response) => {
        response.resume();
        response.on('end', () => resolve({ status: response.statusCode, type: response.headers['x-amzn-errortype'] }));
      });
      sent.on('error', reject);
      sent.end('{"a":1}');
    });
    expect(answer).toEqual({ status: 403, type: 'AccessDeniedException' });
  });

  it('leaves every other path to the HTTP API', async () => {
    const request = new IncomingMessage(new Socket());
    expect(await createInvokeEndpoint({})(request, {} as ServerResponse, new URL('http://localhost/api/settings/exchanges'))).toBe(false);
  });

  it('answers 429 TooManyRequestsException past the reserved concurrency, as Lambda does, and serves the retry once one ends', async () => {
    gate = new Promise((resolve) => {
      openGate = resolve;
    });
    let arrivals = 0;
    const allArrived = new Promise<void>((resolve) => {
      arrived = () => {
        arrivals += 1;
        if (arrivals === GATED_CONCURRENCY) resolve();
      };
    });
    const { port } = server.address() as AddressInfo;
    // One attempt each: the SDK would otherwise retry a 429 itself, as an engine's client does.
    const once = new LambdaClient({
      endpoint: `http://127.0.0.1:${port}`,
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKID', secretAccessKey: 'secret' },
      maxAttempts: 1,
    });
    const call = (n: number) => once.send(new InvokeCommand({ FunctionName: 'gated', Payload: JSON.stringify({ n }) }));
    const running = Array.from({ length: GATED_CONCURRENCY }, (_, n) => call(n));
    await allArrived;
    await expect(call(GATED_CONCURRENCY)).rejects.toMatchObject({
      name: 'TooManyRequestsException',
      Reason: 'ReservedFunctionConcurrentInvocationLimitExceeded',
      $metadata: { httpStatusCode: 429 },
    });
    openGate();
    expect((await Promise.all(running)).map((response) => payloadOf(response.Payload))).toEqual([{ n: 0 }, { n: 1 }]);
    expect(payloadOf((await call(GATED_CONCURRENCY)).Payload)).toEqual({ n: GATED_CONCURRENCY });
    once.destroy();
  });
});
