import { createPool, databaseConfig } from '../shared/db/pool.js';
import { MAINTENANCE_STATEMENT_TIMEOUT_MS, maintenanceHandler } from '../shared/key-maintenance/lambda.js';
import { withStatementTimeout } from '../shared/key-maintenance/rows.js';
import { keyChecker } from '../shared/runtime/key-checker.js';
import { keyRingFreshness, keyRingSource, ringStore } from '../shared/runtime/key-ring.js';

/** Exported so a test can close it; nothing else uses it. */
export const pool = createPool({ ...databaseConfig(process.env), query_timeout: MAINTENANCE_STATEMENT_TIMEOUT_MS + 5_000 });
// Counting rows by kid scans the table: more than a request's statement budget (vault_app's role setting) on a large one.
const db = withStatementTimeout(pool, MAINTENANCE_STATEMENT_TIMEOUT_MS);

/**
 * Key rotation, re-encryption, verification, retirement and checks at the exchanges, invoked by an
 * operator or a schedule, never routed: `{"command": "rotate" | "reencrypt" | "verify" | "retire" |
 * "check", "kid"?: ..., "batchSize"?: ..., "exchangeId"?: ..., "after"?: ...}`.
 */
export const handler = maintenanceHandler({ db, store: ringStore, keyRingSource, freshness: keyRingFreshness, checker: keyChecker });
