import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { handler as Handler } from '../../../functions/probe-exchange-key.js';
import { lambdaContext } from '../../support/events.js';
import { type FakeExchange, sampleCredentials, startFakeExchange } from '../../support/fake-exchange/index.js';
import { captureOutput, type OutputCapture } from '../../support/output-capture.js';

let fake: FakeExchange;
let handler: typeof Handler;
let output: OutputCapture;

beforeAll(async () => {
  fake = await startFakeExchange();
  process.env.EXCHANGE_API_URLS = JSON.stringify(fake.baseUrls);
  // Far longer than a loaded machine needs to answer (the bound itself is tested on probeKey).
  process.env.EXCHANGE_PROBE_TIMEOUT_MS = '10000';
  process.env.POWERTOOLS_LOG_LEVEL = 'DEBUG';
  // Powertools logs each whole event when this is set, unless the handler says not to.
  process.env.POWERTOOLS_LOGGER_LOG_EVENT = 'true';
  output = captureOutput();
  ({ handler } = await import('../../../functions/probe-exchange-key.js'));
});

afterAll(async () => {
  output.restore();
  for (const name of ['EXCHANGE_API_URLS', 'EXCHANGE_PROBE_TIMEOUT_MS', 'POWERTOOLS_LOGGER_LOG_EVENT']) delete process.env[name];
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  await fake.close();
});

describe('the probe-exchange-key function', () => {
  it('takes one key credentials and returns its exchange facts, logging kind and outcome only', async () => {
    const credentials = sampleCredentials('okx');
    fake.addKey('okx', credentials, { withdraw: true });
    const result = await handler({ kind: 'okx', credentials }, lambdaContext());
    expect(result).toEqual({ outcome: 'facts', facts: { permissions: ['read', 'trade', 'withdraw'], ip_restricted: true, expires_at: null } });
    expect(output.logRecords()).toContainEqual(expect.objectContaining({ message: 'probed', kind: 'okx', outcome: 'facts' }));
    const text = output.text();
    for (const secret of Object.values(credentials)) expect(text).not.toContain(secret);
  });

  it('a rejection carries the exchange code', async () => {
    expect(await handler({ kind: 'bybit', credentials: sampleCredentials('bybit') }, lambdaContext())).toEqual({ outcome: 'rejected', code: '10003' });
  });

  it.each([
    ['no kind', { credentials: { public_key: 'k', private_key: 's' } }, 'kind'],
    ['a kind without an adapter', { kind: 'kucoin', credentials: { public_key: 'k', private_key: 's', passphrase: 'p' } }, 'kind'],
    ['an extra field', { kind: 'upbit', credentials: { public_key: 'k', private_key: 's' }, user_no: 1 }, '(event)'],
    ['not an object', 'binance', '(event)'],
  ])('answers invalid_request for %s, naming the field and never a value', async (_, event, field) => {
    const result = await handler(event, lambdaContext());
    expect(result).toEqual({ outcome: 'invalid_request', detail: expect.stringContaining(field) });
    expect(JSON.stringify(result)).not.toMatch(/"k"|"s"|"p"/);
  });
});
