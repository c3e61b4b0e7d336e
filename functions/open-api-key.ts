import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { reloadingOpener } from '../shared/crypto/reloading-opener.js';
import { logger } from '../shared/logger.js';
import { db } from '../shared/runtime/database.js';
import { keyRingFreshness, keyRingSource } from '../shared/runtime/key-ring.js';
import { metrics } from '../shared/runtime/metrics.js';
import type { OpenApiKeyResult, OpenApiKeysResult } from '../shared/schemas/open-api-key.js';
import { openApiKey, openApiKeys } from '../shared/services/open-api-key.js';

/**
 * The trading engine's way in: `{"subject" | "user_no", "exchange_id", "purpose"}`, or a batch
 * `{"keys": [...], "purpose"}`, by Lambda Invoke from the principals the stack names, never routed. logEvent: false, whatever POWERTOOLS_LOGGER_LOG_EVENT says.
 */
const open = reloadingOpener(keyRingSource, { minIntervalMs: keyRingFreshness.maxAgeMs });

const isBatch = (event: unknown): boolean => typeof event === 'object' && event !== null && 'keys' in event;

export const handler = middy<unknown, OpenApiKeyResult | OpenApiKeysResult, Error, Context>()
  .use(injectLambdaContext(logger, { resetKeys: true, logEvent: false }))
  .use(logMetrics(metrics))
  .handler((event, context) => (isBatch(event) ? openApiKeys : openApiKey)({ db, keyRingSource, open, metrics }, event, context));
