import * as z from 'zod/mini';
import { EXCHANGE_KINDS, exchangeKind } from '../exchanges/kinds.js';
import { boundedText, INT4_MAX, integerParameter, positiveId } from './text.js';

export const EXCHANGE_NAME_MAX = 20;

const KIND_DESCRIPTION = `Which exchange API it speaks: one of ${EXCHANGE_KINDS.join(', ')}; null where not known`;

export const createExchangeBody = z.strictObject({
  exchange_name: boundedText({ max: EXCHANGE_NAME_MAX, multiline: false }),
  kind: z.optional(exchangeKind).check(z.meta({ description: KIND_DESCRIPTION })),
});
export type CreateExchangeBody = z.infer<typeof createExchangeBody>;

export const exchange = z.object({
  exchange_id: positiveId,
  exchange_name: z.string(),
  kind: z.nullable(exchangeKind),
});
export type Exchange = z.infer<typeof exchange>;

export const exchangeList = z.array(exchange);
export type ExchangeList = z.infer<typeof exchangeList>;

/** `{exchange_id}` names one exchange. */
export const exchangePathParams = z.strictObject({
  exchange_id: integerParameter(INT4_MAX).check(z.meta({ description: 'The exchange: its exchange_id, from 1', example: '101' })),
});
export type ExchangePathParams = z.infer<typeof exchangePathParams>;

/** An admin names (or, with null, forgets) the kind of an existing exchange: adopted seed databases have none. */
export const setExchangeKindBody = z.strictObject({
  kind: z.nullable(exchangeKind).check(z.meta({ description: KIND_DESCRIPTION })),
});
export type SetExchangeKindBody = z.infer<typeof setExchangeKindBody>;
