import { inspect } from 'node:util';
import { describe, expect, it, jest } from '@jest/globals';
import { openEnvelope, seal } from '../../../shared/crypto/envelope.js';
import { buildKeyRing, decodeCanonicalBase64, KeyRingError, keyRingFromText, parseRingText } from '../../../shared/crypto/key-ring.js';
import { BARE_KEY_KID, type RingDocument } from '../../../shared/crypto/ring-document.js';
import { boundPlace, newKey, place, v1Fixtures } from './helpers.js';

const noUnwrap = (): Promise<Buffer> => Promise.reject(new Error('unwrap must not be called'));

/** The KeyRingError a promise or call fails with; fails the test on success or any other error. */
const ringFailure = async (run: () => unknown): Promise<KeyRingError> => {
  try {
    await run();
  } catch (error) {
    if (error instanceof KeyRingError) return error;
    throw error;
  }
  throw new Error('expected a KeyRingError');
};

describe('decodeCanonicalBase64', () => {
  it.each([
    ['', ''],
    ['AA==', '00'],
    ['AAA=', '0000'],
    ['AAAA', '000000'],
    ['+/+/', 'fbffbf'],
  ])('decodes %j', (text, hex) => {
    expect(decodeCanonicalBase64(text)?.toString('hex')).toBe(hex);
  });

  // Buffer.from(text, 'base64') quietly decodes every one of these.
  it.each(['AB==', 'AAB=', 'AA', 'AA=', 'AA===', '-_-_', 'AA AA==', 'AAAA\n', ' AAAA', 'AA==AA=='])('refuses %j', (text) => {
    expect(decodeCanonicalBase64(text)).toBeUndefined();
  });
});

