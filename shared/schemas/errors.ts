import * as z from 'zod/mini';

/** One entry of a 422 body, shaped as FastAPI (pydantic) writes it. */
export const validationIssue = z.object({
  loc: z.array(z.union([z.string(), z.number()])),
  msg: z.string(),
  type: z.string(),
});
export type ValidationIssue = z.infer<typeof validationIssue>;

export const errorBody = z.object({ detail: z.union([z.string(), z.array(validationIssue)]) });
export type ErrorBody = z.infer<typeof errorBody>;

/** Every error but a 422: one sentence for the caller. */
export const detailBody = z.object({ detail: z.string() });
/** A 422: one `{loc, msg, type}` per problem. */
export const validationErrorBody = z.object({ detail: z.array(validationIssue) });
/** What API Gateway itself answers (a 401 from its JWT authorizer, say), and the local server the same. */
export const gatewayErrorBody = z.object({ message: z.string() });
