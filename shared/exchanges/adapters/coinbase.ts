import { randomBytes } from 'node:crypto';
import * as z from 'zod/mini';
import type { ExchangeAdapter } from '../adapter.js';
import { facts, type Permission, permissionSet, rejected, unreachable } from '../facts.js';
import { jwt, privateKey } from '../signing.js';

export const COINBASE_PATH = '/api/v3/brokerage/key_permissions';
/** Coinbase's JWTs live two minutes. */
export const COINBASE_JWT_LIFETIME_S = 120;

const answer = z.object({ can_view: z.boolean(), can_trade: z.boolean(), can_transfer: z.boolean() });

/**
 * `GET /api/v3/brokerage/key_permissions` with `Authorization: Bearer <JWT>`: ES256 for an EC key,
 * EdDSA for an Ed25519 one; header `kid` = the key name and a random `nonce`; claims `sub` = the key
 * name, `iss` "cdp", `nbf`/`exp` two minutes apart, `uri` = "GET <host><path>". Coinbase reports
 * neither an IP binding nor an expiry. Its one "transfer" right is how funds leave the account
 * (sends and withdrawals), so it maps to both `transfer` and `withdraw`.
 */
export const coinbase: ExchangeAdapter = {
  kind: 'coinbase',
  baseUrl: 'https://api.coinbase.com',
  request(credentials, { host, now }) {
    const seconds = Math.floor(now.getTime() / 1000);
    const token = jwt(
      { kid: credentials.public_key, nonce: randomBytes(16).toString('hex') },
      { sub: credentials.public_key, iss: 'cdp', nbf: seconds, exp: seconds + COINBASE_JWT_LIFETIME_S, uri: `GET ${host}${COINBASE_PATH}` },
      privateKey(credentials.private_key),
    );
    return { method: 'GET', path: COINBASE_PATH, headers: { Authorization: `Bearer ${token}` } };
  },
  read({ status, body }) {
    // Coinbase answers a bad key or JWT with a bare 401 (its body is text); the status is its code.
    if (status === 401 || status === 403) return rejected(status);
    const parsed = answer.safeParse(body);
    if (status !== 200 || !parsed.success) return unreachable(`http_${status}`);
    const granted: [boolean, Permission[]][] = [
      [parsed.data.can_view, ['read']],
      [parsed.data.can_trade, ['trade']],
      [parsed.data.can_transfer, ['transfer', 'withdraw']],
    ];
    return facts({ permissions: permissionSet(granted.flatMap(([on, p]) => (on ? p : []))), ip_restricted: null, expires_at: null });
  },
};
