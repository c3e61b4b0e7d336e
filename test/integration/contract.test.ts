import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { openEnvelope } from '../../shared/crypto/envelope.js';
import { keyRingFromText } from '../../shared/crypto/key-ring.js';
import { routes } from '../../shared/routes.js';
import { maskedApiKeyList, registeredMessage } from '../../shared/schemas/api-keys.js';
import { errorBody } from '../../shared/schemas/errors.js';
import { exchange, exchangeList } from '../../shared/schemas/exchanges.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { closeHandlerPool, type LoadedHandlers, loadHandlers, testSymmetricKey } from '../support/handlers.js';

let db: TestDatabase;
let api: LoadedHandlers;
const symmetricKey = testSymmetricKey();

beforeAll(async () => {
  db = await createTestDatabase();
  api = await loadHandlers({ DATABASE_URL: db.url, SYMMETRIC_KEY: symmetricKey });
});

afterAll(async () => {
  await closeHandlerPool();
  await db.drop();
});

const userNoOf = async (subject: string): Promise<number | undefined> =>
  (await db.pool.query<{ user_no: number }>('SELECT user_no FROM tb_users WHERE auth_subject = $1', [subject])).rows[0]?.user_no;

const register = (subject: string, body: Record<string, unknown>) => api.call('register-api-key', { subject, body });

const aKey = (exchangeId = 101) => ({ exchange_id: exchangeId, public_key: 'PUBLICabcdefghijkl', private_key: 'PRIVATE-0123456789-abcdefWXYZ' });

describe('every route', () => {
  it.each(routes.map((route) => route.name))('%s answers 401 without a token subject, and never caches', async (name) => {
    const response = await api.call(name, { body: {} });
    expect(response.status).toBe(401);
    expect(errorBody.parse(response.body)).toEqual({ detail: 'Not authenticated' });
    expect(response.headers['cache-control']).toBe('no-store');
  });
});

describe('GET /api/settings/exchanges', () => {
  it('lists exchanges by id to any user', async () => {
    const response = await api.call('list-exchanges', { subject: 'reader' });
    expect(response.status).toBe(200);
    const list = exchangeList.parse(response.body);
    // The suite's template leaves 101 without its kind (test/support/test-postgres.ts).
    expect(list[0]).toEqual({ exchange_id: 101, exchange_name: 'Coinone', kind: null });
    expect(list.map((exchange) => exchange.exchange_id)).toEqual([...list.map((exchange) => exchange.exchange_id)].sort((a, b) => a - b));
    expect(response.headers['cache-control']).toBe('no-store');
  });
});

describe('GET /api/settings/exchanges/{exchange_id}', () => {
  it('shows one exchange to any user', async () => {
    const response = await api.call('get-exchange', { subject: 'reader', params: { exchange_id: '101' } });
    expect(response.status).toBe(200);
    expect(exchange.parse(response.body)).toEqual({ exchange_id: 101, exchange_name: 'Coinone', kind: null });
    expect(response.headers['cache-control']).toBe('no-store');
  });

  it('answers 404 for an id no exchange has', async () => {
    const response = await api.call('get-exchange', { subject: 'reader', params: { exchange_id: '999999' } });
    expect(response.status).toBe(404);
    expect(errorBody.parse(response.body)).toEqual({ detail: 'Exchange not found.' });
  });

  it.each(['0', 'x', '2147483648', '1.5', '-1'])('answers 422 at ["path", "exchange_id"] for %j', async (exchangeId) => {
    const response = await api.call('get-exchange', { subject: 'reader', params: { exchange_id: exchangeId } });
    expect(response.status).toBe(422);
    expect(response.body).toEqual({ detail: [expect.objectContaining({ loc: ['path', 'exchange_id'] })] });
  });
});

