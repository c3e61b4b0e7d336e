import * as z from 'zod/mini';
import { CHECK_STATUSES } from '../exchanges/decision.js';
import { exchangeKind } from '../exchanges/kinds.js';
import { positiveId } from './text.js';

/** How many rows a page of an engine list holds: `limit` when given, at most `max`. */
export const ENGINE_PAGE = { default: 100, max: 1000 } as const;

/** A position in a list, opaque to the engine: it hands back the `next` it was given. */
const cursor = z.string().check(z.regex(/^[A-Za-z0-9_-]{1,64}$/, { message: 'after must be a cursor this function returned' }));

/** `{"after"?, "limit"?}`: the first page without `after`, the next one with the `next` of the last. */
export const enginePageEvent = z.strictObject({
  after: z.optional(cursor),
  limit: z.optional(z.number().check(z.int(), z.minimum(1), z.maximum(ENGINE_PAGE.max))),
});
export type EnginePageEvent = z.infer<typeof enginePageEvent>;

/** Why a page was not read: the event is not the contract's, or the database cannot be had now (retry). */
export const listRefusal = z.enum(['invalid_request', 'unavailable']);
export const refusedList = z.strictObject({ ok: z.literal(false), error: listRefusal, detail: z.string() });
export type RefusedList = z.infer<typeof refusedList>;

/** The owner's identity-provider subject; null for a user adopted from the seed who never signed in. */
const subject = z.nullable(z.string());

export const activeKey = z.strictObject({
  subject,
  user_no: positiveId,
  exchange_id: positiveId,
  /** Which exchange API the key is for; null where the exchange's kind is not known. */
  exchange_kind: z.nullable(exchangeKind),
  key_version: positiveId,
  /** What the key's last check at its exchange came to; an active key whose check `failed` is not opened. */
  check_status: z.enum(CHECK_STATUSES),
});
export type ActiveKey = z.infer<typeof activeKey>;

/** A page of active keys, by key_no; `next` null once the last page is read. */
export const listActiveKeysResult = z.discriminatedUnion('ok', [
  z.strictObject({ ok: z.literal(true), keys: z.array(activeKey), next: z.nullable(z.string()) }),
  refusedList,
]);
export type ListActiveKeysResult = z.infer<typeof listActiveKeysResult>;

export const keyChange = z.strictObject({
  subject,
  user_no: positiveId,
  exchange_id: positiveId,
  /** The history's event: registered, replaced, deactivated, reactivated, deleted, reencrypted, check_failed; later kinds may be added. */
  event: z.string(),
  /** The key's version now (not at the event); null once the key is deleted. */
  key_version: z.nullable(positiveId),
  at: z.iso.datetime({ offset: true }),
});
export type KeyChange = z.infer<typeof keyChange>;

/** A page of changes, oldest first; `next` is where to read on from, also when the page is empty (the feed goes on). */
export const listKeyChangesResult = z.discriminatedUnion('ok', [
  z.strictObject({ ok: z.literal(true), changes: z.array(keyChange), next: z.string() }),
  refusedList,
]);
export type ListKeyChangesResult = z.infer<typeof listKeyChangesResult>;
