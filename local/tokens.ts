import { type CryptoKey, type JWTPayload, jwtVerify, SignJWT } from 'jose';
import { ADMIN_GROUP } from '../shared/http/identity.js';
import { LOCAL_AUDIENCE, LOCAL_ISSUER, TOKEN_ALGORITHM } from './dev-keys.js';

export interface TokenRequest {
  subject: string;
  admin: boolean;
  expiresIn?: string;
}

/** A token shaped like a Cognito access token: `sub`, and `cognito:groups` for admins. */
export function signToken(privateKey: CryptoKey, request: TokenRequest): Promise<string> {
  return new SignJWT({ 'cognito:groups': request.admin ? [ADMIN_GROUP] : [] })
    .setProtectedHeader({ alg: TOKEN_ALGORITHM, typ: 'JWT' })
    .setSubject(request.subject)
    .setIssuer(LOCAL_ISSUER)
    .setAudience(LOCAL_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(request.expiresIn ?? '1h')
    .sign(privateKey);
}

/**
 * What API Gateway's JWT authorizer checks: signature, issuer, audience, expiry and not-before.
 * Only the one algorithm is accepted, so `alg: none` and algorithm swaps fail. `exp` is required:
 * jose checks it only when present, and a token without one would be good forever.
 */
export async function verifyToken(publicKey: CryptoKey, token: string): Promise<JWTPayload | undefined> {
  try {
    const { payload } = await jwtVerify(token, publicKey, {
      issuer: LOCAL_ISSUER,
      audience: LOCAL_AUDIENCE,
      algorithms: [TOKEN_ALGORITHM],
      requiredClaims: ['exp'],
    });
    return payload;
  } catch {
    return undefined;
  }
}
