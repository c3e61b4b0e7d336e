import type * as z from 'zod';
import { BARE_KEY_KID, ringDocument, type RingDocument } from './ring-document.js';

/**
 * Raised for a key-ring secret that cannot become a ring. The message says what is wrong and
 * with which kid, but never quotes the secret: it ends up in logs and deploy output.
 */
export class KeyRingError extends Error {
  override readonly name = 'KeyRingError';
}

export interface KeyRing {
  /** The kid new envelopes are sealed under; its key is always 32 bytes. */
  readonly primaryKid: string;
  /** The kid that opens version-1 (seed) envelopes, which name no kid; undefined if the ring cannot. */
  readonly v1Kid: string | undefined;
  /** A copy of the key, so no caller can alter (or zero) the ring's own. */
  key(kid: string): Buffer | undefined;
  readonly kids: readonly string[];
}

/**
 * Decodes base64 only in its one canonical spelling. Buffer.from(s, 'base64') skips stray
 * characters, accepts the URL-safe alphabet and missing padding, and ignores the unused bits
 * of the last character, so many texts decode to the same bytes; Node always encodes in the
 * canonical form, so a text that survives the round trip is that form.
 */
export const decodeCanonicalBase64 = (text: string): Buffer | undefined => {
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? bytes : undefined;
};

const KID = /^[A-Za-z0-9._-]{1,64}$/;

// Zod puts record keys in issue paths and unknown field names in messages; in a mistyped secret
// either could be key material, so only names that are well-formed kids are repeated.
const describeIssue = (issue: z.core.$ZodIssue): string => {
  const path = issue.path.map((segment) => (typeof segment === 'string' && KID.test(segment) ? segment : '?')).join('.');
  const message = issue.code === 'unrecognized_keys' ? 'unrecognized field' : issue.message;
  return path === '' ? message : `${path}: ${message}`;
};

/**
 * Reads the key-ring secret (or SYMMETRIC_KEY): a JSON ring, or a bare base64 key that becomes
 * a one-key ring which both writes and reads version-1 envelopes.
 */
export const parseRingText = (text: string): RingDocument => {
  // Secrets pasted from a file or a shell usually carry a trailing newline.
  const trimmed = text.trim();
  if (trimmed === '') throw new KeyRingError('key ring secret is empty');
  if (!trimmed.startsWith('{')) {
    if (decodeCanonicalBase64(trimmed) === undefined) {
      throw new KeyRingError('key ring secret is neither a JSON ring nor a canonical base64 key');
    }
    return { primary: BARE_KEY_KID, v1: BARE_KEY_KID, keys: { [BARE_KEY_KID]: trimmed } };
  }
  let json: unknown;
  try {
    json = JSON.parse(trimmed);
  } catch {
    // JSON.parse's own message quotes the text around the error, which here is the secret.
    throw new KeyRingError('key ring secret starts with "{" but is not valid JSON');
  }
  const parsed = ringDocument.safeParse(json);
  if (!parsed.success) {
    throw new KeyRingError(`key ring is invalid: ${parsed.error.issues.map(describeIssue).join('; ')}`);
  }
  return parsed.data;
};

const AES_KEY_BYTES = [16, 24, 32];

// We only seal with AES-256; the seed chose AES-128/192/256 by the length of its one key, so
// only the key that reads its envelopes may be shorter.
const checkKeyLength = (doc: RingDocument, kid: string, key: Buffer): void => {
  if (kid === doc.primary) {
    if (key.length !== 32) {
      throw new KeyRingError(
        `primary key ${kid} is ${key.length} bytes, expected 32 (a shorter seed key can only be the ring's v1 key)`,
      );
    }
  } else if (kid === doc.v1) {
    if (!AES_KEY_BYTES.includes(key.length)) {
      throw new KeyRingError(`v1 key ${kid} is ${key.length} bytes, expected 16, 24 or 32`);
    }
  } else if (key.length !== 32) {
    throw new KeyRingError(`key ${kid} is ${key.length} bytes, expected 32`);
  }
};

/**
 * Decodes every entry, unwrapping KMS-wrapped ones with `unwrap`, and checks each key's length
 * for its role. Errors from `unwrap` pass through unchanged so callers can tell an unreachable
 * KMS (retry later) from a bad ring.
 */
export const buildKeyRing = async (
  doc: RingDocument,
  unwrap: (blob: Buffer, kid: string) => Promise<Buffer>,
): Promise<KeyRing> => {
  const entries = await Promise.all(
    Object.entries(doc.keys).map(async ([kid, entry]): Promise<[string, Buffer]> => {
      const text = typeof entry === 'string' ? entry : entry.kms;
      const bytes = decodeCanonicalBase64(text);
      if (bytes === undefined) {
        throw new KeyRingError(`${typeof entry === 'string' ? 'key' : 'wrapped key'} ${kid} is not canonical base64`);
      }
      const key = typeof entry === 'string' ? bytes : await unwrap(bytes, kid);
      checkKeyLength(doc, kid, key);
      return [kid, key];
    }),
  );
  const keys = new Map(entries);
  // The document type promises these, but a ring built from an unchecked object must not
  // come up unable to write, or silently unable to read the seed's envelopes.
  if (!keys.has(doc.primary)) throw new KeyRingError(`primary ${doc.primary} names no key in the ring`);
  if (doc.v1 !== undefined && !keys.has(doc.v1)) throw new KeyRingError(`v1 ${doc.v1} names no key in the ring`);

  // Keys live only in this closure: logging or serializing the ring shows kids, never bytes.
  return Object.freeze({
    primaryKid: doc.primary,
    v1Kid: doc.v1,
    kids: Object.freeze([...keys.keys()]),
    key: (kid: string): Buffer | undefined => {
      const key = keys.get(kid);
      return key === undefined ? undefined : Buffer.from(key);
    },
  });
};

/** A ring from plain keys only (SYMMETRIC_KEY locally and in tests), with no KMS to unwrap. */
export const keyRingFromText = (text: string): Promise<KeyRing> =>
  buildKeyRing(parseRingText(text), (_blob, kid) =>
    Promise.reject(new KeyRingError(`key ${kid} is KMS-wrapped; this ring source holds plain keys only`)),
  );
