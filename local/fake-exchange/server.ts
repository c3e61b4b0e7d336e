import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Credentials } from '../../shared/exchanges/facts.js';
import { ADAPTED_KINDS, type AdaptedKind } from '../../shared/exchanges/kinds.js';
import { binance } from './binance.js';
import { bybit } from './bybit.js';
import { coinbase } from './coinbase.js';
import { coinone } from './coinone.js';
import { kraken } from './kraken.js';
import { okx } from './okx.js';
import { upbit } from './upbit.js';
import { type Behaviour, type FakeKey, type FakeRequest, newKey, type Venue } from './venue.js';

const VENUES: Readonly<Record<AdaptedKind, Venue>> = { binance, okx, bybit, coinbase, kraken, upbit, coinone };

export interface FakeExchange {
  /** `EXCHANGE_API_URLS` for this fake: each kind on its own path prefix. */
  readonly baseUrls: Readonly<Record<AdaptedKind, string>>;
  /** Makes a key known to its exchange, behaving as told (and told again by calling this again). */
  addKey(kind: AdaptedKind, credentials: Credentials, behaviour?: Behaviour): void;
  close(): Promise<void>;
}

export interface FakeExchangeOptions {
  readonly port?: number;
  /** The exchanges' clock (tests move it to check the windows); the machine's by default. */
  readonly now?: () => Date;
}

async function readAll(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * One HTTP server on 127.0.0.1 that speaks each adapted exchange under `/<kind>`: it verifies every
 * request as that exchange documents it, answers with its field names and refuses with its own
 * error shape and code. Nothing in it is test code: `npm run fake-exchange` starts it for local runs.
 */
export async function startFakeExchange(options: FakeExchangeOptions = {}): Promise<FakeExchange> {
  const keys = new Map<AdaptedKind, Map<string, FakeKey>>(ADAPTED_KINDS.map((kind) => [kind, new Map()]));
  const now = options.now ?? (() => new Date());

  async function serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://fake');
    const [, prefix, ...rest] = url.pathname.split('/');
    const kind = ADAPTED_KINDS.find((k) => k === prefix);
    if (!kind) {
      response.writeHead(404).end();
      return;
    }
    const headers = Object.fromEntries(Object.entries(request.headers).map(([name, value]) => [name, Array.isArray(value) ? value.join(',') : value]));
    const fake: FakeRequest = {
      method: request.method ?? 'GET',
      path: `/${rest.join('/')}`,
      query: url.search.slice(1),
      headers,
      body: await readAll(request),
      host: request.headers.host ?? '',
    };
    const result = await VENUES[kind].handle(fake, keys.get(kind)!, now());
    if (result === 'hang') return;
    const text = typeof result.body === 'string' ? result.body : JSON.stringify(result.body);
    response.writeHead(result.status, { 'content-type': typeof result.body === 'string' ? 'text/plain' : 'application/json' }).end(text);
  }

  const server = createServer((request, response) => {
    serve(request, response).catch(() => response.writeHead(500).end());
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const baseUrls = Object.fromEntries(ADAPTED_KINDS.map((kind) => [kind, `http://127.0.0.1:${port}/${kind}`])) as Record<AdaptedKind, string>;

  return {
    baseUrls,
    addKey(kind, credentials, behaviour = {}) {
      const known = keys.get(kind)!;
      const existing = known.get(credentials.public_key);
      if (existing) existing.behaviour = behaviour;
      else known.set(credentials.public_key, newKey(kind, credentials, behaviour));
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // Hanging requests hold their sockets open; close() waits for none of them.
        server.closeAllConnections();
      }),
  };
}
