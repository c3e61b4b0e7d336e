/**
 * Keys checked at their exchange (docs/exchanges.md, "Checks"), through the route handlers with
 * checks on against the fake exchange: a key is asked about before it is stored (register, PUT)
 * and again by its owner; what may not be stored is a 422 and nothing is written; an exchange that
 * does not answer is a 503; a key whose check fails is paused, refused by the engine, and in the feed.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { keyRingFromText } from '../../shared/crypto/key-ring.js';
import { cachedKeyRingSource } from '../../shared/crypto/key-ring-source.js';
import { createExchangeKindMemory } from '../../shared/db/exchanges.js';
import { createUserDirectory } from '../../shared/db/users.js';
import { keyChecker } from '../../shared/exchanges/checker.js';
import type { Credentials } from '../../shared/exchanges/facts.js';
import type { AdaptedKind, ExchangeKind } from '../../shared/exchanges/kinds.js';
import { probeKey } from '../../shared/exchanges/probe.js';
import { errorResult } from '../../shared/http/error-responder.js';
import { keyEventList, maskedApiKey, maskedApiKeyList } from '../../shared/schemas/api-keys.js';
import { errorBody } from '../../shared/schemas/errors.js';
import { openApiKeyResult } from '../../shared/schemas/open-api-key.js';
import { type RegisterDependencies, registerApiKey } from '../../shared/services/api-keys.js';
import { listKeyChanges } from '../../shared/services/engine-lists.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { engineContext, loadOpenHandler, type OpenHandler } from '../support/engine.js';
import { type Behaviour, checksOn, type FakeExchange, knownKey, startFakeExchange } from '../support/fake-exchange/index.js';
import { closeHandlerPool, createExchangeNamed, type LoadedHandlers, loadHandlers, testSymmetricKey } from '../support/handlers.js';

let db: TestDatabase;
let api: LoadedHandlers;
let fake: FakeExchange;
let openHandler: OpenHandler;
const exchanges: Partial<Record<ExchangeKind | 'none', number>> = {};

const createExchange = (name: string, kind?: ExchangeKind): Promise<number> => createExchangeNamed(api, name, kind);

beforeAll(async () => {
  db = await createTestDatabase();
  fake = await startFakeExchange();
  api = await loadHandlers({
    DATABASE_URL: db.url,
    SYMMETRIC_KEY: testSymmetricKey(),
    ...checksOn(fake),
    // A hanging exchange is unreachable within this; the machine may be loaded, the fake answers in milliseconds.
    EXCHANGE_PROBE_TIMEOUT_MS: '1500',
  });
  openHandler = await loadOpenHandler();
  exchanges.binance = await createExchange('Binance', 'binance');
  exchanges.okx = await createExchange('OKX', 'okx');
  exchanges.upbit = await createExchange('Upbit', 'upbit');
  exchanges.none = await createExchange('Unknown');
});

afterAll(async () => {
  await closeHandlerPool();
  await fake.close();
  await db.drop();
});

let subjects = 0;
const newSubject = (): string => `checker-${++subjects}`;

const keyAt = (kind: AdaptedKind, behaviour: Behaviour = {}): Credentials => knownKey(fake, kind, behaviour);

const register = (subject: string, exchangeId: number, credentials: Credentials) =>
  api.call('register-api-key', { subject, body: { exchange_id: exchangeId, ...credentials } });
const replace = (subject: string, exchangeId: number, credentials: Credentials) =>
  api.call('replace-api-key', { subject, params: { exchange_id: String(exchangeId) }, body: credentials });
const recheck = (subject: string, exchangeId: number) => api.call('check-api-key', { subject, params: { exchange_id: String(exchangeId) } });
const read = async (subject: string, exchangeId: number) =>
  maskedApiKey.parse((await api.call('get-api-key', { subject, params: { exchange_id: String(exchangeId) } })).body);
const history = async (subject: string, exchangeId: number) =>
  keyEventList.parse((await api.call('list-api-key-events', { subject, params: { exchange_id: String(exchangeId) } })).body);
const storedKeys = async (subject: string): Promise<number> =>
  (await db.pool.query('SELECT 1 FROM tb_exchange_api_keys k JOIN tb_users u USING (user_no) WHERE u.auth_subject = $1', [subject])).rowCount ?? 0;
const engineOpens = async (subject: string, exchangeId: number) =>
  openApiKeyResult.parse(await openHandler({ subject, exchange_id: exchangeId, purpose: 'checks-test' }, engineContext()));

/** The 422's issues; the response never holds the key. */
function refusal(response: { status: number; body: unknown }, credentials: Credentials) {
  expect(response.status).toBe(422);
  expect(JSON.stringify(response.body)).not.toContain(credentials.private_key);
  expect(JSON.stringify(response.body)).not.toContain(credentials.public_key);
  const { detail } = errorBody.parse(response.body);
  if (!Array.isArray(detail)) throw new Error('a 422 lists its issues');
  return detail;
}

