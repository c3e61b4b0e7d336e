import { type EnvelopeV3, newSealing, type SealingPlace, seal } from '../../shared/crypto/envelope.js';
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
