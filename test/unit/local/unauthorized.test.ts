import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type CryptoKey, generateKeyPair, SignJWT } from 'jose';
import { LOCAL_AUDIENCE, LOCAL_ISSUER, TOKEN_ALGORITHM } from '../../../local/dev-keys.js';
import { createLocalServer, type Handlers } from '../../../local/server.js';
import { signToken } from '../../../local/tokens.js';

/**
 * The local server answers a refused token as API Gateway does, a bare 401, and says why on its
 * log, so that a newcomer's 401 (an expired token, one from another data folder) is not a riddle.
 */
let server: Server;
let base: string;
let privateKey: CryptoKey;
const logged: string[] = [];

beforeAll(async () => {
  const pair = await generateKeyPair(TOKEN_ALGORITHM);
  privateKey = pair.privateKey;
  server = createLocalServer({} as Handlers, pair.publicKey, {}, (line) => logged.push(line));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
});

const signed = (key: CryptoKey, audience: string, expiresIn = '1h') =>
  new SignJWT({})
    .setProtectedHeader({ alg: TOKEN_ALGORITHM })
    .setSubject('alice')
    .setIssuer(LOCAL_ISSUER)
    .setAudience(audience)
    .setExpirationTime(expiresIn)
    .sign(key);

describe('a refused token', () => {
  it.each([
    ['no token', async () => undefined, /no Authorization: Bearer <token> header/],
    ['not a JWT', async () => 'not-a-jwt', /not a signed JWT/],
    ['expired', async () => signToken(privateKey, { subject: 'alice', admin: false, expiresIn: '-1m' }), /the token has expired/],
    ['another key', async () => signToken((await generateKeyPair(TOKEN_ALGORITHM)).privateKey, { subject: 'alice', admin: false }), /bad signature/],
    ['wrong audience', async () => signed(privateKey, 'someone-else'), new RegExp(`wrong audience: expected ${LOCAL_AUDIENCE}`)],
  ])('%s: 401 as API Gateway answers it, and the log says why', async (_, token, reason) => {
    const bearer = await token();
    const before = logged.length;
    const response = await fetch(`${base}/api/settings/exchanges`, { headers: bearer === undefined ? {} : { authorization: `Bearer ${bearer}` } });
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ message: 'Unauthorized' });
    expect(logged.slice(before)).toEqual([expect.stringMatching(new RegExp(`^401 GET /api/settings/exchanges: ${reason.source}`))]);
    if (bearer !== undefined) expect(logged.join('\n')).not.toContain(bearer);
  });
});

describe('the root', () => {
  it('points to the docs', async () => {
    const response = await fetch(`${base}/`, { redirect: 'manual' });
    expect({ status: response.status, location: response.headers.get('location') }).toEqual({ status: 302, location: '/docs' });
  });
});
