import type middy from '@middy/core';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { describeForLog } from '../describe-for-log.js';
import { AppError, forbidden, KeyCheckFailed, RETRY_AFTER_SECONDS, SubjectNotLinked, UNAVAILABLE_DETAIL, Unavailable } from '../errors.js';
import { logger } from '../logger.js';
import { checkFailureIssues } from './check-refusals.js';
import { jsonResponse } from './response.js';

/** The statuses of the errors the layers below the services raise, which know no HTTP: the one place they get one. */
function asAppError(error: unknown): AppError | undefined {
  if (error instanceof AppError) return error;
  if (error instanceof Unavailable) return new AppError(503, UNAVAILABLE_DETAIL[error.dependency], { 'retry-after': String(RETRY_AFTER_SECONDS) });
  // A database adopted from the seed links its users to subjects instead (docs/key-management.md, "Adopting a database written by the seed's service").
  if (error instanceof KeyCheckFailed) return new AppError(422, checkFailureIssues(error));
  if (error instanceof SubjectNotLinked) return forbidden('This sign-in is not linked to a user of this service yet.');
  return undefined;
}

/** The one place errors become responses. */
export function errorResult(error: unknown): APIGatewayProxyStructuredResultV2 {
  const known = asAppError(error);
  if (!known) {
    logger.error('unhandled error', { error: describeForLog(error) });
    return jsonResponse(500, { detail: 'Internal server error' });
  }
  if (error instanceof Unavailable) logger.warn('request failed', { status: known.status, dependency: error.dependency, reason: error.reason });
  else if (known.status >= 500) logger.warn('request failed', { status: known.status });
  else logger.info('request rejected', { status: known.status });
  return jsonResponse(known.status, { detail: known.detail }, known.headers);
}

/** Used last in every chain, so its onError runs first and every failure leaves as `{"detail"}`. */
export const errorResponder = (): middy.MiddlewareObj => ({
  onError: async (request) => {
    request.response = errorResult(request.error);
  },
});
