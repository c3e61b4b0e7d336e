/**
 * "A key's life after registration" (docs/design.md, HTTP contract), row by row and note by note: the handlers
 * in process, on a real PostgreSQL, as the app's own functions run them.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { openEnvelope } from '../../shared/crypto/envelope.js';
import { keyRingFromText } from '../../shared/crypto/key-ring.js';
import type { RouteName } from '../../shared/routes.js';
import { keyEventList, maskedApiKey, maskedApiKeyList } from '../../shared/schemas/api-keys.js';
import { errorBody } from '../../shared/schemas/errors.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import type { EventOptions, Reply } from '../support/events.js';
import { closeHandlerPool, type LoadedHandlers, loadHandlers, testSymmetricKey } from '../support/handlers.js';

let db: TestDatabase;
let api: LoadedHandlers;
const symmetricKey = testSymmetricKey();

beforeAll(async () => {
  db = await createTestDatabase();
  api = await loadHandlers({ DATABASE_URL: db.url, SYMMETRIC_KEY: symmetricKey });
  // Exchange 102, for a second key of one user.
  expect((await api.call('create-exchange', { subject: 'root', admin: true, body: { exchange_name: 'Binance' } })).status).toBe(201);
});

afterAll(async () => {
  await closeHandlerPool();
  await db.drop();
});

const FIRST = { public_key: 'PUBLICabcdefghijkl', private_key: 'PRIVATE-0123456789-abcdefWXYZ' };
const SECOND = { public_key: 'NEWPUBmnopqrstuv', private_key: 'NEW-PRIVATE-9876543210-zyxwQRST' };

type Options = Omit<EventOptions, 'method' | 'path'>;
/** A call on the subject's key at `exchange` (101 unless told). */
const onKey = (route: RouteName, subject: string, options: Options = {}, exchange = 101): Promise<Reply> =>
  api.call(route, { subject, params: { exchange_id: String(exchange) }, ...options });

const register = async (subject: string, exchange = 101, keys = FIRST, requestId?: string) => {
  const response = await api.call('register-api-key', { subject, body: { exchange_id: exchange, ...keys }, ...(requestId ? { requestId } : {}) });
  expect(response.status).toBe(201);
};

const userNoOf = async (subject: string): Promise<number> =>
  (await db.pool.query<{ user_no: number }>('SELECT user_no FROM tb_users WHERE auth_subject = $1', [subject])).rows[0]!.user_no;

const rowOf = async (subject: string, exchange = 101) =>
  (
    await db.pool.query('SELECT k.* FROM tb_exchange_api_keys k JOIN tb_users u USING (user_no) WHERE u.auth_subject = $1 AND k.exchange_id = $2', [
      subject,
      exchange,
    ])
  ).rows[0];

const eventsOf = async (subject: string, exchange = 101) =>
  (
    await db.pool.query<{ event: string; actor_kind: string; actor_id: string; request_id: string | null }>(
      `SELECT e.event, e.actor_kind, e.actor_id, e.request_id FROM tb_exchange_api_key_events e JOIN tb_users u USING (user_no)
        WHERE u.auth_subject = $1 AND e.exchange_id = $2 ORDER BY e.event_id`,
      [subject, exchange],
    )
  ).rows;

const etagOf = (response: Reply): string => {
  expect(response.headers.etag).toMatch(/^"[0-9a-f]{32}"$/);
  return response.headers.etag!;
};

const BAD_IDS = ['abc', '0', '-1', '1.5', '2147483648', '1e3', ' 101', '0x65', '99999999999'];

