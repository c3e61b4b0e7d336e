import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ADAPTERS } from '../../../shared/exchanges/adapters/index.js';
import type { Credentials, Permission, ProbeOutcome } from '../../../shared/exchanges/facts.js';
import { ADAPTED_KINDS, type AdaptedKind } from '../../../shared/exchanges/kinds.js';
import { MAX_ANSWER_BYTES, probeKey } from '../../../shared/exchanges/probe.js';
import { type Behaviour, type FakeExchange, type SecretForm, sampleCredentials, startFakeExchange } from '../../support/fake-exchange/index.js';

let fake: FakeExchange;
beforeAll(async () => {
  fake = await startFakeExchange();
});
afterAll(() => fake.close());

const DAY_MS = 86_400_000;
const probe = (kind: AdaptedKind, credentials: Credentials, options: { timeoutMs?: number; now?: Date } = {}): Promise<ProbeOutcome> =>
  probeKey({ kind, credentials }, { baseUrls: fake.baseUrls, timeoutMs: options.timeoutMs ?? 10_000, now: options.now ? () => options.now! : undefined });

/** A key the fake knows, behaving as told. */
function known(kind: AdaptedKind, behaviour: Behaviour = {}, form?: SecretForm): Credentials {
  const credentials = sampleCredentials(kind, form);
  fake.addKey(kind, credentials, behaviour);
  return credentials;
}

/** What each exchange reports, in the vault's words, per behaviour the fake can be told. */
interface Expected {
  readonly base: Permission[] | null;
  readonly withdraw: Permission[] | null;
  readonly transfer: Permission[] | null;
  readonly ipBound: boolean | null;
  readonly ipUnbound: boolean | null;
  /** Days to the expiry a fresh key reports (null: none), and whether "expires soon" shows. */
  readonly expiresInDays: number | null;
  readonly reportsExpiresSoon: boolean;
  readonly rejectCode: string;
  readonly badSignatureCode: string;
}

const EXPECTED: Record<AdaptedKind, Expected> = {
  binance: {
    base: ['read', 'trade'],
    withdraw: ['read', 'trade', 'withdraw'],
    transfer: ['read', 'trade', 'transfer'],
    ipBound: true,
    ipUnbound: false,
    expiresInDays: null,
    reportsExpiresSoon: true,
    rejectCode: '-2015',
    badSignatureCode: '-1022',
  },
  okx: {
    base: ['read', 'trade'],
    withdraw: ['read', 'trade', 'withdraw'],
    transfer: ['read', 'trade'],
    ipBound: true,
    ipUnbound: false,
    expiresInDays: null,
    reportsExpiresSoon: false,
    rejectCode: '50111',
    badSignatureCode: '50113',
  },
  bybit: {
    base: ['read', 'trade'],
    withdraw: ['read', 'trade', 'withdraw'],
    transfer: ['read', 'trade', 'transfer'],
    ipBound: true,
    ipUnbound: false,
    expiresInDays: null,
    reportsExpiresSoon: true,
    rejectCode: '10003',
    badSignatureCode: '10004',
  },
  coinbase: {
    base: ['read', 'trade'],
    withdraw: ['read', 'trade', 'withdraw', 'transfer'],
    transfer: ['read', 'trade', 'withdraw', 'transfer'],
    ipBound: null,
    ipUnbound: null,
    expiresInDays: null,
    reportsExpiresSoon: false,
    rejectCode: '401',
    badSignatureCode: '401',
  },
  kraken: {
    base: ['read', 'trade'],
    withdraw: ['read', 'trade', 'withdraw'],
    transfer: ['read', 'trade'],
    ipBound: true,
    ipUnbound: false,
    expiresInDays: null,
    reportsExpiresSoon: true,
    rejectCode: 'EAPI:Invalid key',
    badSignatureCode: 'EAPI:Invalid signature',
  },
  upbit: {
    base: null,
    withdraw: null,
    transfer: null,
    ipBound: true,
    ipUnbound: true,
    expiresInDays: 365,
    reportsExpiresSoon: true,
    rejectCode: 'invalid_access_key',
    badSignatureCode: 'jwt_verification',
  },
  coinone: {
    base: null,
    withdraw: null,
    transfer: null,
    ipBound: null,
    ipUnbound: null,
    expiresInDays: null,
    reportsExpiresSoon: false,
    rejectCode: '12',
    badSignatureCode: '12',
  },
};

const factsOf = (outcome: ProbeOutcome) => {
  if (outcome.outcome !== 'facts') throw new Error(`expected facts, got ${JSON.stringify(outcome)}`);
  return outcome.facts;
};
const daysAhead = (iso: string | null): number | null => (iso === null ? null : Math.round((Date.parse(iso) - Date.now()) / DAY_MS));

