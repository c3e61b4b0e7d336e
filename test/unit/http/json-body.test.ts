import { describe, expect, it } from '@jest/globals';
import { AppError } from '../../../shared/errors.js';
import { MAX_BODY_BYTES, readJsonBody } from '../../../shared/http/json-body.js';

const JSON_INVALID = [{ loc: ['body'], msg: 'JSON decode error', type: 'json_invalid' }];

const event = (body: string | undefined, contentType: string | null = 'application/json', isBase64Encoded = false) => ({
  ...(body === undefined ? {} : { body }),
  isBase64Encoded,
  headers: contentType === null ? {} : { 'content-type': contentType },
});

/** The AppError a read fails with: its status and detail, or the test fails. */
const refusal = (read: () => unknown): Pick<AppError, 'status' | 'detail'> => {
  try {
    read();
  } catch (error) {
    if (error instanceof AppError) return { status: error.status, detail: error.detail };
    throw error;
  }
  throw new Error('expected a refusal');
};

describe('readJsonBody', () => {
  it.each(['application/json', 'application/json; charset=utf-8', 'Application/JSON;charset=UTF-8', 'application/vnd.api+json', 'application/problem+json '])(
    'reads a body sent as %s',
    (contentType) => {
      expect(readJsonBody(event('{"exchange_id": 101}', contentType))).toEqual({ exchange_id: 101 });
    },
  );

  it('reads a base64 body, as API Gateway hands over bytes, and leaves the event as it was', () => {
    const sent = event(Buffer.from('{"exchange_name": "Ünïcode"}').toString('base64'), 'application/json', true);
    const copy = structuredClone(sent);
    expect(readJsonBody(sent)).toEqual({ exchange_name: 'Ünïcode' });
    expect(sent).toEqual(copy);
  });

  it.each([
    ['text/plain', 'text/plain'],
    ['a form', 'application/x-www-form-urlencoded'],
    ['no content type', null],
    ['json as a suffix of another type', 'application/jsonp'],
    ['json with a subtype path', 'application/x/y+json'],
    ['text/json', 'text/json'],
  ])('answers 415, not 422, for %s even when the body is JSON', (_kind, contentType) => {
    expect(refusal(() => readJsonBody(event('{}', contentType)))).toEqual({ status: 415, detail: 'Content-Type must be application/json' });
  });

  it.each([
    ['malformed JSON', event('{"exchange_id": 101,')],
    ['an empty body', event('')],
    ['no body at all', event(undefined)],
    ['a byte order mark before the JSON', event('\ufeff{}')],
    ['malformed JSON in base64', event(Buffer.from('{').toString('base64'), 'application/json', true)],
  ])('answers 422 json_invalid for %s', (_kind, sent) => {
    expect(refusal(() => readJsonBody(sent))).toEqual({ status: 422, detail: JSON_INVALID });
  });

  it('answers 422 for base64 bytes that are not UTF-8, rather than storing U+FFFD', () => {
    const sent = event(Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x7d]).toString('base64'), 'application/json', true);
    expect(refusal(() => readJsonBody(sent))).toEqual({
      status: 422,
      detail: [{ loc: ['body'], msg: 'Request body is not valid UTF-8', type: 'json_invalid' }],
    });
  });

  it('answers 413 past 16 KiB, counting bytes (decoded, for base64), before the content type is looked at', () => {
    const tooLarge = { status: 413, detail: `Request body must be at most ${MAX_BODY_BYTES} bytes` };
    expect(refusal(() => readJsonBody(event(`"${'x'.repeat(MAX_BODY_BYTES)}"`)))).toEqual(tooLarge);
    expect(refusal(() => readJsonBody(event('é'.repeat(MAX_BODY_BYTES / 2 + 1), 'text/plain')))).toEqual(tooLarge);
    expect(refusal(() => readJsonBody(event(Buffer.alloc(MAX_BODY_BYTES + 1).toString('base64'), 'application/json', true)))).toEqual(tooLarge);
    expect(readJsonBody(event(`"${'x'.repeat(MAX_BODY_BYTES - 2)}"`))).toHaveLength(MAX_BODY_BYTES - 2);
  });
});

// Review finding: the strict TextDecoder strips a leading BOM from base64 bodies (ignoreBOM defaults to
// false), so the same bytes are 422 as text but accepted as base64.
describe('readJsonBody, a byte order mark', () => {
  it('is refused alike whether the body arrives as text or as base64', () => {
    const asText = event('\ufeff{}');
    const asBase64 = event(Buffer.from('\ufeff{}').toString('base64'), 'application/json', true);
    expect(refusal(() => readJsonBody(asText))).toEqual({ status: 422, detail: JSON_INVALID });
    expect(refusal(() => readJsonBody(asBase64))).toEqual({ status: 422, detail: JSON_INVALID });
  });
});