describe('GET /api/settings/exchange-api-key/{exchange_id}', () => {
  it('answers the masked key, the same object as its list item, with an ETag, never cached', async () => {
    await register('get-ann');
    await register('get-ann', 102);
    const response = await onKey('get-api-key', 'get-ann');
    expect(response.status).toBe(200);
    const listed = maskedApiKeyList.parse((await api.call('list-api-keys', { subject: 'get-ann' })).body);
    expect(maskedApiKey.parse(response.body)).toEqual(listed.find((key) => key.exchange_id === 101));
    expect(response.body).toMatchObject({ public_key_masked: 'PUBL****ijkl', private_key_masked: '****WXYZ', is_active: true, exchange_name: 'Coinone' });
    etagOf(response);
    expect(response.headers['cache-control']).toBe('no-store');
    expect(JSON.stringify(response.body)).not.toMatch(/"(enc|nonce|tag|kid)"|PRIVATE-0123/);
  });

  it('gives the same ETag while nothing changes, and a different one per key', async () => {
    await register('get-ben');
    await register('get-ben', 102);
    const first = etagOf(await onKey('get-api-key', 'get-ben'));
    expect(etagOf(await onKey('get-api-key', 'get-ben'))).toBe(first);
    expect(etagOf(await onKey('get-api-key', 'get-ben', {}, 102))).not.toBe(first);
  });

  it("answers 404 when none is registered: an unknown user, a user without one there, and another user's key", async () => {
    await register('get-cat');
    for (const [subject, exchange] of [
      ['get-nobody', 101],
      ['get-cat', 102],
      ['get-dan', 101],
    ] as const) {
      const response = await onKey('get-api-key', subject, {}, exchange);
      expect({ subject, status: response.status, body: response.body }).toEqual({
        subject,
        status: 404,
        body: { detail: 'No API key is registered for this exchange.' },
      });
    }
  });

  it('takes ?user_no= of the caller, and refuses anyone else with 403', async () => {
    await register('get-eve');
    await register('get-fay');
    expect((await onKey('get-api-key', 'get-eve', { query: { user_no: String(await userNoOf('get-eve')) } })).status).toBe(200);
    const other = await onKey('get-api-key', 'get-eve', { query: { user_no: String(await userNoOf('get-fay')) } });
    expect(other.status).toBe(403);
    expect(JSON.stringify(other.body)).not.toContain('PUBL');
    expect((await onKey('get-api-key', 'get-stranger', { query: { user_no: String(await userNoOf('get-fay')) } })).status).toBe(403);
  });

  it('lists an adopted row without masks as pending_upgrade', async () => {
    await register('get-gus', 102);
    await db.pool.query(
      `INSERT INTO tb_exchange_api_keys (user_no, exchange_id, public_key, private_key, is_active) VALUES ($1, 101, '{"version": 1}', '{"version": 1}', true)`,
      [await userNoOf('get-gus')],
    );
    const response = await onKey('get-api-key', 'get-gus');
    expect(response.body).toMatchObject({ public_key_masked: null, private_key_masked: null, status: 'pending_upgrade' });
    etagOf(response);
  });
});

describe('a bad {exchange_id} is a 422 at ["path", "exchange_id"] on every route that takes one', () => {
  const routes: Array<[RouteName, Options]> = [
    ['get-api-key', {}],
    ['replace-api-key', { body: SECOND }],
    ['set-api-key-active', { body: { is_active: false } }],
    ['delete-api-key', {}],
    ['list-api-key-events', {}],
  ];
  beforeAll(() => register('bad-id'));

  it.each(routes.flatMap(([route, options]) => BAD_IDS.map((id) => [route, id, options] as const)))('%s with %j', async (route, id, options) => {
    const response = await api.call(route, { subject: 'bad-id', params: { exchange_id: id }, ...options });
    expect(response.status).toBe(422);
    const detail = errorBody.parse(response.body).detail;
    expect(Array.isArray(detail) && detail.map((issue) => issue.loc)).toEqual([['path', 'exchange_id']]);
    expect((await rowOf('bad-id'))?.is_active).toBe(true);
  });
});

