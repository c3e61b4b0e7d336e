import { type FakeResult, hmacOf, json, sameText, type Venue } from './venue.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const refusal = (code: string, message: string) => json(200, { result: 'error', error_code: code, error_msg: message });

/**
 * Coinone's v2.1 balance call, checked as Coinone documents private calls: the base64 payload
 * carries `access_token` and a UUID `nonce` never used before, signed by hex HMAC-SHA512. Coinone's
 * error page lists no code for a bad signature; the fake answers it as it answers an unknown token (12).
 */
export const coinone: Venue = {
  kind: 'coinone',
  handle(request, keys): FakeResult {
    if (request.method !== 'POST' || request.path !== '/v2.1/account/balance/all') return refusal('20', 'This service does not exist');
    const payload = request.headers['x-coinone-payload'] ?? '';
    let body: { access_token?: unknown; nonce?: unknown };
    try {
      body = JSON.parse(Buffer.from(payload, 'base64').toString('utf8'));
    } catch {
      return refusal('101', 'Invalid format');
    }
    const key = keys.get(typeof body.access_token === 'string' ? body.access_token : '');
    if (!key || key.behaviour.reject) return refusal('12', 'Invalid access token');
    if (key.behaviour.hang) return 'hang';
    if (!sameText(request.headers['x-coinone-signature'] ?? '', hmacOf('sha512', key.credentials.private_key, payload, 'hex'))) {
      return refusal('12', 'Invalid access token');
    }
    if (typeof body.nonce !== 'string' || !UUID.test(body.nonce) || key.nonces.has(body.nonce)) return refusal('107', 'Parameter value is wrong');
    key.nonces.add(body.nonce);
    return json(200, {
      result: 'success',
      error_code: '0',
      balances: [{ available: '1000000', limit: '0', average_price: '0', currency: 'KRW' }],
    });
  },
};