describe.each(ADAPTED_KINDS)('%s against the fake exchange', (kind) => {
  const expected = EXPECTED[kind];

  it('a fresh key authenticates and maps to its permissions, IP binding and expiry', async () => {
    const facts = factsOf(await probe(kind, known(kind)));
    expect([facts.permissions, facts.ip_restricted]).toEqual([expected.base, expected.ipBound]);
    expect(daysAhead(facts.expires_at)).toBe(expected.expiresInDays);
  });

  it('reports withdrawal and transfer rights where the exchange shows them', async () => {
    expect(factsOf(await probe(kind, known(kind, { withdraw: true }))).permissions).toEqual(expected.withdraw);
    expect(factsOf(await probe(kind, known(kind, { transfer: true }))).permissions).toEqual(expected.transfer);
  });

  it('reports a key no longer bound to IP addresses, and one about to expire', async () => {
    expect(factsOf(await probe(kind, known(kind, { ipUnbound: true }))).ip_restricted).toBe(expected.ipUnbound);
    const soon = daysAhead(factsOf(await probe(kind, known(kind, { expiresSoon: true }))).expires_at);
    expect(soon).toBe(expected.reportsExpiresSoon ? 3 : expected.expiresInDays);
  });

  it('a rejected key carries the exchange own code, and nothing of the key', async () => {
    const credentials = known(kind, { reject: true });
    const outcome = await probe(kind, credentials);
    expect(outcome).toEqual({ outcome: 'rejected', code: expected.rejectCode });
    expect(JSON.stringify(outcome)).not.toContain(credentials.private_key);
  });

  it('the fake checks the signature: a wrong secret is refused with the exchange own error', async () => {
    const credentials = known(kind);
    const other = sampleCredentials(kind);
    expect(await probe(kind, { ...credentials, private_key: other.private_key })).toEqual({ outcome: 'rejected', code: expected.badSignatureCode });
    // The same key with its own secret still passes: the refusal was the signature's.
    expect((await probe(kind, credentials)).outcome).toBe('facts');
  });

  it('an unknown key is refused as the exchange refuses one', async () => {
    expect(await probe(kind, sampleCredentials(kind))).toEqual({ outcome: 'rejected', code: expected.rejectCode });
  });

  it('an exchange that does not answer within the bound is unreachable', async () => {
    expect(await probe(kind, known(kind, { hang: true }), { timeoutMs: 200 })).toEqual({ outcome: 'unreachable', reason: 'timeout' });
  });
});

describe('the fake exchange checks what each exchange checks beyond the signature', () => {
  const stale = () => new Date(Date.now() - 5 * 60_000);

  it('Binance, OKX and Bybit refuse a stale timestamp; the vault reads that as its clock, not the key', async () => {
    expect(await probe('binance', known('binance'), { now: stale() })).toEqual({ outcome: 'unreachable', reason: 'clock_-1021' });
    expect(await probe('okx', known('okx'), { now: stale() })).toEqual({ outcome: 'unreachable', reason: 'clock_50102' });
    expect(await probe('bybit', known('bybit'), { now: stale() })).toEqual({ outcome: 'unreachable', reason: 'clock_10002' });
  });

  it('OKX refuses a wrong passphrase with its own code', async () => {
    const credentials = known('okx');
    expect(await probe('okx', { ...credentials, passphrase: 'Another-Passphrase1!' })).toEqual({ outcome: 'rejected', code: '50105' });
  });

  it('Coinbase refuses an expired JWT and one whose uri names another host', async () => {
    const credentials = known('coinbase');
    expect(await probe('coinbase', credentials, { now: stale() })).toEqual({ outcome: 'rejected', code: '401' });
    const request = ADAPTERS.coinbase.request(credentials, { host: 'api.coinbase.com', now: new Date() });
    const response = await fetch(`${fake.baseUrls.coinbase}${request.path}`, { headers: request.headers });
    expect([response.status, await response.text()]).toEqual([401, 'Unauthorized']);
  });

  it('Kraken refuses a nonce that does not increase', async () => {
    const credentials = known('kraken');
    const now = new Date();
    expect((await probe('kraken', credentials, { now })).outcome).toBe('facts');
    expect(await probe('kraken', credentials, { now })).toEqual({ outcome: 'unreachable', reason: 'nonce' });
  });

  it('Upbit and Coinone refuse a nonce used before', async () => {
    for (const kind of ['upbit', 'coinone'] as const) {
      const credentials = known(kind);
      const request = ADAPTERS[kind].request(credentials, { host: '', now: new Date() });
      const send = () => fetch(`${fake.baseUrls[kind]}${request.path}`, { method: request.method, headers: request.headers, body: request.body });
      expect((await send()).status).toBe(200);
      const replay = (await (await send()).json()) as Record<string, unknown>;
      expect(kind === 'upbit' ? replay.error : replay.result).toEqual(kind === 'upbit' ? expect.objectContaining({ name: 'invalid_query_payload' }) : 'error');
    }
  });
});