describe('PUT /api/settings/exchange-api-key/{exchange_id}', () => {
  it('replaces both halves: new masks, update_date now, a new ETag, is_active kept; the list shows the new masks', async () => {
    await register('put-ann');
    await onKey('set-api-key-active', 'put-ann', { body: { is_active: false } });
    const before = await onKey('get-api-key', 'put-ann');
    const started = Date.now();
    const response = await onKey('replace-api-key', 'put-ann', { body: SECOND });
    expect(response.status).toBe(200);
    const key = maskedApiKey.parse(response.body);
    expect(key).toMatchObject({ public_key_masked: 'NEWP****stuv', private_key_masked: '****QRST', is_active: false, status: 'ready' });
    expect(Date.parse(key.update_date!)).toBeGreaterThanOrEqual(started - 1000);
    expect(etagOf(response)).not.toBe(etagOf(before));
    expect(etagOf(await onKey('get-api-key', 'put-ann'))).toBe(etagOf(response));
    expect((await onKey('get-api-key', 'put-ann')).body).toEqual(key);
    expect(maskedApiKeyList.parse((await api.call('list-api-keys', { subject: 'put-ann' })).body)[0]).toEqual(key);
  });

  it('seals both envelopes afresh under the current primary, bound to their row and field', async () => {
    await register('put-ben');
    const old = await rowOf('put-ben');
    await onKey('replace-api-key', 'put-ben', { body: SECOND });
    const row = await rowOf('put-ben');
    expect(row.public_key).toMatchObject({ version: 3, kid: 'default' });
    expect(row.public_key.nonce).not.toBe(old.public_key.nonce);
    expect(row.key_no).toBe(old.key_no);
    const ring = await keyRingFromText(symmetricKey);
    const place = { table: 'tb_exchange_api_keys', userNo: row.user_no, exchangeId: 101, sealing: row.sealing } as const;
    expect(openEnvelope(row.public_key, ring, { ...place, field: 'public_key' })).toBe(SECOND.public_key);
    expect(openEnvelope(row.private_key, ring, { ...place, field: 'private_key' })).toBe(SECOND.private_key);
    expect(() => openEnvelope(row.private_key, ring, { ...place, field: 'public_key' })).toThrow();
    expect(JSON.stringify(row)).not.toContain(SECOND.private_key);
  });

  it('answers 404 for no key there (nothing written), 422 for a bad body', async () => {
    await register('put-cat');
    expect((await onKey('replace-api-key', 'put-cat', { body: SECOND }, 102)).status).toBe(404);
    expect((await onKey('replace-api-key', 'put-nobody', { body: SECOND })).status).toBe(404);
    for (const body of [{ public_key: 'x' }, { ...SECOND, exchange_id: 101 }, { ...SECOND, private_key: ' ' }, { ...SECOND, public_key: 'a\u0000b' }]) {
      expect((await onKey('replace-api-key', 'put-cat', { body })).status).toBe(422);
    }
    expect((await rowOf('put-cat')).public_key_masked).toBe('PUBL****ijkl');
    expect((await eventsOf('put-cat')).map((event) => event.event)).toEqual(['registered']);
  });

  it('creates no user for a subject that has none: 404, and no tb_users row', async () => {
    expect((await onKey('replace-api-key', 'put-stranger', { body: SECOND })).status).toBe(404);
    expect((await db.pool.query('SELECT 1 FROM tb_users WHERE auth_subject = $1', ['put-stranger'])).rowCount).toBe(0);
  });

  it("follows a subject relinked to another user row, whose container remembered the old one: ?user_no= of the new row is the caller's", async () => {
    await register('put-relinked');
    await register('put-relink-target');
    expect((await onKey('replace-api-key', 'put-relinked', { body: SECOND })).status).toBe(200);
    // The adoption runbook moves a subject to another row: this one's key is now the subject's.
    const target = (await db.pool.query<{ user_no: number }>('SELECT user_no FROM tb_users WHERE auth_subject = $1', ['put-relink-target'])).rows[0]!.user_no;
    await db.pool.query("UPDATE tb_users SET auth_subject = NULL WHERE auth_subject IN ('put-relinked', 'put-relink-target')");
    await db.pool.query('UPDATE tb_users SET auth_subject = $1 WHERE user_no = $2', ['put-relinked', target]);
    const replaced = await onKey('replace-api-key', 'put-relinked', { body: FIRST, query: { user_no: String(target) } });
    expect(replaced.status).toBe(200);
    expect(maskedApiKey.parse(replaced.body).public_key_masked).toBe('PUBL****ijkl');
  });
});

