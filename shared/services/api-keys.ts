import { newSealing, seal } from '../crypto/envelope.js';
import type { KeyRingSource } from '../crypto/key-ring-source.js';
import {
  API_KEY_UNIQUE_CONSTRAINT,
  deleteKeyRow,
  type InsertOutcome,
  insertApiKey,
  type KeyChangeOutcome,
  type KeyChangeTarget,
  type KeyEventRow,
  type KeyRow,
  type KindOutcome,
  type MaskedKeyRow,
  replaceKeyRow,
  type SealedPair,
  selectApiKey,
  selectKeyEvents,
  selectMaskedKeys,
  setKeyRowActive,
} from '../db/api-keys.js';
import type { ExchangeKindMemory } from '../db/exchanges.js';
import type { StoredCheck } from '../db/key-checks.js';
import { isUniqueViolation, type Queryable } from '../db/query.js';
import { API_KEYS_TABLE } from '../db/tables.js';
import type { UserDirectory } from '../db/users.js';
import { AppError, conflict, forbidden, notFound, Unavailable, unprocessable } from '../errors.js';
import type { KeyChecker } from '../exchanges/checker.js';
import type { Credentials } from '../exchanges/facts.js';
import type { ExchangeKind } from '../exchanges/kinds.js';
import { credentialIssues } from '../exchanges/shapes.js';
import { maskPrivateKey, maskPublicKey } from '../masking.js';
import {
  type ApiKeyPathParams,
  type KeyEvent,
  type KeyEventsQuery,
  keyEvent,
  type MaskedApiKey,
  type OwnerQuery,
  type RegisterApiKeyBody,
  type RegisterApiKeyQuery,
  type RegisteredMessage,
  type ReplaceApiKeyBody,
  type SetApiKeyActiveBody,
} from '../schemas/api-keys.js';
import type { Caller } from './caller.js';
import { type ChecksOfKinds, checksOfKinds, toCheck } from './key-checks.js';
import type { Tagged } from './tagged.js';

const NOT_YOURS = 'user_no does not belong to the authenticated user.';
const NO_KEY = 'No API key is registered for this exchange.';
const STALE = 'The key changed since the ETag in If-Match; read it again.';

/** What the writes that seal need: register and replace. */
export interface RegisterDependencies {
  readonly db: Queryable;
  readonly users: UserDirectory;
  readonly keyRingSource: KeyRingSource;
  readonly kinds: ExchangeKindMemory;
  /** Asks the key's exchange about it before it is stored (checks off: nothing is asked). */
  readonly checker: KeyChecker;
}

export async function registerApiKey(
  deps: RegisterDependencies,
  caller: Caller,
  body: RegisterApiKeyBody,
  query: RegisterApiKeyQuery = {},
  requestId?: string,
): Promise<RegisteredMessage> {
  const named = new Set([body.user_no, query.user_no].filter((userNo): userNo is number => userNo !== undefined));
  if (named.size > 1) throw forbidden(NOT_YOURS);
  const [claimed] = named;
  let remembered = deps.users.remembered(caller.subject);
  if (remembered !== undefined && claimed !== undefined && claimed !== remembered) {
    // Memory is no ground for a 403: the subject may have been relinked to the row it names (the
    // adoption runbook does that). Forgotten, the request goes the way of one this container never saw.
    deps.users.forget(caller.subject);
    remembered = undefined;
  }
  // A user_no this container knows, or else the one the caller names (as the seed's clients do),
  // saves the user lookup: the insert writes only if that number is the caller's own row, so a
  // wrong guess costs one statement that writes nothing.
  const guess = remembered ?? claimed;
  // One check per kind for the whole request, however many writes it takes.
  const checks = checksOfKinds(deps.checker, body);
  if (guess !== undefined) {
    const outcome = await sealAndInsert(deps, checks, caller, body, guess, requestId).catch(async (error: unknown) => {
      // Whether a named user_no is the caller's is not known yet, and a 403 must not wait on the keys or the exchange.
      const keysUnusable = error instanceof Unavailable && error.dependency !== 'database';
      if (remembered === undefined && keysUnusable) await ownUserNo(deps, caller, claimed);
      throw error;
    });
    if (outcome.callerMatched) {
      deps.users.remember(caller.subject, guess);
      return registered(outcome);
    }
    // The caller's guess was not theirs, or a remembered one was relinked since: ask the database.
    deps.users.forget(caller.subject);
  }
  const outcome = await sealAndInsert(deps, checks, caller, body, await ownUserNo(deps, caller, claimed), requestId);
  if (!outcome.callerMatched) throw conflict('The account changed during the request; retry.');
  return registered(outcome);
}

/** The caller's user_no from the database (creating the user), refused if the request named another. */
async function ownUserNo(deps: RegisterDependencies, caller: Caller, claimed: number | undefined): Promise<number> {
  const userNo = await deps.users.userNoFor(caller.subject);
  if (claimed !== undefined && claimed !== userNo) throw forbidden(NOT_YOURS);
  return userNo;
}