describe('the other secret forms each exchange takes', () => {
  it.each([
    ['binance', 'ed25519'],
    ['binance', 'rsa'],
    ['bybit', 'rsa'],
    ['coinbase', 'ed25519'],
  ] as const)('%s with an %s key signs as the exchange verifies', async (kind, form) => {
    expect(factsOf(await probe(kind, known(kind, {}, form))).permissions).toEqual(EXPECTED[kind].base);
  });

  it('a wrong key pair is refused (the fake verifies against the registered public key)', async () => {
    const credentials = known('binance', {}, 'ed25519');
    const other = sampleCredentials('binance', 'ed25519');
    expect(await probe('binance', { ...credentials, private_key: other.private_key })).toEqual({ outcome: 'rejected', code: '-1022' });
  });
});

describe('what the prober does with what is not an answer about the key', () => {
  it('malformed credentials are refused before anything is sent', async () => {
    let sent = false;
    const outcome = await probeKey(
      { kind: 'kraken', credentials: { public_key: 'k', private_key: 'not base64!' } },
      {
        baseUrls: {},
        timeoutMs: 1000,
        fetch: async () => {
          sent = true;
          return new Response('{}');
        },
      },
    );
    expect(outcome).toEqual({ outcome: 'malformed', issues: [{ field: 'private_key', message: expect.stringContaining('Kraken') }] });
    expect(sent).toBe(false);
  });

  it.each([
    [500, 'http_500'],
    [429, 'http_429'],
    [418, 'http_418'],
  ])('HTTP %i is unreachable (%s), whatever the body says', async (status, reason) => {
    const body = JSON.stringify({ code: -2015 });
    const outcome = await probeKey(
      { kind: 'binance', credentials: sampleCredentials('binance') },
      { baseUrls: {}, timeoutMs: 1000, fetch: async () => new Response(body, { status }) },
    );
    expect(outcome).toEqual({ outcome: 'unreachable', reason });
  });

  it('a network failure is unreachable, and an answer it cannot read is too', async () => {
    const credentials = sampleCredentials('bybit');
    const failing = async (): Promise<Response> => {
      throw new TypeError('fetch failed');
    };
    expect(await probeKey({ kind: 'bybit', credentials }, { baseUrls: {}, timeoutMs: 1000, fetch: failing })).toEqual({
      outcome: 'unreachable',
      reason: 'network',
    });
    const html = async () => new Response('<html>maintenance</html>', { status: 200 });
    expect(await probeKey({ kind: 'bybit', credentials }, { baseUrls: {}, timeoutMs: 1000, fetch: html })).toEqual({
      outcome: 'unreachable',
      reason: 'http_200',
    });
  });

  it('an answer larger than any key inspection is unreachable, read no further than the bound', async () => {
    let pulled = 0;
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled += 1;
        controller.enqueue(new Uint8Array(64 * 1024).fill(0x20));
      },
    });
    const outcome = await probeKey(
      { kind: 'upbit', credentials: sampleCredentials('upbit') },
      { baseUrls: {}, timeoutMs: 10_000, fetch: async () => new Response(endless) },
    );
    expect(outcome).toEqual({ outcome: 'unreachable', reason: 'answer_too_large' });
    expect(pulled * 64 * 1024).toBeLessThanOrEqual(MAX_ANSWER_BYTES + 2 * 64 * 1024);
  });

  it('a field of the right type with a value no date can hold is an answer it cannot read', async () => {
    const body = JSON.stringify({ ipRestrict: true, enableReading: true, tradingAuthorityExpirationTime: 1e300 });
    const outcome = await probeKey(
      { kind: 'binance', credentials: sampleCredentials('binance') },
      { baseUrls: {}, timeoutMs: 1000, fetch: async () => new Response(body) },
    );
    expect(outcome).toEqual({ outcome: 'unreachable', reason: 'unexpected_answer' });
  });

  it('goes to the real exchange unless EXCHANGE_API_URLS says otherwise', async () => {
    const urls: string[] = [];
    const record = async (url: string | URL | Request) => {
      urls.push(String(url));
      return new Response('{}', { status: 503 });
    };
    await probeKey({ kind: 'okx', credentials: sampleCredentials('okx') }, { baseUrls: {}, timeoutMs: 1000, fetch: record });
    await probeKey({ kind: 'okx', credentials: sampleCredentials('okx') }, { baseUrls: { okx: 'http://127.0.0.1:9/okx/' }, timeoutMs: 1000, fetch: record });
    expect(urls).toEqual(['https://www.okx.com/api/v5/account/config', 'http://127.0.0.1:9/okx/api/v5/account/config']);
  });
});