describe('parseRingText', () => {
  it.each([16, 32])('turns a bare %i-byte base64 key into a one-key ring that also reads v1', (bytes) => {
    const key = newKey(bytes);
    expect(parseRingText(`${key}\n`)).toEqual({ primary: BARE_KEY_KID, v1: BARE_KEY_KID, keys: { [BARE_KEY_KID]: key } });
  });

  it('reads a JSON ring with plain and wrapped entries', () => {
    const doc: RingDocument = { primary: 'k2', v1: 'seed', keys: { seed: newKey(16), k2: { kms: newKey(184) } } };
    expect(parseRingText(JSON.stringify(doc))).toEqual(doc);
  });

  it.each([
    ['empty', '  \n'],
    ['not base64', 'not a key!'],
    ['URL-safe base64', `${newKey(32).replace(/=$/, '').replace(/.$/, '-')}=`],
    ['base64 with a stray character', `${newKey(32).slice(0, 10)}*${newKey(32).slice(10)}`],
    ['malformed JSON', `{"primary": "k1", "keys": {"k1": "${newKey()}"`],
    ['an empty JSON object', '{}'],
    ['no primary', JSON.stringify({ keys: { k1: newKey() } })],
    ['a primary naming a missing key', JSON.stringify({ primary: 'k2', keys: { k1: newKey() } })],
    ['v1 naming a missing key', JSON.stringify({ primary: 'k1', v1: 'seed', keys: { k1: newKey() } })],
    ['an entry that is not base64', JSON.stringify({ primary: 'k1', keys: { k1: 'not base64!' } })],
    ['an unknown field', JSON.stringify({ primary: 'k1', keys: { k1: newKey() }, extra: true })],
    ['an invalid kid', JSON.stringify({ primary: 'k 1', keys: { 'k 1': newKey() } })],
  ])('refuses %s', async (_label, text) => {
    const error = await ringFailure(() => parseRingText(text));
    expect(error.message.length).toBeGreaterThan(0);
  });

  // Key material must never reach a log line through an error, wherever in the text it sits.
  it('never repeats key material in its messages', async () => {
    const key = newKey();
    const alnumKey = 'A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6'; // a 24-byte key whose base64 is also a valid kid
    const texts = [
      `{"primary": "k1", "keys": {"k1": "${key}"`,
      `{"primary": "k1", "keys": {"k1": "${key}"}, "${key}": 1}`,
      `{"primary": "k1", "keys": {"${key}": "${key}"}}`,
      `{"primary": "${key}", "keys": {"k1": "${key}"}}`,
      `{"primary": "k1", "keys": {"k1": "${key}x"}}`,
      `${key}x`,
      `{"primary": "k1", "keys": {"k1": "${alnumKey}"}, "extra": "${alnumKey}"}`,
    ];
    for (const text of texts) {
      const { message } = await ringFailure(() => parseRingText(text));
      expect(message).not.toContain(key);
      expect(message).not.toContain(key.slice(0, 12));
      expect(message).not.toContain(alnumKey);
    }
  });

  it.each([
    ['primary', `{"primary": "k1", "primary": "k2", "keys": {"k1": "${newKey()}", "k2": "${newKey()}"}}`],
    ['a kid', `{"primary": "k1", "keys": {"k1": "${newKey()}", "k1": "${newKey()}"}}`],
    ['a kid spelled with an escape', `{"primary": "k1", "keys": {"k1": "${newKey()}", "\\u006b1": "${newKey()}"}}`],
    ['kms inside an entry', `{"primary": "k1", "keys": {"k1": {"kms": "${newKey(100)}", "kms": "${newKey(100)}"}}}`],
  ])('refuses a ring naming %s twice (JSON.parse would keep the last)', async (_label, text) => {
    expect((await ringFailure(() => parseRingText(text))).message).toMatch(/names a field twice/);
  });

  it('accepts the same name in different objects, and quotes and braces inside strings', () => {
    const text = `{"primary": "k1", "v1": "k1", "keys": {"k1": "${newKey()}"}, "rotated_at": "2025-11-25T10:30:00.000Z"}`;
    expect(parseRingText(text).primary).toBe('k1');
    expect(() => parseRingText('{"primary": "k1", "keys": {"k1": "a\\"}{,\\""}}')).toThrow(/must be base64/);
  });

  it.each(['constructor', 'hasOwnProperty', 'toString', '__proto__'])("does not take Object.prototype's %s for a kid of the ring", async (kid) => {
    const text = JSON.stringify({ primary: kid, keys: { k1: newKey() } });
    expect((await ringFailure(() => parseRingText(text))).message).toMatch(/primary|reserved/);
  });

  it('refuses a kid __proto__, which a parsed object would silently lose', async () => {
    const text = `{"primary": "k1", "keys": {"k1": "${newKey()}", "__proto__": "${newKey()}"}}`;
    expect((await ringFailure(() => parseRingText(text))).message).toMatch(/reserved/);
  });

  it('never quotes a 24-byte key typed where a kid belongs, in any error about it', async () => {
    const alnumKey = 'A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6';
    expect(decodeCanonicalBase64(alnumKey)).toHaveLength(24);
    const docs: RingDocument[] = [
      { primary: 'k1', keys: { k1: newKey(), [alnumKey]: newKey(16) } },
      { primary: alnumKey, keys: { [alnumKey]: newKey(16) } },
      { primary: 'k1', v1: alnumKey, keys: { k1: newKey(), [alnumKey]: newKey(20) } },
      { primary: 'k1', keys: { k1: newKey(), [alnumKey]: Buffer.alloc(32).toString('base64') } },
      { primary: 'k1', keys: { k1: newKey(), [alnumKey]: { kms: newKey(100) } } },
    ];
    for (const doc of docs) {
      const error = await ringFailure(() => keyRingFromText(JSON.stringify(doc)));
      expect(error.message).toMatch(/a kid that looks like key material/);
      expect(error.message).not.toContain(alnumKey);
      expect(error.message).not.toContain(alnumKey.slice(0, 12));
    }
  });

  it('names the failing rule', async () => {
    expect((await ringFailure(() => parseRingText('{"primary": "k1"'))).message).toMatch(/not valid JSON/);
    const missingV1 = JSON.stringify({ primary: 'k1', v1: 'seed', keys: { k1: newKey() } });
    expect((await ringFailure(() => parseRingText(missingV1))).message).toMatch(/v1 names no key/);
  });
});

