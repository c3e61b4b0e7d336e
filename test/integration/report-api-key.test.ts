/**
 * The engine's report of a key its exchange refused (docs/engine.md, "Reporting a refused key"),
 * against a real PostgreSQL and as the role the function logs in as (vault_engine): recorded in the
 * key's history only while the version reported is current, every other outcome a refusal that
 * records nothing.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type pg from 'pg';
import { DEPLOYMENT_DIMENSION, REPORTED_METRIC } from '../../shared/metrics.js';
import { keyEventList } from '../../shared/schemas/api-keys.js';
import { reportApiKeyResult } from '../../shared/schemas/report-api-key.js';
import type { TestDatabase } from '../support/database.js';
import { createEngineDatabase, type EngineDatabase } from '../support/engine-database.js';
import type { LoadedHandlers } from '../support/handlers.js';
import { captureOutput } from '../support/output-capture.js';

const FUNCTION_NAME = 'vault-test-report-api-key';

let engineDb: EngineDatabase;
let db: TestDatabase;
let api: LoadedHandlers;
let asEngine: pg.Pool;
let register: EngineDatabase['register'];
let reports: typeof import('../../shared/services/report-api-key.js');
let metrics: typeof import('../../shared/runtime/metrics.js')['metrics'];

beforeAll(async () => {
  engineDb = await createEngineDatabase({ POWERTOOLS_METRICS_DISABLED: 'false', VAULT_DEPLOYMENT: 'vault-test-api' });
  ({ db, api, asEngine, register } = engineDb);
  reports = await import('../../shared/services/report-api-key.js');
  ({ metrics } = await import('../../shared/runtime/metrics.js'));
});

afterAll(async () => {
  await engineDb?.end();
});

const key = { exchange_id: '101' };

const report = async (event: unknown, awsRequestId: string = randomUUID()) =>
  reportApiKeyResult.parse(await reports.reportApiKey({ db: asEngine, metrics }, event, { functionName: FUNCTION_NAME, awsRequestId }));

/** The key's history as its owner reads it, oldest first. */
async function history(subject: string) {
  const reply = await api.call('list-api-key-events', { subject, params: key });
  expect(reply.status).toBe(200);
  return keyEventList.parse(reply.body).reverse();
}

describe('a report of the current version', () => {
  it('is recorded in the key history: event reported, actor engine, the reason and the invocation request id', async () => {
    const userNo = await register('report-a');
    const requestId = randomUUID();
    const result = await report({ subject: 'report-a', exchange_id: 101, key_version: 1, reason: 'exchange_rejected' }, requestId);
    expect(result).toEqual({ ok: true, subject: 'report-a', user_no: userNo, exchange_id: 101, key_version: 1, reason: 'exchange_rejected', event_id: 2 });
    expect((await history('report-a')).at(-1)).toEqual({
      event_id: 2,
      event: 'reported',
      at: expect.any(String),
      actor: { kind: 'engine', id: FUNCTION_NAME },
      request_id: requestId,
      purpose: null,
      reason: 'exchange_rejected',
    });
  });

  it('names the owner by user_no as well, and is recorded for a paused key too (the exchange refused what the engine held)', async () => {
    const userNo = await register('report-b');
    expect((await api.call('set-api-key-active', { subject: 'report-b', params: key, body: { is_active: false } })).status).toBe(200);
    for (const reason of ['permission_denied', 'ip_not_allowed'] as const) {
      expect(await report({ user_no: userNo, exchange_id: 101, key_version: 1, reason })).toMatchObject({ ok: true, user_no: userNo, reason });
    }
    expect((await history('report-b')).map((event) => [event.event, event.reason])).toEqual([
      ['registered', null],
      ['deactivated', null],
      ['reported', 'permission_denied'],
      ['reported', 'ip_not_allowed'],
    ]);
  });
});

