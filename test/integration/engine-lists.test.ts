/**
 * The engine's lists (docs/engine.md, "Lists for an engine"), against a real PostgreSQL and as the
 * role the functions log in as (vault_engine): every active key a page at a time, and every key's
 * changes as one feed that never skips an event whose transaction commits late.
 */
import { Metrics } from '@aws-lambda-powertools/metrics';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type pg from 'pg';
import { type ActiveKey, type KeyChange, listActiveKeysResult, listKeyChangesResult } from '../../shared/schemas/engine-lists.js';
import type { TestDatabase } from '../support/database.js';
import { createEngineDatabase, type EngineDatabase } from '../support/engine-database.js';
import type { LoadedHandlers } from '../support/handlers.js';
import { testClient } from '../support/pg.js';

let engineDb: EngineDatabase;
let db: TestDatabase;
let api: LoadedHandlers;
let asEngine: pg.Pool;
let register: EngineDatabase['register'];
let lists: typeof import('../../shared/services/engine-lists.js');

beforeAll(async () => {
  engineDb = await createEngineDatabase();
  ({ db, api, asEngine, register } = engineDb);
  lists = await import('../../shared/services/engine-lists.js');
});

afterAll(async () => {
  await engineDb?.end();
});

const key = { exchange_id: '101' };

async function allActiveKeys(limit?: number): Promise<{ keys: ActiveKey[]; pages: number }> {
  const keys: ActiveKey[] = [];
  let after: string | undefined;
  for (let pages = 1; ; pages += 1) {
    const page = listActiveKeysResult.parse(await lists.listActiveKeys(asEngine, { after, limit }));
    if (!page.ok) throw new Error(page.detail);
    keys.push(...page.keys);
    if (page.next === null) return { keys, pages };
    after = page.next;
  }
}

/**
 * Reads the feed on from `after` (its start when undefined) to its end, again until `done` holds of
 * what was read: another file's transaction on the shared server may hold the feed back a while.
 */
