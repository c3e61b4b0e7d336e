import { selectApiKey } from '../db/api-keys.js';
import { recheck, recordChecks, type StoredKeyRecheck, selectKeyToCheck } from '../db/key-checks.js';
import type { Queryable } from '../db/query.js';
import { conflict, forbidden, notFound } from '../errors.js';
import type { MaskedApiKey } from '../schemas/api-keys.js';
import { type KeyRequest, tagged } from './api-keys.js';
import { openKeyToCheck } from './key-checks.js';
import type { Tagged } from './tagged.js';

/** What the owner's re-check needs: the database, an opener for the key's envelopes, and the checker. */
export interface RecheckDependencies extends StoredKeyRecheck {
  readonly db: Queryable;
}

/** A key replaced while it was being checked is read and checked again, at most this often. */
const CHECK_ATTEMPTS = 3;

/**
 * The owner's re-check: the stored key opened and asked about at its exchange, the check recorded
 * with its event (`checked` or `check_failed`, actor the owner), and the key shown as it now is.
 * A key that fails is paused, as key maintenance pauses it; one that cannot be checked (checks
 * off, an exchange without a kind or an adapter) is shown unchanged, and nothing is recorded.
 */
export async function recheckApiKey(deps: RecheckDependencies, request: KeyRequest): Promise<Tagged<MaskedApiKey>> {
  const { caller, params, query } = request;
  for (let attempt = 0; attempt < CHECK_ATTEMPTS; attempt += 1) {
    const found = await selectKeyToCheck(deps.db, caller.subject, params.exchange_id);
    if (query.user_no !== undefined && query.user_no !== found?.caller_user_no) throw forbidden('user_no does not belong to the authenticated user.');
    const key = found?.key;
    if (!key) throw notFound('No API key is registered for this exchange.');
    if (!deps.checker.asks(key.exchange_kind)) break;
    const credentials = await openKeyToCheck(deps.open, key);
    if (!credentials) throw conflict('The stored key does not open, so it cannot be checked: replace it (PUT). The vault operators find it with `verify`.');
    const check = await recheck(deps.checker, key.exchange_kind, credentials);
    if (!check) break;
    const written = await recordChecks(deps.db, [{ keyNo: key.key_no, keyVersion: key.key_version, check }], {
      kind: 'user',
      id: caller.subject,
      requestId: request.requestId,
    });
    if (written.length > 0) break;
  }
  return tagged(await selectApiKey(deps.db, caller.subject, params.exchange_id));
}
