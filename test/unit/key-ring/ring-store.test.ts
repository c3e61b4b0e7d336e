import { DecryptCommand, GenerateDataKeyWithoutPlaintextCommand, KMSClient } from '@aws-sdk/client-kms';
import { GetSecretValueCommand, PutSecretValueCommand, SecretsManagerClient, UpdateSecretVersionStageCommand } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeEach, describe, expect, it } from '@jest/globals';
import { ConfigError } from '../../../shared/config.js';
import { EnvelopeError, type EnvelopePlace, openEnvelope, seal } from '../../../shared/crypto/envelope.js';
import { parseRingText } from '../../../shared/crypto/key-ring.js';
import { reloadingOpener } from '../../../shared/crypto/reloading-opener.js';
import { kmsEncryptionContext, newKid, ringDocument } from '../../../shared/crypto/ring-document.js';
import { RingChanged, RingReadOnly, ringStoreSource, textRingStore } from '../../../shared/crypto/ring-store.js';
import { ringStoreFromEnv } from '../../../shared/crypto/ring-store-env.js';
import { PENDING_STAGE, secretsManagerRingStore } from '../../../shared/crypto/secrets-ring-store.js';
import { rotate } from '../../../shared/key-maintenance/commands.js';
import { newKey } from '../crypto/helpers.js';
import { FakeKms, FakeSecret, KMS_KEY_ARN, SECRET_ARN } from './aws-fakes.js';

const kms = new FakeKms();
const secret = new FakeSecret('');
const place = {
  table: 'tb_exchange_api_keys',
  userNo: 9,
  exchangeId: 102,
  field: 'public_key',
  sealing: '00000000-0000-4000-8000-000000000009',
} as const satisfies EnvelopePlace;
const NOW = new Date('2025-11-25T10:30:00.123Z');

/** `null`: no KEY_RING_KMS_KEY_ID. */
const awsStore = (kmsKeyId: string | null = KMS_KEY_ARN) =>
  secretsManagerRingStore({ secretArn: SECRET_ARN, kmsKeyId: kmsKeyId ?? undefined, secrets: new SecretsManagerClient({}), kms: new KMSClient({}) });

beforeEach(() => {
  kms.install();
  secret.install();
});

afterAll(() => {
  kms.mock.restore();
  secret.mock.restore();
});

describe('choosing the ring store from the environment', () => {
  it('uses the secret when KEY_RING_SECRET_ARN is set, and reads nothing until asked', async () => {
    secret.set(newKey());
    const store = ringStoreFromEnv({ KEY_RING_SECRET_ARN: SECRET_ARN });
    expect(store.location).toBe(`Secrets Manager secret ${SECRET_ARN}`);
    expect(secret.mock.calls()).toHaveLength(0);
    await store.read();
    expect(secret.mock.commandCalls(GetSecretValueCommand).map((call) => call.args[0].input)).toEqual([{ SecretId: SECRET_ARN }]);
  });

  it('uses SYMMETRIC_KEY when only it is set, read-only', async () => {
    const store = ringStoreFromEnv({ SYMMETRIC_KEY: newKey() });
    expect(store.location).toBe('SYMMETRIC_KEY');
    const stored = await store.read();
    await expect(store.write(stored.doc, stored)).rejects.toBeInstanceOf(RingReadOnly);
  });

  it.each([
    [{ KEY_RING_SECRET_ARN: SECRET_ARN, SYMMETRIC_KEY: newKey() }, /KEY_RING_SECRET_ARN and SYMMETRIC_KEY are set together/],
    [{ SYMMETRIC_KEY: newKey(), KEY_RING_FILE: '/tmp/ring' }, /SYMMETRIC_KEY and KEY_RING_FILE are set together/],
    [{}, /must be set/],
    [{ SYMMETRIC_KEY: '  ', KEY_RING_SECRET_ARN: '' }, /must be set/],
  ])('refuses %j: one ring, one source, never a guess', (env, message) => {
    expect(() => ringStoreFromEnv(env)).toThrow(ConfigError);
    expect(() => ringStoreFromEnv(env)).toThrow(message);
  });
});