describe('POST /api/settings/exchanges', () => {
  it('lets an admin create an exchange (trimmed) and returns the full list, 201', async () => {
    const response = await api.call('create-exchange', { subject: 'root', admin: true, body: { exchange_name: '  Kraken  ' } });
    expect(response.status).toBe(201);
    const list = exchangeList.parse(response.body);
    expect(list.map((exchange) => exchange.exchange_name)).toEqual(expect.arrayContaining(['Coinone', 'Kraken']));
    expect(list).toEqual((await api.call('list-exchanges', { subject: 'reader' })).body);
  });

  it('refuses a normal user with 403 and writes nothing', async () => {
    const response = await api.call('create-exchange', { subject: 'mallory', body: { exchange_name: 'Evil' } });
    expect(response.status).toBe(403);
    expect((await db.pool.query("SELECT 1 FROM tb_exchanges WHERE exchange_name = 'Evil'")).rowCount).toBe(0);
  });

  it('answers 409 for a name taken in any letter case', async () => {
    await api.call('create-exchange', { subject: 'root', admin: true, body: { exchange_name: 'Bithumb' } });
    const response = await api.call('create-exchange', { subject: 'root', admin: true, body: { exchange_name: 'BITHUMB' } });
    expect(response.status).toBe(409);
    expect(errorBody.parse(response.body).detail).toMatch(/already exists/);
  });

  it.each([
    [{}, 'missing'],
    [{ exchange_name: '' }, 'string_too_short'],
    [{ exchange_name: '   ' }, 'string_too_short'],
    [{ exchange_name: 'x'.repeat(21) }, 'string_too_long'],
    [{ exchange_name: 42 }, 'string_type'],
    [{ exchange_name: 'Okx', extra: true }, 'extra_forbidden'],
    [{ exchange_name: 'Bad\u0000Name' }, 'value_error'],
    [{ exchange_name: 'Bad\ud800' }, 'value_error'],
  ])('answers 422 with a FastAPI-style detail for %j', async (body, type) => {
    const response = await api.call('create-exchange', { subject: 'root', admin: true, body });
    expect(response.status).toBe(422);
    const detail = errorBody.parse(response.body).detail;
    expect(Array.isArray(detail) && detail.map((issue) => issue.type)).toContain(type);
    expect(Array.isArray(detail) && detail.every((issue) => issue.loc[0] === 'body')).toBe(true);
  });

  it('takes an optional kind from the known list, and shows it in both lists', async () => {
    const response = await api.call('create-exchange', { subject: 'root', admin: true, body: { exchange_name: 'OKX', kind: 'okx' } });
    expect(response.status).toBe(201);
    const created = exchangeList.parse(response.body).find((row) => row.exchange_name === 'OKX');
    expect(created).toEqual({ exchange_id: expect.any(Number), exchange_name: 'OKX', kind: 'okx' });
    expect((await api.call('get-exchange', { subject: 'reader', params: { exchange_id: String(created?.exchange_id) } })).body).toEqual(created);
    expect(exchangeList.parse((await api.call('create-exchange', { subject: 'root', admin: true, body: { exchange_name: 'NoKind' } })).body)).toContainEqual(
      expect.objectContaining({ exchange_name: 'NoKind', kind: null }),
    );
  });

  it.each([['ftx'], ['OKX'], [''], [null], [7]])('answers 422 at ["body", "kind"] for the kind %j, writing nothing', async (kind) => {
    const response = await api.call('create-exchange', { subject: 'root', admin: true, body: { exchange_name: 'Unkind', kind } });
    expect(response.status).toBe(422);
    expect(response.body).toEqual({ detail: [expect.objectContaining({ loc: ['body', 'kind'] })] });
    expect((await db.pool.query("SELECT 1 FROM tb_exchanges WHERE exchange_name = 'Unkind'")).rowCount).toBe(0);
  });

  it('counts a 20-character name in code points, as varchar(20) does', async () => {
    const name = '🚀'.repeat(20);
    const response = await api.call('create-exchange', { subject: 'root', admin: true, body: { exchange_name: name } });
    expect(response.status).toBe(201);
    expect(exchangeList.parse(response.body).map((exchange) => exchange.exchange_name)).toContain(name);
  });
});

describe('PATCH /api/settings/exchanges/{exchange_id}', () => {
  const setKind = (exchangeId: number | string, body: unknown, admin = true) =>
    api.call('set-exchange-kind', { subject: admin ? 'root' : 'mallory', admin, params: { exchange_id: String(exchangeId) }, body });
  const created = async (name: string): Promise<number> => {
    const list = exchangeList.parse((await api.call('create-exchange', { subject: 'root', admin: true, body: { exchange_name: name } })).body);
    const row = list.find((exchange) => exchange.exchange_name === name);
    if (!row) throw new Error(`${name} was not created`);
    return row.exchange_id;
  };

  it('lets an admin name the kind of an existing exchange, 200 with the exchange, and forget it with null', async () => {
    const id = await created('Adopted');
    const response = await setKind(id, { kind: 'bybit' });
    expect(response.status).toBe(200);
    expect(exchange.parse(response.body)).toEqual({ exchange_id: id, exchange_name: 'Adopted', kind: 'bybit' });
    expect((await api.call('list-exchanges', { subject: 'reader' })).body).toContainEqual(response.body);
    expect((await setKind(id, { kind: 'bybit' })).status).toBe(200);
    expect((await setKind(id, { kind: null })).body).toEqual({ exchange_id: id, exchange_name: 'Adopted', kind: null });
  });

  it('shows the kind in the list of keys', async () => {
    const id = await created('KindShown');
    await register('kindshown', aKey(id));
    await setKind(id, { kind: 'kucoin' });
    const keys = maskedApiKeyList.parse((await api.call('list-api-keys', { subject: 'kindshown' })).body);
    expect(keys.map((key) => [key.exchange_id, key.exchange_kind])).toEqual([[id, 'kucoin']]);
  });

  it('refuses a normal user with 403 and changes nothing', async () => {
    const id = await created('NotYours');
    expect((await setKind(id, { kind: 'okx' }, false)).status).toBe(403);
    expect((await db.pool.query('SELECT kind FROM tb_exchanges WHERE exchange_id = $1', [id])).rows).toEqual([{ kind: null }]);
  });

  it('answers 404 for an id no exchange has', async () => {
    const response = await setKind(999999, { kind: 'okx' });
    expect(response.status).toBe(404);
    expect(errorBody.parse(response.body)).toEqual({ detail: 'Exchange not found.' });
  });

  it.each([[{}], [{ kind: 'ftx' }], [{ kind: 'okx', exchange_name: 'Renamed' }], [{ kind: 1 }]])('answers 422 in the body for %j', async (body) => {
    const response = await setKind(101, body);
    expect(response.status).toBe(422);
    const detail = errorBody.parse(response.body).detail;
    expect(Array.isArray(detail) && detail.every((issue) => issue.loc[0] === 'body')).toBe(true);
    expect((await db.pool.query('SELECT kind, exchange_name FROM tb_exchanges WHERE exchange_id = 101')).rows).toEqual([
      { kind: null, exchange_name: 'Coinone' },
    ]);
  });
});

