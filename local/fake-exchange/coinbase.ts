import { decodeProtectedHeader, jwtVerify } from 'jose';
import { type FakeResult, json, type Venue } from './venue.js';

const PATH = '/api/v3/brokerage/key_permissions';
/** Coinbase answers a key or JWT it does not accept with a bare 401 and a text body. */
const UNAUTHORIZED = { status: 401, body: 'Unauthorized' } as const;

/**
 * Coinbase's key_permissions, checked as Coinbase documents its API key JWTs: `kid` and `sub` name
 * the key, `iss` "cdp", a `nonce` in the header, `nbf`/`exp` at most two minutes apart and current,
 * `uri` = method, host and path; ES256 or EdDSA by the key's type.
 */
export const coinbase: Venue = {
  kind: 'coinbase',
  async handle(request, keys, now): Promise<FakeResult> {
    if (request.method !== 'GET' || request.path !== PATH) return json(404, { error: 'NOT_FOUND', message: 'Not Found' });
    const token = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
    if (!token) return UNAUTHORIZED;
    let kid: string | undefined;
    let nonce: unknown;
    try {
      ({ kid, nonce } = decodeProtectedHeader(token) as { kid?: string; nonce?: unknown });
    } catch {
      return UNAUTHORIZED;
    }
    const key = keys.get(kid ?? '');
    if (!key?.publicKey || key.behaviour.reject || typeof nonce !== 'string' || nonce === '') return UNAUTHORIZED;
    if (key.behaviour.hang) return 'hang';
    try {
      const { payload } = await jwtVerify(token, key.publicKey, {
        algorithms: [key.publicKey.asymmetricKeyType === 'ed25519' ? 'EdDSA' : 'ES256'],
        issuer: 'cdp',
        subject: kid,
        currentDate: now,
        requiredClaims: ['nbf', 'exp', 'uri'],
      });
      if (payload.uri !== `${request.method} ${request.host}${PATH}` || payload.exp! - payload.nbf! > 120) return UNAUTHORIZED;
    } catch {
      return UNAUTHORIZED;
    }
    const b = key.behaviour;
    return json(200, {
      can_view: true,
      can_trade: true,
      can_transfer: b.withdraw === true || b.transfer === true,
      portfolio_uuid: '8f0a3b6e-4c1d-4e8a-9d2f-1b7c5e3a9f04',
      portfolio_type: 'DEFAULT',
    });
  },
};
