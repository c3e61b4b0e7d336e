import * as z from 'zod/mini';
import type { ExchangeAdapter } from '../adapter.js';
import { facts, type Permission, permissionSet, rejected, unreachable } from '../facts.js';
import { hmac } from '../signing.js';

export const OKX_PATH = '/api/v5/account/config';

const answer = z.object({
  code: z.string(),
  data: z.optional(z.array(z.object({ perm: z.string(), ip: z.string() }))),
});

/** 50102: timestamp expired; 50112: timestamp malformed. Our clock, not the key. */
const CLOCK_CODES = new Set(['50102', '50112']);
const PERMS: Readonly<Record<string, Permission>> = { read_only: 'read', trade: 'trade', withdraw: 'withdraw' };

/**
 * `GET /api/v5/account/config`: `OK-ACCESS-KEY`, `OK-ACCESS-PASSPHRASE`, `OK-ACCESS-TIMESTAMP`
 * (ISO 8601 UTC with milliseconds) and `OK-ACCESS-SIGN`, base64 HMAC-SHA256 of
 * timestamp + method + request path + body. `perm` lists `read_only`, `trade`, `withdraw`; OKX
 * grants transfers with `trade` and reports no expiry.
 */
export const okx: ExchangeAdapter = {
  kind: 'okx',
  baseUrl: 'https://www.okx.com',
  request(credentials, { now }) {
    const timestamp = now.toISOString();
    return {
      method: 'GET',
      path: OKX_PATH,
      headers: {
        'OK-ACCESS-KEY': credentials.public_key,
        'OK-ACCESS-PASSPHRASE': credentials.passphrase ?? '',
        'OK-ACCESS-TIMESTAMP': timestamp,
        'OK-ACCESS-SIGN': hmac('sha256', credentials.private_key, `${timestamp}GET${OKX_PATH}`).toString('base64'),
      },
    };
  },
  read({ status, body }) {
    const parsed = answer.safeParse(body);
    if (!parsed.success) return unreachable(`http_${status}`);
    const { code, data } = parsed.data;
    if (code !== '0') return CLOCK_CODES.has(code) ? unreachable(`clock_${code}`) : rejected(code);
    const config = data?.[0];
    if (status !== 200 || config === undefined) return unreachable('unexpected_answer');
    const names = config.perm.split(',').map((name) => name.trim());
    return facts({
      permissions: permissionSet(names.flatMap((name) => (PERMS[name] ? [PERMS[name]] : []))),
      ip_restricted: config.ip.trim() !== '',
      expires_at: null,
    });
  },
};
