import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import * as z from 'zod/mini';
import { describeIssues } from '../schemas/issues.js';
import { decodeCanonicalBase64, type KeyRing, ringCannotSeal } from './key-ring.js';
import { ringDocument } from './ring-document.js';

const TAG_BYTES = 16;
const V1_NONCE_BYTES = 16; // pycryptodome's default for MODE_GCM, which the seed never overrode
const V2_NONCE_BYTES = 12;
const V2_KEY_BYTES = 32;

// A non-canonical spelling (say a flipped unused padding bit) decodes to the same bytes and
// would still authenticate, so a stored envelope could change without anything noticing.
const canonicalBase64 = (field: string, bytes?: number) =>
  z.string().check(
    z.refine(
      (text) => {
        const decoded = decodeCanonicalBase64(text);
        return decoded !== undefined && (bytes === undefined || decoded.length === bytes);
      },
      { message: bytes === undefined ? `${field} must be canonical base64` : `${field} must be canonical base64 of ${bytes} bytes` },
    ),
  );

/** The seed's envelope: read, never written. */
export const envelopeV1 = z.strictObject({
  enc: canonicalBase64('enc'),
  nonce: canonicalBase64('nonce', V1_NONCE_BYTES),
  tag: canonicalBase64('tag', TAG_BYTES),
  alg: z.literal('AES-GCM'),
  version: z.literal(1),
});
export type EnvelopeV1 = z.infer<typeof envelopeV1>;

/** What we write: AES-256-GCM under a named ring key, bound to its place by associated data. */
export const envelopeV2 = z.strictObject({
  enc: canonicalBase64('enc'),
  nonce: canonicalBase64('nonce', V2_NONCE_BYTES),
  tag: canonicalBase64('tag', TAG_BYTES),
  alg: z.literal('AES-256-GCM'),
  version: z.literal(2),
  // The ring's own kid rule, so a kid no ring could hold is malformed rather than unknown
  // (unknown triggers a ring reload).
  kid: ringDocument.shape.primary,
});
export type EnvelopeV2 = z.infer<typeof envelopeV2>;

const envelope = z.discriminatedUnion('version', [envelopeV1, envelopeV2]);
/** Either version, as a row may hold it until re-encryption upgrades it. */
export type Envelope = z.infer<typeof envelope>;

export type EnvelopeFailure = 'malformed' | 'unknown_kid' | 'unreadable' | 'unbound';

/**
 * Why an envelope did not open. `unknown_kid` may mean the ring was rotated since it was loaded;
 * `unreadable` means wrong key, wrong place or altered data; `unbound` means a version-1 envelope
 * that no record made at adoption places where it was found. Messages never carry plaintext,
 * key or ciphertext.
 */
export class EnvelopeError extends Error {
  override readonly name = 'EnvelopeError';
  constructor(
    readonly reason: EnvelopeFailure,
    message: string,
    /** Set for `unknown_kid` when the envelope names one (version-1 envelopes name none). */
    readonly kid?: string,
  ) {
    super(message);
  }
}

const parseEnvelope = (value: unknown): Envelope => {
  const parsed = envelope.safeParse(value);
  if (parsed.success) return parsed.data;
  // Field names only: an unknown field's name is data from the row, not ours to repeat.
  throw new EnvelopeError('malformed', `envelope is malformed: ${describeIssues(parsed.error, 'envelope')}`);
};

export interface EnvelopePlace {
  table: 'tb_exchange_api_keys';
  userNo: number;
  exchangeId: number;
  field: 'public_key' | 'private_key';
  /** What adoption recorded for this place; a version-1 envelope opens only with a record that matches it. */
  v1Binding?: V1Binding;
}

/** A row's key_no and the digest migration 005 recorded for one of its fields (null: none was). */
export interface V1Binding {
  keyNo: number;
  digest: Buffer | null;
}

const V1_BINDING_TAG = 'exchange-api-key-vault/v1-binding';

/**
 * The digest binding a version-1 envelope to its row and column, byte for byte what migration
 * 005's v1_envelope_digest computes: SHA-256 over one line each of a tag, the table, key_no,
 * user_no, exchange_id, the column, and the envelope's enc, nonce and tag.
 */
export const v1BindingDigest = (keyNo: number, place: EnvelopePlace, env: EnvelopeV1): Buffer => {
  if (![keyNo, place.userNo, place.exchangeId].every(Number.isSafeInteger)) throw new RangeError('v1 binding needs integer ids');
  const lines = [V1_BINDING_TAG, place.table, keyNo, place.userNo, place.exchangeId, place.field, env.enc, env.nonce, env.tag];
  return createHash('sha256').update(lines.join('\n'), 'utf8').digest();
};

const boundToPlace = (env: EnvelopeV1, place: EnvelopePlace): boolean =>
  place.v1Binding?.digest?.equals(v1BindingDigest(place.v1Binding.keyNo, place, env)) === true;

const AD_TAG = 'exchange-api-key-vault/envelope-ad/v2';

