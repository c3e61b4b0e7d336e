import { Signer } from '@aws-sdk/rds-signer';
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { iamAuthTokenSigner } from '../../../shared/db/iam-auth-token.js';

const endpoint = { hostname: 'vault.proxy-abc.eu-west-1.rds.amazonaws.com', port: 5432, username: 'vault_app', region: 'eu-west-1' };
const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', sessionToken: 'session/token+=' };

describe('iamAuthTokenSigner', () => {
  const environment = { ...process.env };
  afterEach(() => {
    jest.useRealTimers();
    process.env = { ...environment };
  });

  it.each(['2026-11-30T12:00:00Z', '2027-02-28T23:59:59Z'])('signs the token @aws-sdk/rds-signer signs, byte for byte (at %s)', async (now) => {
    jest.useFakeTimers({ now: new Date(now), doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    const reference = await new Signer({ ...endpoint, credentials }).getAuthToken();
    expect(await iamAuthTokenSigner(endpoint, credentials)()).toBe(reference);
    expect(reference).toContain(`X-Amz-Date=${now.replace(/[-:]/g, '')}`);
  });

  it('reads the role credentials from the environment a Lambda is given', async () => {
    Object.assign(process.env, {
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      AWS_SESSION_TOKEN: credentials.sessionToken,
    });
    const token = await iamAuthTokenSigner(endpoint)();
    expect(new URL(`https://${token}`).searchParams.get('X-Amz-Security-Token')).toBe(credentials.sessionToken);
    expect(new URL(`https://${token}`).searchParams.get('X-Amz-Expires')).toBe('900');
  });

  it('signs each token afresh: the pool asks for one per new connection', async () => {
    const sign = iamAuthTokenSigner(endpoint, credentials);
    jest.useFakeTimers({ now: new Date('2026-11-30T12:00:00Z'), doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    const first = await sign();
    jest.setSystemTime(new Date('2026-11-30T12:20:00Z'));
    expect(await sign()).not.toBe(first);
  });
});
