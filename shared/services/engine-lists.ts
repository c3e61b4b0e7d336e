import { type ChangePosition, selectActiveKeys, selectKeyChanges } from '../db/engine-lists.js';
import type { Queryable } from '../db/query.js';
import { describeForLog } from '../describe-for-log.js';
import { UNAVAILABLE_DETAIL, Unavailable } from '../errors.js';
import { logger } from '../logger.js';
import {
  ENGINE_PAGE,
  type EnginePageEvent,
  enginePageEvent,
  type KeyChange,
  type ListActiveKeysResult,
  type ListKeyChangesResult,
  type RefusedList,
} from '../schemas/engine-lists.js';
import { describeIssues } from '../schemas/issues.js';

/**
 * A cursor is its position's numbers, dot-separated, in base64url: opaque, so the engine hands back
 * what it was given and the vault may change what a position holds. A cursor that does not decode
 * to the expected numbers is a bad request, never a page from elsewhere.
 */
const encodeCursor = (parts: readonly string[]): string => Buffer.from(parts.join('.'), 'utf8').toString('base64url');

function decodeCursor(cursor: string, parts: number): string[] | undefined {
  const decoded = Buffer.from(cursor, 'base64url').toString('utf8').split('.');
  return decoded.length === parts && decoded.every((part) => /^(0|[1-9][0-9]{0,19})$/.test(part)) ? decoded : undefined;
}

const INVALID_CURSOR: RefusedList = { ok: false, error: 'invalid_request', detail: 'invalid event: after: not a cursor this function returned' };
/** Key numbers and event ids are PostgreSQL int4 and bigint; a cursor past them was not this function's. */
const INT4_MAX = 2_147_483_647n;
const INT8_MAX = 9_223_372_036_854_775_807n;
const XID8_MAX = 18_446_744_073_709_551_615n;

type Page<T> = { readonly after: T | undefined; readonly limit: number };

/** Parses the event and its cursor, reads a page, and turns a database that cannot be had into a refusal; only a bug throws. */
async function readPage<Position, Result>(
  event: unknown,
  positionOf: (cursor: string) => Position | undefined,
  read: (page: Page<Position>) => Promise<Result>,
): Promise<Result | RefusedList> {
  const parsed = enginePageEvent.safeParse(event);
  if (!parsed.success) return { ok: false, error: 'invalid_request', detail: `invalid event: ${describeIssues(parsed.error, 'event')}` };
  const { after, limit = ENGINE_PAGE.default }: EnginePageEvent = parsed.data;
  const position = after === undefined ? undefined : positionOf(after);
  if (after !== undefined && position === undefined) return INVALID_CURSOR;
  try {
    return await read({ after: position, limit });
  } catch (error) {
    if (!(error instanceof Unavailable)) {
      logger.error('engine list failed', { error: describeForLog(error) });
      throw new Error('the list failed; its log has the cause under this request id');
    }
    logger.warn('engine list unavailable', { dependency: error.dependency, reason: error.reason });
    return { ok: false, error: 'unavailable', detail: UNAVAILABLE_DETAIL[error.dependency] };
  }
}

/** A page of every active key: whose, at which exchange, in which version. No key material, no masks. */
export function listActiveKeys(db: Queryable, event: unknown): Promise<ListActiveKeysResult> {
  const keyNoOf = (cursor: string): number | undefined => {
    const [keyNo] = decodeCursor(cursor, 1) ?? [];
    return keyNo !== undefined && BigInt(keyNo) <= INT4_MAX ? Number(keyNo) : undefined;
  };
  return readPage(event, keyNoOf, async ({ after, limit }) => {
    // One row more than the page says whether another page follows.
    const rows = await selectActiveKeys(db, after ?? 0, limit + 1);
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return {
      ok: true as const,
      keys: page.map((row) => ({
        subject: row.auth_subject,
        user_no: row.user_no,
        exchange_id: row.exchange_id,
        exchange_kind: row.exchange_kind,
        key_version: row.key_version,
        check_status: row.check_status,
      })),
      next: rows.length > limit && last ? encodeCursor([String(last.key_no)]) : null,
    };
  });
}

/** The feed's start: before every event, those from before migration 012 (transaction id 0) included. */
const FEED_START: ChangePosition = { writtenIn: '0', eventId: '0' };

/** A page of every key's changes, oldest first, after the cursor; `next` is where the following page starts. */
export function listKeyChanges(db: Queryable, event: unknown): Promise<ListKeyChangesResult> {
  const positionOf = (cursor: string): ChangePosition | undefined => {
    const [writtenIn, eventId] = decodeCursor(cursor, 2) ?? [];
    if (writtenIn === undefined || eventId === undefined || BigInt(writtenIn) > XID8_MAX || BigInt(eventId) > INT8_MAX) return undefined;
    return { writtenIn, eventId };
  };
  return readPage(event, positionOf, async ({ after = FEED_START, limit }) => {
    const rows = await selectKeyChanges(db, after, limit);
    const last = rows.at(-1);
    const changes: KeyChange[] = rows.map((row) => ({
      subject: row.auth_subject,
      user_no: row.user_no,
      exchange_id: row.exchange_id,
      event: row.event,
      key_version: row.key_version,
      at: row.at.toISOString(),
    }));
    return { ok: true as const, changes, next: encodeCursor(last ? [last.written_in, last.event_id] : [after.writtenIn, after.eventId]) };
  });
}
