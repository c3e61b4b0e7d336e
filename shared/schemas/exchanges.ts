import * as z from 'zod/mini';
import { boundedText, positiveId } from './text.js';

export const EXCHANGE_NAME_MAX = 20;

export const createExchangeBody = z.strictObject({
  exchange_name: boundedText({ max: EXCHANGE_NAME_MAX, multiline: false }),
});
export type CreateExchangeBody = z.infer<typeof createExchangeBody>;

export const exchange = z.object({
  exchange_id: positiveId,
  exchange_name: z.string(),
});
export type Exchange = z.infer<typeof exchange>;

export const exchangeList = z.array(exchange);
export type ExchangeList = z.infer<typeof exchangeList>;
