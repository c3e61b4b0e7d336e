/**
 * What an engine developer does against `npm start` with the typed client (docs/engine.md): keys
 * registered over HTTP for three users, the active keys listed, all opened in one batch by subject,
 * the owners' PUT, PATCH and DELETE followed in the change feed, a refused key reported, the reserved
 * concurrency met with 429s and a retry, and each key's history holding every open and the report.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { type Answer, createEngineClient, type EngineClient } from '../../client/engine-client.js';
import { DEFAULT_OPEN_CONCURRENCY } from '../../infra/config.js';
import { type KeyEvent, keyEventList } from '../../shared/schemas/api-keys.js';
import type { ActiveKey } from '../../shared/schemas/engine-lists.js';
import type { OpenApiKeyResult } from '../../shared/schemas/open-api-key.js';
import { followFeed, type LocalVault, startLocalVault } from '../support/local-vault.js';

const KEY_PATH = '/api/settings/exchange-api-key/101';
const SUBJECTS = ['flow-ana', 'flow-ben', 'flow-cho'] as const;
const PURPOSE = 'session-start';

let vault: LocalVault;

beforeAll(async () => {
  vault = await startLocalVault();
}, 60_000);

afterAll(async () => {
  await vault?.stop();
});

async function allActiveKeys(engine: EngineClient): Promise<ActiveKey[]> {
  const keys: ActiveKey[] = [];
  let after: string | undefined;
  do {
    const { result } = await engine.listActiveKeys({ limit: 2, ...(after === undefined ? {} : { after }) });
    if (!result.ok) throw new Error(`list-active-keys refused: ${result.error}`);
    keys.push(...result.keys);
    after = result.next ?? undefined;
  } while (after !== undefined);
  return keys;
}

const isThrottle = (error: unknown): boolean => error instanceof Error && error.name === 'TooManyRequestsException';

/** An engine's retry of a throttled call: again after a pause, as long as Lambda answers 429; `throttled` hears of each. */
async function retryThrottled<Result>(call: () => Promise<Result>, throttled: () => void): Promise<Result> {
  for (;;) {
    try {
      return await call();
    } catch (error) {
      if (!isThrottle(error)) throw error;
      throttled();
      await sleep(50);
    }
  }
}

async function history(bearer: string): Promise<KeyEvent[]> {
  const reply = await vault.call('GET', `${KEY_PATH}/events?limit=100`, bearer);
  expect(reply.status).toBe(200);
  return keyEventList.parse(reply.json).reverse();
}

const requestIdsOf = (events: readonly KeyEvent[], kind: string): (string | null)[] =>
  events
    .filter((event) => event.event === kind)
    .map((event) => event.request_id)
    .sort();

