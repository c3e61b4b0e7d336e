import { createHash, createHmac, createPrivateKey, type KeyObject, sign } from 'node:crypto';

/** The HMACs and digests the exchanges document, over UTF-8 text unless a key is given as bytes. */
export const hmac = (algorithm: 'sha256' | 'sha512', key: string | Buffer, data: string | Buffer): Buffer => createHmac(algorithm, key).update(data).digest();

export const sha = (algorithm: 'sha256' | 'sha512', data: string | Buffer): Buffer => createHash(algorithm).update(data).digest();

export const isPem = (text: string): boolean => /^-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(text.trim());

/** Ed25519's PKCS#8 DER prefix: a raw 32-byte seed after it is a whole private key. */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** A private key from PEM, or (Coinbase's Ed25519 form) base64 of its 32-byte seed followed by its public half. */
export function privateKey(text: string): KeyObject {
  const trimmed = text.trim();
  if (isPem(trimmed)) return createPrivateKey(trimmed);
  const raw = Buffer.from(trimmed, 'base64');
  if (raw.length !== 64 && raw.length !== 32) throw new Error('not a PEM or base64 Ed25519 private key');
  return createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, raw.subarray(0, 32)]), format: 'der', type: 'pkcs8' });
}

/** An asymmetric signature as Binance and Bybit take it: Ed25519 of the payload, or RSASSA-PKCS1-v1_5 over SHA-256. */
export function signAsymmetric(key: KeyObject, data: string): Buffer {
  return key.asymmetricKeyType === 'ed25519' ? sign(null, Buffer.from(data), key) : sign('sha256', Buffer.from(data), key);
}

const base64url = (data: string | Buffer): string => Buffer.from(data).toString('base64url');

/** A compact JWS: ES256 (P-256, the signature as r||s), EdDSA or HS256, as the key says. */
export function jwt(header: Record<string, unknown>, payload: Record<string, unknown>, key: KeyObject | string): string {
  const alg = typeof key === 'string' ? 'HS256' : key.asymmetricKeyType === 'ed25519' ? 'EdDSA' : 'ES256';
  const input = `${base64url(JSON.stringify({ ...header, alg, typ: 'JWT' }))}.${base64url(JSON.stringify(payload))}`;
  const signature =
    typeof key === 'string'
      ? hmac('sha256', key, input)
      : alg === 'EdDSA'
        ? sign(null, Buffer.from(input), key)
        : sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
  return `${input}.${base64url(signature)}`;
}
