import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import * as z from 'zod/mini';
import type { Credentials } from '../../../shared/exchanges/facts.js';
import { ADAPTED_KINDS, EXCHANGE_KINDS, type ExchangeKind } from '../../../shared/exchanges/kinds.js';
import { credentialIssues, credentialShape } from '../../../shared/exchanges/shapes.js';
import { sampleCredentials } from '../../support/fake-exchange/index.js';

const issuesOf = (kind: ExchangeKind, credentials: Credentials) => credentialIssues(kind, credentials).map((issue) => [issue.field, issue.message]);
const ecPem = (curve: string) => generateKeyPairSync('ec', { namedCurve: curve }).privateKey.export({ format: 'pem', type: 'sec1' }).toString();

describe('credential shapes', () => {
  it.each(ADAPTED_KINDS)('%s: the shape its exchange hands out passes, every secret form of it', (kind) => {
    expect(credentialIssues(kind, sampleCredentials(kind))).toEqual([]);
  });

  it.each([
    ['binance', 'ed25519'],
    ['binance', 'rsa'],
    ['bybit', 'rsa'],
    ['coinbase', 'ed25519'],
  ] as const)('%s: an %s secret passes', (kind, form) => {
    expect(credentialIssues(kind, sampleCredentials(kind, form))).toEqual([]);
  });

  it('surrounding whitespace is not held against a key (the vault trims)', () => {
    const c = sampleCredentials('binance');
    expect(credentialIssues('binance', { public_key: ` ${c.public_key}\n`, private_key: `${c.private_key}  ` })).toEqual([]);
  });

  it.each<[ExchangeKind, Partial<Credentials>, string, RegExp]>([
    ['binance', { private_key: 'short' }, 'private_key', /Binance secrets are 64 letters and digits .*Ed25519 or RSA private key in PEM/],
    ['binance', { private_key: ecPem('prime256v1') }, 'private_key', /Binance/],
    ['binance', { public_key: 'abc' }, 'public_key', /Binance API keys are 64 letters and digits/],
    ['okx', { public_key: 'not-a-uuid' }, 'public_key', /OKX API keys are UUIDs/],
    ['okx', { private_key: 'xyz' }, 'private_key', /OKX secret keys are 32 hexadecimal digits/],
    ['coinbase', { public_key: 'abcdef' }, 'public_key', /organizations\/\{org_id\}\/apiKeys\/\{key_id\}/],
    ['coinbase', { private_key: ecPem('secp384r1') }, 'private_key', /EC \(P-256\) or Ed25519/],
    ['coinbase', { private_key: randomBytes(64).toString('hex') }, 'private_key', /Coinbase private keys/],
    ['kraken', { private_key: randomBytes(48).toString('base64') }, 'private_key', /Kraken private keys are base64 \(88 characters, 64 bytes\)/],
    ['kraken', { private_key: 'not base64 at all!' }, 'private_key', /Kraken/],
    ['upbit', { private_key: 'with spaces in it and more' }, 'private_key', /Upbit secret keys/],
    ['coinone', { public_key: 'acc3ss-t0k3n' }, 'public_key', /Coinone access tokens are UUIDs/],
  ])('%s: a wrong %j says what that exchange keys look like, never the value', (kind, change, field, message) => {
    const credentials = { ...sampleCredentials(kind as (typeof ADAPTED_KINDS)[number]), ...change };
    const issues = credentialIssues(kind, credentials);
    expect(issues).toEqual([{ field, message: expect.stringMatching(message) }]);
    for (const value of Object.values(change)) expect(JSON.stringify(issues)).not.toContain(value.trim().slice(0, 12));
  });

  it('OKX, KuCoin and Bitget need a passphrase; every other kind refuses one', () => {
    for (const kind of EXCHANGE_KINDS) {
      const base = kind === 'okx' ? sampleCredentials('okx') : { public_key: 'k', private_key: 's' };
      const withOne = { ...base, passphrase: 'Some-Passphrase1!' };
      const { passphrase: _, ...without } = base as Credentials;
      const needs = ['okx', 'kucoin', 'bitget'].includes(kind);
      const passphraseIssues = (c: Credentials) => issuesOf(kind, c).filter(([field]) => field === 'passphrase');
      expect(passphraseIssues(withOne)).toEqual(needs ? [] : [['passphrase', expect.stringMatching(/keys have no passphrase/)]]);
      expect(passphraseIssues(without)).toEqual(needs ? [['passphrase', expect.stringMatching(/keys need the passphrase/)]] : []);
      if (needs) expect(passphraseIssues({ ...base, passphrase: '   ' })).toHaveLength(1);
    }
  });

  it('as a zod/mini refinement: each issue at its field, carrying no input', () => {
    const schema = z.object({ public_key: z.string(), private_key: z.string(), passphrase: z.optional(z.string()) }).check(credentialShape('kraken'));
    const secret = 'definitely-not-base64-secret';
    const result = schema.safeParse({ public_key: 'key', private_key: secret, passphrase: 'nope' }, { reportInput: true });
    expect(result.success).toBe(false);
    expect(result.error!.issues.map((issue) => issue.path)).toEqual([['private_key'], ['passphrase']]);
    expect(JSON.stringify(result.error!.issues)).not.toContain(secret);
    expect(schema.safeParse(sampleCredentials('kraken')).success).toBe(true);
  });
});