describe('POST /api/settings/exchange-api-key', () => {
  it('registers the caller key, 201, creating the user row on first use', async () => {
    const response = await register('alice', aKey());
    expect(response.status).toBe(201);
    expect(registeredMessage.parse(response.body)).toEqual({ message: 'API key registered successfully.' });
    expect(await userNoOf('alice')).toEqual(expect.any(Number));
  });

  it('stores version-2 envelopes bound to the row, and the masks beside them', async () => {
    await register('bob', aKey());
    const userNo = (await userNoOf('bob'))!;
    const { rows } = await db.pool.query('SELECT * FROM tb_exchange_api_keys WHERE user_no = $1', [userNo]);
    const row = rows[0];
    expect(row.public_key).toMatchObject({ version: 3, alg: 'AES-256-GCM', kid: 'default' });
    expect(JSON.stringify(row)).not.toContain('PRIVATE-0123456789');
    const ring = await keyRingFromText(symmetricKey);
    const place = { table: 'tb_exchange_api_keys', userNo, exchangeId: 101, sealing: row.sealing } as const;
    expect(openEnvelope(row.private_key, ring, { ...place, field: 'private_key' })).toBe('PRIVATE-0123456789-abcdefWXYZ');
    expect(() => openEnvelope(row.private_key, ring, { ...place, field: 'public_key' })).toThrow();
    expect([row.public_key_masked, row.private_key_masked]).toEqual(['PUBL****ijkl', '****WXYZ']);
  });

  it('accepts user_no when it is the caller own', async () => {
    await register('carol', aKey());
    const response = await register('carol', { ...aKey(102), user_no: await userNoOf('carol') });
    expect(response.status).not.toBe(403);
  });

  it("answers 403 when user_no is someone else's, and leaves their rows alone", async () => {
    await register('dave', aKey());
    const daveNo = await userNoOf('dave');
    const before = (await db.pool.query('SELECT * FROM tb_exchange_api_keys WHERE user_no = $1', [daveNo])).rows;
    const response = await register('eve', { ...aKey(102), user_no: daveNo });
    expect(response.status).toBe(403);
    expect((await db.pool.query('SELECT * FROM tb_exchange_api_keys WHERE user_no = $1', [daveNo])).rows).toEqual(before);
  });

  it('answers 404 for an unknown exchange', async () => {
    const response = await register('frank', aKey(999_999));
    expect(response.status).toBe(404);
    expect(errorBody.parse(response.body)).toEqual({ detail: 'Exchange not found.' });
  });

  it('answers 409 when the caller already has a key at that exchange', async () => {
    expect((await register('grace', aKey())).status).toBe(201);
    const response = await register('grace', aKey());
    expect(response.status).toBe(409);
  });

  it('ends two identical racing registrations in one 201 and one 409', async () => {
    await register('heidi', aKey(102));
    const statuses = await Promise.all([register('heidi', aKey()), register('heidi', aKey())]);
    expect(statuses.map((response) => response.status).sort()).toEqual([201, 409]);
  });

  it.each([
    [{ public_key: 'p', private_key: 'q' }, 'missing'],
    [{ ...aKey(), exchange_id: '101' }, 'number_type'],
    [{ ...aKey(), exchange_id: 1.5 }, 'int_type'],
    [{ ...aKey(), exchange_id: 2 ** 31 }, 'less_than_equal'],
    [{ ...aKey(), public_key: ' \n ' }, 'string_too_short'],
    [{ ...aKey(), private_key: 'k'.repeat(4097) }, 'string_too_long'],
    [{ ...aKey(), private_key: 'a\u0000b' }, 'value_error'],
    [{ ...aKey(), public_key: '\udc00abc' }, 'value_error'],
    [{ ...aKey(), user_no: 'me' }, 'number_type'],
    [{ ...aKey(), is_admin: true }, 'extra_forbidden'],
  ])('answers 422 for %j and stores nothing', async (body, type) => {
    const response = await register('ivan', body);
    expect(response.status).toBe(422);
    const detail = errorBody.parse(response.body).detail;
    expect(Array.isArray(detail) && detail.map((issue) => issue.type)).toContain(type);
    expect((await db.pool.query("SELECT 1 FROM tb_exchange_api_keys k JOIN tb_users u USING (user_no) WHERE u.auth_subject = 'ivan'")).rowCount).toBe(0);
  });

  it('accepts a 4096-character PEM-style private key, trimming surrounding whitespace', async () => {
    const pem = `-----BEGIN PRIVATE KEY-----\n${'A'.repeat(4000)}\n-----END PRIVATE KEY-----`.slice(0, 4096);
    const response = await register('judy', { ...aKey(), private_key: `\n${pem}\n` });
    expect(response.status).toBe(201);
  });

  it('answers 422 for malformed JSON, 415 for another content type, 413 past 16 KiB', async () => {
    expect(await api.call('register-api-key', { subject: 'ken', rawBody: '{"exchange_id": 101,' })).toMatchObject({
      status: 422,
      body: { detail: [{ loc: ['body'], msg: 'JSON decode error', type: 'json_invalid' }] },
    });
    expect(
      await api.call('register-api-key', { subject: 'ken', rawBody: 'a=b', headers: { 'content-type': 'application/x-www-form-urlencoded' } }),
    ).toMatchObject({ status: 415, body: { detail: 'Content-Type must be application/json' } });
    const large = await api.call('register-api-key', { subject: 'ken', body: { ...aKey(), public_key: 'x'.repeat(17 * 1024) } });
    expect(large.status).toBe(413);
  });
});