/**
 * Associated data binding a version-2 ciphertext to its row and column. A JSON array is
 * unambiguous (strings are quoted and escaped, so no two places encode alike) and the leading
 * tag keeps it from ever matching AD of some other format or purpose.
 */
export const associatedData = (place: EnvelopePlace): Buffer => {
  // JSON would write NaN as null and 1.5 as is; ids that are not integers are a bug upstream.
  if (!Number.isSafeInteger(place.userNo) || !Number.isSafeInteger(place.exchangeId)) {
    throw new RangeError('envelope place needs integer userNo and exchangeId');
  }
  return Buffer.from(JSON.stringify([AD_TAG, place.table, place.userNo, place.exchangeId, place.field]), 'utf8');
};

const GCM_BY_KEY_BYTES: Readonly<Record<number, 'aes-128-gcm' | 'aes-192-gcm' | 'aes-256-gcm'>> = {
  16: 'aes-128-gcm',
  24: 'aes-192-gcm',
  32: 'aes-256-gcm',
};

/**
 * AES-GCM decryption with the AES variant chosen by key length, a 16-byte tag required, and the
 * plaintext released only once the tag verifies. Exported so published test vectors exercise
 * exactly the path envelopes take.
 */
export const aesGcmDecrypt = (key: Buffer, nonce: Buffer, ciphertext: Buffer, tag: Buffer, ad?: Buffer): Buffer => {
  const algorithm = GCM_BY_KEY_BYTES[key.length];
  if (algorithm === undefined) throw new RangeError(`AES key is ${key.length} bytes, expected 16, 24 or 32`);
  // Without this and authTagLength below, Node accepts tags as short as 4 bytes, and a
  // 4-byte tag is forged in about 2^32 tries.
  if (tag.length !== TAG_BYTES) throw new EnvelopeError('malformed', `tag is ${tag.length} bytes, expected ${TAG_BYTES}`);
  if (nonce.length === 0) throw new EnvelopeError('malformed', 'nonce is empty');
  const decipher = createDecipheriv(algorithm, key, nonce, { authTagLength: TAG_BYTES });
  decipher.setAuthTag(tag);
  if (ad !== undefined) decipher.setAAD(ad);
  const head = decipher.update(ciphertext);
  try {
    return Buffer.concat([head, decipher.final()]);
  } catch {
    throw new EnvelopeError('unreadable', 'envelope does not authenticate: wrong key, wrong place or altered data');
  }
};

// fatal: the seed's Python decode('utf-8') is strict, and a replacement character would
// silently change a key. ignoreBOM: keep a leading U+FEFF, as Python's utf-8 codec does.
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Seals one field as a version-2 envelope under the ring's primary key. */
export const sealV2 = (plaintext: string, ring: KeyRing, place: EnvelopePlace): EnvelopeV2 => {
  // UTF-8 encoding would turn a lone surrogate into U+FFFD, so what opens would differ from what was sealed.
  if (!plaintext.isWellFormed()) throw new RangeError('plaintext is not well-formed Unicode');
  const kid = ring.primaryKid;
  if (kid === undefined) throw ringCannotSeal();
  const key = ring.key(kid);
  if (key?.length !== V2_KEY_BYTES) throw new RangeError(`primary key ${kid} is not a ${V2_KEY_BYTES}-byte key`);
  const nonce = randomBytes(V2_NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(associatedData(place));
  const enc = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return {
    enc: enc.toString('base64'),
    nonce: nonce.toString('base64'),
    tag: cipher.getAuthTag().toString('base64'),
    alg: 'AES-256-GCM',
    version: 2,
    kid,
  };
};

/**
 * Opens a stored envelope of either version. The place comes from the row the envelope was read
 * from, never from the envelope, so a ciphertext moved to another row or column fails here.
 */
export const openEnvelope = (stored: unknown, ring: KeyRing, place: EnvelopePlace): string => {
  const env = parseEnvelope(stored);
  // The seed bound no associated data: what keeps its envelopes in place is the record from adoption.
  if (env.version === 1 && !boundToPlace(env, place)) {
    throw new EnvelopeError('unbound', 'version-1 envelope is not recorded for this row and column: moved here, or written after adoption');
  }
  const kid = env.version === 1 ? ring.v1Kid : env.kid;
  if (kid === undefined) throw new EnvelopeError('unknown_kid', 'the key ring names no key for version-1 envelopes');
  const key = ring.key(kid);
  if (key === undefined) throw new EnvelopeError('unknown_kid', `the key ring has no key ${kid}`, kid);
  if (env.version === 2 && key.length !== V2_KEY_BYTES) {
    throw new EnvelopeError('unreadable', `key ${kid} is ${key.length} bytes; version-2 envelopes are AES-256`);
  }
  const plaintext = aesGcmDecrypt(
    key,
    Buffer.from(env.nonce, 'base64'),
    Buffer.from(env.enc, 'base64'),
    Buffer.from(env.tag, 'base64'),
    env.version === 2 ? associatedData(place) : undefined,
  );
  try {
    return strictUtf8.decode(plaintext);
  } catch {
    throw new EnvelopeError('unreadable', 'envelope plaintext is not valid UTF-8');
  }
};
