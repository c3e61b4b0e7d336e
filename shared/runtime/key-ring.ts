import type { KeyRingSource } from '../crypto/key-ring-source.js';
import { ringStoreFromEnv } from '../crypto/ring-store-env.js';
import { ringStoreSource, type RingStore } from '../crypto/ring-store.js';

/**
 * Imported only by the functions that encrypt or decrypt (register-api-key, key-maintenance,
 * open-api-key); the list functions never hold a key. Nothing is fetched at import: the ring is
 * read on first use and cached for the container's life.
 */
export const keyRingStore: RingStore = ringStoreFromEnv(process.env);
export const keyRing: KeyRingSource = ringStoreSource(keyRingStore);
