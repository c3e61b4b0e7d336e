import { createCipheriv, randomBytes } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { associatedData, type EnvelopePlace, envelopeV3, openEnvelope, seal, v1BindingDigest } from '../../../shared/crypto/envelope.js';
import { keyRingFromText } from '../../../shared/crypto/key-ring.js';
import { sealedBeforeSealings } from '../../support/sealing.js';
import { boundPlace, envelopeFailure, legacyPlace, newKey, place, reasonOf, ringOf, type V1Fixture, v1Fixtures } from './helpers.js';

const PEM = ['-----BEGIN PRIVATE KEY-----', ...Array.from({ length: 20 }, () => newKey(48)), '-----END PRIVATE KEY-----'].join('\n');
const PLAINTEXTS = ['abcdefghijkl', PEM, 'clé-日本語-🔑🚀', '\uFEFFstarts with a BOM', 'x'.repeat(4096), ' spaced\t\n'];

describe('version-1 (seed) envelopes', () => {
  it('fixtures cover every AES key size and the seed-shaped plaintexts', () => {
    expect(new Set(v1Fixtures.map((f) => f.keyBytes))).toEqual(new Set([16, 24, 32]));
    for (const f of v1Fixtures) {
      expect(Buffer.from(f.key, 'base64')).toHaveLength(f.keyBytes);
      expect(Buffer.from(f.envelope.nonce, 'base64')).toHaveLength(16);
    }
    expect(v1Fixtures.some((f) => f.plaintext.includes('\n'))).toBe(true);
    expect(v1Fixtures.some((f) => /\p{Extended_Pictographic}/u.test(f.plaintext))).toBe(true);
  });

  it.each(v1Fixtures)('a $keyBytes-byte seed key opens its envelope: %#', async (f) => {
    const ring = await ringOf({ current: newKey(), seed: f.key }, 'current', 'seed');
    expect(openEnvelope(f.envelope, ring, boundPlace(f.envelope))).toBe(f.plaintext);
  });

  it('a bare 32-byte SYMMETRIC_KEY reads its own seed envelopes', async () => {
    const f = v1Fixtures.find((x) => x.keyBytes === 32)!;
    expect(openEnvelope(f.envelope, await keyRingFromText(f.key), boundPlace(f.envelope))).toBe(f.plaintext);
  });

  // The seed bound no associated data: the record made at adoption is what ties an envelope to its place.
  describe('opens only where adoption recorded it', () => {
    // Two envelopes under one seed key: either would open anywhere without the record.
    const [f, other] = v1Fixtures.filter((x) => x.key === v1Fixtures.find((y) => y.keyBytes === 16)!.key) as [V1Fixture, V1Fixture];
    const recorded = boundPlace(f.envelope, legacyPlace, 5);
    const binding = recorded.v1Binding!;

    it.each([
      ['without a record (written after adoption)', f.envelope, legacyPlace],
      ['with an empty record (none was made for this field)', f.envelope, { ...legacyPlace, v1Binding: { keyNo: 5, digest: null } }],
      ["in another user's row", f.envelope, { ...legacyPlace, userNo: 8, v1Binding: binding }],
      ['under another exchange', f.envelope, { ...legacyPlace, exchangeId: 102, v1Binding: binding }],
      ['in the other column', f.envelope, { ...legacyPlace, field: 'public_key', v1Binding: binding }],
      ['in another row of the same user and exchange', f.envelope, { ...legacyPlace, v1Binding: { ...binding, keyNo: 6 } }],
      ['in legacyPlace of the envelope the record names', other.envelope, recorded],
      ['altered, though still a valid envelope', { ...f.envelope, nonce: other.envelope.nonce }, recorded],
    ] as const)('is unbound %s', async (_, envelope, at) => {
      const ring = await ringOf({ current: newKey(), seed: f.key }, 'current', 'seed');
      expect(reasonOf(() => openEnvelope(envelope, ring, at))).toBe('unbound');
      expect(openEnvelope(other.envelope, ring, boundPlace(other.envelope))).toBe(other.plaintext);
    });

    it('opens with its own record, and the digest depends on every part of the legacyPlace and the envelope', async () => {
      const ring = await ringOf({ current: newKey(), seed: f.key }, 'current', 'seed');
      expect(openEnvelope(f.envelope, ring, recorded)).toBe(f.plaintext);
      const digests = [
        binding.digest!,
        v1BindingDigest(6, legacyPlace, f.envelope),
        v1BindingDigest(5, { ...legacyPlace, userNo: 8 }, f.envelope),
        v1BindingDigest(5, { ...legacyPlace, exchangeId: 102 }, f.envelope),
        v1BindingDigest(5, { ...legacyPlace, field: 'public_key' }, f.envelope),
        v1BindingDigest(5, legacyPlace, { ...f.envelope, enc: other.envelope.enc }),
        v1BindingDigest(5, legacyPlace, { ...f.envelope, nonce: other.envelope.nonce }),
        v1BindingDigest(5, legacyPlace, { ...f.envelope, tag: other.envelope.tag }),
      ];
      expect(new Set(digests.map((digest) => digest.toString('hex'))).size).toBe(digests.length);
    });
  });

  it.each(v1Fixtures)('fails under another key of the same size: %#', async (f) => {
    const ring = await ringOf({ current: newKey(), seed: newKey(f.keyBytes) }, 'current', 'seed');
    expect(reasonOf(() => openEnvelope(f.envelope, ring, boundPlace(f.envelope)))).toBe('unreadable');
  });

  it('fails under a key of another size', async () => {
    const f = v1Fixtures.find((x) => x.keyBytes === 16)!;
    const other = v1Fixtures.find((x) => x.keyBytes === 32)!;
    const ring = await ringOf({ current: newKey(), seed: other.key }, 'current', 'seed');
    expect(reasonOf(() => openEnvelope(f.envelope, ring, boundPlace(f.envelope)))).toBe('unreadable');
  });

  it('reports unknown_kid, naming no kid, when the ring has no v1 key', async () => {
    const ring = await ringOf({ current: newKey() }, 'current');
    const error = envelopeFailure(() => openEnvelope(v1Fixtures[0]!.envelope, ring, boundPlace(v1Fixtures[0]!.envelope)));
    expect(error.reason).toBe('unknown_kid');
    expect(error.kid).toBeUndefined();
  });

  it('refuses a v1 envelope with a 12-byte nonce (pycryptodome always wrote 16)', async () => {
    const f = v1Fixtures[0]!;
    const ring = await ringOf({ current: newKey(), seed: f.key }, 'current', 'seed');
    const envelope = { ...f.envelope, nonce: randomBytes(12).toString('base64') };
    expect(reasonOf(() => openEnvelope(envelope, ring, place))).toBe('malformed');
  });
});

