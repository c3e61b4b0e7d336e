import { reloadingOpener } from '../shared/crypto/reloading-opener.js';
import { apiHandler } from '../shared/http/api-handler.js';
import { db } from '../shared/runtime/database.js';
import { keyChecker } from '../shared/runtime/key-checker.js';
import { keyRingFreshness, keyRingSource } from '../shared/runtime/key-ring.js';
import { recheckApiKey } from '../shared/services/recheck-api-key.js';

/** Kept for the container's life, so an envelope naming an unknown kid reloads the ring at most once per freshness window. */
const open = reloadingOpener(keyRingSource, { minIntervalMs: keyRingFreshness.maxAgeMs });

export const handler = apiHandler('check-api-key', (request) => recheckApiKey({ db, open, checker: keyChecker }, request));