describe('PATCH /api/settings/exchange-api-key/{exchange_id}', () => {
  it('pauses and resumes: update_date now, a new ETag each time, and an event each time', async () => {
    await register('patch-ann');
    const first = await onKey('get-api-key', 'patch-ann');
    const paused = await onKey('set-api-key-active', 'patch-ann', { body: { is_active: false } });
    expect(paused.status).toBe(200);
    expect(maskedApiKey.parse(paused.body)).toMatchObject({ is_active: false, public_key_masked: 'PUBL****ijkl', update_date: expect.any(String) });
    expect(etagOf(paused)).not.toBe(etagOf(first));
    const resumed = await onKey('set-api-key-active', 'patch-ann', { body: { is_active: true } });
    expect(maskedApiKey.parse(resumed.body).is_active).toBe(true);
    expect(etagOf(resumed)).not.toBe(etagOf(paused));
    expect(etagOf(resumed)).not.toBe(etagOf(first));
    expect((await eventsOf('patch-ann')).map((event) => event.event)).toEqual(['registered', 'deactivated', 'reactivated']);
  });

  it('setting the value the key already has changes nothing: 200, the same key and ETag, no event', async () => {
    await register('patch-ben');
    const before = await onKey('get-api-key', 'patch-ben');
    const same = await onKey('set-api-key-active', 'patch-ben', { body: { is_active: true } });
    expect(same.status).toBe(200);
    expect(same.body).toEqual(before.body);
    expect(etagOf(same)).toBe(etagOf(before));
    expect((await eventsOf('patch-ben')).map((event) => event.event)).toEqual(['registered']);
  });

  it('answers 404 for no key there, 422 for anything but a boolean is_active', async () => {
    expect((await onKey('set-api-key-active', 'patch-nobody', { body: { is_active: false } })).status).toBe(404);
    await register('patch-cat');
    for (const body of [{}, { is_active: 'false' }, { is_active: 0 }, { is_active: null }, { is_active: false, public_key: 'x' }]) {
      expect((await onKey('set-api-key-active', 'patch-cat', { body })).status).toBe(422);
    }
    expect((await rowOf('patch-cat')).is_active).toBe(true);
  });
});

describe('DELETE /api/settings/exchange-api-key/{exchange_id}', () => {
  it('answers 204 with no body; the row, its envelopes and masks are gone; the history stays; registering again gives 201', async () => {
    await register('del-ann');
    const response = await onKey('delete-api-key', 'del-ann');
    expect(response.status).toBe(204);
    expect(response.body).toBeUndefined();
    expect(response.headers['content-type']).toBeUndefined();
    expect(await rowOf('del-ann')).toBeUndefined();
    expect((await onKey('get-api-key', 'del-ann')).status).toBe(404);
    expect((await onKey('delete-api-key', 'del-ann')).status).toBe(404);
    expect(maskedApiKeyList.parse((await api.call('list-api-keys', { subject: 'del-ann' })).body)).toEqual([]);
    await register('del-ann', 101, SECOND);
    expect((await onKey('get-api-key', 'del-ann')).body).toMatchObject({ public_key_masked: 'NEWP****stuv' });
    expect((await eventsOf('del-ann')).map((event) => event.event)).toEqual(['registered', 'deleted', 'registered']);
  });

  it('a key deleted and registered again never shows its old ETag', async () => {
    await register('del-ben');
    const old = etagOf(await onKey('get-api-key', 'del-ben'));
    await onKey('delete-api-key', 'del-ben');
    await register('del-ben');
    expect(etagOf(await onKey('get-api-key', 'del-ben'))).not.toBe(old);
    expect((await onKey('delete-api-key', 'del-ben', { headers: { 'if-match': old } })).status).toBe(412);
  });
});

