import { conflict, forbidden, notFound } from '../errors.js';
import { sealV2 } from '../crypto/envelope.js';
import type { KeyRingSource } from '../crypto/key-ring-source.js';
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
  const named = [body.user_no, query.user_no].filter((userNo): userNo is number => userNo !== undefined);
  let outcome = await sealAndInsert(deps, caller, body, named);
  if (!outcome.callerMatched) {
    // The remembered user_no was relinked since this container learned it: learn it again, once.
    deps.users.forget(caller.subject);
    outcome = await sealAndInsert(deps, caller, body, named);
  }
  if (!outcome.callerMatched) throw conflict('The account changed during the request; retry.');
  if (!outcome.exchangeFound) throw notFound('Exchange not found.');
  if (!outcome.inserted) throw new Error('insert matched caller and exchange but wrote no row');
  return { message: 'API key registered successfully.' };
}

async function sealAndInsert(deps: RegisterDependencies, caller: Caller, body: RegisterApiKeyBody, namedUserNos: readonly number[]): Promise<InsertOutcome> {
  const userNo = await deps.users.userNoFor(caller.subject);
  if (namedUserNos.some((named) => named !== userNo)) throw forbidden(NOT_YOURS);
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