describe('GET /api/settings/exchange-api-key', () => {
  it('lists only the caller keys, masked, with no ciphertext', async () => {
    await register('lena', aKey());
    await register('lena', { ...aKey(102), public_key: 'short', private_key: 'tiny-secret' });
    await register('mike', aKey());
    const response = await api.call('list-api-keys', { subject: 'lena' });
    expect(response.status).toBe(200);
    const list = maskedApiKeyList.parse(response.body);
    expect(list.map((key) => [key.exchange_id, key.public_key_masked, key.private_key_masked, key.status])).toEqual([
      [101, 'PUBL****ijkl', '****WXYZ', 'ready'],
      [102, '********', '********', 'ready'],
    ]);
    expect(list[0]).toMatchObject({ exchange_name: 'Coinone', is_active: true });
    expect(JSON.stringify(response.body)).not.toMatch(/"(enc|nonce|tag|kid)"/);
    expect(response.headers['cache-control']).toBe('no-store');
  });

  it('accepts ?user_no= of the caller and refuses anyone else with 403', async () => {
    await register('nina', aKey());
    const own = String(await userNoOf('nina'));
    expect((await api.call('list-api-keys', { subject: 'nina', query: { user_no: own } })).status).toBe(200);
    const other = String(await userNoOf('mike'));
    expect((await api.call('list-api-keys', { subject: 'nina', query: { user_no: other } })).status).toBe(403);
    expect((await api.call('list-api-keys', { subject: 'stranger', query: { user_no: other } })).status).toBe(403);
  });

  it('answers an empty list for a caller with no keys, and 422 for a malformed user_no', async () => {
    expect((await api.call('list-api-keys', { subject: 'newcomer' })).body).toEqual([]);
    expect((await api.call('list-api-keys', { subject: 'newcomer', query: { user_no: 'abc' } })).status).toBe(422);
  });

  it('lists rows adopted from the seed with null masks as pending_upgrade, never dropping them', async () => {
    await register('olga', aKey());
    const userNo = await userNoOf('olga');
    await db.pool.query(
      `INSERT INTO tb_exchange_api_keys (user_no, exchange_id, public_key, private_key, is_active)
       VALUES ($1, 102, '{"version": 1}', '{"version": 1}', true)`,
      [userNo],
    );
    const list = maskedApiKeyList.parse((await api.call('list-api-keys', { subject: 'olga' })).body);
    expect(list.find((key) => key.exchange_id === 102)).toMatchObject({ public_key_masked: null, private_key_masked: null, status: 'pending_upgrade' });
  });
});
