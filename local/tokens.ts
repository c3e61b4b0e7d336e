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
export async function verifyToken(publicKey: CryptoKey, token: string): Promise<Verified> {
  try {
    const { payload } = await jwtVerify(token, publicKey, {
      issuer: LOCAL_ISSUER,
      audience: LOCAL_AUDIENCE,
      algorithms: [TOKEN_ALGORITHM],
      requiredClaims: ['exp'],
    });
    return { claims: payload };
  } catch (error) {
    return { refused: refusal(error) };
  }
}

/** A token's claims, or why it was refused: what the local server logs beside its 401 (the response says only "Unauthorized", as API Gateway's does). */
export type Verified = { readonly claims: JWTPayload; readonly refused?: undefined } | { readonly claims?: undefined; readonly refused: string };

/** jose's error, in words that say what to fix; never the token itself. */
function refusal(error: unknown): string {
  const { code, claim } = error as { code?: string; claim?: string };
  switch (code) {
    case 'ERR_JWT_EXPIRED':
      return 'the token has expired (npm run token makes a new one)';
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return "bad signature: not signed with this server's dev key (is npm run token using npm start's VAULT_DATA_DIR?)";
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return `algorithm not allowed: only ${TOKEN_ALGORITHM}`;
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      return claim === 'aud'
        ? `wrong audience: expected ${LOCAL_AUDIENCE}`
        : claim === 'iss'
          ? `wrong issuer: expected ${LOCAL_ISSUER}`
          : claim === 'nbf'
            ? 'not valid yet (nbf)'
            : `claim ${claim ?? '?'} is missing or invalid`;
    default:
      return 'not a signed JWT';
  }
}
