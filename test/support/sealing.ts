import { createCipheriv, randomBytes } from 'node:crypto';
import { associatedData, type EnvelopePlace, type EnvelopeV3, newSealing, type SealingPlace, seal } from '../../shared/crypto/envelope.js';
import type { KeyRing } from '../../shared/crypto/key-ring.js';

/**
 * Both halves of a key sealed in one new sealing for a row's place, as the service seals them:
 * `[public_key, private_key, sealing]`, in the order an UPDATE of the three columns takes them.
 */
export function sealedPair(
  ring: KeyRing,
  at: Omit<SealingPlace, 'field' | 'sealing'>,
  keys: { public_key: string; private_key: string },
): [EnvelopeV3, EnvelopeV3, string] {
  const sealing = newSealing();
  return [
    seal(keys.public_key, ring, { ...at, sealing, field: 'public_key' }),
    seal(keys.private_key, ring, { ...at, sealing, field: 'private_key' }),
    sealing,
  ];
}

/** A version-2 envelope as the vault sealed before migration 008: bound to its place, not to a sealing. */
export function sealedBeforeSealings(key: Buffer, kid: string, at: Omit<EnvelopePlace, 'sealing'>, plaintext: string) {
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: 16 });
  cipher.setAAD(associatedData(at, 2));
  const enc = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return { enc: enc.toString('base64'), nonce: nonce.toString('base64'), tag: cipher.getAuthTag().toString('base64'), alg: 'AES-256-GCM', version: 2, kid };
}
