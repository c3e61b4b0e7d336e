/**
 * The typed engine client (client/engine-client.ts): each call one Invoke of the right function,
 * its result parsed with the function's schema; a failed function or an answer outside the contract
 * is an EngineCallError naming the request id and never quoting the payload.
 */
import { InvokeCommand, type InvokeCommandOutput, LambdaClient } from '@aws-sdk/client-lambda';
import { beforeEach, describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import { createEngineClient, EngineCallError } from '../../../client/engine-client.js';

const lambda = mockClient(LambdaClient);
// The SDK wraps a payload in a blob adapter; the client reads only its bytes.
const payload = (value: unknown) => new TextEncoder().encode(JSON.stringify(value)) as InvokeCommandOutput['Payload'];
const answer = (value: unknown, extra: Record<string, unknown> = {}) => ({
  StatusCode: 200,
  Payload: payload(value),
  $metadata: { requestId: 'req-1' },
  ...extra,
});

beforeEach(() => {
  lambda.reset();
});

describe('the engine client', () => {
  const client = () =>
    createEngineClient(new LambdaClient({ region: 'eu-west-1' }), {
      openApiKey: 'arn:open',
      listActiveKeys: 'arn:active',
      listKeyChanges: 'arn:changes',
      reportApiKey: 'arn:report',
    });

  it('invokes each function by the name it was given with the event as its payload, and returns the parsed result and request id', async () => {
    lambda.on(InvokeCommand, { FunctionName: 'arn:open' }).resolves(answer({ ok: false, error: 'not_found', detail: 'none' }));
    lambda.on(InvokeCommand, { FunctionName: 'arn:active' }).resolves(answer({ ok: true, keys: [], next: null }));
    lambda.on(InvokeCommand, { FunctionName: 'arn:changes' }).resolves(answer({ ok: true, changes: [], next: 'MA' }));
    lambda.on(InvokeCommand, { FunctionName: 'arn:report' }).resolves(answer({ ok: false, error: 'stale', detail: 'replaced' }));
    expect(await client().openApiKey({ subject: 's', exchange_id: 101, purpose: 'p' })).toEqual({
      result: { ok: false, error: 'not_found', detail: 'none' },
      requestId: 'req-1',
    });
    expect((await client().listActiveKeys()).result).toEqual({ ok: true, keys: [], next: null });
    expect((await client().listKeyChanges({ after: 'MA' })).result).toEqual({ ok: true, changes: [], next: 'MA' });
    const refused = { subject: 's', exchange_id: 101, key_version: 2, reason: 'ip_not_allowed' } as const;
    expect(await client().reportApiKey(refused)).toEqual({ result: { ok: false, error: 'stale', detail: 'replaced' }, requestId: 'req-1' });
    const sent = lambda
      .commandCalls(InvokeCommand)
      .map((call) => [call.args[0].input.FunctionName, JSON.parse(Buffer.from(call.args[0].input.Payload as Uint8Array).toString())]);
    expect(sent).toEqual([
      ['arn:open', { subject: 's', exchange_id: 101, purpose: 'p' }],
      ['arn:active', {}],
      ['arn:changes', { after: 'MA' }],
      ['arn:report', refused],
    ]);
  });

  it('throws EngineCallError with the request id when the function fails', async () => {
    lambda.on(InvokeCommand).resolves(answer({ errorMessage: 'open-api-key failed' }, { FunctionError: 'Unhandled' }));
    await expect(client().openApiKeys({ keys: [{ user_no: 1, exchange_id: 101 }], purpose: 'p' })).rejects.toEqual(
      expect.objectContaining({ name: 'EngineCallError', requestId: 'req-1' }),
    );
  });

  it('refuses a report answer outside the contract: a report result is not an open result', async () => {
    lambda.on(InvokeCommand).resolves(answer({ ok: true, subject: 's', user_no: 1, exchange_id: 101, key_version: 1, reason: 'revoked', event_id: 2 }));
    await expect(client().reportApiKey({ user_no: 1, exchange_id: 101, key_version: 1, reason: 'exchange_rejected' })).rejects.toBeInstanceOf(EngineCallError);
  });

  it('refuses an answer outside the contract without quoting it (it may hold a key)', async () => {
    lambda.on(InvokeCommand).resolves(answer({ ok: true, private_key: 'SECRET-KEY-MATERIAL' }));
    const failure = await client()
      .openApiKey({ user_no: 1, exchange_id: 101, purpose: 'p' })
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(EngineCallError);
    expect(String((failure as Error).message)).not.toContain('SECRET');
  });
});