describe('registration with checks on', () => {
  it('stores a read+trade IP-bound key with its check, and lists it with its permissions', async () => {
    const subject = newSubject();
    expect((await register(subject, exchanges.binance!, keyAt('binance'))).status).toBe(201);
    const [listed] = maskedApiKeyList.parse((await api.call('list-api-keys', { subject })).body);
    expect(listed?.check).toMatchObject({ status: 'passed', permissions: ['read', 'trade'], ip_restricted: true, expiring: false, reason: null });
    expect(Date.parse(listed?.check.checked_at ?? '')).not.toBeNaN();
    expect((await history(subject, exchanges.binance!)).map((event) => event.event)).toEqual(['registered']);
  });

  it.each([
    ['withdraw', { withdraw: true }, /may withdraw at Binance: turn withdrawals off/],
    ['transfer', { transfer: true }, /may transfer at Binance: turn transfers off/],
  ] as const)('refuses a key that may %s: a 422 naming the permission, nothing stored', async (_, behaviour, message) => {
    const subject = newSubject();
    const credentials = keyAt('binance', behaviour);
    const [issue] = refusal(await register(subject, exchanges.binance!, credentials), credentials);
    expect(issue).toMatchObject({ loc: ['body'], type: 'forbidden_permission' });
    expect(issue?.msg).toMatch(message);
    expect(await storedKeys(subject)).toBe(0);
  });

  it("refuses a key the exchange rejects with the exchange's own code, nothing stored", async () => {
    const subject = newSubject();
    const credentials = keyAt('binance', { reject: true });
    const [issue] = refusal(await register(subject, exchanges.binance!, credentials), credentials);
    expect(issue).toMatchObject({ loc: ['body'], type: 'exchange_rejected' });
    expect(issue?.msg).toMatch(/^Binance rejected the key \(its error code -2\d{3}\)/);
    expect(await storedKeys(subject)).toBe(0);
  });

  it('stores and flags a key not bound to IP addresses', async () => {
    const subject = newSubject();
    expect((await register(subject, exchanges.binance!, keyAt('binance', { ipUnbound: true }))).status).toBe(201);
    expect((await read(subject, exchanges.binance!)).check).toMatchObject({ status: 'passed', ip_restricted: false });
  });

  it('flags a key that expires within 14 days', async () => {
    const subject = newSubject();
    expect((await register(subject, exchanges.upbit!, keyAt('upbit', { expiresSoon: true }))).status).toBe(201);
    expect((await read(subject, exchanges.upbit!)).check).toMatchObject({ status: 'passed', permissions: null, expiring: true });
  });

  it('answers 503 with Retry-After when the exchange does not answer in time, nothing stored', async () => {
    const subject = newSubject();
    const response = await register(subject, exchanges.binance!, keyAt('binance', { hang: true }));
    expect(response.status).toBe(503);
    expect(response.headers['retry-after']).toMatch(/^\d+$/);
    expect(errorBody.parse(response.body).detail).toMatch(/exchange did not answer/);
    expect(await storedKeys(subject)).toBe(0);
  });

  it('stores a key at an exchange without a kind unchecked, asking nobody', async () => {
    const subject = newSubject();
    expect((await register(subject, exchanges.none!, { public_key: 'unknown-public-0123', private_key: 'unknown-private-0123456789' })).status).toBe(201);
    expect((await read(subject, exchanges.none!)).check).toEqual({
      status: 'unchecked',
      checked_at: null,
      permissions: null,
      ip_restricted: null,
      expires_at: null,
      expiring: false,
      reason: null,
    });
  });

  it('opens an OKX key registered with its passphrase, the passphrase included', async () => {
    const subject = newSubject();
    const credentials = keyAt('okx');
    expect((await register(subject, exchanges.okx!, credentials)).status).toBe(201);
    expect(await engineOpens(subject, exchanges.okx!)).toMatchObject({ ok: true, passphrase: credentials.passphrase, exchange_kind: 'okx' });
  });
});

