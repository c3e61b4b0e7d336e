import * as z from 'zod/mini';
import { boundedText, INT4_MAX, integerParameter, positiveId } from './text.js';

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

/** `{exchange_id}` names one exchange. */
export const exchangePathParams = z.strictObject({
  exchange_id: integerParameter(INT4_MAX).check(z.meta({ description: 'The exchange: its exchange_id, from 1', example: '101' })),
});
export type ExchangePathParams = z.infer<typeof exchangePathParams>;