describe('If-Match on PUT, PATCH and DELETE', () => {
  const changes: Array<[RouteName, Options]> = [
    ['replace-api-key', { body: SECOND }],
    ['set-api-key-active', { body: { is_active: false } }],
    ['delete-api-key', {}],
  ];

  it.each(changes)('%s: a stale If-Match is 412 and nothing changes, no event', async (route, options) => {
    const subject = `ifm-stale-${route}`;
    await register(subject);
    const stale = etagOf(await onKey('get-api-key', subject));
    await onKey('set-api-key-active', subject, { body: { is_active: false } });
    await onKey('set-api-key-active', subject, { body: { is_active: true } });
    const row = await rowOf(subject);
    const events = await eventsOf(subject);
    for (const ifMatch of [stale, '"0123456789abcdef0123456789abcdef"', `W/${etagOf(await onKey('get-api-key', subject))}`]) {
      const response = await onKey(route, subject, { ...options, headers: { 'if-match': ifMatch } });
      expect({ ifMatch, status: response.status }).toEqual({ ifMatch, status: 412 });
      expect(errorBody.parse(response.body).detail).toMatch(/If-Match/);
    }
    expect(await rowOf(subject)).toEqual(row);
    expect(await eventsOf(subject)).toEqual(events);
  });

  it.each(changes)('%s: a malformed If-Match is a 422 that says so, and nothing changes, no event', async (route, options) => {
    const subject = `ifm-malformed-${route}`;
    await register(subject);
    const current = etagOf(await onKey('get-api-key', subject));
    const row = await rowOf(subject);
    const events = await eventsOf(subject);
    // The current tag without its quotes, or with text around it, is not the current tag.
    for (const ifMatch of [current.slice(1, -1), `garbage${current}garbage`, 'garbage']) {
      const response = await onKey(route, subject, { ...options, headers: { 'if-match': ifMatch } });
      expect({ ifMatch, status: response.status }).toEqual({ ifMatch, status: 422 });
      expect(response.body).toEqual({ detail: [expect.objectContaining({ loc: ['header', 'if-match'], type: 'value_error' })] });
    }
    expect(await rowOf(subject)).toEqual(row);
    expect(await eventsOf(subject)).toEqual(events);
  });

  it.each(changes)('%s: the current ETag (alone, in a list, or *) applies the change', async (route, options) => {
    for (const [n, form] of (['alone', 'list', 'star'] as const).entries()) {
      const subject = `ifm-fresh-${route}-${n}`;
      await register(subject);
      const current = etagOf(await onKey('get-api-key', subject));
      const header = form === 'alone' ? current : form === 'list' ? `"nope", ${current}` : '*';
      const response = await onKey(route, subject, { ...options, headers: { 'if-match': header } });
      expect({ form, status: response.status }).toEqual({ form, status: route === 'delete-api-key' ? 204 : 200 });
    }
  });

  it.each(changes)("%s: without If-Match the change applies (the seed's clients send none)", async (route, options) => {
    const subject = `ifm-none-${route}`;
    await register(subject);
    expect((await onKey(route, subject, options)).status).toBe(route === 'delete-api-key' ? 204 : 200);
  });

  it.each(changes)("%s: another user's key is 404 even with its current ETag", async (route, options) => {
    await register(`ifm-owner-${route}`);
    const theirs = etagOf(await onKey('get-api-key', `ifm-owner-${route}`));
    await register(`ifm-other-${route}`, 102);
    expect((await onKey(route, `ifm-other-${route}`, { ...options, headers: { 'if-match': theirs } })).status).toBe(404);
    expect((await onKey('get-api-key', `ifm-owner-${route}`)).headers.etag).toBe(theirs);
  });
});