describe('replacement with checks on', () => {
  it('keeps the old key when the new one may withdraw (422), and stores the new check with a good one', async () => {
    const subject = newSubject();
    await register(subject, exchanges.binance!, keyAt('binance', { ipUnbound: true }));
    const before = await read(subject, exchanges.binance!);
    const withdrawing = keyAt('binance', { withdraw: true });
    refusal(await replace(subject, exchanges.binance!, withdrawing), withdrawing);
    expect(await read(subject, exchanges.binance!)).toEqual(before);

    const response = await replace(subject, exchanges.binance!, keyAt('binance'));
    expect(response.status).toBe(200);
    expect(maskedApiKey.parse(response.body)).toMatchObject({ key_version: 2, check: { status: 'passed', ip_restricted: true } });
  });
});

describe("the owner's re-check", () => {
  it('pauses a key that may now withdraw, records check_failed, and the engine refuses it (check_failed) even once resumed', async () => {
    const subject = newSubject();
    const credentials = keyAt('binance');
    await register(subject, exchanges.binance!, credentials);
    const recheckedOk = await recheck(subject, exchanges.binance!);
    expect(recheckedOk.status).toBe(200);
    expect(recheckedOk.headers.etag).toMatch(/^"[0-9a-f]{32}"$/);

    fake.addKey('binance', credentials, { withdraw: true });
    const response = await recheck(subject, exchanges.binance!);
    expect(response.status).toBe(200);
    expect(maskedApiKey.parse(response.body)).toMatchObject({
      is_active: false,
      check: { status: 'failed', reason: 'forbidden_permission', permissions: ['read', 'trade', 'withdraw'] },
    });
    const [last, previous] = await history(subject, exchanges.binance!);
    expect(last).toMatchObject({ event: 'check_failed', reason: 'forbidden_permission', actor: { kind: 'user', id: subject } });
    expect(previous).toMatchObject({ event: 'checked', reason: null });

    const resumed = await api.call('set-api-key-active', { subject, params: { exchange_id: String(exchanges.binance) }, body: { is_active: true } });
    expect(resumed.status).toBe(200);
    expect(await engineOpens(subject, exchanges.binance!)).toMatchObject({ ok: false, error: 'check_failed' });
    expect((await history(subject, exchanges.binance!))[0]).toMatchObject({ event: 'open_refused', reason: 'check_failed', actor: { kind: 'engine' } });
  });

  it('records unreachable when the exchange does not answer, keeping the facts and the key in use', async () => {
    const subject = newSubject();
    const credentials = keyAt('binance');
    await register(subject, exchanges.binance!, credentials);
    fake.addKey('binance', credentials, { hang: true });
    const response = await recheck(subject, exchanges.binance!);
    expect(response.status).toBe(200);
    expect(maskedApiKey.parse(response.body)).toMatchObject({
      is_active: true,
      check: { status: 'unreachable', reason: 'timeout', permissions: ['read', 'trade'], ip_restricted: true },
    });
    expect((await history(subject, exchanges.binance!))[0]).toMatchObject({ event: 'checked', reason: 'unreachable' });
    expect(await engineOpens(subject, exchanges.binance!)).toMatchObject({ ok: true });
  });

  it('answers 404 for a key the caller does not have, and 403 for a user_no not theirs', async () => {
    const subject = newSubject();
    expect((await recheck(subject, exchanges.binance!)).status).toBe(404);
    await register(subject, exchanges.binance!, keyAt('binance'));
    const response = await api.call('check-api-key', { subject, params: { exchange_id: String(exchanges.binance) }, query: { user_no: '999999' } });
    expect(response.status).toBe(403);
  });
});

