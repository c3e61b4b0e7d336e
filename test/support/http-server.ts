import { request as httpRequest, type Server } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { type CryptoKey, generateKeyPair, type JWTPayload, SignJWT } from 'jose';
import { LOCAL_AUDIENCE, LOCAL_ISSUER, TOKEN_ALGORITHM } from '../../local/dev-keys.js';
import { createLocalServer, type Handlers } from '../../local/server.js';
import { signToken } from '../../local/tokens.js';

const base64url = (value: unknown): string => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

export interface TokenFactory {
  /** A token the local server accepts, minted exactly as `npm run token` mints it. */
  valid(subject: string, options?: { admin?: boolean }): Promise<string>;
  /** Signed with the server's own key, with whatever claims and header the caller chooses. */
  signed(claims: JWTPayload, options?: { expiresIn?: string | number; header?: Record<string, unknown> }): Promise<string>;
  /** Every way a token can be missing, garbled, expired or forged; each must be refused with 401. */
  forged(subject: string): Promise<ReadonlyArray<readonly [name: string, authorization: string | undefined]>>;
}

async function tokenFactory(privateKey: CryptoKey): Promise<TokenFactory> {
  const stranger = await generateKeyPair(TOKEN_ALGORITHM, { extractable: true });
  const hmacSecret = new TextEncoder().encode('a-shared-secret-nobody-configured-0123456789');

  const build = (claims: JWTPayload, header: Record<string, unknown> = {}) =>
    new SignJWT(claims).setProtectedHeader({ alg: TOKEN_ALGORITHM, typ: 'JWT', ...header } as { alg: string });

  const factory: TokenFactory = {
    valid: (subject, options = {}) => signToken(privateKey, { subject, admin: options.admin ?? false }),
    signed: (claims, options = {}) => {
      const jwt = build({ iss: LOCAL_ISSUER, aud: LOCAL_AUDIENCE, ...claims }, options.header).setIssuedAt();
      if (options.expiresIn !== undefined) jwt.setExpirationTime(options.expiresIn);
      return jwt.sign(privateKey);
    },
    async forged(subject) {
      const claims = { sub: subject, 'cognito:groups': ['admin'] };
      const good = await factory.valid(subject);
      const [header, payload] = good.split('.');
      const now = Math.floor(Date.now() / 1000);
      const bearer = (token: string) => `Bearer ${token}`;
      return [
        ['no Authorization header', undefined],
        ['empty Authorization header', ''],
        ['Bearer with no token', 'Bearer '],
        ['Basic scheme', `Basic ${Buffer.from(`${subject}:password`).toString('base64')}`],
        ['token without the Bearer scheme', good],
        ['not a JWT', bearer('not-a-jwt')],
        ['three garbage segments', bearer('aaaa.bbbb.cccc')],
        ['JSON header and payload, no signature', bearer(`${base64url({ alg: TOKEN_ALGORITHM })}.${base64url(claims)}.`)],
        ['expired', bearer(await factory.signed(claims, { expiresIn: now - 60 }))],
        [
          'not valid yet',
          bearer(
            await build({ iss: LOCAL_ISSUER, aud: LOCAL_AUDIENCE, ...claims })
              .setNotBefore(now + 3600)
              .setExpirationTime('2h')
              .sign(privateKey),
          ),
        ],
        ['never expires (no exp claim)', bearer(await factory.signed(claims))],
        ['wrong issuer', bearer(await factory.signed({ ...claims, iss: 'https://attacker.example/issuer' }, { expiresIn: '1h' }))],
        ['wrong audience', bearer(await factory.signed({ ...claims, aud: 'some-other-api' }, { expiresIn: '1h' }))],
        [
          'no audience',
          bearer(
            await build({ iss: LOCAL_ISSUER, ...claims })
              .setIssuedAt()
              .setExpirationTime('1h')
              .sign(privateKey),
          ),
        ],
        [
          'signed by another key',
          bearer(
            await build({ iss: LOCAL_ISSUER, aud: LOCAL_AUDIENCE, ...claims })
              .setExpirationTime('1h')
              .sign(stranger.privateKey),
          ),
        ],
        [
          'alg: none',
          bearer(`${base64url({ alg: 'none', typ: 'JWT' })}.${base64url({ iss: LOCAL_ISSUER, aud: LOCAL_AUDIENCE, exp: now + 3600, ...claims })}.`),
        ],
        [
          'alg: HS256 with a shared secret',
          bearer(
            await new SignJWT({ iss: LOCAL_ISSUER, aud: LOCAL_AUDIENCE, ...claims })
              .setProtectedHeader({ alg: 'HS256' })
              .setExpirationTime('1h')
              .sign(hmacSecret),
          ),
        ],
        [
          'payload swapped for an admin one under a valid signature',
          bearer(`${header}.${base64url({ iss: LOCAL_ISSUER, aud: LOCAL_AUDIENCE, exp: now + 3600, ...claims })}.${good.split('.')[2]}`),
        ],
        ['signature stripped', bearer(`${header}.${payload}.`)],
        ['signature of another token', bearer(`${header}.${payload}.${(await factory.valid(`${subject}-other`)).split('.')[2]}`)],
      ];
    },
  };
  return factory;
}

