import * as z from 'zod/mini';
import type { ExchangeAdapter } from '../adapter.js';
import { facts, type Permission, permissionSet, rejected, unreachable } from '../facts.js';
import { hmac, isPem, privateKey, signAsymmetric } from '../signing.js';

/** Binance rejects a request whose timestamp is older than this (at most 60 000). */
export const BINANCE_RECV_WINDOW_MS = 5000;
export const BINANCE_PATH = '/sapi/v1/account/apiRestrictions';

const restrictions = z.object({
  ipRestrict: z.boolean(),
  enableReading: z.optional(z.boolean()),
  enableSpotAndMarginTrading: z.optional(z.boolean()),
  enableMargin: z.optional(z.boolean()),
  enableFutures: z.optional(z.boolean()),
  enablePortfolioMarginTrading: z.optional(z.boolean()),
  enableVanillaOptions: z.optional(z.boolean()),
  enableWithdrawals: z.optional(z.boolean()),
  enableInternalTransfer: z.optional(z.boolean()),
  permitsUniversalTransfer: z.optional(z.boolean()),
  tradingAuthorityExpirationTime: z.optional(z.number()),
});
const error = z.object({ code: z.number() });

/** -1021: our timestamp is outside the window; the clock is at fault, not the key. */
const CLOCK_CODES = new Set([-1021]);

/**
 * `GET /sapi/v1/account/apiRestrictions`: `X-MBX-APIKEY`, and `signature` over the query string:
 * hex HMAC-SHA256 with an HMAC secret, base64 Ed25519 or RSA (PKCS#1 v1.5, SHA-256) with a PEM key.
 */
export const binance: ExchangeAdapter = {
  kind: 'binance',
  baseUrl: 'https://api.binance.com',
  request(credentials, { now }) {
    const query = `timestamp=${now.getTime()}&recvWindow=${BINANCE_RECV_WINDOW_MS}`;
    const signature = isPem(credentials.private_key)
      ? signAsymmetric(privateKey(credentials.private_key), query).toString('base64')
      : hmac('sha256', credentials.private_key, query).toString('hex');
    return {
      method: 'GET',
      path: `${BINANCE_PATH}?${query}&signature=${encodeURIComponent(signature)}`,
      headers: { 'X-MBX-APIKEY': credentials.public_key },
    };
  },
  read({ status, body }) {
    if (status !== 200) {
      const refusal = error.safeParse(body);
      if (!refusal.success) return unreachable(`http_${status}`);
      return CLOCK_CODES.has(refusal.data.code) ? unreachable(`clock_${refusal.data.code}`) : rejected(refusal.data.code);
    }
    const answer = restrictions.safeParse(body);
    if (!answer.success) return unreachable('unexpected_answer');
    const r = answer.data;
    const granted: [boolean | undefined, Permission][] = [
      [r.enableReading, 'read'],
      [r.enableSpotAndMarginTrading, 'trade'],
      [r.enableMargin, 'futures'],
      [r.enableFutures, 'futures'],
      [r.enablePortfolioMarginTrading, 'futures'],
      [r.enableVanillaOptions, 'futures'],
      [r.enableWithdrawals, 'withdraw'],
      [r.enableInternalTransfer, 'transfer'],
      [r.permitsUniversalTransfer, 'transfer'],
    ];
    return facts({
      permissions: permissionSet(granted.filter(([on]) => on === true).map(([, p]) => p)),
      ip_restricted: r.ipRestrict,
      // Present for keys without an IP restriction, whose trading rights lapse (Binance: 0 or absent otherwise).
      expires_at: r.tradingAuthorityExpirationTime ? new Date(r.tradingAuthorityExpirationTime).toISOString() : null,
    });
  },
};
