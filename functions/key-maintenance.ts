import { createPool, databaseConfig } from '../shared/db/pool.js';
import { maintenanceHandler, MAINTENANCE_STATEMENT_TIMEOUT_MS } from '../shared/key-maintenance/lambda.js';
import { keyRing, keyRingFreshness, keyRingStore } from '../shared/runtime/key-ring.js';

// Counting rows by kid scans the table: more than a request's statement budget on a large one.
/** Exported so a test can close it; nothing else uses it. */
export const db = createPool({ ...databaseConfig(process.env), statement_timeout: MAINTENANCE_STATEMENT_TIMEOUT_MS, query_timeout: MAINTENANCE_STATEMENT_TIMEOUT_MS + 5_000 });

/**
 * Key rotation, re-encryption, verification and retirement, invoked by an operator, never routed:
 * `{"command": "rotate" | "reencrypt" | "verify" | "retire", "kid"?: ..., "batchSize"?: ...}`.
 */
export const handler = maintenanceHandler({ db, store: keyRingStore, keyRing, freshness: keyRingFreshness });
