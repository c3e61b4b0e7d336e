import type { Context } from 'aws-lambda';
import { apiEvent, type EventOptions, fillPath } from '../../local/api-event.js';
import { lambdaContext as localLambdaContext } from '../../local/lambda-context.js';
import type { ApiResult } from '../../shared/http/api-handler.js';

export { apiEvent, type EventOptions, fillPath };

export const lambdaContext = (): Context => localLambdaContext('test');

export interface Reply {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

export const reply = (result: ApiResult): Reply => ({
  status: result.statusCode ?? 0,
  headers: (result.headers ?? {}) as Record<string, string>,
  body: result.body === undefined ? undefined : JSON.parse(result.body),
});
