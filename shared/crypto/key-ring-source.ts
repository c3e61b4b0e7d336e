import { AppError, RETRY_AFTER_SECONDS } from '../errors.js';
import { logger } from '../logger.js';
import type { KeyRing } from './key-ring.js';

export interface KeyRingSource {
  /** The ring, loaded on first use and kept for the container's life. */
  current(): Promise<KeyRing>;
  /** Loads the ring again: an envelope named a kid we do not hold, so a rotation may have happened. */
  reload(): Promise<KeyRing>;
}

/** The ring could not be had: the request gets a 503 and the next one tries again. Never a fallback key. */
export class KeyRingUnavailable extends AppError {
  constructor(readonly reason: string) {
    super(503, 'The encryption keys are unavailable; retry shortly', { 'retry-after': String(RETRY_AFTER_SECONDS) });
    this.name = 'KeyRingUnavailable';
  }
}

const describe = (error: unknown): string => (error instanceof Error ? `${error.name}: ${error.message}` : 'unknown error');

/**
 * Caches the loaded ring, and the load in flight so concurrent first requests share it. A failed
 * load is not cached. `load` must throw errors whose messages carry no key material.
 */
export function cachedKeyRingSource(load: () => Promise<KeyRing>): KeyRingSource {
  let ring: Promise<KeyRing> | undefined;
  const fetchRing = (): Promise<KeyRing> => {
    const attempt = load().catch((error: unknown) => {
      if (ring === attempt) ring = undefined;
      const reason = describe(error);
      logger.error('key ring unavailable', { reason });
      throw new KeyRingUnavailable(reason);
    });
    ring = attempt;
    return attempt;
  };
  return {
    current: () => ring ?? fetchRing(),
    reload: fetchRing,
  };
}
