import { createHmac, createPublicKey, type KeyObject, timingSafeEqual } from 'node:crypto';
import type { Credentials } from '../../shared/exchanges/facts.js';
import type { AdaptedKind } from '../../shared/exchanges/kinds.js';
import { isPem, privateKey } from '../../shared/exchanges/signing.js';

/** What a key at the fake exchange can be told to be or do; by default it reads and trades, IP-bound, with no near expiry. */
export interface Behaviour {
  readonly reject?: boolean;
  readonly withdraw?: boolean;
  readonly transfer?: boolean;
  readonly ipUnbound?: boolean;
  readonly expiresSoon?: boolean;
  readonly hang?: boolean;
}

export interface FakeKey {
  readonly credentials: Credentials;
  behaviour: Behaviour;
  /** The public half of an asymmetric secret (Binance/Bybit PEM, Coinbase), to verify with. */
  readonly publicKey?: KeyObject;
  /** Kraken: the highest nonce accepted so far. Upbit, Coinone: the nonces seen. */
  lastNonce: bigint;
  readonly nonces: Set<string>;
}

export interface FakeRequest {
  readonly method: string;
  /** The exchange's own path, the fake's per-kind prefix removed. */
  readonly path: string;
  readonly query: string;
  /** Lower-cased names, as node gives them. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body: string;
  readonly host: string;
}

export interface FakeReply {
  readonly status: number;
  readonly body: unknown;
}

/** The exchange's answer, or `hang`: the fake holds the connection open and never answers. */
export type FakeResult = FakeReply | 'hang';

export interface Venue {
  readonly kind: AdaptedKind;
  handle(request: FakeRequest, keys: ReadonlyMap<string, FakeKey>, now: Date): FakeResult | Promise<FakeResult>;
}

export const json = (status: number, body: unknown): FakeReply => ({ status, body });

/** Constant-time comparison of two signatures as their text. */
export const sameText = (a: string, b: string): boolean => {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
};

export const hmacOf = (algorithm: 'sha256' | 'sha512', key: string | Buffer, data: string | Buffer, encoding: 'hex' | 'base64'): string =>
  createHmac(algorithm, key).update(data).digest(encoding);

export function newKey(kind: AdaptedKind, credentials: Credentials, behaviour: Behaviour): FakeKey {
  const asymmetric = kind === 'coinbase' || isPem(credentials.private_key);
  return {
    credentials,
    behaviour,
    publicKey: asymmetric ? createPublicKey(privateKey(credentials.private_key)) : undefined,
    lastNonce: 0n,
    nonces: new Set(),
  };
}

/** A date a few days ahead (expires soon) or about a year ahead (keys that expire anyway). */
export const expiry = (now: Date, behaviour: Behaviour): Date => new Date(now.getTime() + (behaviour.expiresSoon ? 3 : 365) * 86_400_000);
