/**
 * Key maintenance's `check` (docs/key-management.md, "Checking keys at their exchange"): every
 * active key asked about again in batches, resumable, counted; a key now able to withdraw or now
 * rejected is paused (actor maintenance) and the engine refuses it; an expiring one is flagged; an
 * exchange that does not answer changes the status only; a paused key is not asked about.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { keyRingFromText } from '../../shared/crypto/key-ring.js';
import { cachedKeyRingSource } from '../../shared/crypto/key-ring-source.js';
import { keyChecker } from '../../shared/exchanges/checker.js';
import type { Credentials } from '../../shared/exchanges/facts.js';
import type { AdaptedKind, ExchangeKind } from '../../shared/exchanges/kinds.js';
import { probeKey } from '../../shared/exchanges/probe.js';
import { checkKeys } from '../../shared/key-maintenance/check.js';
import { maskedApiKey } from '../../shared/schemas/api-keys.js';
import { openApiKeyResult } from '../../shared/schemas/open-api-key.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { engineContext, loadOpenHandler, type OpenHandler } from '../support/engine.js';
import { checksOn, type FakeExchange, knownKey, startFakeExchange } from '../support/fake-exchange/index.js';
import { closeHandlerPool, createExchangeNamed, type LoadedHandlers, loadHandlers, testSymmetricKey } from '../support/handlers.js';

let db: TestDatabase;
let api: LoadedHandlers;
let fake: FakeExchange;
let openHandler: OpenHandler;
const symmetricKey = testSymmetricKey();
const exchanges: Partial<Record<ExchangeKind | 'none', number>> = {};

const createExchange = (name: string, kind?: ExchangeKind): Promise<number> => createExchangeNamed(api, name, kind);

beforeAll(async () => {
  db = await createTestDatabase();
  fake = await startFakeExchange();
  api = await loadHandlers({
    DATABASE_URL: db.url,
    SYMMETRIC_KEY: symmetricKey,
    ...checksOn(fake),
  });
  openHandler = await loadOpenHandler();
  exchanges.binance = await createExchange('Binance', 'binance');
  exchanges.upbit = await createExchange('Upbit', 'upbit');
  exchanges.none = await createExchange('Unknown');
});

afterAll(async () => {
  await closeHandlerPool();
  await fake.close();
  await db.drop();
});

const keyAt = (kind: AdaptedKind): Credentials => knownKey(fake, kind);
const register = async (subject: string, exchangeId: number, credentials: Credentials) =>
  expect((await api.call('register-api-key', { subject, body: { exchange_id: exchangeId, ...credentials } })).status).toBe(201);
const read = async (subject: string, exchangeId: number) =>
  maskedApiKey.parse((await api.call('get-api-key', { subject, params: { exchange_id: String(exchangeId) } })).body);

const deps = () => ({
  db: db.pool,
  keyRingSource: cachedKeyRingSource(() => keyRingFromText(symmetricKey)),
  checker: keyChecker((request) => probeKey(request, { baseUrls: fake.baseUrls, timeoutMs: 1500 }), { requireIpRestriction: false }),
});

describe('key maintenance check', () => {
  const keys: Record<string, Credentials> = {};

  beforeAll(async () => {
    for (const name of ['fine', 'withdraws', 'rejected', 'silent']) {
      keys[name] = keyAt('binance');
      await register(name, exchanges.binance!, keys[name]!);
    }
    keys.expiring = keyAt('upbit');
    await register('expiring', exchanges.upbit!, keys.expiring);
    await register('unknown', exchanges.none!, { public_key: 'unknown-public-0123', private_key: 'unknown-private-0123456789' });
    keys.paused = keyAt('binance');
    await register('paused', exchanges.binance!, keys.paused);
    await api.call('set-api-key-active', { subject: 'paused', params: { exchange_id: String(exchanges.binance) }, body: { is_active: false } });

    fake.addKey('binance', keys.withdraws!, { withdraw: true });
    fake.addKey('binance', keys.rejected!, { reject: true });
    fake.addKey('binance', keys.silent!, { hang: true });
    fake.addKey('upbit', keys.expiring, { expiresSoon: true });
    fake.addKey('binance', keys.paused, { withdraw: true });
  });

  it('stops between batches when told, says where to resume, and a run from there counts the rest', async () => {
    let batches = 0;
    const first = await checkKeys(deps(), {
      batchSize: 2,
      shouldStop: () => batches >= 1,
      onBatch: () => {
        batches += 1;
      },
    });
    expect(first).toMatchObject({ command: 'check', ok: false, complete: false, keys: 2, batches: 1 });
    expect(first.next).toEqual(expect.any(Number));
    const rest = await checkKeys(deps(), { batchSize: 2, after: first.next! });
    expect(rest).toMatchObject({ ok: true, complete: true, next: null, failureCount: 0 });
    const sum = (field: 'keys' | 'passed' | 'paused' | 'expiring' | 'unreachable' | 'unchecked' | 'changed') => first[field] + rest[field];
    // Six active keys: two pass (one flagged expiring), two are paused, one exchange is silent, one has no kind.
    expect({
      keys: sum('keys'),
      passed: sum('passed'),
      expiring: sum('expiring'),
      paused: sum('paused'),
      unreachable: sum('unreachable'),
      unchecked: sum('unchecked'),
    }).toEqual({
      keys: 6,
      passed: 2,
      expiring: 1,
      paused: 2,
      unreachable: 1,
      unchecked: 1,
    });
  });

  it('paused the key that may now withdraw, with check_failed by maintenance, and the engine refuses it', async () => {
    expect(await read('withdraws', exchanges.binance!)).toMatchObject({
      is_active: false,
      check: { status: 'failed', reason: 'forbidden_permission', permissions: ['read', 'trade', 'withdraw'] },
    });
    expect(await read('rejected', exchanges.binance!)).toMatchObject({ is_active: false, check: { status: 'failed', reason: 'rejected', permissions: null } });
    const { rows } = await db.pool.query(
      `SELECT e.event, e.actor_kind, e.actor_id, e.reason FROM tb_exchange_api_key_events e JOIN tb_users u USING (user_no)
        WHERE u.auth_subject = 'withdraws' ORDER BY e.event_id DESC LIMIT 1`,
    );
    expect(rows).toEqual([{ event: 'check_failed', actor_kind: 'maintenance', actor_id: 'check', reason: 'forbidden_permission' }]);
    const opened = openApiKeyResult.parse(await openHandler({ subject: 'withdraws', exchange_id: exchanges.binance, purpose: 'checks-test' }, engineContext()));
    expect(opened).toMatchObject({ ok: false, error: 'check_failed' });
  });

  it('flagged the expiring key, left the silent one in use as unreachable, and asked nothing about a paused key', async () => {
    expect((await read('expiring', exchanges.upbit!)).check).toMatchObject({ status: 'passed', expiring: true });
    expect(await read('silent', exchanges.binance!)).toMatchObject({
      is_active: true,
      check: { status: 'unreachable', reason: 'timeout', ip_restricted: true },
    });
    expect(await read('paused', exchanges.binance!)).toMatchObject({ is_active: false, check: { status: 'passed', permissions: ['read', 'trade'] } });
    expect((await read('unknown', exchanges.none!)).check.status).toBe('unchecked');
  });

  it('checks the keys at one exchange only when told', async () => {
    const report = await checkKeys(deps(), { exchangeId: exchanges.upbit! });
    expect(report).toMatchObject({ keys: 1, passed: 1, expiring: 1, paused: 0 });
  });
});
