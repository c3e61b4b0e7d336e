import * as z from 'zod/mini';
import type { ExchangeAdapter } from '../adapter.js';
import { facts, type Permission, permissionSet, rejected, unreachable } from '../facts.js';
import { hmac, isPem, privateKey, signAsymmetric } from '../signing.js';

export const BYBIT_PATH = '/v5/user/query-api';
export const BYBIT_RECV_WINDOW_MS = 5000;

const permissionLists = z.record(z.string(), z.array(z.string()));
// Bybit answers an error with `result: {}`: the code is read first, the result only on success.
const status = z.object({ retCode: z.number() });
const keyInfo = z.object({
  result: z.object({
    readOnly: z.number(),
    permissions: permissionLists,
    ips: z.array(z.string()),
    expiredAt: z.optional(z.string()),
  }),
});

/** 10002: the timestamp is outside recv_window; our clock, not the key. */
const CLOCK_CODES = new Set([10002]);
/** Bybit's permission groups that trade derivatives or on leverage. */
const FUTURES_GROUPS = ['ContractTrade', 'Derivatives', 'Options', 'CopyTrading', 'BlockTrade'];

function permissionsOf(readOnly: number, groups: Record<string, string[]>): Permission[] {
  const wallet = groups.Wallet ?? [];
  const granted: Permission[] = ['read'];
  // A read-only key cannot trade whatever its groups list; the wallet's rights are counted anyway, failing closed.
  if (readOnly === 0 && (groups.Spot ?? []).length > 0) granted.push('trade');
  if (readOnly === 0 && FUTURES_GROUPS.some((group) => (groups[group] ?? []).length > 0)) granted.push('futures');
  if (wallet.includes('Withdraw')) granted.push('withdraw');
  if (wallet.some((right) => right.includes('Transfer'))) granted.push('transfer');
  return permissionSet(granted);
}

/**
 * `GET /v5/user/query-api`: `X-BAPI-API-KEY`, `X-BAPI-TIMESTAMP` (ms), `X-BAPI-RECV-WINDOW`,
 * `X-BAPI-SIGN` over timestamp + key + recvWindow + query string: hex HMAC-SHA256, or base64 RSA
 * (SHA-256) for a key registered with an RSA public key.
 */
export const bybit: ExchangeAdapter = {
  kind: 'bybit',
  baseUrl: 'https://api.bybit.com',
  request(credentials, { now }) {
    const timestamp = String(now.getTime());
    const payload = `${timestamp}${credentials.public_key}${BYBIT_RECV_WINDOW_MS}`;
    const signature = isPem(credentials.private_key)
      ? signAsymmetric(privateKey(credentials.private_key), payload).toString('base64')
      : hmac('sha256', credentials.private_key, payload).toString('hex');
    return {
      method: 'GET',
      path: BYBIT_PATH,
      headers: {
        'X-BAPI-API-KEY': credentials.public_key,
        'X-BAPI-TIMESTAMP': timestamp,
        'X-BAPI-RECV-WINDOW': String(BYBIT_RECV_WINDOW_MS),
        'X-BAPI-SIGN': signature,
      },
    };
  },
  read({ status: httpStatus, body }) {
    const code = status.safeParse(body);
    if (!code.success) return unreachable(`http_${httpStatus}`);
    const { retCode } = code.data;
    if (retCode !== 0) return CLOCK_CODES.has(retCode) ? unreachable(`clock_${retCode}`) : rejected(retCode);
    const parsed = keyInfo.safeParse(body);
    if (!parsed.success) return unreachable('unexpected_answer');
    const { result } = parsed.data;
    const expiry = result.expiredAt ? Date.parse(result.expiredAt) : Number.NaN;
    return facts({
      permissions: permissionsOf(result.readOnly, result.permissions),
      ip_restricted: result.ips.length > 0 && !result.ips.includes('*'),
      // Set only for keys without an IP binding (they lapse after 90 days).
      expires_at: Number.isFinite(expiry) ? new Date(expiry).toISOString() : null,
    });
  },
};
