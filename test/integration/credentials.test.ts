/**
 * Every credential (docs/exchanges.md): a passphrase where the exchange's kind needs one, refused
 * where it takes none, optional where the kind is not known; keys of the wrong shape for their
 * exchange are a 422 that says what its keys look like; the passphrase is shown only as
 * `has_passphrase` and returned only by the engine's open.
 */
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { keyRingFromText } from '../../shared/crypto/key-ring.js';
import { cachedKeyRingSource } from '../../shared/crypto/key-ring-source.js';
import { reloadingOpener } from '../../shared/crypto/reloading-opener.js';
import type { ExchangeKind } from '../../shared/exchanges/kinds.js';
import { maskedApiKey, maskedApiKeyList } from '../../shared/schemas/api-keys.js';
import { errorBody } from '../../shared/schemas/errors.js';
import { openApiKeyResult } from '../../shared/schemas/open-api-key.js';
import { openApiKey } from '../../shared/services/open-api-key.js';
import { userNoOf } from '../security/helpers.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { engineContext } from '../support/engine.js';
import { closeHandlerPool, createExchangeNamed, type LoadedHandlers, loadHandlers, testSymmetricKey } from '../support/handlers.js';

let db: TestDatabase;
let api: LoadedHandlers;
const symmetricKey = testSymmetricKey();
const exchanges: Partial<Record<ExchangeKind | 'none', number>> = {};

const createExchange = (name: string, kind?: ExchangeKind): Promise<number> => createExchangeNamed(api, name, kind);

beforeAll(async () => {
  db = await createTestDatabase();
  api = await loadHandlers({ DATABASE_URL: db.url, SYMMETRIC_KEY: symmetricKey });
  exchanges.okx = await createExchange('OKX', 'okx');
  exchanges.coinone = await createExchange('CoinoneK', 'coinone');
  exchanges.coinbase = await createExchange('Coinbase', 'coinbase');
  exchanges.kraken = await createExchange('Kraken', 'kraken');
  exchanges.binance = await createExchange('Binance', 'binance');
  exchanges.none = await createExchange('Unknown');
});

afterAll(async () => {
  await closeHandlerPool();
  await db.drop();
});

const okxKey = (passphrase?: string) => ({
  public_key: randomUUID(),
  private_key: 'ABCDEF0123456789abcdef0123456789',
  ...(passphrase === undefined ? {} : { passphrase }),
});
const register = (subject: string, exchangeId: number, body: object) => api.call('register-api-key', { subject, body: { exchange_id: exchangeId, ...body } });
const replace = (subject: string, exchangeId: number, body: object) =>
  api.call('replace-api-key', { subject, params: { exchange_id: String(exchangeId) }, body });
const read = async (subject: string, exchangeId: number) =>
  maskedApiKey.parse((await api.call('get-api-key', { subject, params: { exchange_id: String(exchangeId) } })).body);

async function engineOpens(subject: string, exchangeId: number) {
  const source = cachedKeyRingSource(() => keyRingFromText(symmetricKey));
  const result = await openApiKey(
    { db: db.pool, keyRingSource: source, open: reloadingOpener(source), metrics: new Metrics({ namespace: 'test', serviceName: 'test' }) },
    { user_no: await userNoOf(db.pool, subject), exchange_id: exchangeId, purpose: 'credentials-test' },
    engineContext(),
  );
  return openApiKeyResult.parse(result);
}

/** The 422's issues as [loc, msg]; nothing was stored. */
async function refused(response: { status: number; body: unknown }, subject: string) {
  expect(response.status).toBe(422);
  const { detail } = errorBody.parse(response.body);
  expect((await db.pool.query('SELECT 1 FROM tb_exchange_api_keys k JOIN tb_users u USING (user_no) WHERE u.auth_subject = $1', [subject])).rowCount).toBe(0);
  return Array.isArray(detail) ? detail.map((issue) => [issue.loc, issue.msg]) : detail;
}

