import { conflict, forbidden, notFound } from '../errors.js';
import { sealV2 } from '../crypto/envelope.js';
import { KeyRingUnavailable, type KeyRingSource } from '../crypto/key-ring-source.js';
import { maskPrivateKey, maskPublicKey } from '../masking.js';
import { API_KEY_UNIQUE_CONSTRAINT, insertApiKey, selectMaskedKeys, type InsertOutcome, type MaskedKeyRow } from '../db/api-keys.js';
import { isUniqueViolation, type Queryable } from '../db/query.js';
import type { UserDirectory } from '../db/users.js';
import type { Caller } from '../http/identity.js';
import type { ListApiKeysQuery, MaskedApiKey, RegisterApiKeyBody, RegisterApiKeyQuery, RegisteredMessage } from '../schemas/api-keys.js';

export const API_KEYS_TABLE = 'tb_exchange_api_keys';

const NOT_YOURS = 'user_no does not belong to the authenticated user.';

export interface RegisterDependencies {
  readonly db: Queryable;
  readonly users: UserDirectory;
  readonly keyRing: KeyRingSource;
}

export async function registerApiKey(
  deps: RegisterDependencies,
  caller: Caller,
  body: RegisterApiKeyBody,
  query: RegisterApiKeyQuery = {},
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
  if (guess !== undefined) {
    const outcome = await sealAndInsert(deps, caller, body, guess).catch(async (error: unknown) => {
      // Whether a named user_no is the caller's is not known yet, and a 403 must not wait on the keys.
      if (remembered === undefined && error instanceof KeyRingUnavailable) await ownUserNo(deps, caller, claimed);
      throw error;
    });
    if (outcome.callerMatched) {
      deps.users.remember(caller.subject, guess);
      return registered(outcome);
    }
    // The caller's guess was not theirs, or a remembered one was relinked since: ask the database.
    deps.users.forget(caller.subject);
  }
  const outcome = await sealAndInsert(deps, caller, body, await ownUserNo(deps, caller, claimed));
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

async function sealAndInsert(deps: RegisterDependencies, caller: Caller, body: RegisterApiKeyBody, userNo: number): Promise<InsertOutcome> {
  const ring = await deps.keyRing.current();
  const place = { table: API_KEYS_TABLE, userNo, exchangeId: body.exchange_id } as const;
  try {
    return await insertApiKey(deps.db, {
      subject: caller.subject,
      userNo,
      exchangeId: body.exchange_id,
      publicKey: sealV2(body.public_key, ring, { ...place, field: 'public_key' }),
      privateKey: sealV2(body.private_key, ring, { ...place, field: 'private_key' }),
      publicKeyMasked: maskPublicKey(body.public_key),
      privateKeyMasked: maskPrivateKey(body.private_key),
    });
  } catch (error) {
    if (isUniqueViolation(error, [API_KEY_UNIQUE_CONSTRAINT])) throw conflict('An API key is already registered for this exchange.');
    throw error;
  }
}

export async function listApiKeys(db: Queryable, caller: Caller, params: ListApiKeysQuery): Promise<MaskedApiKey[]> {
  const rows = await selectMaskedKeys(db, caller.subject);
  if (params.user_no !== undefined && params.user_no !== rows[0]?.user_no) throw forbidden(NOT_YOURS);
  return rows.flatMap(toMaskedApiKey);
}

function toMaskedApiKey(row: MaskedKeyRow): MaskedApiKey[] {
  if (row.exchange_id === null || row.exchange_name === null || row.create_date === null) return [];
  const ready = row.public_key_masked !== null && row.private_key_masked !== null;
  return [
    {
      exchange_id: row.exchange_id,
      exchange_name: row.exchange_name,
      public_key_masked: row.public_key_masked,
      private_key_masked: row.private_key_masked,
      is_active: row.is_active ?? false,
      create_date: row.create_date.toISOString(),
      update_date: row.update_date?.toISOString() ?? null,
      status: ready ? 'ready' : 'pending_upgrade',
    },
  ];
}
