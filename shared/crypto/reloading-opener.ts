import { EnvelopeError, type EnvelopePlace, openEnvelope } from './envelope.js';
import type { KeyRingSource } from './key-ring-source.js';

export type EnvelopeOpener = (stored: unknown, place: EnvelopePlace) => Promise<string>;

export interface ReloadLimit {
  /** Reload again only this long after the last reload; by default once in the opener's life (one maintenance command). */
  readonly minIntervalMs?: number;
  readonly now?: () => number;
}

/**
 * Opens envelopes with the source's ring. An envelope naming a kid the ring does not hold (a
 * rotation may have happened since the ring was loaded) reloads the ring and is tried again, but
 * the opener reloads at most once per `minIntervalMs` whatever the kid: rows with made-up kids
 * cannot turn a scan into one secret read per row. A container keeps one opener with its
 * freshness window as the interval. Never falls back to another key.
 */
export function reloadingOpener(source: KeyRingSource, limit: ReloadLimit = {}): EnvelopeOpener {
  const { minIntervalMs = Number.POSITIVE_INFINITY, now = Date.now } = limit;
  let reloadedAt: number | undefined;
  return async (stored, place) => {
    try {
      return openEnvelope(stored, await source.current(), place);
    } catch (error) {
      if (!(error instanceof EnvelopeError) || error.reason !== 'unknown_kid') throw error;
      if (reloadedAt !== undefined && now() - reloadedAt < minIntervalMs) throw error;
      reloadedAt = now();
      return openEnvelope(stored, await source.reload(), place);
    }
  };
}
