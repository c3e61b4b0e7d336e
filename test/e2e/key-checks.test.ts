/**
 * Keys checked at their exchange, end to end as a new user would (issue 20's done-when): npm start
 * with checks on against the fake exchange, everything by URL, the engine through its Invoke API
 * and `npm run keys -- check` as its own command.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createEngineClient } from '../../client/engine-client.js';
import type { Credentials } from '../../shared/exchanges/facts.js';
import { maskedApiKeyList } from '../../shared/schemas/api-keys.js';
import { exchangeList } from '../../shared/schemas/exchanges.js';
import { checksOn, type FakeExchange, knownKey, startFakeExchange } from '../support/fake-exchange/index.js';
import { type LocalVault, run, startLocalVault, TSX } from '../support/local-vault.js';

let fake: FakeExchange;
let vault: LocalVault;

const token: LocalVault['token'] = (...args) => vault.token(...args);
const call: LocalVault['call'] = (...args) => vault.call(...args);

beforeAll(async () => {
  fake = await startFakeExchange();
  vault = await startLocalVault(checksOn(fake));
}, 60_000);

afterAll(async () => {
  await vault?.stop();
  await fake?.close();
});

describe('npm start with checks on against the fake exchange', () => {
  it('registers a good key, refuses what may not be stored, opens an OKX key with its passphrase, and key maintenance pauses a key that may now withdraw', async () => {
    const [admin, dana] = await Promise.all([token('--sub', 'e2e-root', '--admin'), token('--sub', 'e2e-dana')]);
    await call('POST', '/api/settings/exchanges', admin, { exchange_name: 'Binance', kind: 'binance' });
    const created = await call('POST', '/api/settings/exchanges', admin, { exchange_name: 'OKX', kind: 'okx' });
    expect(created.status).toBe(201);
    const idOf = (name: string) => exchangeList.parse(created.json).find((exchange) => exchange.exchange_name === name)!.exchange_id;
    const [binance, okx] = [idOf('Binance'), idOf('OKX')];
    const at = (kind: 'binance' | 'okx', behaviour = {}): Credentials => knownKey(fake, kind, behaviour);
    const register = (exchangeId: number, credentials: object) =>
      call('POST', '/api/settings/exchange-api-key', dana, { exchange_id: exchangeId, ...credentials });
    const stored = async () => maskedApiKeyList.parse((await call('GET', '/api/settings/exchange-api-key', dana)).json);

    const good = at('binance');
    expect((await register(binance, good)).status).toBe(201);
    expect((await stored())[0]).toMatchObject({ exchange_id: binance, check: { status: 'passed', permissions: ['read', 'trade'], ip_restricted: true } });

    const okxKey = at('okx');
    const { passphrase, ...withoutPassphrase } = okxKey;
    for (const [refused, loc] of [
      [await register(binance, at('binance', { withdraw: true })), ['body']],
      [await register(binance, at('binance', { reject: true })), ['body']],
      [await register(okx, withoutPassphrase), ['body', 'passphrase']],
    ] as const) {
      expect(refused.status).toBe(422);
      expect(refused.json).toMatchObject({ detail: [{ loc }] });
    }
    expect((await stored()).map((key) => key.exchange_id)).toEqual([binance]);

    expect((await register(okx, okxKey)).status).toBe(201);
    const engine = createEngineClient(vault.lambda());
    const opened = await engine.openApiKey({ subject: 'e2e-dana', exchange_id: okx, purpose: 'e2e' });
    expect(opened.result).toMatchObject({ ok: true, private_key: okxKey.private_key, passphrase });

    fake.addKey('binance', good, { withdraw: true });
    const { stdout } = await run(TSX, ['local/keys.ts', 'check'], { env: vault.env() });
    expect(JSON.parse(stdout)).toMatchObject({ command: 'check', ok: true, keys: 2, passed: 1, paused: 1 });
    expect((await stored())[0]).toMatchObject({ exchange_id: binance, is_active: false, check: { status: 'failed', reason: 'forbidden_permission' } });
    expect((await engine.openApiKey({ subject: 'e2e-dana', exchange_id: binance, purpose: 'e2e' })).result).toMatchObject({ ok: false, error: 'check_failed' });
  });
});
