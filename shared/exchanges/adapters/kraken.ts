import * as z from 'zod/mini';
import type { ExchangeAdapter } from '../adapter.js';
import { facts, type Permission, permissionSet, rejected, unreachable } from '../facts.js';
import { hmac, sha } from '../signing.js';

export const KRAKEN_PATH = '/0/private/GetApiKeyInfo';

const answer = z.object({
  error: z.array(z.string()),
  result: z.optional(
    z.object({
      permissions: z.array(z.string()),
      ipAllowlist: z.array(z.string()),
      validUntil: z.optional(z.string()),
    }),
  ),
});

/** Kraken's own names (GetApiKeyInfo's `permissions`); the deposit and earn rights move nothing away. */
const PERMS: Readonly<Record<string, Permission>> = {
  'query-funds': 'read',
  'query-open-trades': 'read',
  'query-closed-trades': 'read',
  'query-ledger': 'read',
  'modify-trades': 'trade',
  'cancel-close-trades': 'trade',
  'withdraw-funds': 'withdraw',
};
/** A right Kraken adds later that moves funds out is still refused: fail closed on its name. */
const permissionOf = (name: string): Permission | undefined =>
  PERMS[name] ?? (name.includes('withdraw') ? 'withdraw' : name.includes('transfer') ? 'transfer' : undefined);
/** A nonce Kraken refuses is a matter of ordering with the key's other users, not of the key. */
const CLOCK_ERRORS = new Set(['EAPI:Invalid nonce']);

/**
 * `POST /0/private/GetApiKeyInfo`, form body `nonce=<n>`: `API-Key`, and `API-Sign` = base64
 * HMAC-SHA512, keyed with the base64-decoded secret, of path + SHA-256(nonce + body). Kraken needs
 * each key's nonces to increase: milliseconds since the epoch are the smallest usual choice, so an
 * engine that uses the same key with millisecond, microsecond or nanosecond nonces keeps working.
 */
export const kraken: ExchangeAdapter = {
  kind: 'kraken',
  baseUrl: 'https://api.kraken.com',
  request(credentials, { now }) {
    const nonce = String(now.getTime());
    const body = `nonce=${nonce}`;
    const signature = hmac('sha512', Buffer.from(credentials.private_key, 'base64'), Buffer.concat([Buffer.from(KRAKEN_PATH), sha('sha256', nonce + body)]));
    return {
      method: 'POST',
      path: KRAKEN_PATH,
      headers: { 'API-Key': credentials.public_key, 'API-Sign': signature.toString('base64'), 'Content-Type': 'application/x-www-form-urlencoded' },
      body,
    };
  },
  read({ status, body }) {
    const parsed = answer.safeParse(body);
    if (!parsed.success) return unreachable(`http_${status}`);
    const { error, result } = parsed.data;
    const first = error[0];
    if (first !== undefined) return CLOCK_ERRORS.has(first) ? unreachable('nonce') : rejected(first);
    if (result === undefined) return unreachable('unexpected_answer');
    const validUntil = Number(result.validUntil ?? '0');
    return facts({
      permissions: permissionSet(result.permissions.flatMap((name) => permissionOf(name) ?? [])),
      ip_restricted: result.ipAllowlist.length > 0,
      expires_at: Number.isFinite(validUntil) && validUntil > 0 ? new Date(validUntil * 1000).toISOString() : null,
    });
  },
};
