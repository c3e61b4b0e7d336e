import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { AppError, unprocessable } from '../errors.js';

export const MAX_BODY_BYTES = 16 * 1024;

/**
 * `application/json` or a structured `+json` type (`application/vnd.api+json`), as middy's parser
 * accepted; in any letter case, as media types are, and with any parameters (`; charset=utf-8`).
 */
const JSON_MEDIA_TYPE = /^application\/([^\s/;]+\+)?json$/i;

// ignoreBOM keeps a leading BOM in the text, so JSON.parse refuses it as it does in a text body.
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

const notJson = () => unprocessable([{ loc: ['body'], msg: 'JSON decode error', type: 'json_invalid' }]);

/**
 * A request's body as JSON, read as API Gateway hands it over (text, or base64 bytes), each
 * failure its own error: 413 past the limit, 415 for another content type, 422 for a missing body
 * or one that is not JSON. A base64 body must be valid UTF-8, since a lenient decode would turn bad
 * bytes into U+FFFD and store something the caller never sent. `headers` must be lower-cased.
 */
export function readJsonBody(event: Pick<APIGatewayProxyEventV2, 'body' | 'isBase64Encoded' | 'headers'>): unknown {
  const { body } = event;
  const bytes = Buffer.from(body ?? '', event.isBase64Encoded ? 'base64' : 'utf8');
  if (bytes.length > MAX_BODY_BYTES) throw new AppError(413, `Request body must be at most ${MAX_BODY_BYTES} bytes`);
  const mediaType = event.headers['content-type']?.split(';', 1)[0]?.trim() ?? '';
  if (!JSON_MEDIA_TYPE.test(mediaType)) throw new AppError(415, 'Content-Type must be application/json');
  if (body === undefined) throw notJson();
  let text = body;
  if (event.isBase64Encoded) {
    try {
      text = strictUtf8.decode(bytes);
    } catch {
      throw unprocessable([{ loc: ['body'], msg: 'Request body is not valid UTF-8', type: 'json_invalid' }]);
    }
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw notJson();
  }
}
