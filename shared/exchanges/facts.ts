import * as z from 'zod/mini';

/**
 * One vocabulary for what a key may do, whatever its exchange calls it. `futures` covers
 * derivatives and leverage (margin); `transfer` covers internal and universal transfers, between
 * accounts or sub-accounts: funds that move away from where the engine trades.
 */
export const PERMISSIONS = ['read', 'trade', 'futures', 'withdraw', 'transfer'] as const;
export const permission = z.enum(PERMISSIONS);
export type Permission = z.infer<typeof permission>;

/** Permissions no stored key may hold: with either, a leaked key moves funds out. Not configurable. */
export const FORBIDDEN_PERMISSIONS = ['withdraw', 'transfer'] as const satisfies readonly Permission[];
export type ForbiddenPermission = (typeof FORBIDDEN_PERMISSIONS)[number];

/** The credentials of one key, under the vault's own field names. */
export const credentials = z.strictObject({
  public_key: z.string(),
  private_key: z.string(),
  passphrase: z.optional(z.string()),
});
export type Credentials = z.infer<typeof credentials>;

/**
 * What an exchange said about a key that authenticated. `permissions` is null where the exchange
 * reports none (Upbit, Coinone); `ip_restricted` is null where it does not say (Coinbase, Coinone);
 * `expires_at` (ISO 8601) is null where the key does not expire or the exchange does not say.
 */
export const keyFacts = z.object({
  permissions: z.nullable(z.array(permission)),
  ip_restricted: z.nullable(z.boolean()),
  expires_at: z.nullable(z.string()),
});
export type KeyFacts = z.infer<typeof keyFacts>;

export const CREDENTIAL_FIELDS = ['public_key', 'private_key', 'passphrase'] as const;
/** One credential that does not have its exchange's shape, and what that exchange's look like (never the value). */
export const credentialIssue = z.object({ field: z.enum(CREDENTIAL_FIELDS), message: z.string() });
export type CredentialIssue = z.infer<typeof credentialIssue>;

/**
 * What asking an exchange about a key came to. `rejected` carries the exchange's own error code
 * (never its message, which is the exchange's text, nor the key). `unreachable`: no usable answer
 * within the bound (timeout, network, 5xx, rate limit, a clock the exchange refused, an answer we
 * cannot read); retrying later may help, and nothing about the key is known. `malformed`: the
 * credentials could not even be signed with (nothing was sent).
 */
export const probeOutcome = z.discriminatedUnion('outcome', [
  z.object({ outcome: z.literal('facts'), facts: keyFacts }),
  z.object({ outcome: z.literal('rejected'), code: z.string() }),
  z.object({ outcome: z.literal('unreachable'), reason: z.string() }),
  z.object({ outcome: z.literal('malformed'), issues: z.array(credentialIssue) }),
]);
export type ProbeOutcome = z.infer<typeof probeOutcome>;

export const facts = (facts: KeyFacts): ProbeOutcome => ({ outcome: 'facts', facts });
export const rejected = (code: string | number): ProbeOutcome => ({ outcome: 'rejected', code: String(code) });
export const unreachable = (reason: string): ProbeOutcome => ({ outcome: 'unreachable', reason });

/** Permissions in vocabulary order, each once: what an adapter reports. */
export const permissionSet = (granted: Iterable<Permission>): Permission[] => {
  const set = new Set(granted);
  return PERMISSIONS.filter((p) => set.has(p));
};
