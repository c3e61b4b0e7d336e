/**
 * The engine's report of a key its exchange refused (docs/engine.md, "Reporting a refused key"),
 * against a real PostgreSQL and as the role the function logs in as (vault_engine): recorded in the
 * key's history only while the version reported is current, every other outcome a refusal that
 * records nothing; with exchange checks on, the key checked again at its exchange and paused when
 * the exchange confirms.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type pg from 'pg';
import { keyRingFromText } from '../../shared/crypto/key-ring.js';
import { cachedKeyRingSource } from '../../shared/crypto/key-ring-source.js';
import { reloadingOpener } from '../../shared/crypto/reloading-opener.js';
import type { StoredKeyRecheck } from '../../shared/db/key-checks.js';
import { Unavailable } from '../../shared/errors.js';
import { keyChecker } from '../../shared/exchanges/checker.js';
import type { Credentials } from '../../shared/exchanges/facts.js';
import type { AdaptedKind } from '../../shared/exchanges/kinds.js';
import { probeKey } from '../../shared/exchanges/probe.js';
import { DEPLOYMENT_DIMENSION, REPORTED_METRIC } from '../../shared/metrics.js';
import { keyEventList, maskedApiKey } from '../../shared/schemas/api-keys.js';
import { openApiKeyResult } from '../../shared/schemas/open-api-key.js';
import { type ReportReason, reportApiKeyResult } from '../../shared/schemas/report-api-key.js';
import type { TestDatabase } from '../support/database.js';
import { createEngineDatabase, type EngineDatabase } from '../support/engine-database.js';
import { type FakeExchange, sampleCredentials, startFakeExchange } from '../support/fake-exchange/index.js';
import { createExchangeNamed, type LoadedHandlers, testSymmetricKey } from '../support/handlers.js';
import { captureOutput } from '../support/output-capture.js';

const FUNCTION_NAME = 'vault-test-report-api-key';

let engineDb: EngineDatabase;
let db: TestDatabase;
let api: LoadedHandlers;
let asEngine: pg.Pool;
let register: EngineDatabase['register'];
let reports: typeof import('../../shared/services/report-api-key.js');
let opens: typeof import('../../shared/services/open-api-key.js');
let fake: FakeExchange;
/** A Coinone the vault knows the kind of (the seed's 101 has none here), so its keys are checked. */
let checked: { exchange_id: string };
const symmetricKey = testSymmetricKey();
const keyRingSource = cachedKeyRingSource(() => keyRingFromText(symmetricKey));
let metrics: typeof import('../../shared/runtime/metrics.js')['metrics'];

beforeAll(async () => {
  // Checks off for the routes: a key is registered unchecked, and only the report asks its exchange.
  engineDb = await createEngineDatabase({ POWERTOOLS_METRICS_DISABLED: 'false', VAULT_DEPLOYMENT: 'vault-test-api', SYMMETRIC_KEY: symmetricKey });
  ({ db, api, asEngine, register } = engineDb);
  fake = await startFakeExchange();
  reports = await import('../../shared/services/report-api-key.js');
  opens = await import('../../shared/services/open-api-key.js');
  checked = { exchange_id: String(await createExchangeNamed(api, 'Coinone checked', 'coinone')) };
  ({ metrics } = await import('../../shared/runtime/metrics.js'));
});

afterAll(async () => {
  await fake?.close();
  await engineDb?.end();
});

const key = { exchange_id: '101' };

const report = async (event: unknown, awsRequestId: string = randomUUID(), recheck?: StoredKeyRecheck) =>
  reportApiKeyResult.parse(
    await reports.reportApiKey({ db: asEngine, metrics, ...(recheck && { recheck }) }, event, { functionName: FUNCTION_NAME, awsRequestId }),
  );

/** Checks on against the fake exchange, each kind asked recorded in `asked`. */
function checksAgainstFake(): { recheck: StoredKeyRecheck; asked: AdaptedKind[] } {
  const asked: AdaptedKind[] = [];
  const checker = keyChecker(
    (request) => {
      asked.push(request.kind);
      return probeKey(request, { baseUrls: fake.baseUrls, timeoutMs: 1500 });
    },
    { requireIpRestriction: false },
  );
  return { recheck: { open: reloadingOpener(keyRingSource), checker }, asked };
}

/** Registers a key at the checked Coinone that the fake exchange knows; its credentials. */
async function registerKnown(subject: string): Promise<Credentials> {
  const credentials = sampleCredentials('coinone');
  fake.addKey('coinone', credentials);
  const reply = await api.call('register-api-key', { subject, body: { exchange_id: Number(checked.exchange_id), ...credentials } });
  expect(reply.status).toBe(201);
  return credentials;
}

