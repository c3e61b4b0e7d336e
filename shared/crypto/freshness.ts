import { type Env, positiveInteger } from '../config.js';

/**
 * How long a container may seal with the ring it holds before it checks the secret again. This
 * bounds how long after a rotation anything still seals under the old primary, and so when the
 * old key may be retired.
 */
export interface RingFreshness {
  /** A ring older than this is checked again before the next use (KEY_RING_MAX_AGE_S). */
  readonly maxAgeMs: number;
  /**
   * After a failed re-check the held ring is still used until it is `maxAgeMs + graceMs` old, so
   * a Secrets Manager blip does not turn every registration into a 503; after that, 503.
   */
  readonly graceMs: number;
}

export const DEFAULT_KEY_RING_MAX_AGE_S = 300;

/** KEY_RING_MAX_AGE_S, read once at cold start; anything but a positive integer stops the container. */
export const ringFreshness = (env: Env): RingFreshness => {
  const maxAgeMs = positiveInteger(env, 'KEY_RING_MAX_AGE_S', DEFAULT_KEY_RING_MAX_AGE_S) * 1000;
  return { maxAgeMs, graceMs: maxAgeMs };
};

export const DEFAULT_RING_FRESHNESS: RingFreshness = ringFreshness({});

/**
 * On top of the window: a request that took the ring just before its container re-checked and
 * seals a moment later, and clocks that differ between the maintenance function and the containers.
 */
export const RETIRE_MARGIN_MS = 60_000;

/**
 * The earliest time no container can still seal under a key that the rotation at `rotatedAt`
 * replaced: every ring loaded before it has been re-checked, or has outlived its grace.
 */
export const retireAllowedAt = (rotatedAt: Date, freshness: RingFreshness): Date =>
  new Date(rotatedAt.getTime() + freshness.maxAgeMs + freshness.graceMs + RETIRE_MARGIN_MS);
