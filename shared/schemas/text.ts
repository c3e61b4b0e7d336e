import * as z from 'zod/mini';

// A lone surrogate would be silently stored as U+FFFD by pg, and NUL cannot live in jsonb or text.
const hasLoneSurrogate = (s: string): boolean => !s.isWellFormed();
const CONTROL_EXCEPT_WHITESPACE = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/;
const ANY_CONTROL = /[\u0000-\u001F\u007F]/;

/** Length in code points, as PostgreSQL's varchar(n) counts it. */
export const codePointLength = (s: string): number => {
  let n = 0;
  for (const _ of s) n += 1;
  return n;
};

interface TextRules {
  max: number;
  /** Line breaks and tabs are allowed inside keys (PEM private keys span lines), never in names. */
  multiline: boolean;
}

/** A trimmed, well-formed string of 1..max code points, with no NUL or stray control characters. */
export const boundedText = ({ max, multiline }: TextRules) =>
  z.string().check(
    z.refine((s) => !hasLoneSurrogate(s), { message: 'String must be well-formed Unicode (no lone surrogates)' }),
    z.refine((s) => !(multiline ? CONTROL_EXCEPT_WHITESPACE : ANY_CONTROL).test(s), {
      message: 'String must not contain NUL or control characters',
    }),
    z.trim(),
    z.refine((s) => s.length > 0, { message: 'String should have at least 1 character', params: { type: 'string_too_short' } }),
    z.refine((s) => codePointLength(s) <= max, {
      message: `String should have at most ${max} characters`,
      params: { type: 'string_too_long' },
    }),
    // The refinements above are invisible to JSON Schema: the document states the same bounds.
    z.meta({ minLength: 1, maxLength: max, description: `1 to ${max} characters, surrounding whitespace trimmed` }),
  );

/** A PostgreSQL integer (int4) id: the seed's serial and sequence columns. */
export const INT4_MAX = 2_147_483_647;
export const positiveId = z.number().check(z.int(), z.minimum(1), z.maximum(INT4_MAX));

/** Query strings and path segments arrive as text; a number in them must still be a plain integer in range. */
export const integerParameter = (max: number) =>
  z.pipe(
    z.pipe(z.string().check(z.regex(new RegExp(`^[0-9]{1,${String(max).length}}$`), { message: 'Input should be a valid integer' })), z.transform(Number)),
    z.number().check(z.int(), z.minimum(1), z.maximum(max)),
  );

/**
 * OpenID Connect caps `sub` at 255 ASCII characters. A longer one could outgrow a btree index
 * entry (about 2.7 KB), and the lookup by subject would fail with a server error, not a 401.
 */
export const MAX_SUBJECT_BYTES = 255;

/**
 * A subject PostgreSQL can store and index exactly. pg sends a lone surrogate as U+FFFD, so
 * "x\ud800" and "x\udfff" would both become the user "x\ufffd"; text cannot hold NUL at all;
 * and the subject's unique index holds entries of bounded size.
 */
export const storableSubject = (subject: string): boolean =>
  subject.length > 0 && subject.isWellFormed() && !subject.includes('\u0000') && Buffer.byteLength(subject, 'utf8') <= MAX_SUBJECT_BYTES;

/** A user's identity-provider subject (the token's `sub`), as the engine names the user. */
export const subjectText = z
  .string()
  .check(
    z.refine(storableSubject, { message: `subject must be 1 to ${MAX_SUBJECT_BYTES} bytes of well-formed UTF-8 without NUL` }),
    z.meta({ minLength: 1, description: "The user's identity-provider subject (the token's `sub`)" }),
  );
