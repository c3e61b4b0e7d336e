import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { logger } from '../shared/logger.js';
import { db } from '../shared/runtime/database.js';
import type { ListActiveKeysResult } from '../shared/schemas/engine-lists.js';
import { listActiveKeys } from '../shared/services/engine-lists.js';

/** Every active key, a page at a time, for an engine starting up (docs/engine.md): Lambda Invoke only, never routed. */
export const handler = middy<unknown, ListActiveKeysResult, Error, Context>()
  .use(injectLambdaContext(logger, { resetKeys: true, logEvent: false }))
  .handler((event) => listActiveKeys(db, event));