describe('buildKeyRing', () => {
  it('decodes plain entries and exposes kids, roles and keys', async () => {
    const [k1, k2, seed] = [newKey(), newKey(), newKey(24)];
    const ring = await buildKeyRing({ primary: 'k2', v1: 'seed', keys: { k1, k2, seed } }, noUnwrap);
    expect(ring.primaryKid).toBe('k2');
    expect(ring.v1Kid).toBe('seed');
    expect([...ring.kids].sort()).toEqual(['k1', 'k2', 'seed']);
    expect(ring.key('k1')?.toString('base64')).toBe(k1);
    expect(ring.key('seed')?.toString('base64')).toBe(seed);
    expect(ring.key('nope')).toBeUndefined();
  });

  it('hands out copies, so a caller cannot alter the ring', async () => {
    const k1 = newKey();
    const ring = await buildKeyRing({ primary: 'k1', keys: { k1 } }, noUnwrap);
    ring.key('k1')!.fill(0);
    expect(ring.key('k1')?.toString('base64')).toBe(k1);
  });

  it('shows no key material when logged or serialized', async () => {
    const k1 = newKey();
    const ring = await buildKeyRing({ primary: 'k1', keys: { k1 } }, noUnwrap);
    const hex = Buffer.from(k1, 'base64').toString('hex');
    for (const shown of [inspect(ring, { depth: 10, showHidden: true }), JSON.stringify(ring)]) {
      expect(shown).not.toContain(k1);
      expect(shown).not.toContain(hex.slice(0, 16));
    }
  });

  it('passes each wrapped blob to unwrap with its own kid', async () => {
    const blobs = { k1: Buffer.from('wrapped-one'), k2: Buffer.from('wrapped-two') };
    const keys = { k1: Buffer.alloc(32, 1), k2: Buffer.alloc(32, 2) };
    const unwrap = jest.fn(async (blob: Buffer, kid: string) => {
      expect(blob.equals(blobs[kid as keyof typeof blobs])).toBe(true);
      return keys[kid as keyof typeof keys];
    });
    const plain = newKey();
    const ring = await buildKeyRing(
      {
        primary: 'k2',
        keys: { k1: { kms: blobs.k1.toString('base64') }, k2: { kms: blobs.k2.toString('base64') }, plain },
      },
      unwrap,
    );
    expect(unwrap).toHaveBeenCalledTimes(2);
    expect(unwrap.mock.calls.map(([, kid]) => kid).sort()).toEqual(['k1', 'k2']);
    expect(ring.key('k1')?.equals(keys.k1)).toBe(true);
    expect(ring.key('k2')?.equals(keys.k2)).toBe(true);
    expect(ring.key('plain')?.toString('base64')).toBe(plain);
  });

  it('lets an unwrap failure (KMS unreachable) through unchanged', async () => {
    const outage = new Error('KMS unreachable');
    await expect(buildKeyRing({ primary: 'k1', keys: { k1: { kms: newKey(100) } } }, () => Promise.reject(outage))).rejects.toBe(outage);
  });

  it.each([
    ['a 16-byte primary', { primary: 'k1', keys: { k1: newKey(16) } }, /primary key k1 is 16 bytes, expected 32/],
    ['a 20-byte bare key (primary and v1)', { primary: 'd', v1: 'd', keys: { d: newKey(20) } }, /v1 key d is 20 bytes/],
    ['an all-zero key', { primary: 'k1', keys: { k1: Buffer.alloc(32).toString('base64') } }, /key k1 is all zero bytes/],
    ['an all-zero seed key', { primary: 'k1', v1: 's', keys: { k1: newKey(), s: Buffer.alloc(16).toString('base64') } }, /key s is all zero bytes/],
    [
      'one key under two kids',
      (() => {
        const key = newKey();
        return { primary: 'k1', keys: { k1: key, k2: key } };
      })(),
      /keys k1 and k2 hold the same bytes/,
    ],
    ['a 20-byte v1 key', { primary: 'k1', v1: 's', keys: { k1: newKey(), s: newKey(20) } }, /v1 key s is 20 bytes/],
    ['a 16-byte key in no role', { primary: 'k1', keys: { k1: newKey(), old: newKey(16) } }, /key old is 16 bytes, expected 32/],
    ['a plain entry in non-canonical base64', { primary: 'k1', keys: { k1: `${newKey(32).slice(0, -2)}B=` } }, /key k1 is not canonical base64/],
    ['a wrapped entry in non-canonical base64', { primary: 'k1', keys: { k1: { kms: 'AB==' } } }, /wrapped key k1 is not canonical base64/],
    ['a primary naming no key', { primary: 'k2', keys: { k1: newKey() } }, /primary k2 names no key/],
    ['a v1 naming no key', { primary: 'k1', v1: 'seed', keys: { k1: newKey() } }, /v1 seed names no key/],
  ] as [string, RingDocument, RegExp][])('refuses %s', async (_label, doc, message) => {
    const error = await ringFailure(() => buildKeyRing(doc, noUnwrap));
    expect(error.message).toMatch(message);
    for (const entry of Object.values(doc.keys)) {
      expect(error.message).not.toContain(typeof entry === 'string' ? entry : entry.kms);
    }
  });

  it('checks the length of unwrapped keys too', async () => {
    const error = await ringFailure(() => buildKeyRing({ primary: 'k1', keys: { k1: { kms: newKey(100) } } }, async () => Buffer.alloc(16)));
    expect(error.message).toMatch(/primary key k1 is 16 bytes, expected 32/);
  });

  it('accepts 16-, 24- and 32-byte v1 keys', async () => {
    for (const bytes of [16, 24, 32]) {
      const seed = newKey(bytes);
      const ring = await buildKeyRing({ primary: 'k1', v1: 'seed', keys: { k1: newKey(), seed } }, noUnwrap);
      expect(ring.key('seed')).toHaveLength(bytes);
    }
  });
});

