import type { Credentials, ProbeOutcome } from './facts.js';
import type { AdaptedKind } from './kinds.js';

/** One signed request, as the exchange's documentation writes it; `path` is the exchange's own (with its query). */
export interface ExchangeRequest {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
}

/** The exchange's answer: its status and its body, parsed as JSON where it is JSON, else its text. */
export interface ExchangeAnswer {
  readonly status: number;
  readonly body: unknown;
}

export interface SigningContext {
  /** `host[:port]` of the base URL the request goes to (Coinbase signs it into its JWT). */
  readonly host: string;
  readonly now: Date;
}

/**
 * What each exchange's module provides: how to ask about a key, and how to read the answer.
 * Both are pure (randomness aside); the prober does the one HTTP round trip between them. Adding an
 * exchange is one module of this shape, its fake and its tests.
 */
export interface ExchangeAdapter {
  readonly kind: AdaptedKind;
  /** The exchange's production base URL; EXCHANGE_API_URLS replaces it (tests, local fakes). */
  readonly baseUrl: string;
  request(credentials: Credentials, context: SigningContext): ExchangeRequest;
  /** Facts, a rejection with the exchange's own code, or `unreachable` for an answer it cannot use. */
  read(answer: ExchangeAnswer, credentials: Credentials): ProbeOutcome;
}