it('registers, lists, opens in a batch, follows the feed, reports, is throttled and retries, and finds it all in each history', async () => {
  // No retries of the SDK's own: the engine meets each 429 itself.
  const engine = createEngineClient(vault.lambda({ maxAttempts: 1 }));
  const [ana, ben, cho] = await Promise.all([vault.token('--sub', 'flow-ana'), vault.token('--sub', 'flow-ben'), vault.token('--sub', 'flow-cho')]);
  const privateKeys = SUBJECTS.map(() => randomUUID());
  for (const [index, bearer] of [ana, ben, cho].entries()) {
    const registered = await vault.call('POST', '/api/settings/exchange-api-key', bearer, {
      exchange_id: 101,
      public_key: randomUUID(),
      private_key: privateKeys[index],
    });
    expect(registered.status).toBe(201);
  }

  const active = await allActiveKeys(engine);
  expect(active.filter((key) => SUBJECTS.some((subject) => subject === key.subject)).map((key) => [key.subject, key.key_version])).toEqual(
    SUBJECTS.map((subject) => [subject, 1]),
  );

  const batch = await engine.openApiKeys({ keys: SUBJECTS.map((subject) => ({ subject, exchange_id: 101 })), purpose: PURPOSE });
  expect(batch.result).toMatchObject({
    ok: true,
    results: SUBJECTS.map((subject, index) => ({ ok: true, subject, key_version: 1, exchange_kind: 'coinone', private_key: privateKeys[index] })),
  });

  // The feed from where the registrations are: the owners' changes after them are what the engine follows.
  const registrations = await followFeed(engine, undefined, (changes) =>
    SUBJECTS.every((subject) => changes.some((change) => change.subject === subject && change.event === 'registered')),
  );
  expect((await vault.call('PUT', KEY_PATH, ana, { public_key: randomUUID(), private_key: randomUUID() })).status).toBe(200);
  expect((await vault.call('PATCH', KEY_PATH, ben, { is_active: false })).status).toBe(200);
  expect((await vault.call('DELETE', KEY_PATH, cho)).status).toBe(204);
  const changeOf = (subject: string, event: string) => (changes: readonly { subject: string | null; event: string }[]) =>
    changes.some((change) => change.subject === subject && change.event === event);
  const { changes } = await followFeed(
    engine,
    registrations.next,
    (seen) => changeOf('flow-ana', 'replaced')(seen) && changeOf('flow-ben', 'deactivated')(seen) && changeOf('flow-cho', 'deleted')(seen),
  );
  expect(changes.filter((change) => change.subject?.startsWith('flow-')).map((change) => [change.subject, change.event, change.key_version])).toEqual([
    ['flow-ana', 'replaced', 2],
    ['flow-ben', 'deactivated', 1],
    ['flow-cho', 'deleted', null],
  ]);
  expect((await allActiveKeys(engine)).filter((key) => key.subject?.startsWith('flow-')).map((key) => [key.subject, key.key_version])).toEqual([
    ['flow-ana', 2],
  ]);

  // The exchange refuses ana's key: the version the engine held was replaced, then the new one is refused too.
  const stale = await engine.reportApiKey({ subject: 'flow-ana', exchange_id: 101, key_version: 1, reason: 'exchange_rejected' });
  expect(stale.result).toMatchObject({ ok: false, error: 'stale' });
  const report = await engine.reportApiKey({ subject: 'flow-ana', exchange_id: 101, key_version: 2, reason: 'permission_denied' });
  expect(report.result).toMatchObject({ ok: true, subject: 'flow-ana', key_version: 2, reason: 'permission_denied' });

  // Past the reserved concurrency: the owner's row lock holds that many opens at their read, and one more is throttled.
  const holder = await vault.db.pool.connect();
  const openAna = () => engine.openApiKey({ subject: 'flow-ana', exchange_id: 101, purpose: PURPOSE });
  let held: Promise<Answer<OpenApiKeyResult>>[] = [];
  let throttles = 0;
  let retrying: Promise<Answer<OpenApiKeyResult>> | undefined;
  try {
    await holder.query('BEGIN');
    await holder.query('SELECT 1 FROM tb_exchange_api_keys k JOIN tb_users u USING (user_no) WHERE u.auth_subject = $1 FOR UPDATE OF k', ['flow-ana']);
    held = Array.from({ length: DEFAULT_OPEN_CONCURRENCY }, openAna);
    await vault.waitForLockWaits(DEFAULT_OPEN_CONCURRENCY);
    await new Promise<void>((firstThrottle) => {
      retrying = retryThrottled(openAna, () => {
        throttles += 1;
        firstThrottle();
      });
      // A call that fails otherwise ends the wait too; the expectations below then say how.
      retrying.catch(() => firstThrottle());
    });
  } finally {
    // The first 429 seen, the owner's transaction ends: the held opens finish and a retry finds room.
    await holder.query('COMMIT');
    holder.release();
  }
  expect(throttles).toBeGreaterThan(0);
  const opens = [...(await Promise.all(held)), await retrying!];
  for (const open of opens) expect(open.result).toMatchObject({ ok: true, key_version: 2 });

  const [anaHistory, benHistory, choHistory] = await Promise.all([history(ana), history(ben), history(cho)]);
  expect(requestIdsOf(anaHistory, 'opened')).toEqual([batch.requestId, ...opens.map((open) => open.requestId)].sort());
  expect(requestIdsOf(benHistory, 'opened')).toEqual([batch.requestId]);
  expect(requestIdsOf(choHistory, 'opened')).toEqual([batch.requestId]);
  expect(anaHistory.filter((event) => event.event === 'reported')).toEqual([
    expect.objectContaining({ actor: { kind: 'engine', id: 'report-api-key' }, request_id: report.requestId, reason: 'permission_denied' }),
  ]);
  expect(anaHistory.map((event) => event.event).filter((event) => event !== 'opened')).toEqual(['registered', 'replaced', 'reported']);
  expect(benHistory.map((event) => event.event)).toEqual(['registered', 'opened', 'deactivated']);
  expect(choHistory.map((event) => event.event)).toEqual(['registered', 'opened', 'deleted']);
}, 180_000);
