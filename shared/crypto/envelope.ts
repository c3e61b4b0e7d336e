import { createCipheriv, createDecipheriv, createHash, randomBytes, randomUUID } from 'node:crypto';
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

// AES-256-GCM under a named ring key, bound to its place by associated data: version 2 to its
// row's place, version 3 (what we write) also to its sealing.
const aes256Fields = {
  enc: canonicalBase64('enc'),
  nonce: canonicalBase64('nonce', V2_NONCE_BYTES),
  tag: canonicalBase64('tag', TAG_BYTES),
  alg: z.literal('AES-256-GCM'),
  // The ring's own kid rule, so a kid no ring could hold is malformed rather than unknown
  // (unknown triggers a ring reload).
  kid: ringDocument.shape.primary,
};

/** Written before sealings were recorded: read while its row has no sealing, upgraded by reencrypt. */
export const envelopeV2 = z.strictObject({ ...aes256Fields, version: z.literal(2) });
export type EnvelopeV2 = z.infer<typeof envelopeV2>;

/** What we write: bound to its row's place and to the one sealing it was made in. */
export const envelopeV3 = z.strictObject({ ...aes256Fields, version: z.literal(3) });
export type EnvelopeV3 = z.infer<typeof envelopeV3>;

const envelope = z.discriminatedUnion('version', [envelopeV1, envelopeV2, envelopeV3]);
/** Any version, as a row may hold it until re-encryption upgrades it. */
export type Envelope = z.infer<typeof envelope>;

export type EnvelopeFailure = 'malformed' | 'unknown_kid' | 'unreadable' | 'unbound' | 'restored';

/**
 * Why an envelope did not open. `unknown_kid` may mean the ring was rotated since it was loaded;
 * `unreadable` means wrong key, wrong place, another sealing or altered data; `unbound` means a
 * version-1 envelope that no record made at adoption places where it was found; `restored` means
 * an envelope of an older form in a row that has been sealed since (it was written back). Messages
 * never carry plaintext, key or ciphertext.
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

/**
 * The key row's sealed columns: each is its own field name in the associated data. `passphrase`
 * (migration 011) is null on keys without one and was never sealed before version 3.
 */
export const SEALED_FIELDS = ['public_key', 'private_key', 'passphrase'] as const;
export type SealedField = (typeof SEALED_FIELDS)[number];

export interface EnvelopePlace {
  table: 'tb_exchange_api_keys';
  userNo: number;
  exchangeId: number;
  field: SealedField;
  /**
   * The row's sealing: the identifier of the sealing that wrote its envelopes, null on a row not
   * sealed since sealings were recorded (migration 008), whose older envelopes open only then.
   */
  sealing: string | null;
  /** What adoption recorded for this place; a version-1 envelope opens only with a record that matches it. */
  v1Binding?: V1Binding;
}

/** A place being sealed now: it always has its sealing. */
export type SealingPlace = Omit<EnvelopePlace, 'sealing'> & { sealing: string };

/**
 * A new sealing's identifier. Random, not a counter, so the service needs no read before it
 * seals; the database refuses one it has stored before (migration 008).
 */
export const newSealing = (): string => randomUUID();

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
export const v1BindingDigest = (keyNo: number, place: Pick<EnvelopePlace, 'table' | 'userNo' | 'exchangeId' | 'field'>, env: EnvelopeV1): Buffer => {
  if (![keyNo, place.userNo, place.exchangeId].every(Number.isSafeInteger)) throw new RangeError('v1 binding needs integer ids');
  const lines = [V1_BINDING_TAG, place.table, keyNo, place.userNo, place.exchangeId, place.field, env.enc, env.nonce, env.tag];
  return createHash('sha256').update(lines.join('\n'), 'utf8').digest();
};

const boundToPlace = (env: EnvelopeV1, place: EnvelopePlace): boolean =>
  place.v1Binding?.digest?.equals(v1BindingDigest(place.v1Binding.keyNo, place, env)) === true;

const AD_TAG_V2 = 'exchange-api-key-vault/envelope-ad/v2';
const AD_TAG_V3 = 'exchange-api-key-vault/envelope-ad/v3';

/**
 * Associated data binding a ciphertext to its row and column (version 2), and to its sealing
 * (version 3). A JSON array is unambiguous (strings are quoted and escaped, so no two places
 * encode alike) and the leading tag keeps the two versions' AD, or AD of any other purpose, from
 * ever matching.
 */
