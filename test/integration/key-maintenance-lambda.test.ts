import { DecryptCommand, GenerateDataKeyWithoutPlaintextCommand } from '@aws-sdk/client-kms';
import { GetSecretValueCommand, PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DEFAULT_RING_FRESHNESS } from '../../shared/crypto/freshness.js';
import { kmsEncryptionContext, ringDocument } from '../../shared/crypto/ring-document.js';
import { type RingStore, ringStoreSource } from '../../shared/crypto/ring-store.js';
import { OperatorError } from '../../shared/errors.js';
import { NO_CHECKS } from '../../shared/exchanges/checker.js';
import { maintenanceHandler } from '../../shared/key-maintenance/lambda.js';
import type { MaintenanceFailure, MaintenanceReport } from '../../shared/key-maintenance/reports.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { closeHandlerPool, type LoadedHandlers, loadHandlers } from '../support/handlers.js';
import { captureOutput } from '../support/output-capture.js';
import { newKey } from '../unit/crypto/helpers.js';
import { awsError, FakeKms, FakeSecret, KMS_KEY_ARN, SECRET_ARN } from '../unit/key-ring/aws-fakes.js';

type Handler = (event: unknown, context?: { getRemainingTimeInMillis(): number; awsRequestId: string }) => Promise<MaintenanceReport | MaintenanceFailure>;

// The function as deployed: the ring in Secrets Manager, its entries wrapped by KMS.
const kms = new FakeKms();
const secret = new FakeSecret('');
let db: TestDatabase;
let api: LoadedHandlers;
let maintain: Handler;
let closeMaintenancePool: () => Promise<void>;

const ringNow = () => ringDocument.parse(JSON.parse(secret.current.text));
const aKey = { exchange_id: 101, public_key: 'PUBLICabcdefghijkl', private_key: 'PRIVATE-0123456789-abcdefWXYZ' };
const lambdaContext = { getRemainingTimeInMillis: () => 60_000, awsRequestId: 'maintenance-request-1' };

beforeAll(async () => {
  secret.set(JSON.stringify({ primary: 'kA', keys: { kA: { kms: kms.wrap('kA', newKey()) } } }));
  db = await createTestDatabase();
  api = await loadHandlers({ DATABASE_URL: db.url, SYMMETRIC_KEY: '', KEY_RING_SECRET_ARN: SECRET_ARN, KEY_RING_KMS_KEY_ID: KMS_KEY_ARN });
  const fn = await import('../../functions/key-maintenance.js');
  maintain = fn.handler;
  closeMaintenancePool = () => fn.pool.end();
  for (const subject of ['ann', 'ben', 'cat', 'dan', 'eve']) {
    expect((await api.call('register-api-key', { subject, body: aKey })).status).toBe(201);
  }
});

afterAll(async () => {
  kms.mock.restore();
  secret.mock.restore();
  await closeMaintenancePool();
  await closeHandlerPool();
  await db.drop();
});

