import { KMSClient } from '@aws-sdk/client-kms';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { ConfigError } from '../../../shared/config.js';
import { EnvelopeError, type EnvelopePlace, seal } from '../../../shared/crypto/envelope.js';
import { DEFAULT_RING_FRESHNESS, RETIRE_MARGIN_MS, retireAllowedAt, ringFreshness } from '../../../shared/crypto/freshness.js';
import { reloadingOpener } from '../../../shared/crypto/reloading-opener.js';
import { ringStoreSource } from '../../../shared/crypto/ring-store.js';
import { secretsManagerRingStore } from '../../../shared/crypto/secrets-ring-store.js';
import { Unavailable } from '../../../shared/errors.js';
import { logger } from '../../../shared/logger.js';
import { newKey } from '../crypto/helpers.js';
import { awsError, FakeKms, FakeSecret, SECRET_ARN } from './aws-fakes.js';

const kms = new FakeKms();
const secret = new FakeSecret('');
const place = {
  table: 'tb_exchange_api_keys',
  userNo: 4,
  exchangeId: 101,
  field: 'public_key',
  sealing: '00000000-0000-4000-8000-000000000004',
} as const satisfies EnvelopePlace;
const WINDOW = { maxAgeMs: 300_000, graceMs: 300_000 };

let clock = 0;
const now = () => clock;
const reads = () => secret.mock.commandCalls(GetSecretValueCommand).length;
const store = () => secretsManagerRingStore({ secretArn: SECRET_ARN, secrets: new SecretsManagerClient({}), kms: new KMSClient({}) });
const ringWith = (primary: string, keys: Record<string, string>) => JSON.stringify({ primary, keys });
const warnLog = jest.spyOn(logger, 'warn');

beforeEach(() => {
  kms.install();
  secret.install();
  clock = 1_000_000;
  warnLog.mockClear();
});

afterAll(() => {
  kms.mock.restore();
  secret.mock.restore();
});

describe('KEY_RING_MAX_AGE_S', () => {
  it('defaults to 300 seconds, with as much grace after a failed re-check', () => {
    expect(ringFreshness({})).toEqual({ maxAgeMs: 300_000, graceMs: 300_000 });
    expect(DEFAULT_RING_FRESHNESS).toEqual({ maxAgeMs: 300_000, graceMs: 300_000 });
    expect(ringFreshness({ KEY_RING_MAX_AGE_S: '60' })).toEqual({ maxAgeMs: 60_000, graceMs: 60_000 });
  });

  it.each(['', '0', '-5', '1.5', 'five', '300s'])('refuses %j at cold start', (value) => {
    expect(() => ringFreshness({ KEY_RING_MAX_AGE_S: value })).toThrow(ConfigError);
  });

  it('lets a replaced key be retired only once every container has re-checked, or outlived its grace, plus a margin', () => {
    const rotatedAt = new Date('2025-11-25T10:30:00.000Z');
    expect(retireAllowedAt(rotatedAt, WINDOW).getTime() - rotatedAt.getTime()).toBe(600_000 + RETIRE_MARGIN_MS);
  });
});

describe('a warm container holding the ring', () => {
  it('uses the ring it holds inside the window, and re-checks the secret once it is older: a rotation reaches it in time', async () => {
    secret.set(ringWith('k1', { k1: newKey() }));
    const source = ringStoreSource(store(), WINDOW, now);
    expect((await source.current()).primaryKid).toBe('k1');

    const old = JSON.parse(secret.current.text) as { keys: Record<string, string> };
    secret.set(ringWith('k2', { ...old.keys, k2: newKey() }));
    clock += 299_999;
    expect((await source.current()).primaryKid).toBe('k1');
    expect(reads()).toBe(1);

    clock += 1;
    const concurrent = await Promise.all(Array.from({ length: 10 }, () => source.current()));
    expect(concurrent.map((ring) => ring.primaryKid)).toEqual(Array(10).fill('k2'));
    expect(reads()).toBe(2);
  });

  it('keeps sealing with the ring it holds when a re-check fails, for the grace only, trying again every few seconds; then 503', async () => {
    secret.set(ringWith('k1', { k1: newKey() }));
    const source = ringStoreSource(store(), WINDOW, now);
    const held = await source.current();
    secret.mock.on(GetSecretValueCommand).rejects(awsError('TimeoutError', 'connect ETIMEDOUT'));

    clock += 300_000;
    expect(await source.current()).toBe(held);
    expect(warnLog).toHaveBeenCalledWith(
      'key ring re-check failed; using the ring held since its last check',
      expect.objectContaining({ reason: expect.stringMatching(/TimeoutError/) }),
    );
    const afterFirstFailure = reads();
    // Not a secret read per request while it is down: once per Retry-After.
    clock += 4_000;
    expect(await source.current()).toBe(held);
    expect(reads()).toBe(afterFirstFailure);
    clock += 1_000;
    expect(await source.current()).toBe(held);
    expect(reads()).toBe(afterFirstFailure + 1);

    clock = 1_000_000 + 600_000;
    await expect(source.current()).rejects.toMatchObject({ name: 'Unavailable', dependency: 'key-ring' });
    await expect(source.current()).rejects.toBeInstanceOf(Unavailable);

    secret.install();
    secret.set(ringWith('k3', { k3: newKey() }));
    expect((await source.current()).primaryKid).toBe('k3');
  });

  it('never serves a ring it has not loaded: a failed first load is the key ring unavailable', async () => {
    secret.mock.on(GetSecretValueCommand).rejects(awsError('AccessDeniedException'));
    await expect(ringStoreSource(store(), WINDOW, now).current()).rejects.toMatchObject({ name: 'Unavailable', dependency: 'key-ring' });
  });
});

describe('reloading for envelopes under kids the ring lacks', () => {
  const ghosts = async (count: number) => {
    const ring = await ringStoreSource(store()).current();
    return Array.from({ length: count }, (_, i) => ({ ...seal('x', ring, place), kid: `ghost-${i}` }));
  };

  it('reloads at most once for any number of distinct made-up kids (one maintenance command)', async () => {
    secret.set(ringWith('k1', { k1: newKey() }));
    const envelopes = await ghosts(300);
    const before = reads();
    const open = reloadingOpener(ringStoreSource(store()));
    for (const envelope of envelopes) await expect(open(envelope, place)).rejects.toBeInstanceOf(EnvelopeError);
    expect(reads() - before).toBe(2);
  });

  it('reloads at most once per window in a container', async () => {
    secret.set(ringWith('k1', { k1: newKey() }));
    const envelopes = await ghosts(20);
    const source = ringStoreSource(store(), WINDOW, now);
    const open = reloadingOpener(source, { minIntervalMs: WINDOW.maxAgeMs, now });
    await source.current();
    const before = reads();
    for (const envelope of envelopes) await expect(open(envelope, place)).rejects.toThrow(/has no key ghost/);
    expect(reads() - before).toBe(1);
    clock += WINDOW.maxAgeMs;
    for (const envelope of envelopes) await expect(open(envelope, place)).rejects.toThrow(/has no key ghost/);
    // One re-check of the aged ring by current(), one reload for the kids: still not one per envelope.
    expect(reads() - before).toBe(3);
  });
});