describe('a passphrase', () => {
  it('is required for a kind that needs one (OKX): 422 at ["body", "passphrase"], nothing stored', async () => {
    expect(await refused(await register('p-missing', exchanges.okx!, okxKey()), 'p-missing')).toEqual([
      [['body', 'passphrase'], 'OKX keys need the passphrase chosen when the key was created'],
    ]);
  });

  it('is refused for a kind that takes none: 422 at ["body", "passphrase"], nothing stored', async () => {
    const key = { public_key: randomUUID(), private_key: randomUUID(), passphrase: 'not-for-coinone' };
    expect(await refused(await register('p-refused', exchanges.coinone!, key), 'p-refused')).toEqual([
      [['body', 'passphrase'], 'Coinone keys have no passphrase'],
    ]);
  });

  it('is stored sealed, shown only as has_passphrase, and returned by the engine open with the kind', async () => {
    const key = okxKey('my okx passphrase');
    const response = await register('p-okx', exchanges.okx!, key);
    expect(response.status).toBe(201);
    expect(JSON.stringify(response.body)).not.toContain(key.passphrase);
    const shown = await read('p-okx', exchanges.okx!);
    expect(shown).toMatchObject({ has_passphrase: true, exchange_kind: 'okx' });
    const listed = await api.call('list-api-keys', { subject: 'p-okx' });
    expect(maskedApiKeyList.parse(listed.body).map((row) => row.has_passphrase)).toEqual([true]);
    expect(JSON.stringify(listed.body)).not.toContain('my okx');
    const { rows } = await db.pool.query('SELECT passphrase FROM tb_exchange_api_keys WHERE exchange_id = $1', [exchanges.okx]);
    expect(rows[0].passphrase).toMatchObject({ version: 3 });
    expect(JSON.stringify(rows[0].passphrase)).not.toContain('passphrase');
    expect(await engineOpens('p-okx', exchanges.okx!)).toMatchObject({ ok: true, exchange_kind: 'okx', ...key });
  });

  it('is replaced by PUT, and required there too', async () => {
    const second = okxKey('the second passphrase');
    expect(await refused(await replace('p-okx', exchanges.okx!, okxKey()), 'nobody')).toEqual([
      [['body', 'passphrase'], 'OKX keys need the passphrase chosen when the key was created'],
    ]);
    expect((await replace('p-okx', exchanges.okx!, second)).status).toBe(200);
    expect(await engineOpens('p-okx', exchanges.okx!)).toMatchObject({ ok: true, ...second, key_version: 2 });
  });

  it('is optional where the kind is not known: kept when given, gone after a PUT without one, absent from the open then', async () => {
    const key = { public_key: 'free-form-public-0001', private_key: 'free-form-private-0001', passphrase: 'some passphrase' };
    expect((await register('p-none', exchanges.none!, key)).status).toBe(201);
    expect(await read('p-none', exchanges.none!)).toMatchObject({ has_passphrase: true, exchange_kind: null });
    expect(await engineOpens('p-none', exchanges.none!)).toMatchObject({ ok: true, exchange_kind: null, passphrase: 'some passphrase' });
    const without = { public_key: 'free-form-public-0002', private_key: 'free-form-private-0002' };
    const put = await replace('p-none', exchanges.none!, without);
    expect(put.status).toBe(200);
    expect(maskedApiKey.parse(put.body).has_passphrase).toBe(false);
    const opened = await engineOpens('p-none', exchanges.none!);
    expect(opened).toMatchObject({ ok: true, ...without });
    expect(opened).not.toHaveProperty('passphrase');
  });

  it.each([[''], ['   '], ['x'.repeat(257)], ['line\nbreak']])('of %j is a 422 at ["body", "passphrase"]', async (passphrase) => {
    const response = await register('p-bad', exchanges.none!, { public_key: 'free-form-public-0003', private_key: 'free-form-private-0003', passphrase });
    expect((await refused(response, 'p-bad')) as unknown[]).toEqual([[['body', 'passphrase'], expect.any(String)]]);
  });
});

describe("keys of the wrong shape for their exchange: a 422 saying what that exchange's keys look like", () => {
  const pem = (type: 'ec' | 'ed25519' | 'rsa') =>
    (type === 'ec'
      ? generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
      : type === 'rsa'
        ? generateKeyPairSync('rsa', { modulusLength: 2048 })
        : generateKeyPairSync('ed25519')
    ).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;

  it.each([
    [
      'coinone',
      { public_key: 'not-a-uuid', private_key: randomUUID() },
      [['body', 'public_key'], 'Coinone access tokens are UUIDs (8-4-4-4-12 hexadecimal digits)'],
    ],
    [
      'coinbase',
      { public_key: 'organizations/org-1/apiKeys/key-1', private_key: pem('rsa') },
      [['body', 'private_key'], 'Coinbase private keys are an EC (P-256) or Ed25519 private key in PEM, or Ed25519 in base64 (64 bytes)'],
    ],
    ['kraken', { public_key: 'anything', private_key: 'c2hvcnQ=' }, [['body', 'private_key'], 'Kraken private keys are base64 (88 characters, 64 bytes)']],
    ['binance', { public_key: 'short', private_key: 'A'.repeat(64) }, [['body', 'public_key'], 'Binance API keys are 64 letters and digits']],
  ] as const)('%s', async (kind, key, issue) => {
    const subject = `shape-${kind}`;
    const response = await register(subject, exchanges[kind]!, key);
    expect(await refused(response, subject)).toEqual([issue]);
    expect(JSON.stringify(response.body)).not.toContain(key.private_key);
  });

  it.each([
    ['coinbase', { public_key: 'organizations/org-1/apiKeys/key-1', private_key: pem('ec') }],
    ['coinbase', { public_key: 'organizations/org-1/apiKeys/key-2', private_key: pem('ed25519') }],
    ['binance', { public_key: 'A'.repeat(64), private_key: pem('rsa') }],
    ['kraken', { public_key: 'kraken-key', private_key: Buffer.alloc(64, 3).toString('base64') }],
  ] as const)('a %s key of the right shape is stored', async (kind, key) => {
    expect((await register(`right-${kind}-${key.public_key.slice(-1)}`, exchanges[kind]!, key)).status).toBe(201);
  });

  it('a kind an admin names after this container saw the exchange without one is still checked: at PUT and at the next registration', async () => {
    const id = await createExchange('Renamed');
    const free = { public_key: 'free-form-public-0004', private_key: 'free-form-private-0004' };
    expect((await register('k-before', id, free)).status).toBe(201);
    expect((await api.call('set-exchange-kind', { subject: 'root', admin: true, params: { exchange_id: String(id) }, body: { kind: 'coinone' } })).status).toBe(
      200,
    );
    const put = await replace('k-before', id, free);
    expect(put.status).toBe(422);
    expect(await engineOpens('k-before', id)).toMatchObject({ ok: true, ...free, key_version: 1 });
    expect(await refused(await register('k-after', id, free), 'k-after')).toHaveLength(2);
    expect((await register('k-after', id, { public_key: randomUUID(), private_key: randomUUID() })).status).toBe(201);
  });
});
