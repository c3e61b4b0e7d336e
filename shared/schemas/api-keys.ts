import * as z from 'zod';
import { boundedText, INT4_MAX, positiveId } from './text.js';

export const API_KEY_MAX = 4096;

const apiKeyText = boundedText({ max: API_KEY_MAX, multiline: true });

export const registerApiKeyBody = z.strictObject({
  exchange_id: positiveId,
  public_key: apiKeyText,
  private_key: apiKeyText,
  user_no: positiveId.optional(),
});
export type RegisterApiKeyBody = z.infer<typeof registerApiKeyBody>;

/** Query strings arrive as text; user_no must still be a plain int4. */
const userNoParameter = z
  .string()
  .regex(/^[0-9]{1,10}$/, { message: 'Input should be a valid integer' })
  .transform(Number)
  .pipe(z.number().int().min(1).max(INT4_MAX));

export const listApiKeysQuery = z.strictObject({ user_no: userNoParameter.optional() });
export type ListApiKeysQuery = z.infer<typeof listApiKeysQuery>;

/**
 * The seed's clients send user_no in the body, but one named in the query string is checked just
 * the same rather than ignored. Other parameters are still ignored, as they always were here.
 */
export const registerApiKeyQuery = z.object({ user_no: userNoParameter.optional() });
export type RegisterApiKeyQuery = z.infer<typeof registerApiKeyQuery>;

export const registeredMessage = z.strictObject({ message: z.literal('API key registered successfully.') });
export type RegisteredMessage = z.infer<typeof registeredMessage>;

/** `pending_upgrade`: a row adopted from the seed whose masks the re-encryption job has not filled yet. */
export const maskedKeyStatus = z.enum(['ready', 'pending_upgrade']);

export const maskedApiKey = z.strictObject({
  exchange_id: positiveId,
  exchange_name: z.string(),
  public_key_masked: z.string().nullable(),
  private_key_masked: z.string().nullable(),
  is_active: z.boolean(),
  create_date: z.iso.datetime({ offset: true }),
  update_date: z.iso.datetime({ offset: true }).nullable(),
  status: maskedKeyStatus,
});
export type MaskedApiKey = z.infer<typeof maskedApiKey>;

export const maskedApiKeyList = z.array(maskedApiKey);