describe("the engine's feed", () => {
  it('has check_failed and the check that clears it, and leaves out the checks that change nothing', async () => {
    const subject = newSubject();
    const credentials = keyAt('binance');
    await register(subject, exchanges.binance!, credentials);
    await recheck(subject, exchanges.binance!);
    fake.addKey('binance', credentials, { reject: true });
    await recheck(subject, exchanges.binance!);
    fake.addKey('binance', credentials, {});
    const cleared = maskedApiKey.parse((await recheck(subject, exchanges.binance!)).body);
    expect(cleared).toMatchObject({ is_active: false, check: { status: 'passed', reason: null } });
    expect((await history(subject, exchanges.binance!))[0]).toMatchObject({ event: 'checked', reason: 'cleared' });
    await recheck(subject, exchanges.binance!);
    // The feed shows an event once every older transaction has ended (docs/engine.md): follow it until
    // this key's last change is there; the test's own timeout ends a wait for one that never comes.
    const changes: string[] = [];
    let after: string | undefined;
    while (changes.at(-1) !== 'checked') {
      const page = await listKeyChanges(db.pool, after === undefined ? { limit: 1000 } : { after, limit: 1000 });
      if (!page.ok) throw new Error(page.detail);
      changes.push(...page.changes.filter((change) => change.subject === subject).map((change) => change.event));
      after = page.next;
      if (page.changes.length === 0) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // The first re-check passed and changed nothing for the engine: it is not between registered and check_failed.
    expect(changes).toEqual(['registered', 'check_failed', 'checked']);
  });
});

describe('a deployment that requires IP binding (REQUIRE_IP_RESTRICTION on)', () => {
  const requiring: RegisterDependencies['checker'] = keyChecker((request) => probeKey(request, { baseUrls: fake.baseUrls, timeoutMs: 5000 }), {
    requireIpRestriction: true,
  });
  const registering = (subject: string, credentials: Credentials) =>
    registerApiKey(
      {
        db: db.pool,
        users: createUserDirectory(db.pool),
        kinds: createExchangeKindMemory(),
        keyRingSource: cachedKeyRingSource(() => keyRingFromText(testSymmetricKey())),
        checker: requiring,
      },
      { subject, isAdmin: false },
      { exchange_id: exchanges.binance!, ...credentials },
    ).then(
      () => undefined,
      (error: unknown) => errorResult(error),
    );

  it('refuses a key not bound to IP addresses with a 422 saying so, nothing stored; a bound one is stored', async () => {
    const subject = newSubject();
    const refused = await registering(subject, keyAt('binance', { ipUnbound: true }));
    expect(refused?.statusCode).toBe(422);
    expect(JSON.parse(String(refused?.body))).toMatchObject({ detail: [{ loc: ['body'], type: 'ip_not_restricted' }] });
    expect(await storedKeys(subject)).toBe(0);
    expect(await registering(subject, keyAt('binance'))).toBeUndefined();
    expect(await storedKeys(subject)).toBe(1);
  });
});