describe('the key-maintenance function', () => {
  it('rotate wraps a new key under the ring context and writes a new secret version', async () => {
    const report = await maintain({ command: 'rotate' }, lambdaContext);
    expect(report).toMatchObject({ command: 'rotate', ok: true, previousPrimary: 'kA', v1: null });
    const primary = ringNow().primary;
    expect(primary).not.toBe('kA');
    expect(kms.mock.commandCalls(GenerateDataKeyWithoutPlaintextCommand).map((call) => call.args[0].input)).toEqual([
      { KeyId: KMS_KEY_ARN, KeySpec: 'AES_256', EncryptionContext: kmsEncryptionContext(primary) },
    ]);
    expect(secret.mock.commandCalls(PutSecretValueCommand)).toHaveLength(1);
    expect(ringNow().keys).toEqual({ kA: expect.anything(), [primary]: { kms: expect.any(String) } });
  });

  it('reencrypt moves every row to the new primary; the register function follows once it reloads', async () => {
    const primary = ringNow().primary;
    const report = await maintain({ command: 'reencrypt' }, lambdaContext);
    expect(report).toMatchObject({ command: 'reencrypt', ok: true, complete: true, before: { kA: 5 }, after: { [primary]: 5 }, rewritten: 5 });
    // The function shares this container's ring with register (one process here), which reencrypt reloaded.
    expect((await api.call('register-api-key', { subject: 'fay', body: aKey })).status).toBe(201);
    const { rows } = await db.pool.query<{ kid: string }>("SELECT public_key->>'kid' AS kid FROM tb_exchange_api_keys");
    expect(new Set(rows.map((row) => row.kid))).toEqual(new Set([primary]));
  });

  it('reencrypt wrote one event per row it rewrote: actor maintenance, the command, the Lambda request id', async () => {
    const { rows } = await db.pool.query(
      `SELECT u.auth_subject, e.actor_kind, e.actor_id, e.request_id, e.purpose
         FROM tb_exchange_api_key_events e JOIN tb_users u USING (user_no) WHERE e.event = 'reencrypted' ORDER BY u.auth_subject`,
    );
    expect(rows).toEqual(
      ['ann', 'ben', 'cat', 'dan', 'eve'].map((subject) => ({
        auth_subject: subject,
        actor_kind: 'maintenance',
        actor_id: 'reencrypt',
        request_id: 'maintenance-request-1',
        purpose: null,
      })),
    );
  });

  it('verify reports every row readable', async () => {
    expect(await maintain({ command: 'verify' }, lambdaContext)).toMatchObject({ command: 'verify', ok: true, rows: 6, failureCount: 0 });
  });

  it('retire waits out the freshness window after the rotation, and says until when', async () => {
    const before = secret.current.id;
    const report = await maintain({ command: 'retire', kid: 'kA' }, lambdaContext);
    expect(report).toMatchObject({ command: 'retire', ok: false, written: null });
    const allowedAt = new Date(new Date(ringNow().rotated_at!).getTime() + 2 * 300_000 + 60_000).toISOString();
    expect('refused' in report && report.refused).toContain(`retire is allowed from ${allowedAt}`);
    expect(secret.current.id).toBe(before);
  });

  it('retire of a key typed where the kid belongs neither logs nor reports what was typed', async () => {
    // 24 random bytes in base64 without + or /: a key that passes the kid pattern.
    const typed = Buffer.from(Array.from({ length: 24 }, (_, i) => 65 + ((i * 7) % 26))).toString('base64');
    expect(typed).toMatch(/^[A-Za-z0-9]{32}$/);
    const { logger } = await import('../../shared/logger.js');
    const level = logger.getLevelName();
    logger.setLogLevel('INFO');
    const output = captureOutput();
    let report: MaintenanceReport | MaintenanceFailure;
    try {
      report = await maintain({ command: 'retire', kid: typed }, lambdaContext);
    } finally {
      output.restore();
      logger.setLogLevel(level);
    }
    expect(report).toMatchObject({ command: 'retire', ok: false, kid: '(a kid that looks like key material)' });
    expect(JSON.stringify(report)).not.toContain(typed);
    expect(output.text()).not.toContain(typed);
    expect(output.text()).toContain('key maintenance started');
  });

  it('retire drops the old key from the secret once no row needs it', async () => {
    // The rotation was twenty minutes ago: every register container has re-checked the ring since.
    secret.set(JSON.stringify({ ...ringNow(), rotated_at: new Date(Date.now() - 20 * 60_000).toISOString() }));
    const before = secret.mock.commandCalls(PutSecretValueCommand).length;
    expect(await maintain({ command: 'retire', kid: 'kA' }, lambdaContext)).toMatchObject({ command: 'retire', ok: true, rowsNeedingKey: 0 });
    expect(secret.mock.commandCalls(PutSecretValueCommand)).toHaveLength(before + 1);
    expect(Object.keys(ringNow().keys)).toEqual([ringNow().primary]);
    expect(await maintain({ command: 'verify' }, lambdaContext)).toMatchObject({ ok: true });
  });

  it('reencrypt near the function timeout stops between batches and says how much is left', async () => {
    await maintain({ command: 'rotate' });
    const report = await maintain({ command: 'reencrypt', batchSize: 2 }, { getRemainingTimeInMillis: () => 1_000, awsRequestId: 'maintenance-request-2' });
    expect(report).toMatchObject({ ok: false, complete: false, stoppedEarly: true, rewritten: 0, remaining: 6 });
    expect(await maintain({ command: 'reencrypt' }, lambdaContext)).toMatchObject({ ok: true, rewritten: 6 });
  });

  it.each([
    [{}, /command/],
    [{ command: 'destroy' }, /command/],
    [{ command: 'retire' }, /kid/],
    [{ command: 'retire', kid: '../x' }, /kid/],
    [{ command: 'verify', extra: 1 }, /unrecognized field/],
  ])('refuses the event %j with a reason', async (event, reason) => {
    const report = await maintain(event, lambdaContext);
    expect(report).toMatchObject({ ok: false, command: null, error: expect.stringMatching(reason) });
  });

  it('reports an unreachable Secrets Manager as a failure with its cause, and writes nothing', async () => {
    secret.mock.on(GetSecretValueCommand).rejects(awsError('TimeoutError', 'connect ETIMEDOUT'));
    const puts = secret.mock.commandCalls(PutSecretValueCommand).length;
    for (const command of ['verify', 'rotate', 'reencrypt'] as const) {
      const report = await maintain({ command }, lambdaContext);
      expect(report).toMatchObject({ command, ok: false, error: expect.stringMatching(/GetSecretValue .* failed: TimeoutError/) });
    }
    expect(secret.mock.commandCalls(PutSecretValueCommand)).toHaveLength(puts);
    secret.install();
  });

  it('reports a KMS that will not unwrap', async () => {
    kms.mock.on(DecryptCommand).rejects(awsError('DisabledException'));
    expect(await maintain({ command: 'verify' }, lambdaContext)).toMatchObject({
      ok: false,
      error: expect.stringMatching(/KMS Decrypt of ring key .* DisabledException/),
    });
    kms.install();
  });
});