/** A v3-shaped envelope sealed outside seal, for contents seal would never produce. */
const handMadeV3 = (algorithm: 'aes-128-gcm' | 'aes-256-gcm', key: string, kid: string, plaintext: Buffer) => {
  const nonce = randomBytes(12);
  const cipher = createCipheriv(algorithm, Buffer.from(key, 'base64'), nonce, { authTagLength: 16 });
  cipher.setAAD(associatedData(place, 3));
  const enc = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return {
    enc: enc.toString('base64'),
    nonce: nonce.toString('base64'),
    tag: cipher.getAuthTag().toString('base64'),
    alg: 'AES-256-GCM',
    version: 3,
    kid,
  };
};

describe('version-3 envelopes', () => {
  it.each(PLAINTEXTS.map((p) => [p.slice(0, 20), p]))('round-trips %j', async (_label, plaintext) => {
    const ring = await ringOf({ k1: newKey() }, 'k1');
    const sealed = seal(plaintext, ring, place);
    // Through JSON text, as a jsonb column stores it.
    expect(openEnvelope(JSON.parse(JSON.stringify(sealed)), ring, place)).toBe(plaintext);
  });

  it('writes a strict v3 envelope under the primary kid with a 12-byte nonce and 16-byte tag', async () => {
    const ring = await ringOf({ old: newKey(), k2: newKey() }, 'k2');
    const sealed = seal('abcdefghijkl', ring, place);
    expect(envelopeV3.parse(sealed)).toEqual(sealed);
    expect(Object.keys(sealed).sort()).toEqual(['alg', 'enc', 'kid', 'nonce', 'tag', 'version']);
    expect(sealed).toMatchObject({ alg: 'AES-256-GCM', version: 3, kid: 'k2' });
    expect(Buffer.from(sealed.nonce, 'base64')).toHaveLength(12);
    expect(Buffer.from(sealed.tag, 'base64')).toHaveLength(16);
  });

  it('uses a fresh nonce every time', async () => {
    const ring = await ringOf({ k1: newKey() }, 'k1');
    const sealed = Array.from({ length: 200 }, () => seal('same plaintext', ring, place));
    expect(new Set(sealed.map((e) => e.nonce)).size).toBe(sealed.length);
    expect(new Set(sealed.map((e) => e.enc)).size).toBe(sealed.length);
  });

  const elsewhere: [string, EnvelopePlace][] = [
    ['another user', { ...place, userNo: place.userNo + 1 }],
    ['another exchange', { ...place, exchangeId: place.exchangeId + 1 }],
    ['the other column', { ...place, field: 'public_key' }],
    ['a row sealed again since', { ...place, sealing: '00000000-0000-4000-8000-000000000008' }],
  ];
  it.each(elsewhere)('does not open when moved to %s', async (_label, there) => {
    const ring = await ringOf({ k1: newKey() }, 'k1');
    const sealed = seal('secret-api-key-value', ring, place);
    expect(reasonOf(() => openEnvelope(sealed, ring, there))).toBe('unreadable');
  });

  it('encodes places so that no two collide, even where plain concatenation would', () => {
    const a = associatedData({ ...place, userNo: 1, exchangeId: 23 }, 3);
    const b = associatedData({ ...place, userNo: 12, exchangeId: 3 }, 3);
    expect(a.equals(b)).toBe(false);
  });

  it('refuses places with ids that are not integers', () => {
    expect(() => associatedData({ ...place, userNo: Number.NaN }, 3)).toThrow(RangeError);
    expect(() => associatedData({ ...place, exchangeId: 1.5 }, 3)).toThrow(RangeError);
  });

  it('reports unknown_kid with the kid when the ring lacks the key', async () => {
    const sealed = seal('abcdefghijkl', await ringOf({ k1: newKey() }, 'k1'), place);
    const other = await ringOf({ k2: newKey() }, 'k2');
    const failure = envelopeFailure(() => openEnvelope(sealed, other, place));
    expect(failure.reason).toBe('unknown_kid');
    expect(failure.kid).toBe('k1');
  });

  it('still opens envelopes under a previous primary after rotation', async () => {
    const k1 = newKey();
    const sealed = seal('abcdefghijkl', await ringOf({ k1 }, 'k1'), place);
    const rotated = await ringOf({ k1, k2: newKey() }, 'k2');
    expect(openEnvelope(sealed, rotated, place)).toBe('abcdefghijkl');
  });

  it('fails under a different key carrying the same kid', async () => {
    const sealed = seal('abcdefghijkl', await ringOf({ k1: newKey() }, 'k1'), place);
    const impostor = await ringOf({ k1: newKey() }, 'k1');
    expect(reasonOf(() => openEnvelope(sealed, impostor, place))).toBe('unreadable');
  });

  // Otherwise the cipher would follow the key's length and accept AES-128 under a v2 label.
  it('refuses a genuine AES-128 ciphertext labelled v2 under the short v1 key', async () => {
    const seed = newKey(16);
    const ring = await ringOf({ k1: newKey(), seed }, 'k1', 'seed');
    const forged = handMadeV3('aes-128-gcm', seed, 'seed', Buffer.from('abcdefghijkl'));
    expect(reasonOf(() => openEnvelope(forged, ring, place))).toBe('unreadable');
  });

  it('reports authenticated plaintext that is not UTF-8 as unreadable', async () => {
    const key = newKey();
    const ring = await ringOf({ k1: key }, 'k1');
    const envelope = handMadeV3('aes-256-gcm', key, 'k1', Buffer.from([0x61, 0xff, 0x62]));
    expect(reasonOf(() => openEnvelope(envelope, ring, place))).toBe('unreadable');
  });

  it('refuses to seal a string with a lone surrogate, which UTF-8 would silently alter', async () => {
    const ring = await ringOf({ k1: newKey() }, 'k1');
    expect(() => seal('abc\uD800def', ring, place)).toThrow(RangeError);
  });
});

