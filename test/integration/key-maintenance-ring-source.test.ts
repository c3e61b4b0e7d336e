import { DecryptCommand } from '@aws-sdk/client-kms';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { maskedApiKeyList } from '../../shared/schemas/api-keys.js';
import { errorBody } from '../../shared/schemas/errors.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { closeHandlerPool, type LoadedHandlers, loadHandlers } from '../support/handlers.js';
import { newKey } from '../unit/crypto/helpers.js';
import { awsError, FakeKms, FakeSecret, KMS_KEY_ARN, SECRET_ARN } from '../unit/key-ring/aws-fakes.js';

// The handlers as deployed: the ring comes from the secret the ARN names, never from SYMMETRIC_KEY.
const kms = new FakeKms();
const secret = new FakeSecret('');
let db: TestDatabase;
let api: LoadedHandlers;

beforeAll(async () => {
  db = await createTestDatabase();
  // SYMMETRIC_KEY empty is unset: the functions read KEY_RING_SECRET_ARN.
  api = await loadHandlers({ DATABASE_URL: db.url, SYMMETRIC_KEY: '', KEY_RING_SECRET_ARN: SECRET_ARN, KEY_RING_KMS_KEY_ID: KMS_KEY_ARN });
});

afterAll(async () => {
  kms.mock.restore();
  secret.mock.restore();
  await closeHandlerPool();
  await db.drop();
});

const aKey = { exchange_id: 101, public_key: 'PUBLICabcdefghijkl', private_key: 'PRIVATE-0123456789-abcdefWXYZ' };
const secretReads = () => secret.mock.commandCalls(GetSecretValueCommand).length;
const storedRows = async () => Number((await db.pool.query<{ n: string }>('SELECT count(*) AS n FROM tb_exchange_api_keys')).rows[0]?.n);

describe('handlers when the key ring cannot be had', () => {
  it('register answers 503 with Retry-After while Secrets Manager is unreachable; the list routes still answer 200', async () => {
    secret.mock.on(GetSecretValueCommand).rejects(awsError('TimeoutError', 'connect ETIMEDOUT'));

    const response = await api.call('register-api-key', { subject: 'alice', body: aKey });
    expect(response.status).toBe(503);
    expect(response.headers['retry-after']).toBe('5');
    expect(errorBody.parse(response.body)).toEqual({ detail: 'The encryption keys are unavailable; retry shortly' });
    expect(await storedRows()).toBe(0);

    const reads = secretReads();
    expect(reads).toBe(1);
    const keys = await api.call('list-api-keys', { subject: 'alice' });
    expect(keys.status).toBe(200);
    expect(maskedApiKeyList.parse(keys.body)).toEqual([]);
    expect((await api.call('list-exchanges', { subject: 'alice' })).status).toBe(200);
    // The list functions never asked for the ring.
    expect(secretReads()).toBe(reads);
  });

  it('answers 503 again when KMS cannot unwrap, retrying the secret rather than caching the failure', async () => {
    secret.install();
    secret.set(JSON.stringify({ primary: 'k2', keys: { k2: { kms: kms.wrap('k2', newKey()) } } }));
    kms.mock.on(DecryptCommand).rejects(awsError('AccessDeniedException'));

    const response = await api.call('register-api-key', { subject: 'alice', body: aKey });
    expect(response.status).toBe(503);
    expect(response.headers['retry-after']).toBe('5');
    expect(secretReads()).toBe(1);
  });

  it('answers 503 for a secret that is not a ring, without echoing it', async () => {
    secret.install();
    kms.install();
    secret.set('{"state":"uninitialized","placeholder":"Zx8rT2qP"}');
    const response = await api.call('register-api-key', { subject: 'alice', body: aKey });
    expect(response.status).toBe(503);
    expect(JSON.stringify(response)).not.toMatch(/Zx8rT2qP|uninitialized/);
  });

  it('recovers on the next request once the ring is back, seals under its primary, and reads the secret no more', async () => {
    secret.install();
    kms.install();
    secret.set(JSON.stringify({ primary: 'k2', keys: { k2: { kms: kms.wrap('k2', newKey()) } } }));

    expect((await api.call('register-api-key', { subject: 'alice', body: aKey })).status).toBe(201);
    expect((await api.call('register-api-key', { subject: 'bob', body: aKey })).status).toBe(201);
    expect((await api.call('register-api-key', { subject: 'carol', body: aKey })).status).toBe(201);
    expect(secretReads()).toBe(1);
    expect(kms.mock.commandCalls(DecryptCommand)).toHaveLength(1);

    const { rows } = await db.pool.query<{ public_key: { kid: string }; private_key: { kid: string } }>(
      'SELECT public_key, private_key FROM tb_exchange_api_keys',
    );
    expect(rows.flatMap((row) => [row.public_key.kid, row.private_key.kid])).toEqual(Array(6).fill('k2'));
    expect(maskedApiKeyList.parse((await api.call('list-api-keys', { subject: 'alice' })).body)).toHaveLength(1);
  });
});
