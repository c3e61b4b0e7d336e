import { EnvelopeError, openEnvelope, type EnvelopePlace } from './envelope.js';
import type { KeyRingSource } from './key-ring-source.js';

export type EnvelopeOpener = (stored: unknown, place: EnvelopePlace) => Promise<string>;

/**
 * Opens envelopes with the source's cached ring. An envelope naming a kid the ring does not hold
 * (a rotation may have happened since the ring was loaded) reloads the ring once and is tried
 * again; later envelopes naming the same missing kid do not reload again, so a row with a bogus
 * kid cannot turn a scan into one secret read per row. Never falls back to another key.
 */
export function reloadingOpener(source: KeyRingSource): EnvelopeOpener {
  const reloadedFor = new Set<string>();
  return async (stored, place) => {
    try {
      return openEnvelope(stored, await source.current(), place);
    } catch (error) {
      if (!(error instanceof EnvelopeError) || error.reason !== 'unknown_kid') throw error;
      // A version-1 envelope names no kid: the ring may have gained its v1 key since.
      const missing = error.kid ?? '(v1)';
      if (reloadedFor.has(missing)) throw error;
      reloadedFor.add(missing);
      return openEnvelope(stored, await source.reload(), place);
    }
  };
}
