import type * as z from 'zod/mini';
import { unprocessable } from '../errors.js';
import type { ValidationIssue } from '../schemas/errors.js';
// Loads zod's English messages: a 422's `msg` is the issue's message.
import '../schemas/issues.js';

type Location = 'path' | 'body' | 'query';

const pydanticType = (issue: z.core.$ZodIssue, input: unknown): string => {
  switch (issue.code) {
    case 'invalid_type':
      return input === undefined ? 'missing' : `${issue.expected}_type`;
    case 'too_small':
      return issue.origin === 'string' ? 'string_too_short' : 'greater_than_equal';
    case 'too_big':
      return issue.origin === 'string' ? 'string_too_long' : 'less_than_equal';
    case 'invalid_format':
      return 'string_pattern_mismatch';
    case 'custom':
      return typeof issue.params?.type === 'string' ? issue.params.type : 'value_error';
    default:
      return 'value_error';
  }
};

/** The value at `path` inside `root`, to tell a missing field from a wrongly typed one. */
const valueAt = (root: unknown, path: readonly PropertyKey[]): unknown =>
  path.reduce<unknown>((node, key) => (node !== null && typeof node === 'object' ? (node as Record<PropertyKey, unknown>)[key] : undefined), root);

/** Zod issues as FastAPI writes a 422: one `{loc, msg, type}` per problem, one per extra field. */
export function toValidationIssues(error: z.core.$ZodError, location: Location, input: unknown): ValidationIssue[] {
  return error.issues.flatMap((issue): ValidationIssue[] => {
    const loc = [location, ...issue.path.map((key) => (typeof key === 'number' ? key : String(key)))];
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ loc: [...loc, key], msg: 'Extra inputs are not permitted', type: 'extra_forbidden' }));
    }
    const value = valueAt(input, issue.path);
    const missing = issue.code === 'invalid_type' && value === undefined;
    return [{ loc, msg: missing ? 'Field required' : issue.message, type: pydanticType(issue, value) }];
  });
}

export function parseInput<S extends z.ZodMiniType>(schema: S, input: unknown, location: Location): z.output<S> {
  const result = schema.safeParse(input);
  if (!result.success) throw unprocessable(toValidationIssues(result.error, location, input));
  return result.data;
}
