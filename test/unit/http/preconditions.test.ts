import { describe, expect, it } from '@jest/globals';
import { AppError } from '../../../shared/errors.js';
import { ifMatchTags } from '../../../shared/http/preconditions.js';

const tagsOf = (value: string | undefined) => ifMatchTags(value === undefined ? {} : { 'If-Match': value });

describe('ifMatchTags', () => {
  it('is undefined (any current key matches) without the header or for *', () => {
    expect(tagsOf(undefined)).toBeUndefined();
    expect(tagsOf('*')).toBeUndefined();
    expect(tagsOf(' * ')).toBeUndefined();
  });

  it.each([
    ['"abc"', ['"abc"']],
    ['"a", "b"', ['"a"', '"b"']],
    ['"a",,\t"b" ,', ['"a"', '"b"']],
    ['"a,b"', ['"a,b"']],
    ['""', ['""']],
    ['W/"x"', []],
    ['W/"x", "y"', ['"y"']],
  ])('reads %j as the strong tags %j', (header, tags) => {
    expect(tagsOf(header)).toEqual(tags);
  });

  it.each(['abc', '5f0c1e', 'garbage"abc"garbage', '"abc"garbage', 'garbage"abc"', '"a" "b"', '', '  ', 'W/ "x"', 'w/"x"', '"open', '*, "a"', '"a\u0001"'])(
    'refuses %j with a 422 at ["header", "if-match"] that says what it must be',
    (header) => {
      let thrown: unknown;
      try {
        tagsOf(header);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(AppError);
      expect(thrown).toMatchObject({
        status: 422,
        detail: [{ loc: ['header', 'if-match'], type: 'value_error', msg: expect.stringMatching(/quoted entity tags/) }],
      });
    },
  );
});
