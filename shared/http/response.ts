import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

const BASE_HEADERS = {
  'content-type': 'application/json',
  // Responses name a user's keys and exchanges: no shared or browser cache may keep them.
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
};

export function jsonResponse(status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): APIGatewayProxyStructuredResultV2 {
  return { statusCode: status, headers: { ...BASE_HEADERS, ...headers }, body: JSON.stringify(body) };
}

/** A 204: the same caching rules, no body and so no content type. */
export function emptyResponse(status: number): APIGatewayProxyStructuredResultV2 {
  const { 'content-type': _none, ...headers } = BASE_HEADERS;
  return { statusCode: status, headers };
}
