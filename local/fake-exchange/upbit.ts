import { decodeJwt, jwtVerify } from 'jose';
import { expiry, type FakeResult, json, type Venue } from './venue.js';

const refusal = (name: string, message: string) => json(401, { error: { name, message } });

/** Upbit's api_keys, checked as Upbit documents its JWT: HS256 with the secret, `access_key`, a fresh `nonce`. */
export const upbit: Venue = {
  kind: 'upbit',
  async handle(request, keys, now): Promise<FakeResult> {
    if (request.method !== 'GET' || request.path !== '/v1/api_keys') return json(404, { error: { name: 'not_found', message: 'Not found' } });
    const token = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
    let claims: Record<string, unknown>;
    try {
      claims = decodeJwt(token ?? '');
    } catch {
      return refusal('jwt_verification', 'Failed to verify Jwt token.');
    }
    const key = keys.get(typeof claims.access_key === 'string' ? claims.access_key : '');
    if (!key || key.behaviour.reject) return refusal('invalid_access_key', 'Invalid access key.');
    if (key.behaviour.hang) return 'hang';
    try {
      await jwtVerify(token!, Buffer.from(key.credentials.private_key), { algorithms: ['HS256'], currentDate: now });
    } catch {
      return refusal('jwt_verification', 'Failed to verify Jwt token.');
    }
    const nonce = claims.nonce;
    if (typeof nonce !== 'string' || key.nonces.has(nonce)) return refusal('invalid_query_payload', 'Nonce already used.');
    key.nonces.add(nonce);
    // The account's other key is listed too: the adapter must find its own.
    return json(200, [
      { access_key: 'OtherAccessKeyOfTheSameAccount0000000000', expire_at: new Date(now.getTime() + 200 * 86_400_000).toISOString() },
      { access_key: key.credentials.public_key, expire_at: expiry(now, key.behaviour).toISOString().replace('Z', '+00:00') },
    ]);
  },
};
