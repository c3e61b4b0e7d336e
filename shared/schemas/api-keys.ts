import * as z from 'zod/mini';
import { CHECK_STATUSES, EXPIRING_WITHIN_DAYS } from '../exchanges/decision.js';
import { permission } from '../exchanges/facts.js';
import { exchangeKind } from '../exchanges/kinds.js';
import { boundedText, INT4_MAX, integerParameter, positiveId } from './text.js';

export const API_KEY_MAX = 4096;

const apiKeyText = boundedText({ max: API_KEY_MAX, multiline: true });

export const PASSPHRASE_MAX = 256;

/**
 * The third half OKX, KuCoin and Bitget keys have: required at an exchange of those kinds, refused
 * at one of any other known kind, optional where the exchange's kind is not known (docs/exchanges.md).
 */
const passphrase = z
  .optional(boundedText({ max: PASSPHRASE_MAX, multiline: false }))
  .check(z.meta({ description: "The key's passphrase: required for OKX, KuCoin and Bitget keys, refused for other known kinds; never shown again" }));

const USER_NO_DESCRIPTION = "Optional, for the seed's clients: the caller's own user_no, or a 403. Leave it out.";

export const registerApiKeyBody = z.strictObject({
  exchange_id: positiveId,
  public_key: apiKeyText,
  private_key: apiKeyText,
  passphrase,
  user_no: z.optional(positiveId).check(z.meta({ description: USER_NO_DESCRIPTION })),
});
export type RegisterApiKeyBody = z.infer<typeof registerApiKeyBody>;

const userNoParameter = integerParameter(INT4_MAX).check(z.meta({ description: USER_NO_DESCRIPTION }));

/** `?user_no=` on the routes that act on the caller's keys: the caller's own, or a 403. */
export const ownerQuery = z.strictObject({ user_no: z.optional(userNoParameter) });
export type OwnerQuery = z.infer<typeof ownerQuery>;

/** `{exchange_id}` names the caller's key: a user has at most one per exchange. */
export const apiKeyPathParams = z.strictObject({
  exchange_id: integerParameter(INT4_MAX).check(z.meta({ description: 'The exchange the key is for: its exchange_id, from 1', example: '101' })),
});
export type ApiKeyPathParams = z.infer<typeof apiKeyPathParams>;

/**
 * The seed's clients send user_no in the body, but one named in the query string is checked just
 * the same rather than ignored. Other parameters are still ignored, as they always were here.
 */
export const registerApiKeyQuery = z.object({ user_no: z.optional(userNoParameter) });
export type RegisterApiKeyQuery = z.infer<typeof registerApiKeyQuery>;

export const registeredMessage = z.strictObject({ message: z.literal('API key registered successfully.') });
export type RegisteredMessage = z.infer<typeof registeredMessage>;

/** `pending_upgrade`: a row adopted from the seed whose masks the re-encryption job has not filled yet. */
export const maskedKeyStatus = z.enum(['ready', 'pending_upgrade']);

/** What the last check of the key at its exchange found (docs/exchanges.md, "Checks"). */
export const keyCheck = z.strictObject({
  status: z
    .enum(CHECK_STATUSES)
    .check(z.meta({ description: 'passed, failed (the key is paused and the engine refuses it), unreachable (the exchange did not answer), or unchecked' })),
  checked_at: z.nullable(z.iso.datetime({ offset: true })),
  /** In the vault's vocabulary; null where the exchange reports none (Upbit, Coinone) or nothing is known. */
  permissions: z.nullable(z.array(permission)),
  /** false: the key is not bound to IP addresses (flagged); null where the exchange does not say. */
  ip_restricted: z.nullable(z.boolean()),
  expires_at: z.nullable(z.iso.datetime({ offset: true })),
  expiring: z.boolean().check(z.meta({ description: `The key expires within ${EXPIRING_WITHIN_DAYS} days of its check: replace it` })),
  /** Why the last check failed (rejected, forbidden_permission, ip_not_restricted, ...) or could not be made (timeout, ...); null when it passed. */
  reason: z.nullable(z.string()),
});
export type KeyCheck = z.infer<typeof keyCheck>;

