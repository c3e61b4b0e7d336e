import type { EnvelopeOpener } from '../crypto/reloading-opener.js';
import { logger } from '../logger.js';
import { type CheckDecision, type CheckPolicy, decide } from './decision.js';
import type { Credentials, ProbeOutcome } from './facts.js';
import { type ExchangeKind, isAdapted } from './kinds.js';
import type { ProbeRequest } from './probe.js';

/** No check was made: checks are off, or the exchange has no kind, or its kind no adapter. */
export const UNCHECKED = { outcome: 'unchecked' } as const;
export type CheckOutcome = ProbeOutcome | typeof UNCHECKED;

/** One round trip to a key's exchange: in this process (probeKey) or through the exchange prober function. */
export type Prober = (request: ProbeRequest) => Promise<ProbeOutcome>;

/**
 * What the services ask a key's exchange through: given one key's kind and credentials, what the
 * exchange says of it, and the deployment's policy to decide with (shared/exchanges/decision.ts).
 */
export interface KeyChecker {
  readonly policy: CheckPolicy;
  /** Whether a key at an exchange of this kind is asked about at all: a key that is not need not be opened. */
  asks(kind: ExchangeKind | null): boolean;
  probe(kind: ExchangeKind | null, credentials: Credentials): Promise<CheckOutcome>;
}

/** What a re-check of a stored key needs besides the database: an opener for its envelopes, and the checker. */
export interface StoredKeyRecheck {
  /** Kept for the container's life, so an envelope naming an unknown kid reloads the ring at most once per freshness window. */
  readonly open: EnvelopeOpener;
  readonly checker: KeyChecker;
}

/** A checker over `prober`; without one (checks off) every key is `unchecked`. */
export function keyChecker(prober: Prober | undefined, policy: CheckPolicy): KeyChecker {
  return {
    policy,
    asks: (kind) => prober !== undefined && kind !== null && isAdapted(kind),
    probe: async (kind, credentials) => (prober !== undefined && kind !== null && isAdapted(kind) ? prober({ kind, credentials }) : UNCHECKED),
  };
}

/** Checks off: what `npm start` and a deployment run with unless EXCHANGE_CHECKS is on. */
export const NO_CHECKS: KeyChecker = keyChecker(undefined, { requireIpRestriction: false });

/**
 * What the exchange now says of a stored key's credentials, decided by the deployment's policy:
 * every re-check's decision (the owner's, key maintenance's, the engine report's). Undefined when
 * no check was made (checks off, an exchange without a kind or an adapter).
 */
export async function recheck(checker: KeyChecker, kind: ExchangeKind | null, credentials: Credentials): Promise<CheckDecision | undefined> {
  const outcome = await checker.probe(kind, credentials);
  if (outcome.outcome === 'unchecked') return undefined;
  const decision = decide(outcome, checker.policy);
  logger.info('key rechecked', { kind, status: decision.status, ...(decision.status === 'passed' ? {} : { reason: decision.reason }) });
  return decision;
}
