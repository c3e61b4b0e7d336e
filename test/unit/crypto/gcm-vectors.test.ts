import { describe, expect, it } from '@jest/globals';
import { aesGcmDecrypt } from '../../../shared/crypto/envelope.js';
import { reasonOf } from './helpers.js';

// McGrew & Viega, "The Galois/Counter Mode of Operation (GCM)", Appendix B (also NIST's GCM
// examples). Cases 4 and 10 cover AES-128 and AES-192, which seed envelopes may use.
const P = 'd9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72' + '1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255';
const P60 = P.slice(0, 120);
const A = 'feedfacedeadbeeffeedfacedeadbeefabaddad2';
const K128 = 'feffe9928665731c6d6a8f9467308308';
const K192 = 'feffe9928665731c6d6a8f9467308308feffe9928665731c';
const K256 = 'feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308';
const IV96 = 'cafebabefacedbaddecaf888';
const IV64 = 'cafebabefacedbad';
const IV480 = '9313225df88406e555909c5aff5269aa6a7a9538534f7da1e4c303d2a318a728' + 'c3c0c95156809539fcf0e2429a6b525416aedbf5a0de6a57a637b39b';

interface Vector {
  name: string;
  key: string;
  iv: string;
  aad: string;
  plaintext: string;
  ciphertext: string;
  tag: string;
}

const vectors: Vector[] = [
  {
    name: 'case 4: AES-128, 96-bit IV, AAD',
    key: K128,
    iv: IV96,
    aad: A,
    plaintext: P60,
    ciphertext: '42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e' + '21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091',
    tag: '5bc94fbc3221a5db94fae95ae7121a47',
  },
  {
    name: 'case 10: AES-192, 96-bit IV, AAD',
    key: K192,
    iv: IV96,
    aad: A,
    plaintext: P60,
    ciphertext: '3980ca0b3c00e841eb06fac4872a2757859e1ceaa6efd984628593b40ca1e19c' + '7d773d00c144c525ac619d18c84a3f4718e2448b2fe324d9ccda2710',
    tag: '2519498e80f1478f37ba55bd6d27618c',
  },
  {
    name: 'case 12: AES-192, 480-bit IV, AAD',
    key: K192,
    iv: IV480,
    aad: A,
    plaintext: P60,
    ciphertext: 'd27e88681ce3243c4830165a8fdcf9ff1de9a1d8e6b447ef6ef7b79828666e45' + '81e79012af34ddd9e2f037589b292db3e67c036745fa22e7e9b7373b',
    tag: 'dcf566ff291c25bbb8568fc3d376a6d9',
  },
  {
    name: 'case 13: AES-256, empty plaintext, no AAD',
    key: '00'.repeat(32),
    iv: '00'.repeat(12),
    aad: '',
    plaintext: '',
    ciphertext: '',
    tag: '530f8afbc74536b9a963b4f1c4cb738b',
  },
  {
    name: 'case 14: AES-256, one zero block, no AAD',
    key: '00'.repeat(32),
    iv: '00'.repeat(12),
    aad: '',
    plaintext: '00'.repeat(16),
    ciphertext: 'cea7403d4d606b6e074ec5d3baf39d18',
    tag: 'd0d1c8a799996bf0265b98b5d48ab919',
  },
  {
    name: 'case 15: AES-256, 64-byte plaintext, no AAD',
    key: K256,
    iv: IV96,
    aad: '',
    plaintext: P,
    ciphertext: '522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa' + '8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad',
    tag: 'b094dac5d93471bdec1a502270e3cc6c',
  },
  {
    name: 'case 16: AES-256, 60-byte plaintext, AAD',
    key: K256,
    iv: IV96,
    aad: A,
    plaintext: P60,
    ciphertext: '522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa' + '8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662',
    tag: '76fc6ece0f4e1768cddf8853bb2d551b',
  },
  {
    name: 'case 17: AES-256, 64-bit IV, AAD',
    key: K256,
    iv: IV64,
    aad: A,
    plaintext: P60,
    ciphertext: 'c3762df1ca787d32ae47c13bf19844cbaf1ae14d0b976afac52ff7d79bba9de0' + 'feb582d33934a4f0954cc2363bc73f7862ac430e64abe499f47c9b1f',
    tag: '3a337dbf46a792c45e454913fe2ea8f2',
  },
  {
    name: 'case 18: AES-256, 480-bit IV, AAD',
    key: K256,
    iv: IV480,
    aad: A,
    plaintext: P60,
    ciphertext: '5a8def2f0c9e53f1f75d7853659e2a20eeb2b22aafde6419a058ab4f6f746bf4' + '0fc0c3b780f244452da3ebf1c5d82cdea2418997200ef82e44ae7e3f',
    tag: 'a44a8266ee1c8eb0c8b5d4cf5ae9f19a',
  },
];

const hex = (s: string): Buffer => Buffer.from(s, 'hex');
const decrypt = (v: Vector, changes: Partial<Record<'key' | 'iv' | 'ciphertext' | 'tag', Buffer>> & { aad?: Buffer | undefined } = {}) =>
  aesGcmDecrypt(
    changes.key ?? hex(v.key),
    changes.iv ?? hex(v.iv),
    changes.ciphertext ?? hex(v.ciphertext),
    changes.tag ?? hex(v.tag),
    'aad' in changes ? changes.aad : v.aad === '' ? undefined : hex(v.aad),
  );

const flipFirstBit = (b: Buffer): Buffer => {
  const copy = Buffer.from(b);
  copy[0] = (copy[0] ?? 0) ^ 0x80;
  return copy;
};

describe('aesGcmDecrypt against published GCM test vectors', () => {
  it.each(vectors)('$name decrypts to the published plaintext', (v) => {
    expect(decrypt(v).toString('hex')).toBe(v.plaintext);
  });

  it.each(vectors)('$name fails with an altered tag, key or IV', (v) => {
    expect(reasonOf(() => decrypt(v, { tag: flipFirstBit(hex(v.tag)) }))).toBe('unreadable');
    expect(reasonOf(() => decrypt(v, { key: flipFirstBit(hex(v.key)) }))).toBe('unreadable');
    expect(reasonOf(() => decrypt(v, { iv: flipFirstBit(hex(v.iv)) }))).toBe('unreadable');
  });

  it.each(vectors.filter((v) => v.aad !== ''))('$name fails without its AAD or with another', (v) => {
    expect(reasonOf(() => decrypt(v, { aad: undefined }))).toBe('unreadable');
    expect(reasonOf(() => decrypt(v, { aad: flipFirstBit(hex(v.aad)) }))).toBe('unreadable');
  });

  it.each(vectors.filter((v) => v.ciphertext !== ''))('$name fails with altered ciphertext', (v) => {
    expect(reasonOf(() => decrypt(v, { ciphertext: flipFirstBit(hex(v.ciphertext)) }))).toBe('unreadable');
  });

  // Node's decipher on its own accepts a truncated GCM tag (as short as 4 bytes) and checks only
  // that prefix; every prefix of the right tag must still be refused.
  it.each([4, 8, 12, 13, 14, 15])('refuses the correct tag truncated to %i bytes', (length) => {
    const v = vectors[vectors.length - 1]!;
    expect(reasonOf(() => decrypt(v, { tag: hex(v.tag).subarray(0, length) }))).toBe('malformed');
  });

  it('refuses a key that is not 16, 24 or 32 bytes', () => {
    const v = vectors[0]!;
    expect(() => decrypt(v, { key: Buffer.alloc(20) })).toThrow(RangeError);
  });
});
