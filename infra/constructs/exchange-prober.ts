import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';
import { handlerEntry } from '../paths.js';
import type { VaultAlarms } from './alarms.js';
import { type ExchangeProberTarget, type FunctionNetwork, VaultFunction } from './vault-function.js';

/** The prober's bound on one exchange's whole round trip (EXCHANGE_PROBE_TIMEOUT_MS): past it the key is `unreachable`. */
export const PROBE_TIMEOUT = Duration.seconds(5);
/**
 * The prober's own timeout: twice the probe's bound, so a cold start and a slow exchange still end in
 * an `unreachable` answer rather than a killed invocation, and short enough for a route to wait for it.
 */
export const PROBER_TIMEOUT = Duration.seconds(10);
/**
 * The timeout of a function that waits for the prober on a request path (register, replace, the
 * engine's report): a ring holder's worst case plus a whole prober invocation (25.5 s), under
 * API Gateway's 30-second integration limit, so a hung exchange is a 503 the handler answers.
 */
export const PROBING_TIMEOUT = Duration.seconds(28);
/** The share of its timeout a prober invocation may take before the near-timeout alarm fires. */
export const NEAR_TIMEOUT_SHARE = 0.8;

export interface ExchangeProberProps {
  /** The egress subnets and the prober's own security group: its only way out is HTTPS through the NAT gateway. */
  readonly network: FunctionNetwork;
  /** Fixed: the data stack's Lambda endpoint admits invoking this name only (infra/config.ts). */
  readonly functionName: string;
  /** Where its near-timeout alarm notifies (its errors and throttles are watched with every function's). */
  readonly alarms: Pick<VaultAlarms, 'notifyOn'>;
}

/**
 * The exchange prober (functions/probe-exchange-key.ts), the one function that reaches the internet:
 * no database, no key ring, no secret, no KMS; one key's credentials per invocation, the exchange's
 * facts back. The functions that check keys are bound to it (`VaultFunction.bindExchangeProber`).
 * A timed-out invocation counts among its errors (the stack's function alarms); one that ends near
 * its timeout alarms here, before the timeouts begin.
 */
export class ExchangeProber extends Construct {
  readonly function: VaultFunction;
  readonly nearTimeoutAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: ExchangeProberProps) {
    super(scope, id);
    this.function = new VaultFunction(this, 'Function', {
      entry: handlerEntry('probe-exchange-key'),
      description: 'probe-exchange-key: asks an exchange about one key (invoked by the functions that check keys; the only way out to the internet)',
      network: props.network,
      functionName: props.functionName,
      timeout: PROBER_TIMEOUT,
      memorySize: 256,
    });
    this.function.addEnvironment('EXCHANGE_PROBE_TIMEOUT_MS', String(PROBE_TIMEOUT.toMilliseconds()));

    const limit = PROBER_TIMEOUT.toMilliseconds();
    this.nearTimeoutAlarm = this.function.metricDuration({ period: Duration.minutes(5), statistic: 'Maximum' }).createAlarm(this, 'NearTimeout', {
      alarmDescription: `An exchange probe took ${NEAR_TIMEOUT_SHARE * 100}% of the prober's ${PROBER_TIMEOUT.toSeconds()} s timeout: it no longer gives up on the exchange in time (EXCHANGE_PROBE_TIMEOUT_MS) and callers are about to see it time out`,
      threshold: NEAR_TIMEOUT_SHARE * limit,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    props.alarms.notifyOn(this.nearTimeoutAlarm);
  }

  /** What a function that checks keys is bound to. */
  get target(): ExchangeProberTarget {
    return { functionName: this.function.functionName, functionArn: this.function.functionArn, timeout: PROBER_TIMEOUT };
  }
}
