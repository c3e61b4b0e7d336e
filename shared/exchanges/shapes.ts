import { createPrivateKey } from 'node:crypto';
import * as z from 'zod/mini';
import type { CredentialIssue, Credentials } from './facts.js';
import { EXCHANGE_NAMES, type ExchangeKind, needsPassphrase } from './kinds.js';
import { isPem, privateKey } from './signing.js';

type Check = (value: string) => boolean;
interface Rule {
  readonly check: Check;
  /** What this exchange's value looks like: the whole 422 message, never the value itself. */
  readonly looksLike: string;
}
interface KindShape {
  readonly public_key?: Rule;
  readonly private_key?: Rule;
}

const matches =
  (pattern: RegExp): Check =>
  (value) =>
    pattern.test(value);
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** A PEM private key node can load, of one of the given types (`ec` keys on P-256 only). */
const pemKeyOf =
  (...types: string[]): Check =>
  (value) => {
    if (!isPem(value)) return false;
    try {
      const key = createPrivateKey(value.trim());
      if (key.asymmetricKeyType === 'ec') return types.includes('ec') && key.asymmetricKeyDetails?.namedCurve === 'prime256v1';
      return types.includes(key.asymmetricKeyType ?? '');
    } catch {
      return false;
    }
  };

/** Strict base64 (padding included) that decodes to exactly `bytes` bytes. */
const base64Of =
  (bytes: number): Check =>
  (value) =>
    /^[A-Za-z0-9+/]+={0,2}$/.test(value) && value.length % 4 === 0 && Buffer.from(value, 'base64').length === bytes;

const either =
  (...checks: Check[]): Check =>
  (value) =>
    checks.some((check) => check(value));

/** Coinbase's Ed25519 secret as it hands it out: base64 of the 32-byte seed and the 32-byte public key. */
const coinbaseEd25519: Check = (value) => {
  if (!base64Of(64)(value)) return false;
  try {
    return privateKey(value).asymmetricKeyType === 'ed25519';
  } catch {
    return false;
  }
};

/**
 * The shapes exchanges document for their keys. Only what is certain is checked: a wrong shape
 * here is a 422 before anything is sent; a right shape still has to pass the exchange itself.
 */
const SHAPES: Readonly<Partial<Record<ExchangeKind, KindShape>>> = {
  binance: {
    public_key: { check: matches(/^[A-Za-z0-9]{64}$/), looksLike: 'Binance API keys are 64 letters and digits' },
    private_key: {
      check: either(matches(/^[A-Za-z0-9]{64}$/), pemKeyOf('ed25519', 'rsa')),
      looksLike: 'Binance secrets are 64 letters and digits (an HMAC key), or an Ed25519 or RSA private key in PEM',
    },
  },
  okx: {
    public_key: { check: matches(UUID), looksLike: 'OKX API keys are UUIDs (8-4-4-4-12 hexadecimal digits)' },
    private_key: { check: matches(/^[0-9A-Fa-f]{32}$/), looksLike: 'OKX secret keys are 32 hexadecimal digits' },
  },
  bybit: {
    public_key: { check: matches(/^[A-Za-z0-9]{16,64}$/), looksLike: 'Bybit API keys are letters and digits' },
    private_key: {
      check: either(matches(/^[A-Za-z0-9]{16,64}$/), pemKeyOf('rsa')),
      looksLike: 'Bybit secrets are letters and digits (an HMAC key), or an RSA private key in PEM',
    },
  },
  coinbase: {
    public_key: {
      check: matches(/^organizations\/[^/\s]+\/apiKeys\/[^/\s]+$/),
      looksLike: 'Coinbase API key names look like organizations/{org_id}/apiKeys/{key_id}',
    },
    private_key: {
      check: either(pemKeyOf('ec', 'ed25519'), coinbaseEd25519),
      looksLike: 'Coinbase private keys are an EC (P-256) or Ed25519 private key in PEM, or Ed25519 in base64 (64 bytes)',
    },
  },
  kraken: {
    private_key: { check: base64Of(64), looksLike: 'Kraken private keys are base64 (88 characters, 64 bytes)' },
  },
  upbit: {
    public_key: { check: matches(/^[A-Za-z0-9]{20,64}$/), looksLike: 'Upbit access keys are letters and digits' },
    private_key: { check: matches(/^[A-Za-z0-9]{20,64}$/), looksLike: 'Upbit secret keys are letters and digits' },
  },
  coinone: {
    public_key: { check: matches(UUID), looksLike: 'Coinone access tokens are UUIDs (8-4-4-4-12 hexadecimal digits)' },
    private_key: { check: matches(UUID), looksLike: 'Coinone secret keys are UUIDs (8-4-4-4-12 hexadecimal digits)' },
  },
};

/**
 * What is wrong with these credentials for this kind, field by field (none: the shape is right).
 * Values are compared trimmed, as the vault stores them. Pure: usable by the request schemas and
 * by the prober alike.
 */
export function credentialIssues(kind: ExchangeKind, credentials: Credentials): CredentialIssue[] {
  const name = EXCHANGE_NAMES[kind];
  const issues: CredentialIssue[] = [];
  const shape = SHAPES[kind] ?? {};
  for (const field of ['public_key', 'private_key'] as const) {
    const rule = shape[field];
    if (rule && !rule.check(credentials[field].trim())) issues.push({ field, message: rule.looksLike });
  }
  const passphrase = credentials.passphrase?.trim();
  if (needsPassphrase(kind) && !passphrase) {
    issues.push({ field: 'passphrase', message: `${name} keys need the passphrase chosen when the key was created` });
  } else if (!needsPassphrase(kind) && credentials.passphrase !== undefined) {
    issues.push({ field: 'passphrase', message: `${name} keys have no passphrase` });
  }
  return issues;
}

/**
 * The same checks as a zod/mini refinement over `{public_key, private_key, passphrase?}`, each
 * issue at its field's path: for a request schema once the exchange's kind is known.
 */
export const credentialShape = (kind: ExchangeKind) =>
  z.superRefine<Credentials>((value, ctx) => {
    for (const { field, message } of credentialIssues(kind, value)) {
      // `input: undefined`: an issue never carries the credential it is about.
      ctx.addIssue({ code: 'custom', message, path: [field], input: undefined, params: { type: 'credential_shape' } });
    }
  });
