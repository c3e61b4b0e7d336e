import { randomBytes } from 'node:crypto';
import * as z from 'zod/mini';

/**
 * What the key-ring secret (or SYMMETRIC_KEY) holds: either a bare base64 key (the seed's
 * SYMMETRIC_KEY, unchanged) or a JSON ring. A ring entry is a plain base64 key or a KMS
 * CiphertextBlob (`{"kms": "<base64>"}`) that KMS Decrypt unwraps under `kmsEncryptionContext`.
 */
export const BARE_KEY_KID = 'default';

/** What a kid may be; the key-maintenance reports apply it in SQL too (its `.source` is also a PostgreSQL regex). */
export const KID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * A new kid that sorts by creation and fits KID_PATTERN, e.g. `k20251125T103000Z-3f9a1c07`.
 * The random part keeps two rotations in the same second (which race, and one of which then fails
 * to write) from ever naming two different keys alike.
 */
export const newKid = (now: Date): string => `k${now.toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '')}-${randomBytes(4).toString('hex')}`;

/** A new 256-bit key as a plain ring entry, from node's CSPRNG. */
export const newPlainKey = (): string => randomBytes(32).toString('base64');

const base64 = z.string().check(z.regex(/^[A-Za-z0-9+/]+={0,2}$/, { message: 'must be base64' }));
// `__proto__` is a well-formed name that an object literal or zod's record would turn into a
// prototype change rather than a key, so the ring could silently lose an entry.
const kid = z.string().check(
  z.regex(KID_PATTERN, { message: 'kid must be 1-64 of [A-Za-z0-9._-]' }),
  z.refine((name) => name !== '__proto__', { message: 'kid __proto__ is reserved' }),
);

export const ringEntry = z.union([base64, z.strictObject({ kms: base64 })]);
export type RingEntry = z.infer<typeof ringEntry>;

export const ringDocument = z
  .strictObject({
    /** The kid new envelopes are written under. */
    primary: kid,
    /** The kid that reads version-1 (seed) envelopes, which carry no kid. */
    v1: z.optional(kid),
    keys: z.record(kid, ringEntry),
    /** When `rotate` last made a new primary (ISO 8601); rings written before it was stamped have none. */
    rotated_at: z.optional(z.iso.datetime()),
  })
  .check(
    // Own properties only: `"primary": "constructor"` must not find Object.prototype's.
    z.refine((doc) => Object.hasOwn(doc.keys, doc.primary), { message: 'primary names no key in the ring' }),
    z.refine((doc) => doc.v1 === undefined || Object.hasOwn(doc.keys, doc.v1), { message: 'v1 names no key in the ring' }),
  );
export type RingDocument = z.infer<typeof ringDocument>;

/**
 * What the stack's secret holds between its creation and the initializer's first write: valid
 * JSON that is not a ring (the loader rejects it), with a random `placeholder` field added by
 * Secrets Manager so no value appears in the template.
 */
export const RING_PLACEHOLDER = { state: 'uninitialized' } as const;

export const isRingPlaceholder = (text: string): boolean => {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && 'state' in value && value.state === RING_PLACEHOLDER.state;
  } catch {
    return false;
  }
};

/** Binds a wrapped entry to its role and name: a blob copied to another kid fails to unwrap. */
export const kmsEncryptionContext = (entryKid: string): Record<string, string> => ({
  purpose: 'exchange-api-key-vault/key-ring',
  kid: entryKid,
});
