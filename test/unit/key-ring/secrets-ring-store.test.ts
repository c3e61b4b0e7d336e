import { DecryptCommand, KMSClient } from '@aws-sdk/client-kms';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { type EnvelopePlace, openEnvelope, seal } from '../../../shared/crypto/envelope.js';
import type { KeyRingSource } from '../../../shared/crypto/key-ring-source.js';
import { BARE_KEY_KID, kmsEncryptionContext } from '../../../shared/crypto/ring-document.js';
import { ringStoreSource } from '../../../shared/crypto/ring-store.js';
import { secretsManagerRingStore } from '../../../shared/crypto/secrets-ring-store.js';
import { Unavailable } from '../../../shared/errors.js';
import { logger } from '../../../shared/logger.js';
import { boundPlace, newKey, v1Fixtures } from '../crypto/helpers.js';
import { awsError, FakeKms, FakeSecret, KMS_KEY_ARN, SECRET_ARN } from './aws-fakes.js';

const kms = new FakeKms();
const secret = new FakeSecret('');
const place = {
  table: 'tb_exchange_api_keys',
  userNo: 3,
  exchangeId: 101,
  field: 'private_key',
  sealing: '00000000-0000-4000-8000-000000000003',
} as const satisfies EnvelopePlace;

const sourceFor = (options: { kmsKeyId?: string } = { kmsKeyId: KMS_KEY_ARN }): KeyRingSource =>
  ringStoreSource(
    secretsManagerRingStore({ secretArn: SECRET_ARN, kmsKeyId: options.kmsKeyId, secrets: new SecretsManagerClient({}), kms: new KMSClient({}) }),
  );

const errorLog = jest.spyOn(logger, 'error');

beforeEach(() => {
  kms.install();
  secret.install();
  errorLog.mockClear();
});

afterAll(() => {
  kms.mock.restore();
  secret.mock.restore();
});

/** A JSON ring of one plain v1 key and one KMS-wrapped primary, as the stack writes it after a rotation. */
const wrappedRing = () => {
  const primary = newKey();
  const seed = newKey(16);
  const blob = kms.wrap('k2', primary);
  return { primary, seed, blob, text: JSON.stringify({ primary: 'k2', v1: 'seed', keys: { seed, k2: { kms: blob } } }) };
};

/** The secret's text and every string inside it long enough to be a key, a blob or a password. */
const secretMaterial = (text: string): string[] => {
  const leaves: string[] = [];
  const walk = (node: unknown): void => {
    if (typeof node === 'string' && node.length >= 8) leaves.push(node);
    else if (node !== null && typeof node === 'object') Object.values(node).forEach(walk);
  };
  try {
    walk(JSON.parse(text));
  } catch {
    // not JSON: the text itself is the material
  }
  return text.trim() === '' ? leaves : [text.trim(), ...leaves];
};

/** The key ring's Unavailable a load fails with; fails the test on success or any other error. */
const unavailable = async (load: Promise<unknown>): Promise<Unavailable> => {
  try {
    await load;
  } catch (error) {
    if (error instanceof Unavailable && error.dependency === 'key-ring') return error;
    throw error;
  }
  throw new Error('expected the key ring unavailable');
};

