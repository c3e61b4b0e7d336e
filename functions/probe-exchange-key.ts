import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { adaptedKind } from '../shared/exchanges/kinds.js';
import { type ProbeResult, probe, proberOptions } from '../shared/exchanges/prober.js';
import { logger } from '../shared/logger.js';

/**
 * The exchange prober: the one function that reaches the internet. It holds no database access
 * and no key ring; the functions that hold a key invoke it with one key's credentials and get the
 * exchange's facts back. logEvent: false (the event is credentials); only kind and outcome are logged.
 */
const options = proberOptions(process.env);

export const handler = middy<unknown, ProbeResult, Error, Context>()
  .use(injectLambdaContext(logger, { resetKeys: true, logEvent: false }))
  .handler(async (event) => {
    const result = await probe(event, options);
    // The kind only when it is one: anything else in the event could be key material.
    const kind = adaptedKind.safeParse((event as { kind?: unknown } | null)?.kind).data;
    logger.info('probed', {
      kind,
      outcome: result.outcome,
      ...('code' in result ? { code: result.code } : {}),
      ...('reason' in result ? { reason: result.reason } : {}),
    });
    return result;
  });
