import { describe, expect, it } from '@jest/globals';
import { type EnvelopePlace, type EnvelopeV1, openEnvelope, seal } from '../../../shared/crypto/envelope.js';
import type { KeyRing } from '../../../shared/crypto/key-ring.js';
import { boundPlace, envelopeFailure, newKey, place, ringOf, v1Fixtures } from './helpers.js';

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

interface Case {
  name: string;
  ring: KeyRing;
  envelope: Record<string, unknown>;
  plaintext: string;
  /**
   * Where an envelope is opened. A version-1 envelope gets the record adoption would have made for
   * it as it now is, altered or not, so that what refuses it below is the cipher, not the record.
   */
  placeFor(envelope: unknown): EnvelopePlace;
}

const cases = async (): Promise<Case[]> => {
  const seed = v1Fixtures.find((f) => f.keyBytes === 24 && /\p{Extended_Pictographic}/u.test(f.plaintext))!;
  const v1Ring = await ringOf({ current: newKey(), seed: seed.key }, 'current', 'seed');
  const v2Ring = await ringOf({ k1: newKey() }, 'k1');
  const plaintext = 'clé-🔑-0123456789abcdefghij';
  return [
    { name: 'v1', ring: v1Ring, envelope: seed.envelope, plaintext: seed.plaintext, placeFor: (envelope) => boundPlace(envelope as EnvelopeV1) },
    { name: 'v2', ring: v2Ring, envelope: seal(plaintext, v2Ring, place), plaintext, placeFor: () => place },
  ];
};

const flip = (bytes: Buffer, bit: number): Buffer => {
  const copy = Buffer.from(bytes);
  copy[bit >> 3] = (copy[bit >> 3] ?? 0) ^ (1 << (bit & 7));
  return copy;
};

describe('a stored envelope that was altered in any way does not open', () => {
  it('opens unaltered (so the failures below are caused by the alteration)', async () => {
    for (const c of await cases()) expect(openEnvelope(c.envelope, c.ring, c.placeFor(c.envelope))).toBe(c.plaintext);
  });

  it('every single-bit flip of the stored JSON text fails', async () => {
    for (const c of await cases()) {
      const text = Buffer.from(JSON.stringify(c.envelope), 'utf8');
      let tried = 0;
      for (let bit = 0; bit < text.length * 8; bit += 1) {
        let altered: unknown;
        try {
          altered = JSON.parse(strictUtf8.decode(flip(text, bit)));
        } catch {
          continue; // the database or the JSON parser would already refuse it
        }
        tried += 1;
        envelopeFailure(() => openEnvelope(altered, c.ring, c.placeFor(altered)));
      }
      // Most flips of ASCII JSON stay valid JSON; far fewer would mean the loop tested nothing.
      expect(tried).toBeGreaterThan(text.length * 4);
    }
  });

  it.each(['enc', 'nonce', 'tag'])('every single-bit flip of the decoded %s fails', async (field) => {
    for (const c of await cases()) {
      const bytes = Buffer.from(String(c.envelope[field]), 'base64');
      for (let bit = 0; bit < bytes.length * 8; bit += 1) {
        const altered = { ...c.envelope, [field]: flip(bytes, bit).toString('base64') };
        expect(envelopeFailure(() => openEnvelope(altered, c.ring, c.placeFor(altered))).reason).toBe('unreadable');
      }
    }
  });

  it.each(['enc', 'nonce', 'tag'])('every truncation of %s fails, and so does an extension', async (field) => {
    for (const c of await cases()) {
      const bytes = Buffer.from(String(c.envelope[field]), 'base64');
      for (let length = 0; length < bytes.length; length += 1) {
        const altered = { ...c.envelope, [field]: bytes.subarray(0, length).toString('base64') };
        envelopeFailure(() => openEnvelope(altered, c.ring, c.placeFor(altered)));
      }
      const extended = { ...c.envelope, [field]: Buffer.concat([bytes, Buffer.of(0)]).toString('base64') };
      envelopeFailure(() => openEnvelope(extended, c.ring, c.placeFor(extended)));
    }
  });

  it('a tag cut to its first 4 bytes fails as malformed', async () => {
    for (const c of await cases()) {
      const tag = Buffer.from(String(c.envelope.tag), 'base64').subarray(0, 4).toString('base64');
      expect(envelopeFailure(() => openEnvelope({ ...c.envelope, tag }, c.ring, c.placeFor({ ...c.envelope, tag }))).reason).toBe('malformed');
    }
  });
});