export function associatedData(place: Omit<EnvelopePlace, 'sealing'>, version: 2): Buffer;
export function associatedData(place: Omit<EnvelopePlace, 'sealing'> & { sealing: string }, version: 3): Buffer;
export function associatedData(place: Omit<EnvelopePlace, 'sealing'> & { sealing?: string | null }, version: 2 | 3): Buffer {
  // JSON would write NaN as null and 1.5 as is; ids that are not integers are a bug upstream.
  if (!Number.isSafeInteger(place.userNo) || !Number.isSafeInteger(place.exchangeId)) {
    throw new RangeError('envelope place needs integer userNo and exchangeId');
  }
  const where = [place.table, place.userNo, place.exchangeId, place.field];
  if (version === 2) return Buffer.from(JSON.stringify([AD_TAG_V2, ...where]), 'utf8');
  if (typeof place.sealing !== 'string' || place.sealing === '') throw new RangeError('a version-3 place needs its sealing');
  return Buffer.from(JSON.stringify([AD_TAG_V3, ...where, place.sealing]), 'utf8');
}

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

/** Seals one field as a version-3 envelope under the ring's primary key, for one place and one sealing. */
export const seal = (plaintext: string, ring: KeyRing, place: SealingPlace): EnvelopeV3 => {
  // UTF-8 encoding would turn a lone surrogate into U+FFFD, so what opens would differ from what was sealed.
  if (!plaintext.isWellFormed()) throw new RangeError('plaintext is not well-formed Unicode');
  const kid = ring.primaryKid;
  if (kid === undefined) throw ringCannotSeal();
  const key = ring.key(kid);
  if (key?.length !== V2_KEY_BYTES) throw new RangeError(`primary key ${kid} is not a ${V2_KEY_BYTES}-byte key`);
  const nonce = randomBytes(V2_NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(associatedData(place, 3));
  const enc = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return {
    enc: enc.toString('base64'),
    nonce: nonce.toString('base64'),
    tag: cipher.getAuthTag().toString('base64'),
    alg: 'AES-256-GCM',
    version: 3,
    kid,
  };
};

const adFor = (env: Envelope, place: EnvelopePlace): Buffer | undefined => {
  if (env.version === 1) return undefined;
  if (env.version === 2) return associatedData(place, 2);
  if (place.sealing === null) throw new RangeError('a version-3 envelope needs its row sealing');
  return associatedData({ ...place, sealing: place.sealing }, 3);
};

/**
 * Opens a stored envelope of any version. The place and the sealing come from the row the
 * envelope was read from, never from the envelope, so a ciphertext moved to another row or
 * column, or written back after its row was sealed again, fails here.
 */
export const openEnvelope = (stored: unknown, ring: KeyRing, place: EnvelopePlace): string => {
  const env = parseEnvelope(stored);
  // A row sealed since sealings were recorded holds only version-3 envelopes of that sealing: an
  // older form there was written back. A version-3 envelope in a row with no sealing cannot open either.
  if ((env.version === 3) !== (place.sealing !== null)) {
    throw new EnvelopeError('restored', 'envelope is of another sealing than its row: written back after the row was sealed again');
  }
  // The seed bound no associated data: what keeps its envelopes in place is the record from adoption.
  if (env.version === 1 && !boundToPlace(env, place)) {
    throw new EnvelopeError('unbound', 'version-1 envelope is not recorded for this row and column: moved here, or written after adoption');
  }
  const kid = env.version === 1 ? ring.v1Kid : env.kid;
  if (kid === undefined) throw new EnvelopeError('unknown_kid', 'the key ring names no key for version-1 envelopes');
  const key = ring.key(kid);
  if (key === undefined) throw new EnvelopeError('unknown_kid', `the key ring has no key ${kid}`, kid);
  if (env.version !== 1 && key.length !== V2_KEY_BYTES) {
    throw new EnvelopeError('unreadable', `key ${kid} is ${key.length} bytes; version-${env.version} envelopes are AES-256`);
  }
  const plaintext = aesGcmDecrypt(key, Buffer.from(env.nonce, 'base64'), Buffer.from(env.enc, 'base64'), Buffer.from(env.tag, 'base64'), adFor(env, place));
  try {
    return strictUtf8.decode(plaintext);
  } catch {
    throw new EnvelopeError('unreadable', 'envelope plaintext is not valid UTF-8');
  }
};