function registered(outcome: InsertOutcome): RegisteredMessage {
  if (!outcome.exchangeFound) throw notFound('Exchange not found.');
  if (!outcome.inserted) throw new Error('insert matched caller and exchange but wrote no row');
  return { message: 'API key registered successfully.' };
}

/** Every half sealed under the ring's primary in one new sealing, each bound to its row and field, and the masks of two. */
async function sealPair(keyRingSource: KeyRingSource, userNo: number, exchangeId: number, pair: ReplaceApiKeyBody): Promise<SealedPair> {
  const ring = await keyRingSource.current();
  const place = { table: API_KEYS_TABLE, userNo, exchangeId, sealing: newSealing() } as const;
  return {
    sealing: place.sealing,
    publicKey: seal(pair.public_key, ring, { ...place, field: 'public_key' }),
    privateKey: seal(pair.private_key, ring, { ...place, field: 'private_key' }),
    passphrase: pair.passphrase === undefined ? null : seal(pair.passphrase, ring, { ...place, field: 'passphrase' }),
    publicKeyMasked: maskPublicKey(pair.public_key),
    privateKeyMasked: maskPrivateKey(pair.private_key),
  };
}

/**
 * A 422 naming each half that is not what this kind of exchange hands out, and what it looks like
 * (never the value). An exchange whose kind is not known takes any key, with a passphrase or without.
 */
function checkShape(kind: ExchangeKind | null, credentials: Credentials): void {
  const issues = kind === null ? [] : credentialIssues(kind, credentials);
  if (issues.length > 0) throw unprocessable(issues.map(({ field, message }) => ({ loc: ['body', field], msg: message, type: 'credential_shape' })));
}

/** A kind may flip back and forth while a request runs; past this many tries it is told to retry. */
const KIND_ATTEMPTS = 3;

/**
 * Checks the credentials against the kind this container last saw the exchange have (none: null),
 * shape first and then at the exchange, and writes under it with that check; the write goes
 * through only if the exchange still has that kind. If it has another, nothing was written: the
 * credentials are checked against that one and written again. A failed check or an exchange that
 * does not answer ends it before anything is written, and no transaction waits on the exchange.
 */
async function underExchangeKind<T extends KindOutcome>(
  kinds: ExchangeKindMemory,
  exchangeId: number,
  credentials: Credentials,
  checks: ChecksOfKinds,
  write: (checkedKind: ExchangeKind | null, check: StoredCheck) => Promise<T>,
): Promise<T> {
  let kind = kinds.remembered(exchangeId) ?? null;
  for (let attempt = 0; attempt < KIND_ATTEMPTS; attempt += 1) {
    checkShape(kind, credentials);
    const outcome = await write(kind, await checks(kind));
    if (outcome.exchangeKind === undefined) return outcome;
    kinds.remember(exchangeId, outcome.exchangeKind);
    if (outcome.exchangeKind === kind) return outcome;
    kind = outcome.exchangeKind;
  }
  throw conflict('The exchange changed during the request; retry.');
}

async function sealAndInsert(
  deps: RegisterDependencies,
  checks: ChecksOfKinds,
  caller: Caller,
  body: RegisterApiKeyBody,
  userNo: number,
  requestId: string | undefined,
): Promise<InsertOutcome> {
  const sealed = await sealPair(deps.keyRingSource, userNo, body.exchange_id, body);
  try {
    return await underExchangeKind(deps.kinds, body.exchange_id, body, checks, (checkedKind, check) =>
      insertApiKey(deps.db, { subject: caller.subject, requestId, userNo, exchangeId: body.exchange_id, checkedKind, check, ...sealed }),
    );
  } catch (error) {
    if (isUniqueViolation(error, [API_KEY_UNIQUE_CONSTRAINT])) throw conflict('An API key is already registered for this exchange.');
    throw error;
  }
}

export async function listApiKeys(db: Queryable, caller: Caller, params: OwnerQuery): Promise<MaskedApiKey[]> {
  const rows = await selectMaskedKeys(db, caller.subject);
  if (params.user_no !== undefined && params.user_no !== rows[0]?.user_no) throw forbidden(NOT_YOURS);
  return rows.flatMap(toMaskedApiKey);
}

export function toMaskedApiKey(row: MaskedKeyRow): MaskedApiKey[] {
  if (row.exchange_id === null || row.exchange_name === null || row.create_date === null) return [];
  const ready = row.public_key_masked !== null && row.private_key_masked !== null;
  return [
    {
      user_no: row.user_no,
      exchange_id: row.exchange_id,
      exchange_name: row.exchange_name,
      exchange_kind: row.exchange_kind,
      public_key_masked: row.public_key_masked,
      private_key_masked: row.private_key_masked,
      has_passphrase: row.has_passphrase ?? false,
      is_active: row.is_active ?? false,
      key_version: row.key_version ?? 1,
      create_date: row.create_date.toISOString(),
      update_date: row.update_date?.toISOString() ?? null,
      status: ready ? 'ready' : 'pending_upgrade',
      check: toCheck(row),
    },
  ];
}

