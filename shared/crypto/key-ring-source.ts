import { RETRY_AFTER_SECONDS, Unavailable } from '../errors.js';
import { logger } from '../logger.js';
import { DEFAULT_RING_FRESHNESS, type RingFreshness } from './freshness.js';
import type { KeyRing } from './key-ring.js';

export interface KeyRingSource {
  /** The ring, loaded on first use, kept, and checked against the secret again once it is older than the freshness window. */
  current(): Promise<KeyRing>;
  /** Loads the ring again now: a maintenance command starting, or an envelope naming a kid the ring lacks. */
  reload(): Promise<KeyRing>;
}

const describe = (error: unknown): string => (error instanceof Error ? `${error.name}: ${error.message}` : 'unknown error');

/**
 * Caches the loaded ring, and the load in flight so concurrent requests share it. A ring older
 * than `freshness.maxAgeMs` is checked again before it is used, so a rotation reaches every warm
 * container within that window. A failed first load is not cached (Unavailable; the next request
 * tries again). A failed re-check keeps the ring that still works for `freshness.graceMs` more, trying
 * again at most every Retry-After seconds meanwhile; after that, requests fail as Unavailable until
 * a load succeeds. `load` must throw errors whose messages carry no key material.
 */
export function cachedKeyRingSource(
  load: () => Promise<KeyRing>,
  freshness: RingFreshness = DEFAULT_RING_FRESHNESS,
  now: () => number = Date.now,
): KeyRingSource {
  let held: { ring: KeyRing; checkedAt: number } | undefined;
  let inFlight: Promise<KeyRing> | undefined;
  let quietUntil = 0;

  const fetchRing = (): Promise<KeyRing> => {
    const startedAt = now();
    const attempt = load().then(
      (ring) => {
        if (inFlight === attempt) inFlight = undefined;
        // A slow load must not replace a ring a later load already brought.
        if (!held || held.checkedAt <= startedAt) held = { ring, checkedAt: startedAt };
        return ring;
      },
      (error: unknown) => {
        if (inFlight === attempt) inFlight = undefined;
        const reason = describe(error);
        logger.error('key ring unavailable', { reason });
        // Never a fallback key: this request fails, and the next one tries again.
        throw new Unavailable('key-ring', reason);
      },
    );
    inFlight = attempt;
    return attempt;
  };

  const usable = (at: number): KeyRing | undefined => (held && at - held.checkedAt < freshness.maxAgeMs + freshness.graceMs ? held.ring : undefined);

  return {
    async current() {
      const at = now();
      if (held && at - held.checkedAt < freshness.maxAgeMs) return held.ring;
      const fallback = usable(at);
      if (fallback && at < quietUntil) return fallback;
      try {
        return await (inFlight ?? fetchRing());
      } catch (error) {
        const still = usable(now());
        if (!still || !(error instanceof Unavailable)) throw error;
        quietUntil = now() + RETRY_AFTER_SECONDS * 1000;
        logger.warn('key ring re-check failed; using the ring held since its last check', {
          checkedAt: new Date(held?.checkedAt ?? 0).toISOString(),
          reason: error.reason,
        });
        return still;
      }
    },
    reload: fetchRing,
  };
}
