/**
 * Keys checked at their exchange, end to end as a new user would (issue 20's done-when): npm start
 * with checks on against the fake exchange, everything by URL, the engine through its Invoke API
 * and `npm run keys -- check` as its own command.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createEngineClient, LOCAL_FUNCTION_NAMES } from '../../client/engine-client.js';
import { freePort } from '../../local/free-port.js';
import type { Credentials } from '../../shared/exchanges/facts.js';
import { maskedApiKeyList } from '../../shared/schemas/api-keys.js';
import { exchangeList } from '../../shared/schemas/exchanges.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { checksOn, type FakeExchange, knownKey, startFakeExchange } from '../support/fake-exchange/index.js';
import { localToken, runLocal as run, startLocalServer, stopLocalServer, TSX } from '../support/local-server.js';

let db: TestDatabase;
let dataDir: string;
let fake: FakeExchange;
let server: ChildProcess;
let baseUrl: string;

const env = (): NodeJS.ProcessEnv => ({
  ...process.env,
  VAULT_DATA_DIR: dataDir,
  DATABASE_URL: db.url,
  POWERTOOLS_LOG_LEVEL: 'SILENT',
  ...checksOn(fake),
});

const token = (...args: string[]): Promise<string> => localToken(env(), ...args);

const call = async (method: string, path: string, bearer: string, body?: unknown) => {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${bearer}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  return { status: response.status, text, json: text ? (JSON.parse(text) as unknown) : undefined };
};

beforeAll(async () => {
  db = await createTestDatabase({ migrated: false });
  dataDir = await mkdtemp(join(tmpdir(), 'vault-e2e-checks-'));
  fake = await startFakeExchange();
  const port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  server = await startLocalServer(env(), port);
}, 60_000);

afterAll(async () => {
  await stopLocalServer(server);
  await fake.close();
  await db.drop();
  await rm(dataDir, { recursive: true, force: true });
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
    const engine = createEngineClient(
      new LambdaClient({ endpoint: baseUrl, region: 'eu-west-1', credentials: { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local' } }),
      LOCAL_FUNCTION_NAMES,
    );
    const opened = await engine.openApiKey({ subject: 'e2e-dana', exchange_id: okx, purpose: 'e2e' });
    expect(opened.result).toMatchObject({ ok: true, private_key: okxKey.private_key, passphrase });

    fake.addKey('binance', good, { withdraw: true });
    const { stdout } = await run(TSX, ['local/keys.ts', 'check'], { env: env() });
    expect(JSON.parse(stdout)).toMatchObject({ command: 'check', ok: true, keys: 2, passed: 1, paused: 1 });
    expect((await stored())[0]).toMatchObject({ exchange_id: binance, is_active: false, check: { status: 'failed', reason: 'forbidden_permission' } });
    expect((await engine.openApiKey({ subject: 'e2e-dana', exchange_id: binance, purpose: 'e2e' })).result).toMatchObject({ ok: false, error: 'check_failed' });
  });
});