/** What every route on one key is given: who asks, in which request, for which key, under which precondition. */
export interface KeyRequest {
  readonly caller: Caller;
  readonly requestId: string;
  readonly params: ApiKeyPathParams;
  readonly query: OwnerQuery;
  readonly ifMatch?: readonly string[] | undefined;
}

export function tagged(row: KeyRow | undefined): Tagged<MaskedApiKey> {
  const [value] = row ? toMaskedApiKey(row) : [];
  if (!value || !row?.etag) throw notFound(NO_KEY);
  return { value, etag: row.etag };
}

/** Reads the masks stored beside the envelopes: never decrypts, never needs the key ring. */
export async function getApiKey(db: Queryable, { caller, params, query }: KeyRequest): Promise<Tagged<MaskedApiKey>> {
  const row = await selectApiKey(db, caller.subject, params.exchange_id);
  if (query.user_no !== undefined && query.user_no !== row?.user_no) throw forbidden(NOT_YOURS);
  return tagged(row);
}

const targetOf = (request: KeyRequest, userNo: number | undefined): KeyChangeTarget => ({
  subject: request.caller.subject,
  requestId: request.requestId,
  exchangeId: request.params.exchange_id,
  userNo,
  ifMatch: request.ifMatch,
});

/**
 * The outcome of a change as the contract answers it: 403, 404, 412, or the key as it now is. A
 * key deleted by a request that committed while this one waited for its row is not found, unless
 * this one named a version (If-Match), which is then no longer current.
 */
function decided(outcome: KeyChangeOutcome, request: KeyRequest): KeyChangeOutcome {
  if (!outcome.callerMatched && request.query.user_no !== undefined) throw forbidden(NOT_YOURS);
  if (!outcome.found || (!outcome.applied && request.ifMatch === undefined)) throw notFound(NO_KEY);
  if (!outcome.applied) throw new AppError(412, STALE);
  return outcome;
}

/**
 * Every half sealed afresh under the current primary, checked against the exchange's kind, bound to the row they go into, and the
 * masks recomputed, in one statement with the `replaced` event. Sealing binds the user_no, so it
 * must be known first: from this container's memory, or one lookup that creates no user (a subject
 * without one has no key to replace).
 */
export async function replaceApiKey(deps: RegisterDependencies, request: KeyRequest, body: ReplaceApiKeyBody): Promise<Tagged<MaskedApiKey>> {
  const userNo = await deps.users.linkedUserNo(request.caller.subject, request.query.user_no);
  if (request.query.user_no !== undefined && request.query.user_no !== userNo) throw forbidden(NOT_YOURS);
  if (userNo === undefined) throw notFound(NO_KEY);
  const sealed = await sealPair(deps.keyRingSource, userNo, request.params.exchange_id, body);
  const outcome = await underExchangeKind(deps.kinds, request.params.exchange_id, body, checksOfKinds(deps.checker, body), (checkedKind, check) =>
    replaceKeyRow(deps.db, targetOf(request, userNo), { ...sealed, checkedKind, check }),
  );
  if (!outcome.callerMatched) {
    // The remembered user_no is no longer this subject's: the envelopes are bound to the wrong row.
    deps.users.forget(request.caller.subject);
    throw conflict('The account changed during the request; retry.');
  }
  return tagged(decided(outcome, request).key);
}

/** Pausing (false) or resuming (true) a key; setting the value it already has changes nothing and records nothing. */
export async function setApiKeyActive(db: Queryable, request: KeyRequest, body: SetApiKeyActiveBody): Promise<Tagged<MaskedApiKey>> {
  const outcome = await setKeyRowActive(db, targetOf(request, request.query.user_no), body.is_active);
  return tagged(decided(outcome, request).key);
}

export async function deleteApiKey(db: Queryable, request: KeyRequest): Promise<void> {
  decided(await deleteKeyRow(db, targetOf(request, request.query.user_no)), request);
}

/** The key's history, newest first; it outlives the key, and another user's is simply empty. */
export async function listApiKeyEvents(db: Queryable, { caller, params, query }: Omit<KeyRequest, 'query'> & { query: KeyEventsQuery }): Promise<KeyEvent[]> {
  const rows = await selectKeyEvents(db, caller.subject, params.exchange_id, { limit: query.limit, before: query.before });
  if (query.user_no !== undefined && query.user_no !== rows[0]?.caller_user_no) throw forbidden(NOT_YOURS);
  return rows.flatMap(toKeyEvent);
}

function toKeyEvent(row: KeyEventRow): KeyEvent[] {
  if (row.event_id === null || row.at === null) return [];
  return [
    keyEvent.parse({
      event_id: Number(row.event_id),
      event: row.event,
      at: row.at.toISOString(),
      actor: { kind: row.actor_kind, id: row.actor_id },
      request_id: row.request_id,
      purpose: row.purpose,
      reason: row.reason,
    }),
  ];
}
