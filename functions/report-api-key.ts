import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { logger } from '../shared/logger.js';
import { db } from '../shared/runtime/database.js';
import { metrics } from '../shared/runtime/metrics.js';
import { reportRecheck } from '../shared/runtime/report-recheck.js';
import type { ReportApiKeyResult } from '../shared/schemas/report-api-key.js';
import { reportApiKey } from '../shared/services/report-api-key.js';

/**
 * The engine tells the vault that an exchange refused a key: `{"subject" | "user_no", "exchange_id",
 * "key_version", "reason"}`, recorded in the key's history and, with exchange checks on, checked
 * again at the key's exchange (docs/engine.md). Lambda Invoke only, never routed; with checks off it holds no key ring.
 * No logMetrics: its one metric is published as it is counted, and a refusal counts none.
 */
export const handler = middy<unknown, ReportApiKeyResult, Error, Context>()
  .use(injectLambdaContext(logger, { resetKeys: true, logEvent: false }))
  .handler((event, context) => reportApiKey({ db, metrics, ...(reportRecheck && { recheck: reportRecheck }) }, event, context));
