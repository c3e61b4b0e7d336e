import type { EnvelopeOpener } from '../crypto/reloading-opener.js';
import { type KeyCheckColumns, type KeyToCheck, NOT_CHECKED, type StoredCheck, storedCheck } from '../db/key-checks.js';
import { KeyCheckFailed, Unavailable } from '../errors.js';
import type { KeyChecker } from '../exchanges/checker.js';
import { decide, expiresSoon } from '../exchanges/decision.js';
import type { Credentials } from '../exchanges/facts.js';
import type { ExchangeKind } from '../exchanges/kinds.js';
import { logger } from '../logger.js';
import type { KeyCheck } from '../schemas/api-keys.js';
import { openPair } from './open-api-key.js';

/** The check of one set of credentials at the exchange kind it is written under, asked once per kind. */
export type ChecksOfKinds = (kind: ExchangeKind | null) => Promise<StoredCheck>;

/**
 * Checks `credentials` before they are stored: the check to store with them when it passed (or
 * when no check was made), else a KeyCheckFailed (a 422) or an unavailable exchange (a 503), and
 * nothing is stored. Each kind is asked at most once, however often the write is retried.
 */
export function checksOfKinds(checker: KeyChecker, credentials: Credentials): ChecksOfKinds {
  const asked = new Map<ExchangeKind | null, Promise<StoredCheck>>();
  return (kind) => {
    let check = asked.get(kind);
    if (check === undefined) {
      check = checkBeforeStoring(checker, kind, credentials);
      asked.set(kind, check);
    }
    return check;
  };
}

async function checkBeforeStoring(checker: KeyChecker, kind: ExchangeKind | null, credentials: Credentials): Promise<StoredCheck> {
  const outcome = await checker.probe(kind, credentials);
  if (outcome.outcome === 'unchecked' || kind === null) return NOT_CHECKED;
  const decision = decide(outcome, checker.policy);
  logger.info('key checked', { kind, status: decision.status, ...(decision.status === 'passed' ? {} : { reason: decision.reason }) });
  if (decision.status === 'failed') throw new KeyCheckFailed(kind, decision);
  if (decision.status === 'unreachable') throw new Unavailable('exchange', decision.reason);
  return storedCheck(decision);
}

/** A stored check as the masked key shows it. */
export function toCheck(row: KeyCheckColumns): KeyCheck {
  return {
    status: row.check_status ?? 'unchecked',
    checked_at: row.checked_at?.toISOString() ?? null,
    permissions: row.check_permissions,
    ip_restricted: row.check_ip_restricted,
    expires_at: row.check_expires_at?.toISOString() ?? null,
    expiring: row.checked_at !== null && expiresSoon(row.check_expires_at, row.checked_at),
    reason: row.check_reason,
  };
}

/** A stored key's credentials, to ask its exchange about; undefined when it does not open (logged, never the data). */
export const openKeyToCheck = (open: EnvelopeOpener, key: KeyToCheck): Promise<Credentials | undefined> =>
  openPair(
    open,
    {
      keyNo: key.key_no,
      userNo: key.user_no,
      publicKey: key.public_key,
      privateKey: key.private_key,
      passphrase: key.passphrase,
      sealing: key.sealing,
      publicKeyV1Digest: key.public_key_v1_digest,
      privateKeyV1Digest: key.private_key_v1_digest,
    },
    key.exchange_id,
  );
