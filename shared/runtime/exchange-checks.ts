import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { describeAwsFailure } from '../aws-failure.js';
import type { Env } from '../config.js';
import { type KeyChecker, keyChecker, type Prober } from '../exchanges/checker.js';
import { type ProbeOutcome, probeOutcome, unreachable } from '../exchanges/facts.js';
import { probeKey } from '../exchanges/probe.js';
import { proberOptions } from '../exchanges/prober.js';
import { exchangeChecks, requireIpRestriction } from '../exchanges/settings.js';
import { logger } from '../logger.js';

/**
 * One attempt, bounded: the prober answers within its own probe timeout (5 s by default) plus a
 * cold start, and a second attempt would double what a registration may wait. requestTimeout
 * ends the call only with throwOnRequestTimeout (@smithy/node-http-handler merely warns without it).
 * Ring (6.5 s at worst) + this + the statement (6 s) stay inside the 20 s of the functions that seal.
 */
export const PROBER_CLIENT_CONFIG = {
  maxAttempts: 1,
  requestHandler: { connectionTimeout: 1_000, requestTimeout: 7_000, throwOnRequestTimeout: true },
} as const;

/**
 * Asks the exchange prober function (EXCHANGE_PROBER_FUNCTION) about one key: the only way out to
 * the internet in AWS. Whatever goes wrong on the way (the call fails, times out, the function
 * errs or answers outside the contract) is `unreachable`: nothing is known of the key, so nothing
 * is stored and nothing paused. The credentials travel only in the invocation's payload.
 */
export function lambdaProber(client: Pick<LambdaClient, 'send'>, functionName: string): Prober {
  return async (request) => {
    let payload: unknown;
    try {
      const answer = await client.send(new InvokeCommand({ FunctionName: functionName, Payload: JSON.stringify(request) }));
      if (answer.FunctionError !== undefined) {
        logger.error('exchange prober failed', { function_error: answer.FunctionError });
        return unreachable('prober_failed');
      }
      payload = JSON.parse(Buffer.from(answer.Payload ?? new Uint8Array()).toString('utf8'));
    } catch (error) {
      logger.warn('exchange prober unreachable', { error: describeAwsFailure('Invoke', error) });
      return unreachable('prober_unreachable');
    }
    const parsed = probeOutcome.safeParse(payload);
    if (!parsed.success) {
      // `invalid_request` included: the event was built from checked credentials, so that is a bug here or there.
      logger.error('exchange prober answered outside its contract', { outcome: (payload as { outcome?: unknown } | null)?.outcome });
      return unreachable('prober_failed');
    }
    return parsed.data satisfies ProbeOutcome;
  };
}

/**
 * The checker the functions that hold a key use, from the environment: EXCHANGE_CHECKS off (the
 * default) checks nothing; on, it invokes the prober function EXCHANGE_PROBER_FUNCTION names (AWS),
 * or without one asks the exchanges from this process at EXCHANGE_API_URLS (local runs and tests).
 */
export function keyCheckerFromEnv(env: Env, lambda: () => Pick<LambdaClient, 'send'> = () => new LambdaClient(PROBER_CLIENT_CONFIG)): KeyChecker {
  const policy = { requireIpRestriction: requireIpRestriction(env) };
  if (!exchangeChecks(env)) return keyChecker(undefined, policy);
  const functionName = env.EXCHANGE_PROBER_FUNCTION?.trim();
  if (functionName) return keyChecker(lambdaProber(lambda(), functionName), policy);
  const options = proberOptions(env);
  return keyChecker((request) => probeKey(request, options), policy);
}
