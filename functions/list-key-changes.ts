import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { logger } from '../shared/logger.js';
import { db } from '../shared/runtime/database.js';
import type { ListKeyChangesResult } from '../shared/schemas/engine-lists.js';
import { listKeyChanges } from '../shared/services/engine-lists.js';

/** Every key's changes as one feed, oldest first after a cursor (docs/engine.md): Lambda Invoke only, never routed. */
export const handler = middy<unknown, ListKeyChangesResult, Error, Context>()
  .use(injectLambdaContext(logger, { resetKeys: true, logEvent: false }))
  .handler((event) => listKeyChanges(db, event));
