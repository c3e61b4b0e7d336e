import { randomUUID } from 'node:crypto';
import * as z from 'zod/mini';
import type { ExchangeAdapter } from '../adapter.js';
import { facts, rejected, unreachable } from '../facts.js';
import { jwt } from '../signing.js';

export const UPBIT_PATH = '/v1/api_keys';

const keys = z.array(z.object({ access_key: z.string(), expire_at: z.string() }));
const error = z.object({ error: z.object({ name: z.string() }) });

/**
 * `GET /v1/api_keys` with `Authorization: Bearer <JWT>`, HS256 with the secret key, claims
 * `access_key` and a UUID `nonce` (no `query_hash`: the request has no query). Upbit reports every
 * key of the account with its `expire_at` and no permission flags; it lets a key be used only from
 * its allow-listed IP addresses, so every Upbit key is IP-bound.
 */
export const upbit: ExchangeAdapter = {
  kind: 'upbit',
  baseUrl: 'https://api.upbit.com',
  request(credentials) {
    const token = jwt({}, { access_key: credentials.public_key, nonce: randomUUID() }, credentials.private_key);
    return { method: 'GET', path: UPBIT_PATH, headers: { Authorization: `Bearer ${token}` } };
  },
  read({ status, body }, credentials) {
    const refusal = error.safeParse(body);
    if (refusal.success) return rejected(refusal.data.error.name);
    const parsed = keys.safeParse(body);
    if (status !== 200 || !parsed.success) return unreachable(`http_${status}`);
    const own = parsed.data.find((key) => key.access_key === credentials.public_key);
    const expiry = own ? Date.parse(own.expire_at) : Number.NaN;
    return facts({ permissions: null, ip_restricted: true, expires_at: Number.isFinite(expiry) ? new Date(expiry).toISOString() : null });
  },
};
