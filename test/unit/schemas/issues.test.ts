import { describe, expect, it } from '@jest/globals';
import * as z from 'zod/mini';
import { parseInput } from '../../../shared/http/validation.js';
import { describeIssues } from '../../../shared/schemas/issues.js';

const failure = (schema: z.ZodMiniType, input: unknown): z.core.$ZodError => {
  const result = schema.safeParse(input);
  if (result.success) throw new Error('expected the parse to fail');
  return result.error;
};

describe('zod issues as words', () => {
  const shape = z.strictObject({ name: z.string(), inner: z.strictObject({ count: z.number() }) });

  it('are English, not zod/mini\'s bare "Invalid input"', () => {
    expect(describeIssues(failure(shape, { name: 7, inner: { count: 1 } }))).toBe('name: Invalid input: expected string, received number');
  });

  it('never repeat an unknown field name, at any depth', () => {
    const said = describeIssues(failure(shape, { name: 'a', inner: { count: 1, 'sk-live-secret': 1 }, 'another-secret': 2 }), 'event');
    expect(said).toBe('inner: unrecognized field; event: unrecognized field');
  });

  it('name a pathless issue by its subject, or give the message alone', () => {
    expect(describeIssues(failure(shape, null), 'event')).toBe('event: Invalid input: expected object, received null');
    expect(describeIssues(failure(shape, null))).toBe('Invalid input: expected object, received null');
  });

  it('show each path segment as the caller allows', () => {
    const keyed = z.record(z.string(), z.number());
    expect(describeIssues(failure(keyed, { 'maybe-a-key': 'x' }), undefined, () => '?')).toBe('?: Invalid input: expected number, received string');
  });

  it('keep the 422 answers in the same English', () => {
    expect(() => parseInput(shape, { name: 'a', inner: { count: '1' } }, 'body')).toThrow(
      expect.objectContaining({ detail: [{ loc: ['body', 'inner', 'count'], msg: 'Invalid input: expected number, received string', type: 'number_type' }] }),
    );
  });
});
