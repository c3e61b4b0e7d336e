import * as z from 'zod/mini';
import { exchangeKind } from '../exchanges/kinds.js';
import { positiveId, subjectText } from './text.js';

/** What the engine says it opens a key for: the history's `purpose` column takes exactly this. */
export const OPEN_PURPOSE = /^[a-z0-9._-]{1,64}$/;

const purpose = z.string().check(z.regex(OPEN_PURPOSE, { message: 'purpose must be 1-64 characters of [a-z0-9._-]' }));

/** Whose key: the engine knows its users by their identity provider's subject; the vault's user_no is accepted too. */
export const keyOwner = { subject: z.optional(subjectText), user_no: z.optional(positiveId) };
export const exactlyOneOwner = z.refine<{ subject?: string; user_no?: number }>((key) => (key.subject === undefined) !== (key.user_no === undefined), {
  message: 'exactly one of subject and user_no is required',
});

/** One key to open: `{"subject" | "user_no", "exchange_id"}`. */
export const keyToOpen = z.strictObject({ ...keyOwner, exchange_id: positiveId }).check(exactlyOneOwner);
export type KeyToOpen = z.infer<typeof keyToOpen>;

/** The open-api-key function's event (docs/engine.md): nothing else is accepted. */
export const openApiKeyEvent = z.strictObject({ ...keyOwner, exchange_id: positiveId, purpose }).check(exactlyOneOwner);
export type OpenApiKeyEvent = z.infer<typeof openApiKeyEvent>;

/**
 * Why a key was not opened. `not_found`: no key for that user and exchange; `inactive`: its owner
 * deactivated it; `invalid_request`: the event is not the contract's; `integrity`: the stored key does
 * not open (altered, or an earlier envelope written back): retrying will not help; `unavailable`:
 * the database or the key ring cannot be had now, retry later.
 */
export const openRefusal = z.enum(['not_found', 'inactive', 'check_failed', 'invalid_request', 'integrity', 'unavailable']);
export type OpenRefusal = z.infer<typeof openRefusal>;

export const openedApiKey = z.strictObject({
  ok: z.literal(true),
  /** The owner's identity-provider subject; null for a user adopted from the seed who has never signed in. */
  subject: z.nullable(z.string()),
  user_no: positiveId,
  exchange_id: positiveId,
  /** Which exchange API the key is for; null where the exchange's kind is not known. */
  exchange_kind: z.nullable(exchangeKind),
  public_key: z.string(),
  private_key: z.string(),
  /** Only for a key that has one (OKX, KuCoin, Bitget keys do). */
  passphrase: z.optional(z.string()),
  /** 1 at registration, +1 per replacement: the engine tells a replaced key from the one it had. */
  key_version: positiveId,
  /** When the owner last changed the key; null for a key adopted from the seed and never changed since. */
  update_date: z.nullable(z.iso.datetime({ offset: true })),
});

export const refusedOpen = z.strictObject({ ok: z.literal(false), error: openRefusal, detail: z.string() });
export type RefusedOpen = z.infer<typeof refusedOpen>;

export const openApiKeyResult = z.discriminatedUnion('ok', [openedApiKey, refusedOpen]);
export type OpenApiKeyResult = z.infer<typeof openApiKeyResult>;

/** How many keys one batch opens at most. */
export const OPEN_BATCH_MAX = 100;

/** A batch open: `{"keys": [{"subject" | "user_no", "exchange_id"}, ...], "purpose"}`, up to OPEN_BATCH_MAX keys. */
export const openApiKeysEvent = z.strictObject({
  keys: z.array(keyToOpen).check(z.minLength(1), z.maxLength(OPEN_BATCH_MAX, { message: `at most ${OPEN_BATCH_MAX} keys per batch` })),
  purpose,
});
export type OpenApiKeysEvent = z.infer<typeof openApiKeysEvent>;

/** A batch's results in the order of its keys, each what a single open of it returns; or the whole call refused. */
export const openApiKeysResult = z.discriminatedUnion('ok', [z.strictObject({ ok: z.literal(true), results: z.array(openApiKeyResult) }), refusedOpen]);
export type OpenApiKeysResult = z.infer<typeof openApiKeysResult>;