export interface HttpReply {
  status: number;
  headers: Headers;
  text: string;
  json: unknown;
}

export interface RequestOptions {
  /** The whole Authorization header value; omitted: no header. */
  authorization?: string;
  body?: unknown;
  /** Sent as it is. */
  rawBody?: string | Uint8Array;
  query?: Record<string, string>;
  headers?: Record<string, string>;
}

export interface LocalApi {
  readonly baseUrl: string;
  readonly tokens: TokenFactory;
  request(method: string, path: string, options?: RequestOptions): Promise<HttpReply>;
  /** Writes `head` (request line and headers, CRLF-separated, no final blank line) on a raw socket; returns the status. */
  rawStatus(head: string): Promise<number>;
  close(): Promise<void>;
}

/**
 * The local server (local/server.ts: route matching, the JWT authorizer, the payload-2.0 event)
 * in this process, on a loopback port of its own, in front of the given handlers, trusting a
 * signing key generated for this test file only.
 */
export async function startLocalApi(handlers: Handlers): Promise<LocalApi> {
  const { privateKey, publicKey } = await generateKeyPair(TOKEN_ALGORITHM);
  const server: Server = createLocalServer(handlers, publicKey);
  server.keepAliveTimeout = 100;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const baseUrl = `http://127.0.0.1:${port}`;

  return {
    baseUrl,
    tokens: await tokenFactory(privateKey),
    request(method, path, options = {}) {
      const url = new URL(path, baseUrl);
      for (const [name, value] of Object.entries(options.query ?? {})) url.searchParams.append(name, value);
      const body = options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
      const headers: Record<string, string> = {
        ...(options.authorization === undefined ? {} : { authorization: options.authorization }),
        ...(body === undefined ? {} : { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) }),
        ...options.headers,
      };
      // node:http rather than fetch: fetch refuses a body on GET, and an attacker's client does not.
      return new Promise((resolve, reject) => {
        const outgoing = httpRequest(url, { method, headers, agent: false }, (incoming) => {
          const chunks: Buffer[] = [];
          incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
          incoming.on('error', reject);
          incoming.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let json: unknown;
            try {
              json = text ? JSON.parse(text) : undefined;
            } catch {
              json = undefined;
            }
            const replyHeaders = new Headers();
            for (const [name, value] of Object.entries(incoming.headers)) {
              if (value !== undefined) replyHeaders.set(name, Array.isArray(value) ? value.join(', ') : value);
            }
            resolve({ status: incoming.statusCode ?? 0, headers: replyHeaders, text, json });
          });
        });
        outgoing.on('error', reject);
        outgoing.end(body);
      });
    },
    rawStatus(head) {
      return new Promise((resolve, reject) => {
        const socket = connect(port, '127.0.0.1', () => socket.end(`${head}\r\nConnection: close\r\n\r\n`));
        let received = '';
        socket.setEncoding('latin1');
        socket.on('data', (chunk: string) => (received += chunk));
        socket.on('error', reject);
        socket.on('close', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(received)?.[1] ?? 0)));
      });
    },
    close: () =>
      new Promise((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
