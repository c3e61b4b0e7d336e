import * as z from 'zod/mini';

/**
 * Which exchange API an exchange row speaks. Seven have an adapter that asks the exchange about a
 * key; KuCoin and Bitget are known for their credentials (a passphrase) before they have one.
 */
export const EXCHANGE_KINDS = ['binance', 'okx', 'bybit', 'coinbase', 'kraken', 'upbit', 'coinone', 'kucoin', 'bitget'] as const;
export const exchangeKind = z.enum(EXCHANGE_KINDS);
export type ExchangeKind = z.infer<typeof exchangeKind>;

export const ADAPTED_KINDS = ['binance', 'okx', 'bybit', 'coinbase', 'kraken', 'upbit', 'coinone'] as const satisfies readonly ExchangeKind[];
export const adaptedKind = z.enum(ADAPTED_KINDS);
export type AdaptedKind = z.infer<typeof adaptedKind>;

export const isAdapted = (kind: ExchangeKind): kind is AdaptedKind => (ADAPTED_KINDS as readonly string[]).includes(kind);

/** Kinds whose keys have a third half: a passphrase the user chose when creating the key. */
export const PASSPHRASE_KINDS: ReadonlySet<ExchangeKind> = new Set(['okx', 'kucoin', 'bitget']);
export const needsPassphrase = (kind: ExchangeKind): boolean => PASSPHRASE_KINDS.has(kind);

/** How a kind is named to people (in 422 details and docs). */
export const EXCHANGE_NAMES: Readonly<Record<ExchangeKind, string>> = {
  binance: 'Binance',
  okx: 'OKX',
  bybit: 'Bybit',
  coinbase: 'Coinbase',
  kraken: 'Kraken',
  upbit: 'Upbit',
  coinone: 'Coinone',
  kucoin: 'KuCoin',
  bitget: 'Bitget',
};
