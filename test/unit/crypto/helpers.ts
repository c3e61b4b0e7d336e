import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as z from 'zod/mini';
import { EnvelopeError, type EnvelopeFailure, type EnvelopePlace, type EnvelopeV1, envelopeV1, v1BindingDigest } from '../../../shared/crypto/envelope.js';
import { type KeyRing, keyRingFromText } from '../../../shared/crypto/key-ring.js';

const v1Fixture = z.strictObject({
  keyBytes: z.union([z.literal(16), z.literal(24), z.literal(32)]),
  key: z.string(),
  plaintext: z.string(),
  envelope: envelopeV1,
});
export type V1Fixture = z.infer<typeof v1Fixture>;

/** Envelopes written by pycryptodome exactly as the seed writes them (test/fixtures/make-v1-envelopes.py). */
export const v1Fixtures: readonly V1Fixture[] = z
  .array(v1Fixture)
  .parse(JSON.parse(readFileSync(new URL('../../fixtures/v1-envelopes.json', import.meta.url), 'utf8')));

export const newKey = (bytes = 32): string => randomBytes(bytes).toString('base64');

/** A plain JSON ring as the secret would hold it. */
export const ringOf = (keys: Record<string, string>, primary: string, v1?: string): Promise<KeyRing> =>
  keyRingFromText(JSON.stringify({ primary, ...(v1 === undefined ? {} : { v1 }), keys }));

/** A place in a row sealed since migration 008: what the vault seals into and opens from now. */
export const place = {
  table: 'tb_exchange_api_keys',
  userNo: 7,
  exchangeId: 101,
  field: 'private_key',
  sealing: '00000000-0000-4000-8000-000000000007',
} as const satisfies EnvelopePlace;

/** The same place in a row not sealed since migration 008, where the older versions open. */
export const legacyPlace: EnvelopePlace = { ...place, sealing: null };

/** `at` with the record adoption (migration 005) makes for a version-1 envelope found there in row `keyNo`. */
export const boundPlace = (envelope: EnvelopeV1, at: EnvelopePlace = legacyPlace, keyNo = 1): EnvelopePlace => ({
  ...at,
  sealing: null,
  v1Binding: { keyNo, digest: v1BindingDigest(keyNo, at, envelope) },
});

/** Runs `open` and returns the EnvelopeError it throws; fails the test if it returns or throws anything else. */
export const envelopeFailure = (open: () => unknown): EnvelopeError => {
  let result: unknown;
  try {
    result = open();
  } catch (error) {
    if (error instanceof EnvelopeError) return error;
    throw error;
  }
  throw new Error(`expected an EnvelopeError, but it opened to ${JSON.stringify(result)}`);
};

export const reasonOf = (open: () => unknown): EnvelopeFailure => envelopeFailure(open).reason;
