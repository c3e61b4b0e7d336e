import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { maskPrivateKey, maskPublicKey } from '../../../shared/masking.js';

const codePoints = (s: string): string[] => Array.from(s);
const FULL = '********';

// Mixes one- and two-code-unit characters so lengths in code units and code points disagree,
// and a slice by code units would cut an emoji in half.
const keyText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: fc.constantFrom('a', 'Z', '9', 'é', '😀', '𝔸', '🔑'), maxLength: 40 }),
  fc.string({ unit: 'grapheme-ascii', minLength: 10, maxLength: 20 }),
);

/** The mask's visible parts, read back from the mask itself rather than recomputed from the key. */
const visible = (mask: string, gapAt: number): { head: string; tail: string } => {
  const points = codePoints(mask);
  expect(points.slice(gapAt, gapAt + 4).join('')).toBe('****');
  return { head: points.slice(0, gapAt).join(''), tail: points.slice(gapAt + 4).join('') };
};

describe('maskPublicKey', () => {
  it.each([
    ['abcdefghijklmnop', 'abcd****mnop'],
    ['AKIAIOSFODNN7EXAMPLE', 'AKIA****MPLE'],
    // 8 of 12 or of 15 would be more than half.
    ['abcdefghijkl', FULL],
    ['abcdefghijklmno', FULL],
    ['abcd', FULL],
    ['', FULL],
    ['😀'.repeat(16), '😀😀😀😀****😀😀😀😀'],
    // 8 emoji are 16 code units but only 8 characters: too short to show any.
    ['😀'.repeat(8), FULL],
    ['🔑bcdefghijklmno🚀', '🔑bcd****mno🚀'],
  ])('%j -> %j', (key, mask) => {
    expect(maskPublicKey(key)).toBe(mask);
  });

  it('shows at most the first 4 and last 4 characters, never more than half, and nothing of keys under 16', () => {
    fc.assert(
      fc.property(keyText, (key) => {
        const mask = maskPublicKey(key);
        const length = codePoints(key).length;
        if (length < 16) {
          expect(mask).toBe(FULL);
          return;
        }
        const { head, tail } = visible(mask, 4);
        expect(codePoints(head).length + codePoints(tail).length).toBeLessThanOrEqual(8);
        expect(2 * (codePoints(head).length + codePoints(tail).length)).toBeLessThanOrEqual(length);
        expect(key.startsWith(head)).toBe(true);
        expect(key.endsWith(tail)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('keeps surrogate pairs whole', () => {
    fc.assert(
      fc.property(keyText, (key) => {
        if (key.isWellFormed()) expect(maskPublicKey(key).isWellFormed()).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('maskPrivateKey', () => {
  it.each([
    ['abcdefghijklmnop', '****mnop'],
    ['abcdefghijklmno', FULL],
    ['', FULL],
    ['-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF\n-----END PRIVATE KEY-----', '****----'],
    ['😀'.repeat(16), '****😀😀😀😀'],
    ['😀'.repeat(8), FULL],
  ])('%j -> %j', (key, mask) => {
    expect(maskPrivateKey(key)).toBe(mask);
  });

  it('shows at most the last 4 characters, never more than a quarter, and nothing of keys under 16', () => {
    fc.assert(
      fc.property(keyText, (key) => {
        const mask = maskPrivateKey(key);
        const length = codePoints(key).length;
        if (length < 16) {
          expect(mask).toBe(FULL);
          return;
        }
        const { head, tail } = visible(mask, 0);
        expect(head).toBe('');
        const shown = codePoints(tail).length;
        expect(shown).toBeLessThanOrEqual(4);
        expect(shown * 4).toBeLessThanOrEqual(length);
        expect(key.endsWith(tail)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('keeps surrogate pairs whole and always has the same length, hiding the key length', () => {
    fc.assert(
      fc.property(keyText, (key) => {
        const mask = maskPrivateKey(key);
        if (key.isWellFormed()) expect(mask.isWellFormed()).toBe(true);
        expect(codePoints(mask)).toHaveLength(8);
      }),
      { numRuns: 2000 },
    );
  });
});
