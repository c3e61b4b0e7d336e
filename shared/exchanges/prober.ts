import * as z from 'zod/mini';
import { type Env, positiveInteger } from '../config.js';
import { credentials, type ProbeOutcome } from './facts.js';
import { adaptedKind } from './kinds.js';
import { type ProbeOptions, probeKey } from './probe.js';
import { exchangeApiUrls } from './settings.js';

/** The prober's event: one key's kind and credentials, nothing else (no user, no row). */
export const probeEvent = z.strictObject({ kind: adaptedKind, credentials });
export type ProbeEvent = z.infer<typeof probeEvent>;

export type ProbeResult = ProbeOutcome | { readonly outcome: 'invalid_request'; readonly detail: string };

/** Well under the function's own timeout, so a hanging exchange is an `unreachable` answer, not a killed invocation. */
export const DEFAULT_PROBE_TIMEOUT_MS = 5000;

/** The prober's settings, read once at cold start: EXCHANGE_API_URLS and EXCHANGE_PROBE_TIMEOUT_MS. */
export const proberOptions = (env: Env): ProbeOptions => ({
  baseUrls: exchangeApiUrls(env),
  timeoutMs: positiveInteger(env, 'EXCHANGE_PROBE_TIMEOUT_MS', DEFAULT_PROBE_TIMEOUT_MS),
});

/**
 * The exchange prober's one job: an event in, the exchange's facts out. A malformed event is an
 * answer too (`invalid_request`, saying which field, never its value).
 */
export async function probe(event: unknown, options: ProbeOptions): Promise<ProbeResult> {
  const parsed = probeEvent.safeParse(event);
  if (!parsed.success) {
    const fields = [...new Set(parsed.error.issues.map((issue) => issue.path.join('.') || '(event)'))];
    return { outcome: 'invalid_request', detail: `invalid ${fields.join(', ')}` };
  }
  return probeKey(parsed.data, options);
}
