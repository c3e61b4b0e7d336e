import * as z from 'zod';

/** One entry of a 422 body, shaped as FastAPI (pydantic) writes it. */
export const validationIssue = z.object({
  loc: z.array(z.union([z.string(), z.number()])),
  msg: z.string(),
  type: z.string(),
});
export type ValidationIssue = z.infer<typeof validationIssue>;

export const errorBody = z.object({ detail: z.union([z.string(), z.array(validationIssue)]) });
export type ErrorBody = z.infer<typeof errorBody>;