describe('its metric', () => {
  it('counts each recorded report once, by reason, with the deployment; a refused report counts none', async () => {
    await register('report-metric');
    const output = captureOutput();
    try {
      await report({ subject: 'report-metric', exchange_id: 101, key_version: 1, reason: 'permission_denied' });
      await report({ subject: 'report-metric', exchange_id: 101, key_version: 9, reason: 'exchange_rejected' });
      await report({ subject: 'report-nobody', exchange_id: 101, key_version: 1, reason: 'exchange_rejected' });
    } finally {
      output.restore();
    }
    const lines = output
      .text()
      .split('\n')
      .filter((line) => line.includes('"_aws"'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.map((line) => [line[REPORTED_METRIC], line.reason, line[DEPLOYMENT_DIMENSION], line.service])).toEqual([
      [1, 'permission_denied', 'vault-test-api', 'exchange-api-key-vault'],
    ]);
  });
});

describe('a report that records nothing', () => {
  it('is stale once the key was replaced, and names the current version', async () => {
    await register('report-stale');
    const replaced = await api.call('replace-api-key', {
      subject: 'report-stale',
      params: key,
      body: { public_key: 'pub-report-stale-second', private_key: 'priv-report-stale-second-key' },
    });
    expect(replaced.status).toBe(200);
    const before = await history('report-stale');
    expect(await report({ subject: 'report-stale', exchange_id: 101, key_version: 1, reason: 'exchange_rejected' })).toEqual({
      ok: false,
      error: 'stale',
      detail: expect.stringContaining('key_version is now 2'),
    });
    expect(await report({ subject: 'report-stale', exchange_id: 101, key_version: 3, reason: 'exchange_rejected' })).toMatchObject({ error: 'stale' });
    expect(await history('report-stale')).toEqual(before);
  });

  it('is not_found for a user without that key, a deleted key, or an unknown subject', async () => {
    const userNo = await register('report-gone');
    expect((await api.call('delete-api-key', { subject: 'report-gone', params: key })).status).toBe(204);
    const { rows: before } = await db.pool.query('SELECT count(*)::int AS events FROM tb_exchange_api_key_events');
    for (const owner of [{ user_no: userNo }, { subject: 'report-nobody' }, { user_no: 2_000_000_000 }]) {
      expect(await report({ ...owner, exchange_id: 101, key_version: 1, reason: 'exchange_rejected' })).toMatchObject({ ok: false, error: 'not_found' });
    }
    const { rows: after } = await db.pool.query('SELECT count(*)::int AS events FROM tb_exchange_api_key_events');
    expect(after).toEqual(before);
  });

  it.each([
    ['both owners', { subject: 'report-a', user_no: 1, exchange_id: 101, key_version: 1, reason: 'exchange_rejected' }, 'event: exactly one'],
    ['no owner', { exchange_id: 101, key_version: 1, reason: 'exchange_rejected' }, 'event: exactly one'],
    ['no key_version', { subject: 'report-a', exchange_id: 101, reason: 'exchange_rejected' }, 'key_version'],
    ['a key_version of 0', { subject: 'report-a', exchange_id: 101, key_version: 0, reason: 'exchange_rejected' }, 'key_version'],
    ['an unknown reason', { subject: 'report-a', exchange_id: 101, key_version: 1, reason: 'SECRET-REASON' }, 'reason'],
    ['a text exchange_id', { subject: 'report-a', exchange_id: 'SECRET-101', key_version: 1, reason: 'ip_not_allowed' }, 'exchange_id'],
    ['an extra field', { subject: 'report-a', exchange_id: 101, key_version: 1, reason: 'ip_not_allowed', SECRET_FIELD: 'SECRET' }, 'unrecognized field'],
    ['no object', 'SECRET', 'event'],
  ])('is invalid_request for %s, naming the field and never the value', async (_, event, named) => {
    const { rows: before } = await db.pool.query('SELECT count(*)::int AS events FROM tb_exchange_api_key_events');
    const result = await report(event);
    expect(result).toEqual({ ok: false, error: 'invalid_request', detail: expect.stringContaining(named) });
    expect(JSON.stringify(result)).not.toContain('SECRET');
    const { rows: after } = await db.pool.query('SELECT count(*)::int AS events FROM tb_exchange_api_key_events');
    expect(after).toEqual(before);
  });
});

describe('the role it runs as', () => {
  it('may write only engine events: the same insert as another actor is refused by row-level security', async () => {
    const userNo = await register('report-rls');
    await expect(
      asEngine.query(
        "INSERT INTO tb_exchange_api_key_events (user_no, exchange_id, event, actor_kind, reason) VALUES ($1, 101, 'reported', 'user', 'exchange_rejected')",
        [userNo],
      ),
    ).rejects.toMatchObject({ code: '42501' });
  });
});
