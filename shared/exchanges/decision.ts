import { FORBIDDEN_PERMISSIONS, type ForbiddenPermission, type KeyFacts, type ProbeOutcome } from './facts.js';

/** What the last check of a stored key came to; `unchecked`: none was made (checks off, no kind or adapter, a row from before checks). */
export const CHECK_STATUSES = ['passed', 'failed', 'unreachable', 'unchecked'] as const;
export type CheckStatus = (typeof CHECK_STATUSES)[number];

export interface CheckPolicy {
  /** REQUIRE_IP_RESTRICTION: a key not known to be bound to IP addresses fails instead of being flagged. */
  readonly requireIpRestriction: boolean;
}

/**
 * What the vault does with a key, from what its exchange said. `passed`: store or keep it
 * (`ip_unrestricted` flags a key not known to be IP-bound). `failed`: refuse to store it, or pause it
 * (the reason says why; never key material). `unreachable`: nothing is known; store nothing (503),
 * change nothing on a stored key.
 */
export type CheckDecision =
  | { readonly status: 'passed'; readonly facts: KeyFacts; readonly ip_unrestricted: boolean }
  | { readonly status: 'failed'; readonly reason: 'rejected'; readonly exchange_code: string }
  | { readonly status: 'failed'; readonly reason: 'malformed'; readonly fields: readonly string[] }
  | { readonly status: 'failed'; readonly reason: 'forbidden_permission'; readonly permissions: readonly ForbiddenPermission[]; readonly facts: KeyFacts }
  | { readonly status: 'failed'; readonly reason: 'ip_not_restricted' | 'ip_restriction_unknown'; readonly facts: KeyFacts }
  | { readonly status: 'unreachable'; readonly reason: string };

/**
 * Withdrawal and transfer rights fail whatever the policy says. Where the exchange does not say
 * whether the key is IP-bound (Coinbase, Coinone), a deployment that requires binding cannot know it
 * is, so the key fails there too (`ip_restriction_unknown`): the requirement fails closed.
 */
export function decide(outcome: ProbeOutcome, policy: CheckPolicy): CheckDecision {
  switch (outcome.outcome) {
    case 'rejected':
      return { status: 'failed', reason: 'rejected', exchange_code: outcome.code };
    case 'malformed':
      return { status: 'failed', reason: 'malformed', fields: outcome.issues.map((issue) => issue.field) };
    case 'unreachable':
      return { status: 'unreachable', reason: outcome.reason };
    case 'facts': {
      const { facts } = outcome;
      const forbidden = FORBIDDEN_PERMISSIONS.filter((p) => facts.permissions?.includes(p));
      if (forbidden.length > 0) return { status: 'failed', reason: 'forbidden_permission', permissions: forbidden, facts };
      if (policy.requireIpRestriction && facts.ip_restricted !== true) {
        return { status: 'failed', reason: facts.ip_restricted === false ? 'ip_not_restricted' : 'ip_restriction_unknown', facts };
      }
      return { status: 'passed', facts, ip_unrestricted: facts.ip_restricted !== true };
    }
  }
}

/** A key that expires within this of its check is flagged, so its owner replaces it before the engine's orders start failing. */
export const EXPIRING_WITHIN_DAYS = 14;

/** Whether a key that expires at `expiresAt` (ISO 8601, or a date) is flagged by a check made at `checkedAt`. */
export const expiresSoon = (expiresAt: string | Date | null, checkedAt: Date): boolean =>
  expiresAt !== null && new Date(expiresAt).getTime() - checkedAt.getTime() <= EXPIRING_WITHIN_DAYS * 86_400_000;
