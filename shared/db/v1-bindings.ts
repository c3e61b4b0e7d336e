import * as z from 'zod/mini';

const FIELDS = ['public_key', 'private_key'] as const;

/**
 * Select-list items bringing along, for both fields of the tb_exchange_api_keys row `row` names,
 * the digest recorded at adoption (migration 005) as `<field>_v1_digest`: what a version-1
 * envelope must match to open (shared/crypto/envelope.ts). Every select whose envelopes are opened
 * needs them. Subqueries rather than joins, so a `FOR UPDATE` locks the key rows only.
 */
export const v1DigestColumns = (row: string): string =>
  FIELDS.map((field) => `(SELECT b.digest FROM tb_v1_envelope_bindings b WHERE b.key_no = ${row}.key_no AND b.field = '${field}') AS ${field}_v1_digest`).join(
    ', ',
  );

/** The columns v1DigestColumns adds, as pg returns them (bytea as a Buffer; null where nothing was recorded). */
export const v1DigestFields = {
  public_key_v1_digest: z.nullable(z.instanceof(Buffer)),
  private_key_v1_digest: z.nullable(z.instanceof(Buffer)),
};