export const maskedApiKey = z.strictObject({
  /** The owner's user_no: what the seed's clients and the engine's user_no calls name the owner by. */
  user_no: positiveId,
  exchange_id: positiveId,
  exchange_name: z.string(),
  /** Which exchange API the key is for (docs/exchanges.md); null where the exchange's is not known. */
  exchange_kind: z.nullable(exchangeKind),
  public_key_masked: z.nullable(z.string()),
  private_key_masked: z.nullable(z.string()),
  /** Whether the key has a passphrase; the passphrase itself is never shown, not even masked. */
  has_passphrase: z.boolean(),
  is_active: z.boolean(),
  /** 1 at registration, +1 per replacement; re-encryption and pausing keep it. */
  key_version: positiveId,
  create_date: z.iso.datetime({ offset: true }),
  update_date: z.nullable(z.iso.datetime({ offset: true })),
  status: maskedKeyStatus,
  check: keyCheck,
});
export type MaskedApiKey = z.infer<typeof maskedApiKey>;

export const maskedApiKeyList = z.array(maskedApiKey);

export const replaceApiKeyBody = z.strictObject({ public_key: apiKeyText, private_key: apiKeyText, passphrase });
export type ReplaceApiKeyBody = z.infer<typeof replaceApiKeyBody>;

export const setApiKeyActiveBody = z.strictObject({ is_active: z.boolean() });
export type SetApiKeyActiveBody = z.infer<typeof setApiKeyActiveBody>;

export const KEY_EVENTS_PAGE = { default: 50, max: 100 } as const;

export const keyEventsQuery = z.strictObject({
  user_no: z.optional(userNoParameter),
  // A prefault is an input, parsed like one sent, so the document can show it as the string a query holds.
  limit: z
    .prefault(integerParameter(KEY_EVENTS_PAGE.max), String(KEY_EVENTS_PAGE.default))
    .check(z.meta({ description: `How many events, newest first: 1 to ${KEY_EVENTS_PAGE.max}` })),
  before: z
    .optional(integerParameter(Number.MAX_SAFE_INTEGER))
    .check(z.meta({ description: 'For the next page: the last event_id of this one; the page then holds the events older than it' })),
});
export type KeyEventsQuery = z.infer<typeof keyEventsQuery>;

export const keyEventKind = z.enum([
  'registered',
  'replaced',
  'deactivated',
  'reactivated',
  'deleted',
  'opened',
  'open_refused',
  'reencrypted',
  'checked',
  'check_failed',
  'reported',
]);
export type KeyEventKind = z.infer<typeof keyEventKind>;

export const actorKind = z.enum(['user', 'engine', 'maintenance']);
export type ActorKind = z.infer<typeof actorKind>;

/** One entry of a key's history: who did what and when, never any key material or mask. */
export const keyEvent = z.strictObject({
  /** The event's number in this key's history (1, 2, ...): it counts no one else's. */
  event_id: z.number().check(z.int(), z.minimum(1)),
  event: keyEventKind,
  at: z.iso.datetime({ offset: true }),
  actor: z.strictObject({ kind: actorKind, id: z.nullable(z.string()) }),
  request_id: z.nullable(z.string()),
  purpose: z.nullable(z.string()),
  /** Why an open was refused (`inactive`, `integrity`, `check_failed`), why a check failed, or `unreachable`; what the exchange refused in an engine's report (`exchange_rejected`, `permission_denied`, `ip_not_allowed`); else null. */
  reason: z.nullable(z.string()),
});
export type KeyEvent = z.infer<typeof keyEvent>;

export const keyEventList = z.array(keyEvent);
