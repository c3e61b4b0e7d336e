import { OperatorError, Unavailable } from '../errors.js';
import { describeIssues } from '../schemas/issues.js';
import { BARE_KEY_KID, KID_PATTERN, type RingDocument, ringDocument } from './ring-document.js';

/**
 * Raised for a key-ring secret that cannot become a ring. The message says what is wrong and
 * with which kid, but never quotes the secret: it ends up in logs and deploy output.
 */
export class KeyRingError extends OperatorError {
  override readonly name = 'KeyRingError';
}

/**
 * The ring loaded but can seal nothing: it is a bare 16- or 24-byte seed key, which only opens the
 * seed's envelopes. Retrying does not help until an operator runs `rotate`, which adds a 32-byte primary.
 */
export const ringCannotSeal = (): Unavailable =>
  new Unavailable(
    'sealing-key',
    'a bare 16- or 24-byte seed key only opens seed envelopes: the ring needs a 32-byte primary key (an operator must run `rotate`)',
  );

export interface KeyRing {
  /**
   * The kid new envelopes are sealed under; its key is always 32 bytes. Undefined for a ring that
   * seals nothing: a bare 16- or 24-byte seed key, which only opens the seed's envelopes.
   */
  readonly primaryKid: string | undefined;
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

/**
 * A ring name as an error may show it. A 24-byte key is 32 base64 characters without `+`, `/` or
 * padding about a third of the time, and then it is a well-formed kid: a name that decodes as
 * 16 bytes or more of canonical base64 could be a key typed where a kid belongs, so it is never
 * repeated. Kids we make (`k20251125T103000Z-…`) never look like that.
 */
export const kidForMessage = (name: string): string => {
  if (!KID_PATTERN.test(name)) return '(a malformed kid)';
  const decoded = decodeCanonicalBase64(name);
  return decoded !== undefined && decoded.length >= 16 ? '(a kid that looks like key material)' : name;
};

// Zod puts record keys in issue paths; in a mistyped secret one could be key material, so only
// names that are safe to show are repeated.
const safeSegment = (segment: PropertyKey): string => (typeof segment === 'string' && kidForMessage(segment) === segment ? segment : '?');

/**
 * Whether valid JSON names a field twice in one object. JSON.parse silently keeps the last, so a
 * ring pasted with two `"primary"` fields or two entries under one kid would load as something its
 * author did not read. Names are compared decoded (`"a"` and `"\u0061"` are the same field).
 */
const repeatsAFieldName = (json: string): boolean => {
  const objects: (Set<string> | undefined)[] = [];
  let expectingName = false;
  for (let i = 0; i < json.length; i += 1) {
    const char = json[i];
    if (char === '"') {
      let end = i + 1;
      while (end < json.length && json[end] !== '"') end += json[end] === '\\' ? 2 : 1;
      const names = objects.at(-1);
      if (names !== undefined && expectingName) {
        const name = JSON.parse(json.slice(i, end + 1)) as string;
        if (names.has(name)) return true;
        names.add(name);
        expectingName = false;
      }
      i = end;
    } else if (char === '{') {
      objects.push(new Set());
      expectingName = true;
    } else if (char === '[') {
      objects.push(undefined);
    } else if (char === '}' || char === ']') {
      objects.pop();
    } else if (char === ',') {
      expectingName = objects.at(-1) !== undefined;
    }
  }
  return false;
};

/**
 * Reads the key-ring secret (or SYMMETRIC_KEY): a JSON ring, or a bare base64 key that becomes
 * a one-key ring which reads version-1 envelopes, and writes new ones if it is 32 bytes.
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
  if (repeatsAFieldName(trimmed)) throw new KeyRingError('key ring JSON names a field twice in one object; each must appear once');
  // Zod's record leaves out a `__proto__` key rather than failing, which would drop a key silently.
  const keys = typeof json === 'object' && json !== null && 'keys' in json ? json.keys : undefined;
  if (typeof keys === 'object' && keys !== null && Object.hasOwn(keys, '__proto__')) throw new KeyRingError('key ring is invalid: kid __proto__ is reserved');
  const parsed = ringDocument.safeParse(json);
  if (!parsed.success) {
    throw new KeyRingError(`key ring is invalid: ${describeIssues(parsed.error, undefined, safeSegment)}`);
  }
  return parsed.data;
};

const AES_KEY_BYTES = [16, 24, 32];

/** A primary that is also the v1 key (a bare seed key) may be short: the ring then seals nothing. */
const readsOnly = (doc: RingDocument, kid: string, key: Buffer): boolean => kid === doc.primary && kid === doc.v1 && key.length !== 32;

// We only seal with AES-256; the seed chose AES-128/192/256 by the length of its one key, so
// only the key that reads its envelopes may be shorter.
const checkKey = (doc: RingDocument, kid: string, key: Buffer): void => {
  const name = kidForMessage(kid);
  if (kid === doc.v1) {
    if (!AES_KEY_BYTES.includes(key.length)) throw new KeyRingError(`v1 key ${name} is ${key.length} bytes, expected 16, 24 or 32`);
  } else if (kid === doc.primary) {
    if (key.length !== 32) {
      throw new KeyRingError(`primary key ${name} is ${key.length} bytes, expected 32 (a shorter seed key can only be the ring's v1 key)`);
    }
  } else if (key.length !== 32) {
    throw new KeyRingError(`key ${name} is ${key.length} bytes, expected 32`);
  }
  // A placeholder or a wiped buffer, never a key anyone generated.
  if (key.every((byte) => byte === 0)) throw new KeyRingError(`key ${name} is all zero bytes`);
};

/** Two kids for one key would make retiring one of them look safe while rows still need the bytes. */
const checkDistinct = (entries: readonly (readonly [string, Buffer])[]): void => {
  entries.forEach(([kid, key], i) => {
    const twin = entries.slice(i + 1).find(([, other]) => other.equals(key));
    if (twin) throw new KeyRingError(`keys ${kidForMessage(kid)} and ${kidForMessage(twin[0])} hold the same bytes`);
  });
};

/**
 * Decodes every entry, unwrapping KMS-wrapped ones with `unwrap`, and checks each key's length
 * for its role. Errors from `unwrap` pass through unchanged so callers can tell an unreachable
 * KMS (retry later) from a bad ring.
 */
export const buildKeyRing = async (doc: RingDocument, unwrap: (blob: Buffer, kid: string) => Promise<Buffer>): Promise<KeyRing> => {
  const entries = await Promise.all(
    Object.entries(doc.keys).map(async ([kid, entry]): Promise<[string, Buffer]> => {
      const text = typeof entry === 'string' ? entry : entry.kms;
      const bytes = decodeCanonicalBase64(text);
      if (bytes === undefined) {
        throw new KeyRingError(`${typeof entry === 'string' ? 'key' : 'wrapped key'} ${kidForMessage(kid)} is not canonical base64`);
      }
      const key = typeof entry === 'string' ? bytes : await unwrap(bytes, kid);
      checkKey(doc, kid, key);
      return [kid, key];
    }),
  );
  checkDistinct(entries);
  const keys = new Map(entries);
  // The document type promises these, but a ring built from an unchecked object must not
  // come up unable to write, or silently unable to read the seed's envelopes.
  if (!keys.has(doc.primary)) throw new KeyRingError(`primary ${kidForMessage(doc.primary)} names no key in the ring`);
  if (doc.v1 !== undefined && !keys.has(doc.v1)) throw new KeyRingError(`v1 ${kidForMessage(doc.v1)} names no key in the ring`);
  const primary = keys.get(doc.primary);

  // Keys live only in this closure: logging or serializing the ring shows kids, never bytes.
  return Object.freeze({
    primaryKid: primary !== undefined && readsOnly(doc, doc.primary, primary) ? undefined : doc.primary,
    v1Kid: doc.v1,
    kids: Object.freeze([...keys.keys()]),
    key: (kid: string): Buffer | undefined => {
      const key = keys.get(kid);
      return key === undefined ? undefined : Buffer.from(key);
    },
  });
};

/** The `unwrap` of a ring held as text (SYMMETRIC_KEY, a ring file), where there is no KMS: a wrapped entry is refused. */
export const plainKeysOnly = (_blob: Buffer, kid: string): Promise<Buffer> =>
  Promise.reject(new KeyRingError(`key ${kidForMessage(kid)} is KMS-wrapped; this ring holds plain keys only`));

/** A ring from plain keys only (SYMMETRIC_KEY locally and in tests), with no KMS to unwrap. */
export const keyRingFromText = (text: string): Promise<KeyRing> => buildKeyRing(parseRingText(text), plainKeysOnly);