const masked = async (subject: string, params: { exchange_id: string } = checked) =>
  maskedApiKey.parse((await api.call('get-api-key', { subject, params })).body);
/** A report of version 1 of the subject's key at the checked Coinone. */
const reportChecked = (subject: string, reason: ReportReason, requestId: string, recheck?: StoredKeyRecheck) =>
  report({ subject, exchange_id: Number(checked.exchange_id), key_version: 1, reason }, requestId, recheck);

const engineOpen = async (subject: string) =>
  openApiKeyResult.parse(
    await opens.openApiKey(
      { db: asEngine, keyRingSource, open: reloadingOpener(keyRingSource), metrics },
      { subject, exchange_id: Number(checked.exchange_id), purpose: 'trading' },
      { functionName: 'vault-test-open-api-key', awsRequestId: randomUUID() },
    ),
  );

/** The key's history as its owner reads it, oldest first. */
async function history(subject: string, params: { exchange_id: string } = key) {
  const reply = await api.call('list-api-key-events', { subject, params });
  expect(reply.status).toBe(200);
  return keyEventList.parse(reply.body).reverse();
}

describe('a report of the current version', () => {
  it('is recorded in the key history: event reported, actor engine, the reason and the invocation request id', async () => {
    const userNo = await register('report-a');
    const requestId = randomUUID();
    const result = await report({ subject: 'report-a', exchange_id: 101, key_version: 1, reason: 'exchange_rejected' }, requestId);
    expect(result).toEqual({
      ok: true,
      subject: 'report-a',
      user_no: userNo,
      exchange_id: 101,
      key_version: 1,
      reason: 'exchange_rejected',
      event_id: 2,
      check: null,
    });
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
  it('cannot update a key row directly, not even its check', async () => {
    const userNo = await register('recheck-update');
    await expect(
      asEngine.query("UPDATE tb_exchange_api_keys SET check_status = 'failed', is_active = false WHERE user_no = $1", [userNo]),
    ).rejects.toMatchObject({ code: '42501' });
  });

  it('writes a check through record_engine_check only at the sealing the row has, and may not call write_key_check itself', async () => {
    const userNo = await register('recheck-sealing');
    const { rows } = await db.pool.query('SELECT key_no, sealing FROM tb_exchange_api_keys WHERE user_no = $1 AND exchange_id = 101', [userNo]);
    const [{ key_no: keyNo, sealing }] = rows as [{ key_no: number; sealing: string }];
    const before = await history('recheck-sealing');
    const call = (atSealing: string) =>
      asEngine.query("SELECT record_engine_check($1, $2, 'failed', NULL, NULL, NULL, 'rejected', $3, $4) AS event_no", [
        keyNo,
        atSealing,
        FUNCTION_NAME,
        randomUUID(),
      ]);
    expect((await call(randomUUID())).rows).toEqual([{ event_no: null }]);
    await expect(
      asEngine.query("SELECT * FROM write_key_check($1, 1, NULL, 'failed', NULL, NULL, NULL, 'rejected', 'engine', 'x', 'y')", [keyNo]),
    ).rejects.toMatchObject({ code: '42501' });
    expect(await history('recheck-sealing')).toEqual(before);
    expect(await masked('recheck-sealing', key)).toMatchObject({ is_active: true, check: { status: 'unchecked' } });
    expect((await call(sealing)).rows).toEqual([{ event_no: String(before.length + 1) }]);
    expect(await masked('recheck-sealing', key)).toMatchObject({ is_active: false, check: { status: 'failed', reason: 'rejected' } });
  });

  it('is the only role record_engine_check is granted to: not PUBLIC, not vault_app', async () => {
    const { rows } = await db.pool.query(
      `SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE a.grantee::regrole::text END AS grantee
         FROM pg_proc p, aclexplode(p.proacl) a
        WHERE p.proname = 'record_engine_check' AND a.grantee <> p.proowner AND a.privilege_type = 'EXECUTE'`,
    );
    expect(rows).toEqual([{ grantee: 'vault_engine' }]);
  });

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

describe('with exchange checks on, the check that follows a report', () => {
  it('pauses the key with check_failed (actor engine, the report request id) when the exchange now rejects it, and the next open is refused', async () => {
    const subject = 'recheck-failed';
    const credentials = await registerKnown(subject);
    fake.addKey('coinone', credentials, { reject: true });
    const { recheck, asked } = checksAgainstFake();
    const requestId = randomUUID();
    const result = await reportChecked(subject, 'exchange_rejected', requestId, recheck);
    expect(result).toMatchObject({ ok: true, event_id: 2, check: { status: 'failed', reason: 'rejected', event_id: 3 } });
    expect(asked).toEqual(['coinone']);
    expect((await history(subject, checked)).slice(-2)).toEqual([
      expect.objectContaining({ event_id: 2, event: 'reported', actor: { kind: 'engine', id: FUNCTION_NAME }, request_id: requestId }),
      expect.objectContaining({ event_id: 3, event: 'check_failed', actor: { kind: 'engine', id: FUNCTION_NAME }, request_id: requestId, reason: 'rejected' }),
    ]);
    expect(await masked(subject)).toMatchObject({ is_active: false, key_version: 1, check: { status: 'failed', reason: 'rejected' } });
    expect(await engineOpen(subject)).toMatchObject({ ok: false, error: 'check_failed' });
  });

  it('leaves a key that passes active, its check recorded as checked, and it still opens', async () => {
    const subject = 'recheck-passed';
    await registerKnown(subject);
    const { recheck, asked } = checksAgainstFake();
    const result = await reportChecked(subject, 'permission_denied', randomUUID(), recheck);
    expect(result).toMatchObject({ ok: true, check: { status: 'passed', reason: null, event_id: 3 } });
    expect(asked).toEqual(['coinone']);
    expect((await history(subject, checked)).map((event) => [event.event, event.actor.kind, event.reason])).toEqual([
      ['registered', 'user', null],
      ['reported', 'engine', 'permission_denied'],
      ['checked', 'engine', null],
    ]);
    expect(await masked(subject)).toMatchObject({ is_active: true, check: { status: 'passed', checked_at: expect.any(String) } });
    expect(await engineOpen(subject)).toMatchObject({ ok: true, key_version: 1 });
  });

  it('keeps the report recorded and answered, with no check, when the key ring cannot be had for the check', async () => {
    const subject = 'recheck-no-ring';
    const credentials = await registerKnown(subject);
    fake.addKey('coinone', credentials, { reject: true });
    const { recheck, asked } = checksAgainstFake();
    const noRing: StoredKeyRecheck = {
      ...recheck,
      open: async () => {
        throw new Unavailable('key-ring', 'secret unreachable');
      },
    };
    expect(await reportChecked(subject, 'exchange_rejected', randomUUID(), noRing)).toMatchObject({ ok: true, event_id: 2, check: null });
    expect(asked).toEqual([]);
    expect((await history(subject, checked)).map((event) => event.event)).toEqual(['registered', 'reported']);
    expect(await masked(subject)).toMatchObject({ is_active: true, check: { status: 'unchecked' } });
  });

  it('changes nothing and asks no exchange for a version that is no longer current', async () => {
    const subject = 'recheck-stale';
    await registerKnown(subject);
    const second = sampleCredentials('coinone');
    fake.addKey('coinone', second, { reject: true });
    expect((await api.call('replace-api-key', { subject, params: checked, body: second })).status).toBe(200);
    const before = await history(subject, checked);
    const { recheck, asked } = checksAgainstFake();
    expect(await reportChecked(subject, 'exchange_rejected', randomUUID(), recheck)).toMatchObject({
      ok: false,
      error: 'stale',
    });
    expect(asked).toEqual([]);
    expect(await history(subject, checked)).toEqual(before);
    expect(await masked(subject)).toMatchObject({ is_active: true, key_version: 2, check: { status: 'unchecked' } });
  });
});

describe('with exchange checks off', () => {
  it('records the report only: no check, and a key the exchange would reject stays active', async () => {
    const subject = 'recheck-off';
    const credentials = await registerKnown(subject);
    fake.addKey('coinone', credentials, { reject: true });
    expect(await reportChecked(subject, 'exchange_rejected', randomUUID())).toMatchObject({ ok: true, check: null });
    expect((await history(subject, checked)).map((event) => event.event)).toEqual(['registered', 'reported']);
    expect(await masked(subject)).toMatchObject({ is_active: true, check: { status: 'unchecked' } });
  });

  it('builds no re-check in the function, so it loads no key ring', async () => {
    expect(process.env.EXCHANGE_CHECKS).toBeUndefined();
    expect((await import('../../shared/runtime/report-recheck.js')).reportRecheck).toBeUndefined();
  });
});