describe('keyRingFromText', () => {
  it('builds a ring from a bare 32-byte key', async () => {
    const key = newKey();
    const ring = await keyRingFromText(key);
    expect(ring.primaryKid).toBe(BARE_KEY_KID);
    expect(ring.v1Kid).toBe(BARE_KEY_KID);
    expect(ring.key(BARE_KEY_KID)?.toString('base64')).toBe(key);
  });

  it.each([16, 24])('loads a bare %i-byte seed key as a ring that opens version-1 envelopes but seals nothing', async (bytes) => {
    const seed = v1Fixtures.find((fixture) => fixture.keyBytes === bytes)!;
    const ring = await keyRingFromText(seed.key);
    expect(ring.primaryKid).toBeUndefined();
    expect(ring.v1Kid).toBe(BARE_KEY_KID);
    expect(openEnvelope(seed.envelope, ring, boundPlace(seed.envelope))).toBe(seed.plaintext);
    expect(() => seal('new', ring, place)).toThrow(expect.objectContaining({ name: 'Unavailable', dependency: 'sealing-key' }));
  });

  it('still refuses a short primary that is not also the v1 key', async () => {
    const error = await ringFailure(() => keyRingFromText(JSON.stringify({ primary: 'k1', v1: 'seed', keys: { k1: newKey(16), seed: newKey(16) } })));
    expect(error.message).toMatch(/primary key k1 is 16 bytes, expected 32/);
  });

  it('builds a ring from a JSON ring of plain keys', async () => {
    const [k1, seed] = [newKey(), newKey(16)];
    const ring = await keyRingFromText(JSON.stringify({ primary: 'k1', v1: 'seed', keys: { k1, seed } }));
    expect(ring.key('seed')?.toString('base64')).toBe(seed);
  });

  it('refuses a ring with a KMS-wrapped entry, naming it', async () => {
    const text = JSON.stringify({ primary: 'k1', keys: { k1: newKey(), k2: { kms: newKey(100) } } });
    expect((await ringFailure(() => keyRingFromText(text))).message).toMatch(/key k2 is KMS-wrapped/);
  });
});
