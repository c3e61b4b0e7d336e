import type { ExchangeAdapter } from '../adapter.js';
import type { AdaptedKind } from '../kinds.js';
import { binance } from './binance.js';
import { bybit } from './bybit.js';
import { coinbase } from './coinbase.js';
import { coinone } from './coinone.js';
import { kraken } from './kraken.js';
import { okx } from './okx.js';
import { upbit } from './upbit.js';

export const ADAPTERS: Readonly<Record<AdaptedKind, ExchangeAdapter>> = { binance, okx, bybit, coinbase, kraken, upbit, coinone };