describe('GET /api/settings/exchange-api-key/{exchange_id}/events', () => {
  it('shows each step newest first, with its actor and the request id of the call that made it, and no key material', async () => {
    const ids = Array.from({ length: 6 }, () => randomUUID());
    await register('ev-ann', 101, FIRST, ids[0]);
    await onKey('replace-api-key', 'ev-ann', { body: SECOND, requestId: ids[1] });
    await onKey('set-api-key-active', 'ev-ann', { body: { is_active: false }, requestId: ids[2] });
    await onKey('set-api-key-active', 'ev-ann', { body: { is_active: true }, requestId: ids[3] });
    await onKey('delete-api-key', 'ev-ann', { requestId: ids[4] });
    await register('ev-ann', 101, FIRST, ids[5]);
    const response = await onKey('list-api-key-events', 'ev-ann');
    expect(response.status).toBe(200);
    const events = keyEventList.parse(response.body);
    expect(events.map((event) => [event.event, event.request_id])).toEqual([
      ['registered', ids[5]],
      ['deleted', ids[4]],
      ['reactivated', ids[3]],
      ['deactivated', ids[2]],
      ['replaced', ids[1]],
      ['registered', ids[0]],
    ]);
    for (const event of events) expect(event).toMatchObject({ actor: { kind: 'user', id: 'ev-ann' }, purpose: null });
    expect(events.map((event) => event.event_id)).toEqual([...events.map((event) => event.event_id)].sort((a, b) => b - a));
    expect(events.map((event) => Date.parse(event.at))).toEqual([...events.map((event) => Date.parse(event.at))].sort((a, b) => b - a));
    for (const secret of [FIRST.public_key, FIRST.private_key, SECOND.private_key, 'PUBL****', '****WXYZ', '****QRST', 'NEWP****']) {
      expect(JSON.stringify(response.body)).not.toContain(secret);
    }
  });

  it('pages: 50 by default, at most 100, older than ?before=', async () => {
    await register('ev-ben');
    const userNo = await userNoOf('ev-ben');
    await db.pool.query(
      `INSERT INTO tb_exchange_api_key_events (user_no, exchange_id, event, actor_kind, actor_id)
       SELECT $1, 101, CASE WHEN g % 2 = 0 THEN 'deactivated' ELSE 'reactivated' END, 'user', 'ev-ben' FROM generate_series(1, 130) g`,
      [userNo],
    );
    const all = (
      await db.pool.query<{ event_id: string }>(
        'SELECT key_event_no AS event_id FROM tb_exchange_api_key_events WHERE user_no = $1 ORDER BY key_event_no DESC',
        [userNo],
      )
    ).rows.map((row) => Number(row.event_id));
    expect(all).toHaveLength(131);
    const page = (query: Record<string, string>) => onKey('list-api-key-events', 'ev-ben', { query });
    const ids = async (query: Record<string, string>) => keyEventList.parse((await page(query)).body).map((event) => event.event_id);
    expect(await ids({})).toEqual(all.slice(0, 50));
    expect(await ids({ limit: '100' })).toEqual(all.slice(0, 100));
    expect(await ids({ limit: '1' })).toEqual(all.slice(0, 1));
    expect(await ids({ before: String(all[49]) })).toEqual(all.slice(50, 100));
    expect(await ids({ before: String(all[99]), limit: '100' })).toEqual(all.slice(100));
    expect(await ids({ before: String(all.at(-1)) })).toEqual([]);
    const invalid: Record<string, string>[] = [
      { limit: '101' },
      { limit: '0' },
      { limit: 'x' },
      { before: '0' },
      { before: 'abc' },
      { before: '1', extra: '1' },
    ];
    for (const query of invalid) {
      const response = await page(query);
      expect({ query, status: response.status }).toEqual({ query, status: 422 });
      expect(errorBody.parse(response.body).detail).toEqual(expect.arrayContaining([expect.objectContaining({ loc: expect.arrayContaining(['query']) })]));
    }
  });

  it("outlives the key's deletion, is readable only by its owner (another user sees none), and takes ?user_no= as the list does", async () => {
    await register('ev-cat');
    await onKey('delete-api-key', 'ev-cat');
    expect(keyEventList.parse((await onKey('list-api-key-events', 'ev-cat')).body).map((event) => event.event)).toEqual(['deleted', 'registered']);
    await register('ev-dan', 102);
    expect((await onKey('list-api-key-events', 'ev-dan')).body).toEqual([]);
    expect((await onKey('list-api-key-events', 'ev-nobody')).body).toEqual([]);
    expect((await onKey('list-api-key-events', 'ev-dan', { query: { user_no: String(await userNoOf('ev-cat')) } })).status).toBe(403);
    expect((await onKey('list-api-key-events', 'ev-cat', { query: { user_no: String(await userNoOf('ev-cat')) } })).status).toBe(200);
  });
});
