import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { passwordFromSecret } from '../../../shared/db/app-role.js';
import { scramSha256Verifier } from '../../../shared/db/scram.js';

/** RFC 7677's SCRAM-SHA-256 exchange (user "user", password "pencil"). */
const RFC7677 = {
  password: 'pencil',
  salt: 'W22ZaJ0SNY7soEsUEjb6gQ==',
  iterations: 4096,
  authMessage:
    'n=user,r=rOprNGfwEbeRWgbNEkqO,' +
    'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,' +
    'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0',
  clientProof: 'dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
  serverSignature: '6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=',
};

const parse = (verifier: string) => {
  const match = /^SCRAM-SHA-256\$(\d+):([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+):([A-Za-z0-9+/=]+)$/.exec(verifier);
  if (!match) throw new Error(`not a verifier: ${verifier}`);
  const [, iterations, salt, storedKey, serverKey] = match;
  return { iterations: Number(iterations), salt: salt!, storedKey: Buffer.from(storedKey!, 'base64'), serverKey: Buffer.from(serverKey!, 'base64') };
};

describe('scramSha256Verifier', () => {
  it("holds the keys that complete RFC 7677's exchange: the server's signature, and the client's proof checks out", () => {
    const verifier = parse(scramSha256Verifier(RFC7677.password, { salt: Buffer.from(RFC7677.salt, 'base64'), iterations: RFC7677.iterations }));
    expect(verifier).toMatchObject({ iterations: 4096, salt: RFC7677.salt });
    expect(createHmac('sha256', verifier.serverKey).update(RFC7677.authMessage).digest('base64')).toBe(RFC7677.serverSignature);
    // The server's check: ClientKey = ClientProof XOR HMAC(StoredKey, AuthMessage), and H(ClientKey) must be StoredKey.
    const signature = createHmac('sha256', verifier.storedKey).update(RFC7677.authMessage).digest();
    const clientKey = Buffer.from(Buffer.from(RFC7677.clientProof, 'base64').map((byte, i) => byte ^ signature[i]!));
    expect(createHash('sha256').update(clientKey).digest().equals(verifier.storedKey)).toBe(true);
  });

  it("uses PostgreSQL's defaults, 4096 iterations and a fresh 16-byte salt each time, and never contains the password", () => {
    const password = 'Abc-123_xyz.PASSWORD.with.some.length';
    const first = scramSha256Verifier(password);
    const second = scramSha256Verifier(password);
    expect(parse(first).iterations).toBe(4096);
    expect(Buffer.from(parse(first).salt, 'base64')).toHaveLength(16);
    expect(first).not.toBe(second);
    expect(first).not.toContain(password);
  });

  it.each([
    ['empty', ''],
    ['non-ASCII (SASLprep would change it)', 'pässword'],
    ['a control character', 'pass\tword'],
  ])('refuses a password that is %s, without quoting it', (_, password) => {
    expect(() => scramSha256Verifier(password)).toThrow('the password must be non-empty printable ASCII');
  });
});

describe('passwordFromSecret', () => {
  it('returns the password of a generated database secret for the expected user', () => {
    const secret = JSON.stringify({ username: 'vault_app', password: 'p4ss-W0rd', engine: 'postgres', port: 5432 });
    expect(passwordFromSecret(secret, 'vault_app')).toBe('p4ss-W0rd');
  });

  it.each([
    ['that is not JSON', 'p4ss-W0rd-not-json', 'the database secret is not JSON'],
    ['for another user', JSON.stringify({ username: 'vault_admin', password: 'p4ss-W0rd' }), 'the database secret is not for user vault_app'],
    ['without a password', JSON.stringify({ username: 'vault_app' }), 'the database secret has no password'],
    ['with an empty password', JSON.stringify({ username: 'vault_app', password: '' }), 'the database secret has no password'],
    ['that is JSON but not an object', '"p4ss-W0rd"', 'the database secret is not for user vault_app'],
  ])('refuses a secret %s, and never quotes it', (_, text, message) => {
    let error: unknown;
    try {
      passwordFromSecret(text, 'vault_app');
    } catch (caught) {
      error = caught;
    }
    expect(error).toEqual(new Error(message));
    expect(String((error as Error).message)).not.toContain('p4ss-W0rd');
  });
});
