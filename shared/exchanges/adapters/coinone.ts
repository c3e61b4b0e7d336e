import { randomUUID } from 'node:crypto';
import * as z from 'zod/mini';
import type { ExchangeAdapter } from '../adapter.js';
import { facts, rejected, unreachable } from '../facts.js';
import { hmac } from '../signing.js';

export const COINONE_PATH = '/v2.1/account/balance/all';

// Coinone's error page shows both spellings of the code field.
const answer = z.object({ result: z.string(), error_code: z.optional(z.string()), errorCode: z.optional(z.string()) });

/**
 * Coinone has no call that reports a key's rights; a cheap authenticated call proves the key:
 * `POST /v2.1/account/balance/all`, body JSON `{access_token, nonce}` (a UUID nonce),
 * `X-COINONE-PAYLOAD` = base64 of that body, `X-COINONE-SIGNATURE` = hex HMAC-SHA512 of the payload
 * keyed with the secret as given. (Coinone's v2 uppercased the secret first; the v2.1 page signs
 * with it as given. Not verifiable here without a live key.) Error 40 (no balance permission) is a
 * rejection: a key that cannot see balances cannot trade.
 */
export const coinone: ExchangeAdapter = {
  kind: 'coinone',
  baseUrl: 'https://api.coinone.co.kr',
  request(credentials) {
    const body = JSON.stringify({ access_token: credentials.public_key, nonce: randomUUID() });
    const payload = Buffer.from(body).toString('base64');
    return {
      method: 'POST',
      path: COINONE_PATH,
      headers: {
        'Content-Type': 'application/json',
        'X-COINONE-PAYLOAD': payload,
        'X-COINONE-SIGNATURE': hmac('sha512', credentials.private_key, payload).toString('hex'),
      },
      body,
    };
  },
  read({ status, body }) {
    const parsed = answer.safeParse(body);
    if (!parsed.success) return unreachable(`http_${status}`);
    if (parsed.data.result !== 'success') return rejected(parsed.data.error_code ?? parsed.data.errorCode ?? 'error');
    return facts({ permissions: null, ip_restricted: null, expires_at: null });
  },
};
