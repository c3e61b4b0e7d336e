import { reloadingOpener } from '../crypto/reloading-opener.js';
import type { StoredKeyRecheck } from '../db/key-checks.js';
import { exchangeChecks } from '../exchanges/settings.js';
import { keyChecker } from './key-checker.js';

/**
 * report-api-key's re-check of a reported key, built once per container. With checks off it is
 * undefined and the key ring is never loaded: the stack binds no ring to the function then, and a
 * function that only records a report holds no key.
 */
export const reportRecheck: StoredKeyRecheck | undefined = exchangeChecks(process.env) ? await ringRecheck() : undefined;

async function ringRecheck(): Promise<StoredKeyRecheck> {
  const { keyRingFreshness, keyRingSource } = await import('./key-ring.js');
  return { open: reloadingOpener(keyRingSource, { minIntervalMs: keyRingFreshness.maxAgeMs }), checker: keyChecker };
}