const sealedBefore008 = (key: string, kid: string, plaintext: string) => sealedBeforeSealings(Buffer.from(key, 'base64'), kid, legacyPlace, plaintext);

describe('envelopes of the forms before sealings (versions 1 and 2)', () => {
  it('a version-2 envelope opens in its row while the row has not been sealed since migration 008', async () => {
    const k1 = newKey();
    const ring = await ringOf({ k1 }, 'k1');
    expect(openEnvelope(sealedBefore008(k1, 'k1', 'old-but-current'), ring, legacyPlace)).toBe('old-but-current');
  });

  it('a version-2 envelope written back into a row sealed since is refused as restored', async () => {
    const k1 = newKey();
    const ring = await ringOf({ k1 }, 'k1');
    expect(reasonOf(() => openEnvelope(sealedBefore008(k1, 'k1', 'deleted-key'), ring, place))).toBe('restored');
  });

  it('a version-1 envelope, even with its adoption record, is refused as restored in a row sealed since', async () => {
    const f = v1Fixtures[0]!;
    const ring = await keyRingFromText(f.key);
    expect(reasonOf(() => openEnvelope(f.envelope, ring, { ...boundPlace(f.envelope), sealing: place.sealing }))).toBe('restored');
  });

  it('a version-3 envelope does not open in a row that has no sealing', async () => {
    const ring = await ringOf({ k1: newKey() }, 'k1');
    expect(reasonOf(() => openEnvelope(seal('x', ring, place), ring, legacyPlace))).toBe('restored');
  });

  it('the two forms of associated data never match', () => {
    expect(associatedData(legacyPlace, 2).equals(associatedData(place, 3))).toBe(false);
  });
});

