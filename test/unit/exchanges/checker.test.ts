/**
 * The checker the functions take (shared/exchanges/checker.ts, shared/runtime/exchange-checks.ts):
 * off by default; on, through the prober function when one is named, else in this process; a kind
 * without an adapter is unchecked; whatever goes wrong on the way to the prober is `unreachable`.
 */
import { InvokeCommand, type InvokeCommandOutput, LambdaClient } from '@aws-sdk/client-lambda';
import { beforeEach, describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import { keyChecker, NO_CHECKS, UNCHECKED } from '../../../shared/exchanges/checker.js';
import type { ProbeOutcome } from '../../../shared/exchanges/facts.js';
import type { ExchangeKind } from '../../../shared/exchanges/kinds.js';
import { keyCheckerFromEnv, lambdaProber, PROBER_CLIENT_CONFIG } from '../../../shared/runtime/exchange-checks.js';

const lambda = mockClient(LambdaClient);
const payload = (value: unknown) => new TextEncoder().encode(JSON.stringify(value)) as InvokeCommandOutput['Payload'];
const credentials = { public_key: 'A'.repeat(64), private_key: 'B'.repeat(64) };
const facts: ProbeOutcome = { outcome: 'facts', facts: { permissions: ['read', 'trade'], ip_restricted: true, expires_at: null } };

beforeEach(() => {
  lambda.reset();
});

describe('keyCheckerFromEnv', () => {
  it('checks nothing unless EXCHANGE_CHECKS is on, and reads REQUIRE_IP_RESTRICTION', async () => {
    const off = keyCheckerFromEnv({ EXCHANGE_PROBER_FUNCTION: 'prober', REQUIRE_IP_RESTRICTION: 'on' });
    expect(await off.probe('binance', credentials)).toEqual(UNCHECKED);
    expect(off.policy).toEqual({ requireIpRestriction: true });
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(0);
    expect(await NO_CHECKS.probe('binance', credentials)).toEqual(UNCHECKED);
  });

  it('invokes the prober function EXCHANGE_PROBER_FUNCTION names with the kind and credentials as its payload', async () => {
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: payload(facts) });
    const checker = keyCheckerFromEnv({ EXCHANGE_CHECKS: 'on', EXCHANGE_PROBER_FUNCTION: 'vault-prober' }, () => new LambdaClient({ region: 'eu-west-1' }));
    expect(await checker.probe('binance', credentials)).toEqual(facts);
    const [call] = lambda.commandCalls(InvokeCommand);
    expect(call?.args[0].input.FunctionName).toBe('vault-prober');
    expect(JSON.parse(String(call?.args[0].input.Payload))).toEqual({ kind: 'binance', credentials });
  });

  it('without a prober function asks the exchange from this process at EXCHANGE_API_URLS (nothing listens there: unreachable)', async () => {
    const checker = keyCheckerFromEnv({ EXCHANGE_CHECKS: 'on', EXCHANGE_API_URLS: JSON.stringify({ binance: 'http://127.0.0.1:9' }) });
    expect(await checker.probe('binance', credentials)).toEqual({ outcome: 'unreachable', reason: 'network' });
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(0);
  });

  it('refuses a setting it cannot read, at cold start', () => {
    expect(() => keyCheckerFromEnv({ EXCHANGE_CHECKS: 'yes' })).toThrow(/EXCHANGE_CHECKS must be "on" or "off"/);
  });

  it('bounds the invocation: one attempt, a request timeout that throws', () => {
    expect(PROBER_CLIENT_CONFIG).toEqual({ maxAttempts: 1, requestHandler: expect.objectContaining({ requestTimeout: 7000, throwOnRequestTimeout: true }) });
  });
});

describe('keyChecker', () => {
  it('asks about no exchange without a kind, or whose kind has no adapter', async () => {
    const asked: unknown[] = [];
    const checker = keyChecker(
      async (request) => {
        asked.push(request);
        return facts;
      },
      { requireIpRestriction: false },
    );
    expect(await checker.probe(null, credentials)).toEqual(UNCHECKED);
    expect(await checker.probe('kucoin', { ...credentials, passphrase: 'p' })).toEqual(UNCHECKED);
    expect(await checker.probe('okx', { ...credentials, passphrase: 'p' })).toEqual(facts);
    expect(asked).toEqual([{ kind: 'okx', credentials: { ...credentials, passphrase: 'p' } }]);
    expect([null, 'kucoin', 'okx'].map((kind) => checker.asks(kind as ExchangeKind | null))).toEqual([false, false, true]);
    expect(NO_CHECKS.asks('okx')).toBe(false);
  });
});

describe('lambdaProber', () => {
  const prober = () => lambdaProber(new LambdaClient({ region: 'eu-west-1' }), 'vault-prober');

  it.each([
    [
      'the function failed',
      () => lambda.on(InvokeCommand).resolves({ StatusCode: 200, FunctionError: 'Unhandled', Payload: payload({ errorMessage: 'x' }) }),
      'prober_failed',
    ],
    [
      'the answer is outside the contract',
      () => lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: payload({ outcome: 'invalid_request', detail: 'd' }) }),
      'prober_failed',
    ],
    [
      'the answer is not JSON',
      () => lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: new TextEncoder().encode('{') as InvokeCommandOutput['Payload'] }),
      'prober_unreachable',
    ],
    ['the call times out', () => lambda.on(InvokeCommand).rejects(Object.assign(new Error('timed out'), { name: 'TimeoutError' })), 'prober_unreachable'],
  ])('is unreachable when %s', async (_, arrange, reason) => {
    arrange();
    expect(await prober()({ kind: 'binance', credentials })).toEqual({ outcome: 'unreachable', reason });
  });

  it("passes the exchange's answer through: a rejection keeps its code", async () => {
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: payload({ outcome: 'rejected', code: '-2015' }) });
    expect(await prober()({ kind: 'binance', credentials })).toEqual({ outcome: 'rejected', code: '-2015' });
  });
});
