import { type RingFreshness, ringFreshness } from '../crypto/freshness.js';
import type { KeyRingSource } from '../crypto/key-ring-source.js';
import { type RingStore, ringStoreSource } from '../crypto/ring-store.js';
import { ringStoreFromEnv } from '../crypto/ring-store-env.js';

/**
 * Imported only by the functions that encrypt or decrypt (register-api-key, replace-api-key,
 * key-maintenance, open-api-key); the read functions never hold a key. Nothing is fetched at
 * import: the ring is read on first use, and again before any use once it is older than KEY_RING_MAX_AGE_S.
 */
export const keyRingFreshness: RingFreshness = ringFreshness(process.env);
export const ringStore: RingStore = ringStoreFromEnv(process.env);
export const keyRingSource: KeyRingSource = ringStoreSource(ringStore, keyRingFreshness);