describe('the Secrets Manager key ring', () => {
  it('reads the secret by its ARN and unwraps each {kms} entry with KMS Decrypt under its encryption context', async () => {
    const ring = wrappedRing();
    secret.set(ring.text);
    const loaded = await sourceFor().current();

    expect(secret.mock.commandCalls(GetSecretValueCommand).map((call) => call.args[0].input)).toEqual([{ SecretId: SECRET_ARN }]);
    expect(kms.mock.commandCalls(DecryptCommand).map((call) => call.args[0].input)).toEqual([
      {
        CiphertextBlob: Buffer.from(ring.blob, 'base64'),
        EncryptionContext: { purpose: 'exchange-api-key-vault/key-ring', kid: 'k2' },
        KeyId: KMS_KEY_ARN,
      },
    ]);
    expect(kmsEncryptionContext('k2')).toEqual({ purpose: 'exchange-api-key-vault/key-ring', kid: 'k2' });
    expect(loaded.primaryKid).toBe('k2');
    expect(loaded.v1Kid).toBe('seed');
    expect(loaded.key('k2')?.toString('base64')).toBe(ring.primary);
    expect(loaded.key('seed')?.toString('base64')).toBe(ring.seed);
    expect(openEnvelope(seal('a secret', loaded, place), loaded, place)).toBe('a secret');
  });

  it('leaves KeyId out of Decrypt when KEY_RING_KMS_KEY_ID is not given', async () => {
    secret.set(wrappedRing().text);
    await sourceFor({}).current();
    expect(kms.mock.commandCalls(DecryptCommand)[0]?.args[0].input).not.toHaveProperty('KeyId');
  });

  it('reads the secret once per container, however many requests and however concurrent', async () => {
    secret.set(wrappedRing().text);
    const source = sourceFor();
    const rings = await Promise.all(Array.from({ length: 25 }, () => source.current()));
    for (let i = 0; i < 25; i += 1) rings.push(await source.current());
    expect(new Set(rings).size).toBe(1);
    expect(secret.mock.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    expect(kms.mock.commandCalls(DecryptCommand)).toHaveLength(1);
  });

  it('takes a bare base64 secret (the seed SYMMETRIC_KEY) unchanged, with no KMS call', async () => {
    const seed = v1Fixtures.find((fixture) => fixture.keyBytes === 32)!;
    secret.set(`${seed.key}\n`);
    const ring = await sourceFor().current();
    expect([ring.primaryKid, ring.v1Kid, ring.kids]).toEqual([BARE_KEY_KID, BARE_KEY_KID, [BARE_KEY_KID]]);
    expect(openEnvelope(seed.envelope, ring, boundPlace(seed.envelope, place))).toBe(seed.plaintext);
    expect(openEnvelope(seal('new', ring, place), ring, place)).toBe('new');
    expect(kms.mock.commandCalls(DecryptCommand)).toHaveLength(0);
  });

  it('unwraps a blob only under the kid it was made for: an entry copied to another kid fails', async () => {
    const key = newKey();
    secret.set(JSON.stringify({ primary: 'k9', keys: { k9: { kms: kms.wrap('k1', key) } } }));
    const error = await unavailable(sourceFor().current());
    expect(error.reason).toMatch(/KMS Decrypt of ring key k9 failed: InvalidCiphertextException/);
  });
});

describe('when the ring cannot be had', () => {
  const plainRing = () => JSON.stringify({ primary: 'k1', keys: { k1: newKey() } });

  type Failure = [string, () => void, RegExp];
  const failures: Failure[] = [
    [
      'Secrets Manager is unreachable',
      () => secret.mock.on(GetSecretValueCommand).rejects(awsError('TimeoutError', 'connect ETIMEDOUT 10.0.0.12:443')),
      /Secrets Manager GetSecretValue on arn:.* failed: TimeoutError/,
    ],
    [
      'Secrets Manager denies access',
      () => secret.mock.on(GetSecretValueCommand).rejects(awsError('AccessDeniedException')),
      /GetSecretValue .* failed: AccessDeniedException/,
    ],
    ['the secret does not exist', () => secret.mock.on(GetSecretValueCommand).rejects(awsError('ResourceNotFoundException')), /ResourceNotFoundException/],
    ['the secret has no value', () => secret.mock.on(GetSecretValueCommand).resolves({ ARN: SECRET_ARN }), /has no value/],
    ['the secret is still the stack placeholder', () => secret.set('{"state":"uninitialized","placeholder":"Zx8rT2qP"}'), /key ring is invalid/],
    ['the secret is not JSON', () => secret.set('{"primary": "k1", "keys": '), /not valid JSON/],
    ['the secret is neither a ring nor base64', () => secret.set('hunter2!'), /neither a JSON ring nor a canonical base64 key/],
    ['no primary is named', () => secret.set(JSON.stringify({ keys: { k1: newKey() } })), /primary/],
    ['the primary names no key', () => secret.set(JSON.stringify({ primary: 'k2', keys: { k1: newKey() } })), /primary names no key/],
    ['a bare key is neither 16, 24 nor 32 bytes', () => secret.set(newKey(20)), /v1 key default is 20 bytes/],
    ['a ring key has the wrong length', () => secret.set(JSON.stringify({ primary: 'k1', keys: { k1: newKey(), k0: newKey(24) } })), /key k0 is 24 bytes/],
    [
      'KMS is unreachable',
      () => {
        secret.set(wrappedRing().text);
        kms.mock.on(DecryptCommand).rejects(awsError('TimeoutError', 'socket hang up'));
      },
      /KMS Decrypt of ring key k2 failed: TimeoutError/,
    ],
    [
      'KMS denies Decrypt',
      () => {
        secret.set(wrappedRing().text);
        kms.mock.on(DecryptCommand).rejects(awsError('AccessDeniedException'));
      },
      /KMS Decrypt of ring key k2 failed: AccessDeniedException/,
    ],
    [
      'KMS unwraps a key of the wrong length',
      () => {
        secret.set(JSON.stringify({ primary: 'k2', keys: { k2: { kms: kms.wrap('k2', newKey(16)) } } }));
      },
      /primary key k2 is 16 bytes/,
    ],
    [
      'KMS returns no plaintext',
      () => {
        secret.set(wrappedRing().text);
        kms.mock.on(DecryptCommand).resolves({});
      },
      /returned no plaintext/,
    ],
  ];

  it.each(failures)('%s: the key ring unavailable, a log line naming the cause without key material', async (_name, arrange, cause) => {
    secret.set(plainRing());
    arrange();
    const source = sourceFor();
    const error = await unavailable(source.current());
    expect(error.reason).toMatch(cause);

    expect(errorLog).toHaveBeenCalledWith('key ring unavailable', { reason: error.reason });
    const logged = JSON.stringify(errorLog.mock.calls);
    for (const material of secret.versions.flatMap((version) => secretMaterial(version.text))) expect(logged).not.toContain(material);
  });

  it.each(failures)('%s: the failure is not cached, the next request tries again', async (_name, arrange) => {
    secret.set(plainRing());
    arrange();
    const source = sourceFor();
    await unavailable(source.current());
    await unavailable(source.current());
    expect(secret.mock.commandCalls(GetSecretValueCommand)).toHaveLength(2);

    // Fixed: the next request loads the ring, and it is cached from then on.
    kms.install();
    secret.install();
    secret.set(plainRing());
    const ring = await source.current();
    expect(await source.current()).toBe(ring);
    expect(secret.mock.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  });

  it('never comes up on the keys it could unwrap when one cannot be: no fallback key', async () => {
    const other = newKey();
    secret.set(JSON.stringify({ primary: 'k2', v1: 'k1', keys: { k1: other, k2: { kms: kms.wrap('k2', newKey()) } } }));
    kms.mock.on(DecryptCommand).rejects(awsError('KMSInvalidStateException'));
    await unavailable(sourceFor().current());
  });

  it('a failed reload fails its caller but does not drop the ring that still works', async () => {
    secret.set(plainRing());
    const source = sourceFor();
    const first = await source.current();
    secret.mock.on(GetSecretValueCommand).rejects(awsError('TimeoutError'));
    await unavailable(source.reload());
    expect(await source.current()).toBe(first);
    secret.install();
    expect(await source.reload()).not.toBe(first);
  });
});
