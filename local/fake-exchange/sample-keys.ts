import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import type { Credentials } from '../../shared/exchanges/facts.js';
import type { AdaptedKind } from '../../shared/exchanges/kinds.js';

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const alnum = (length: number): string => Array.from(randomBytes(length), (byte) => ALNUM[byte % ALNUM.length]).join('');

/** Which of an exchange's secret forms to make: an HMAC secret, or a key pair's private half. */
export type SecretForm = 'hmac' | 'ed25519' | 'rsa' | 'ec';

const pem = (form: 'ed25519' | 'rsa'): string =>
  (form === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ed25519')).privateKey
    .export({ format: 'pem', type: 'pkcs8' })
    .toString();

/** Coinbase's Ed25519 secret: base64 of the 32-byte seed and the 32-byte public key. */
function coinbaseEd25519(): string {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const seed = Buffer.from(privateKey.export({ format: 'jwk' }).d!, 'base64url');
  const pub = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
  return Buffer.concat([seed, pub]).toString('base64');
}

/** Fresh credentials with the shape the kind's exchange hands out: for the fake exchange and its tests, never real keys. */
export function sampleCredentials(kind: AdaptedKind, form: SecretForm = 'hmac'): Credentials {
  switch (kind) {
    case 'binance':
      return { public_key: alnum(64), private_key: form === 'hmac' ? alnum(64) : pem(form === 'rsa' ? 'rsa' : 'ed25519') };
    case 'okx':
      return { public_key: randomUUID(), private_key: randomBytes(16).toString('hex').toUpperCase(), passphrase: `Vault-${alnum(10)}!` };
    case 'bybit':
      return { public_key: alnum(18), private_key: form === 'rsa' ? pem('rsa') : alnum(36) };
    case 'coinbase':
      return {
        public_key: `organizations/${randomUUID()}/apiKeys/${randomUUID()}`,
        private_key:
          form === 'ed25519'
            ? coinbaseEd25519()
            : generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ format: 'pem', type: 'sec1' }).toString(),
      };
    case 'kraken':
      return { public_key: randomBytes(42).toString('base64'), private_key: randomBytes(64).toString('base64') };
    case 'upbit':
      return { public_key: alnum(40), private_key: alnum(40) };
    case 'coinone':
      return { public_key: randomUUID(), private_key: randomUUID() };
  }
}
