import type { ExchangeAnswer } from './adapter.js';
import { ADAPTERS } from './adapters/index.js';
import { type Credentials, type ProbeOutcome, unreachable } from './facts.js';
import type { AdaptedKind } from './kinds.js';
import type { ExchangeApiUrls } from './settings.js';
import { credentialIssues } from './shapes.js';

export interface ProbeRequest {
  readonly kind: AdaptedKind;
  readonly credentials: Credentials;
}

export interface ProbeOptions {
  readonly baseUrls: ExchangeApiUrls;
  /** The whole round trip, the answer's body included, ends within this bound or is `unreachable`. */
  readonly timeoutMs: number;
  readonly fetch?: typeof fetch;
  readonly now?: () => Date;
}

/** Statuses that say nothing about the key: the exchange is failing or rate-limiting us (Binance's 418 is its IP ban). */
const NOT_ABOUT_THE_KEY = (status: number): boolean => status >= 500 || status === 429 || status === 418;

/** Far above any key-inspection answer (a few KB); the prober reads no more than this of a body. */
export const MAX_ANSWER_BYTES = 256 * 1024;

class AnswerTooLarge extends Error {
  override readonly name = 'AnswerTooLarge';
}

/** The body as text, refusing one past MAX_ANSWER_BYTES before it is all in memory. */
async function boundedText(response: Response): Promise<string> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body ?? []) {
    size += chunk.byteLength;
    // Leaving the loop cancels the stream: the rest is never read.
    if (size > MAX_ANSWER_BYTES) throw new AnswerTooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function answerOf(response: Response): Promise<ExchangeAnswer> {
  const text = await boundedText(response);
  try {
    return { status: response.status, body: JSON.parse(text) };
  } catch {
    return { status: response.status, body: text };
  }
}

/**
 * Asks one key's exchange about the key, with the key itself, in one round trip. Never throws for
 * anything the exchange or the network does, and never puts the credentials anywhere but the request.
 */
export async function probeKey({ kind, credentials }: ProbeRequest, options: ProbeOptions): Promise<ProbeOutcome> {
  const issues = credentialIssues(kind, credentials);
  if (issues.length > 0) return { outcome: 'malformed', issues };
  const adapter = ADAPTERS[kind];
  const base = new URL(options.baseUrls[kind] ?? adapter.baseUrl);
  const request = adapter.request(credentials, { host: base.host, now: (options.now ?? (() => new Date()))() });
  const url = `${base.origin}${base.pathname.replace(/\/+$/, '')}${request.path}`;
  let answer: ExchangeAnswer;
  try {
    const response = await (options.fetch ?? fetch)(url, {
      method: request.method,
      headers: request.headers,
      body: request.body,
      redirect: 'error',
      signal: AbortSignal.timeout(options.timeoutMs),
    });
    answer = await answerOf(response);
  } catch (error) {
    // By name: the abort's DOMException need not be an Error of this realm.
    const name = (error as { name?: unknown } | null)?.name;
    return unreachable(name === 'TimeoutError' ? 'timeout' : name === 'AnswerTooLarge' ? 'answer_too_large' : 'network');
  }
  if (NOT_ABOUT_THE_KEY(answer.status)) return unreachable(`http_${answer.status}`);
  try {
    return adapter.read(answer, credentials);
  } catch {
    // A field of the right type but no usable value (a date past year 275760, say).
    return unreachable('unexpected_answer');
  }
}