describe('an envelope under a kid the cached ring lacks', () => {
  it('reloads the ring once (a rotation since the cold start) and opens it', async () => {
    const old = newKey();
    secret.set(JSON.stringify({ primary: 'k1', keys: { k1: old } }));
    const source = ringStoreSource(awsStore());
    const open = reloadingOpener(source);
    expect((await source.current()).kids).toEqual(['k1']);

    // Another container rotated: k2 is primary and has sealed a row.
    const rotated = { primary: 'k2', keys: { k1: old, k2: newKey() } };
    secret.set(JSON.stringify(rotated));
    const sealed = seal('written after rotation', await textRingStore({ location: 't', read: async () => JSON.stringify(rotated) }).build(rotated), place);

    expect(await open(sealed, place)).toBe('written after rotation');
    expect(secret.mock.commandCalls(GetSecretValueCommand)).toHaveLength(2);
    expect((await source.current()).primaryKid).toBe('k2');
  });

  it('reloads at most once per missing kid, then reports unknown_kid and never tries another key', async () => {
    secret.set(JSON.stringify({ primary: 'k1', keys: { k1: newKey() } }));
    const source = ringStoreSource(awsStore());
    const open = reloadingOpener(source);
    const ghost = { ...seal('x', await source.current(), place), kid: 'ghost' };

    for (let i = 0; i < 3; i += 1) {
      const error = await open(ghost, place).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(EnvelopeError);
      expect((error as EnvelopeError).reason).toBe('unknown_kid');
    }
    expect(secret.mock.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it('does not reload for an envelope that is merely unreadable', async () => {
    secret.set(JSON.stringify({ primary: 'k1', keys: { k1: newKey() } }));
    const source = ringStoreSource(awsStore());
    const sealed = seal('x', await source.current(), place);
    await expect(reloadingOpener(source)(sealed, { ...place, userNo: 10 })).rejects.toMatchObject({ reason: 'unreadable' });
    expect(secret.mock.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  });
});

describe('rotate on the Secrets Manager ring', () => {
  it('wraps a new 256-bit key with GenerateDataKeyWithoutPlaintext under its encryption context, keeps the old keys and v1, and writes a new version', async () => {
    const seed = newKey(16);
    const k1 = kms.wrap('k1', newKey());
    secret.set(JSON.stringify({ primary: 'k1', v1: 'seed', keys: { seed, k1: { kms: k1 } } }));
    const basis = secret.current.id;

    const report = await rotate({ store: awsStore() }, NOW);

    const kid = report.primary;
    expect(kid).toMatch(/^k20251125T103000Z-[0-9a-f]{8}$/);
    expect(report).toMatchObject({ command: 'rotate', ok: true, previousPrimary: 'k1', v1: 'seed' });
    expect(kms.mock.commandCalls(GenerateDataKeyWithoutPlaintextCommand).map((call) => call.args[0].input)).toEqual([
      { KeyId: KMS_KEY_ARN, KeySpec: 'AES_256', EncryptionContext: kmsEncryptionContext(kid) },
    ]);
    // The new ring is unwrapped in full before it is written: a ring that cannot load is never stored.
    expect(kms.mock.commandCalls(DecryptCommand).map((call) => call.args[0].input.EncryptionContext)).toEqual(
      expect.arrayContaining([kmsEncryptionContext('k1'), kmsEncryptionContext(kid)]),
    );
    // Compare-and-set: a pending version, then AWSCURRENT moved off the version that was read.
    const put = secret.mock.commandCalls(PutSecretValueCommand).map((call) => call.args[0].input);
    expect(put).toEqual([{ SecretId: SECRET_ARN, SecretString: expect.any(String), ClientRequestToken: expect.any(String), VersionStages: [PENDING_STAGE] }]);
    expect(secret.mock.commandCalls(UpdateSecretVersionStageCommand).map((call) => call.args[0].input)).toEqual([
      { SecretId: SECRET_ARN, VersionStage: 'AWSCURRENT', MoveToVersionId: secret.current.id, RemoveFromVersionId: basis },
    ]);

    const written = ringDocument.parse(JSON.parse(put[0]!.SecretString!));
    expect(written).toEqual({ primary: kid, v1: 'seed', keys: { seed, k1: { kms: k1 }, [kid]: { kms: expect.any(String) } }, rotated_at: NOW.toISOString() });
    expect(secret.current.text).toBe(put[0]!.SecretString);
    const entry = written.keys[kid];
    expect(typeof entry === 'object' && kms.unwrapForTest(entry.kms)).toHaveLength(32);
    expect(report.written).toContain(SECRET_ARN);
    expect(JSON.stringify(report)).not.toContain(seed);
    expect(secret.current.id).not.toBe(basis);
  });

  it('turns a bare seed secret into a JSON ring: the seed key reads version 1, the new key writes', async () => {
    const seed = newKey(16);
    secret.set(seed);
    const report = await rotate({ store: awsStore(null) }, NOW);
    const written = parseRingText(secret.current.text);
    expect(written).toEqual({
      primary: report.primary,
      v1: 'default',
      keys: { default: seed, [report.primary]: expect.any(String) },
      rotated_at: NOW.toISOString(),
    });
    // No KMS key configured and no wrapped entry: a plain key from the CSPRNG, inside the encrypted secret.
    expect(kms.mock.calls()).toHaveLength(0);
  });

  it('refuses to add a plain key to a KMS-wrapped ring when no KMS key is configured', async () => {
    secret.set(JSON.stringify({ primary: 'k1', keys: { k1: { kms: kms.wrap('k1', newKey()) } } }));
    await expect(rotate({ store: awsStore(null) }, NOW)).rejects.toThrow(/KEY_RING_KMS_KEY_ID must be set/);
    expect(secret.mock.commandCalls(PutSecretValueCommand)).toHaveLength(0);
  });

  it('reports a write whose stage move happened but whose answer was lost as written, not as RingChanged', async () => {
    secret.set(JSON.stringify({ primary: 'k1', keys: { k1: newKey() } }));
    const store = awsStore();
    const stored = await store.read();
    secret.answersLost = 1;
    await expect(store.write(stored.doc, stored)).resolves.toMatch(/version /);
    expect(secret.answersLost).toBe(0);
  });

  it('changes nothing current when the secret changed since it was read', async () => {
    secret.set(JSON.stringify({ primary: 'k1', keys: { k1: newKey() } }));
    const store = awsStore();
    const stored = await store.read();
    const other = JSON.stringify({ primary: 'k1', keys: { k1: newKey() } });
    secret.set(other);
    await expect(store.write(stored.doc, stored)).rejects.toBeInstanceOf(RingChanged);
    expect(secret.current.text).toBe(other);
  });

  it('of two rotations racing on a slow Secrets Manager, one wins and the other fails as RingChanged: no key is dropped', async () => {
    const k1 = newKey();
    secret.set(JSON.stringify({ primary: 'k1', keys: { k1: { kms: kms.wrap('k1', k1) } } }));
    secret.delayMs = 400;
    try {
      const first = rotate({ store: awsStore() }, NOW);
      await new Promise((resolve) => setTimeout(resolve, 150));
      // The same second: before kids had a random part, both chose one kid for two different keys.
      const outcomes = await Promise.allSettled([first, rotate({ store: awsStore() }, NOW)]);
      const won = outcomes.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
      const lost = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason as unknown] : []));
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(1);
      expect(lost[0]).toBeInstanceOf(RingChanged);

      // The ring is the winner's, holding every key: any container that loaded it opens every row.
      const ring = ringDocument.parse(JSON.parse(secret.current.text));
      expect(ring.primary).toBe(won[0]!.primary);
      expect(Object.keys(ring.keys).sort()).toEqual(['k1', won[0]!.primary].sort());
      expect(secret.mock.commandCalls(PutSecretValueCommand)).toHaveLength(2);
    } finally {
      secret.delayMs = 0;
    }
  });

  it('names new kids by time with a random part: two in the same second differ', () => {
    const kids = new Set(Array.from({ length: 50 }, () => newKid(NOW)));
    expect(kids.size).toBe(50);
    for (const kid of kids) {
      expect(kid).toMatch(/^k20251125T103000Z-[0-9a-f]{8}$/);
      expect(ringDocument.shape.primary.safeParse(kid).success).toBe(true);
    }
  });

  it('the rotated ring opens what the old one sealed', async () => {
    const k1 = newKey();
    secret.set(JSON.stringify({ primary: 'k1', keys: { k1: { kms: kms.wrap('k1', k1) } } }));
    const store = awsStore();
    const before = await store.build((await store.read()).doc);
    const sealed = seal('kept', before, place);
    await rotate({ store }, NOW);
    const after = await store.build((await store.read()).doc);
    expect(after.primaryKid).not.toBe('k1');
    expect(openEnvelope(sealed, after, place)).toBe('kept');
  });
});
