import * as z from 'zod/mini';
import { ConfigError, type Env } from '../config.js';
import { ADAPTED_KINDS, type AdaptedKind } from './kinds.js';

const httpUrl = z.string().check(
  z.refine((text) => URL.canParse(text) && ['http:', 'https:'].includes(new URL(text).protocol), { message: 'must be an http(s) URL' }),
  z.refine((text) => !URL.canParse(text) || (new URL(text).search === '' && new URL(text).hash === ''), { message: 'must have no query or fragment' }),
);
const apiUrls = z.partialRecord(z.enum(ADAPTED_KINDS), httpUrl);
export type ExchangeApiUrls = Partial<Record<AdaptedKind, string>>;

/**
 * `EXCHANGE_API_URLS`: JSON `{"<kind>": "<base URL>"}` replacing a kind's real base URL (tests and
 * local fakes). Unset is `{}`; anything else that is not such an object stops the function at cold start.
 */
export function exchangeApiUrls(env: Env): ExchangeApiUrls {
  const text = env.EXCHANGE_API_URLS;
  if (text === undefined || text.trim() === '') return {};
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ConfigError('EXCHANGE_API_URLS must be JSON: {"<kind>": "<base URL>"}');
  }
  const parsed = apiUrls.safeParse(json);
  if (!parsed.success) {
    const where = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ');
    throw new ConfigError(`EXCHANGE_API_URLS must map known kinds (${ADAPTED_KINDS.join(', ')}) to base URLs: ${where}`);
  }
  return parsed.data;
}

/** An `on` / `off` switch, `off` when unset. */
function onOff(env: Env, name: string): boolean {
  const text = env[name]?.trim();
  if (text === undefined || text === '' || text === 'off') return false;
  if (text === 'on') return true;
  throw new ConfigError(`${name} must be "on" or "off"`);
}

/** `EXCHANGE_CHECKS`: whether keys are checked at their exchange. */
export const exchangeChecks = (env: Env): boolean => onOff(env, 'EXCHANGE_CHECKS');
/** `REQUIRE_IP_RESTRICTION`: whether a key not bound to IP addresses is refused rather than flagged. */
export const requireIpRestriction = (env: Env): boolean => onOff(env, 'REQUIRE_IP_RESTRICTION');