describe('envelope parsing', () => {
  const sealedAnd = async () => {
    const ring = await ringOf({ k1: newKey() }, 'k1');
    return { ring, sealed: seal('abcdefghijkl-private', ring, place) };
  };

  it.each([
    ['null', null],
    ['a JSON string of an envelope', '{"version":2}'],
    ['an empty object', {}],
  ])('refuses %s as malformed', async (_label, value) => {
    const { ring } = await sealedAnd();
    expect(reasonOf(() => openEnvelope(value, ring, place))).toBe('malformed');
  });

  it.each([
    ['an unknown field', { extra: 1 }],
    ['a v1 alg on a v2 envelope', { alg: 'AES-GCM' }],
    ['an unknown version', { version: 4 }],
    ['a missing kid', { kid: undefined }],
    ['a kid no ring could hold', { kid: 'has space' }],
    ['URL-safe base64', { tag: `${'ab-_'.repeat(5)}AA==` }],
    ['unpadded base64', { tag: 'A'.repeat(22) }],
  ])('refuses %s as malformed', async (_label, change) => {
    const { ring, sealed } = await sealedAnd();
    expect(reasonOf(() => openEnvelope({ ...sealed, ...change }, ring, place))).toBe('malformed');
  });

  // The last character of a 16-byte tag carries 2 data bits and 4 unused ones; Node ignores the
  // unused bits, so without the canonical check this altered text would still authenticate.
  it('refuses a tag whose unused padding bits are set, though it decodes to the same bytes', async () => {
    const { ring, sealed } = await sealedAnd();
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    const last = sealed.tag.at(-3)!;
    const altered = `${sealed.tag.slice(0, -3) + alphabet[alphabet.indexOf(last) ^ 1]}==`;
    expect(Buffer.from(altered, 'base64').equals(Buffer.from(sealed.tag, 'base64'))).toBe(true);
    expect(reasonOf(() => openEnvelope({ ...sealed, tag: altered }, ring, place))).toBe('malformed');
  });

  it('keeps plaintext, key and ciphertext out of every error message', async () => {
    const key = newKey();
    const ring = await ringOf({ k1: key }, 'k1');
    const plaintext = 'VERY-SECRET-PRIVATE-KEY-0123456789';
    const sealed = seal(plaintext, ring, place);
    const failures = [
      envelopeFailure(() => openEnvelope(sealed, ring, { ...place, userNo: 8 })),
      envelopeFailure(() => openEnvelope({ ...sealed, enc: `${sealed.enc}!` }, ring, place)),
      envelopeFailure(() => openEnvelope({ ...sealed, [sealed.enc]: 1 }, ring, place)),
      envelopeFailure(() => openEnvelope(sealed, { ...ring, primaryKid: 'x', key: () => undefined }, place)),
    ];
    for (const failure of failures) {
      for (const secret of [plaintext, key, sealed.enc, sealed.tag, sealed.nonce]) {
        expect(failure.message).not.toContain(secret);
      }
    }
  });
});