async function readFeed(
  after: string | undefined,
  done: (changes: KeyChange[]) => boolean = () => true,
): Promise<{ changes: KeyChange[]; next: string | undefined }> {
  const changes: KeyChange[] = [];
  let next = after;
  for (let attempt = 0; attempt < 200; attempt += 1) {
    const page = listKeyChangesResult.parse(await lists.listKeyChanges(asEngine, next === undefined ? {} : { after: next }));
    if (!page.ok) throw new Error(page.detail);
    changes.push(...page.changes);
    next = page.next;
    if (page.changes.length === 0 && done(changes)) return { changes, next };
    if (page.changes.length === 0) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('the feed did not catch up');
}

const hasEvent = (subject: string, event: string) => (changes: KeyChange[]) => changes.some((change) => change.subject === subject && change.event === event);

describe('list-active-keys', () => {
  it('pages through every active key, whose and which version, without a paused one, a deleted one or any key material', async () => {
    const users: number[] = [];
    for (const name of ['a', 'b', 'c', 'd', 'e']) users.push(await register(`active-${name}`));
    expect((await api.call('set-api-key-active', { subject: 'active-b', params: key, body: { is_active: false } })).status).toBe(200);
    expect((await api.call('delete-api-key', { subject: 'active-c', params: key })).status).toBe(204);
    const { keys, pages } = await allActiveKeys(2);
    expect(keys).toEqual(
      [0, 3, 4].map((i) => ({
        subject: `active-${'abcde'[i]}`,
        user_no: users[i],
        exchange_id: 101,
        exchange_kind: null,
        key_version: 1,
        check_status: 'unchecked',
      })),
    );
    expect(pages).toBe(2);
    expect(JSON.stringify(keys)).not.toMatch(/pub-|priv-|\*/);
    expect((await allActiveKeys()).keys).toEqual(keys);
  });

  it.each([
    ['a limit of 0', { limit: 0 }],
    ['a limit past the maximum', { limit: 1001 }],
    ['a fractional limit', { limit: 1.5 }],
    ['an extra field', { after: undefined, purpose: 'x' }],
    ['a cursor that is not one', { after: 'not a cursor' }],
    ['a cursor of another list', { after: Buffer.from('1.2').toString('base64url') }],
    ['a cursor past int4', { after: Buffer.from('2147483648').toString('base64url') }],
  ])('answers invalid_request for %s', async (_, event) => {
    expect(await lists.listActiveKeys(asEngine, event)).toEqual({ ok: false, error: 'invalid_request', detail: expect.stringMatching(/^invalid event: /) });
  });
});

describe('list-key-changes', () => {
  it('shows every change of every key, oldest first, deletions included, without opens, and goes on from its cursor', async () => {
    const start = (await readFeed(undefined)).next;
    const userNo = await register('changes-a');
    expect((await api.call('set-api-key-active', { subject: 'changes-a', params: key, body: { is_active: false } })).status).toBe(200);
    await asEngine.query(
      "INSERT INTO tb_exchange_api_key_events (user_no, exchange_id, event, actor_kind, actor_id, request_id, purpose, reason) VALUES ($1, 101, 'open_refused', 'engine', 'f', 'r', 'p', 'inactive')",
      [userNo],
    );
    expect((await api.call('delete-api-key', { subject: 'changes-a', params: key })).status).toBe(204);
    const read = await readFeed(start, hasEvent('changes-a', 'deleted'));
    // `start` may stand before the earlier tests' events, held back by another file's transaction on
    // the shared server: they come after it, and are not this test's.
    const own = read.changes.filter((change) => change.subject === 'changes-a');
    expect(own.map(({ subject, user_no, event, key_version }) => ({ subject, user_no, event, key_version }))).toEqual([
      { subject: 'changes-a', user_no: userNo, event: 'registered', key_version: null },
      { subject: 'changes-a', user_no: userNo, event: 'deactivated', key_version: null },
      { subject: 'changes-a', user_no: userNo, event: 'deleted', key_version: null },
    ]);
    const again = listKeyChangesResult.parse(await lists.listKeyChanges(asEngine, { after: read.next }));
    expect(again).toEqual({ ok: true, changes: [], next: read.next });
  });

  it("leaves the engine's reports out, as its opens: a report changes nothing of the key", async () => {
    const start = (await readFeed(undefined)).next;
    await register('changes-reported');
    const { reportApiKey } = await import('../../shared/services/report-api-key.js');
    const reported = await reportApiKey(
      { db: asEngine, metrics: new Metrics({ namespace: 'test', serviceName: 'test' }) },
      { subject: 'changes-reported', exchange_id: 101, key_version: 1, reason: 'exchange_rejected' },
      { functionName: 'report-api-key', awsRequestId: 'feed-test' },
    );
    expect(reported).toMatchObject({ ok: true });
    expect((await api.call('set-api-key-active', { subject: 'changes-reported', params: key, body: { is_active: false } })).status).toBe(200);
    const read = await readFeed(start, hasEvent('changes-reported', 'deactivated'));
    expect(read.changes.filter((change) => change.subject === 'changes-reported').map((change) => change.event)).toEqual(['registered', 'deactivated']);
  });

  it('never passes an event whose transaction commits after a later one: it holds the feed until that commit', async () => {
    const first = await register('late-a');
    const start = (await readFeed(undefined, hasEvent('late-a', 'registered'))).next;
    const writer = testClient({ connectionString: db.url });
    await writer.connect();
    try {
      await writer.query('BEGIN');
      await writer.query("INSERT INTO tb_exchange_api_key_events (user_no, exchange_id, event, actor_kind) VALUES ($1, 101, 'reencrypted', 'maintenance')", [
        first,
      ]);
      const second = await register('late-b');
      // late-b's registration committed, but after an event still uncommitted: showing it would move the cursor past that event.
      const held = listKeyChangesResult.parse(await lists.listKeyChanges(asEngine, { after: start }));
      expect(held).toEqual({ ok: true, changes: [], next: start });
      await writer.query('COMMIT');
      const read = await readFeed(start, hasEvent('late-b', 'registered'));
      expect(read.changes.map((change) => [change.user_no, change.event])).toEqual([
        [first, 'reencrypted'],
        [second, 'registered'],
      ]);
    } finally {
      await writer.end();
    }
  });

  it.each([
    ['a limit past the maximum', { limit: 1001 }],
    ['a cursor of the active keys', { after: Buffer.from('7').toString('base64url') }],
    ['a cursor past bigint', { after: Buffer.from('1.9223372036854775808').toString('base64url') }],
    ['a cursor with a leading zero', { after: Buffer.from('1.07').toString('base64url') }],
  ])('answers invalid_request for %s', async (_, event) => {
    expect(await lists.listKeyChanges(asEngine, event)).toEqual({ ok: false, error: 'invalid_request', detail: expect.stringMatching(/^invalid event: /) });
  });
});