/** The error of a ring store the maintenance code has never heard of. */
class VaultSealed extends OperatorError {
  override readonly name = 'VaultSealed';
}

describe('the key-maintenance function with a ring store of its own', () => {
  const failingStore = (failure: Error): RingStore => ({
    location: 'a vault of its own',
    read: () => Promise.reject(failure),
    build: () => Promise.reject(failure),
    generate: () => Promise.reject(failure),
    write: () => Promise.reject(failure),
  });
  const maintainWith = (store: RingStore) =>
    maintenanceHandler({ db: db.pool, store, keyRingSource: ringStoreSource(store), freshness: DEFAULT_RING_FRESHNESS, checker: NO_CHECKS });

  it("reports that store's own operator error as a failed command in one line, whichever command met it", async () => {
    const maintainSealed = maintainWith(failingStore(new VaultSealed('the vault is sealed; unseal it and run the command again')));
    expect(await maintainSealed({ command: 'rotate' }, lambdaContext)).toEqual({
      command: 'rotate',
      ok: false,
      error: 'VaultSealed: the vault is sealed; unseal it and run the command again',
    });
    expect(await maintainSealed({ command: 'retire', kid: 'kA' }, lambdaContext)).toMatchObject({ ok: false, error: expect.stringMatching(/^VaultSealed: /) });
    // Loaded through the key ring source, it is the key ring unavailable, with the store's error as the reason.
    expect(await maintainSealed({ command: 'verify' }, lambdaContext)).toEqual({
      command: 'verify',
      ok: false,
      error: 'Unavailable: key-ring: VaultSealed: the vault is sealed; unseal it and run the command again',
    });
  });

  it('still throws what is no operator error: a bug is not reported as an outcome', async () => {
    const bug = new TypeError('cannot read properties of undefined');
    await expect(maintainWith(failingStore(bug))({ command: 'rotate' }, lambdaContext)).rejects.toBe(bug);
  });
});
