import type { CheckPolicy } from './decision.js';
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
