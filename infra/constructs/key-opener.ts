import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { DEPLOYMENT_DIMENSION, METRICS_NAMESPACE, OPEN_REFUSED_METRIC, OPENED_METRIC } from '../../shared/metrics.js';
import type { EngineConfig } from '../config.js';
import { handlerEntry } from '../paths.js';
import type { VaultAlarms } from './alarms.js';
import type { DatabaseAccess } from './database.js';
import type { IKeyRingSecret } from './key-ring-secret.js';
import { type FunctionNetwork, RING_HOLDER_TIMEOUT, SERVICE_NAME, VaultFunction } from './vault-function.js';

/** Opens refused `unavailable` in 5 minutes that fire the alarm: an engine retries, so one is a blip, three an outage. */
export const UNAVAILABLE_REFUSALS_THRESHOLD = 3;

export interface KeyOpenerProps {
  readonly network: FunctionNetwork;
  readonly database: DatabaseAccess;
  readonly ringSecret: IKeyRingSecret;
  readonly engine: EngineConfig;
  /** Where the unusual-opens alarm notifies (its errors and throttles are watched with every function's). */
  readonly alarms: Pick<VaultAlarms, 'notifyOn'>;
}

/**
 * open-api-key, the trading engine's way in (docs/engine.md): no HTTP route and no function URL;
 * only the role ARNs in the configuration (a resource policy, one permission each) and principals
 * given `grantOpen` may invoke it. Reserved concurrency bounds how fast keys can be drained, and
 * an alarm fires on an unusual number of opens.
 */
export class KeyOpener extends Construct {
  readonly function: VaultFunction;
  readonly opensAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: KeyOpenerProps) {
    super(scope, id);
    this.function = new VaultFunction(this, 'Function', {
      entry: handlerEntry('open-api-key'),
      description: 'open-api-key: the trading engine opens an active key (Lambda Invoke, IAM only; not routed)',
      network: props.network,
      timeout: RING_HOLDER_TIMEOUT,
      ...(props.engine.reservedConcurrency !== undefined && { reservedConcurrency: props.engine.reservedConcurrency }),
    });
    props.database.connect(this.function, props.database.engineUser);
    props.ringSecret.bindTo(this.function);

    props.engine.roleArns.forEach((arn, i) => {
      this.function.addPermission(`EngineInvoke${i}`, { principal: new iam.ArnPrincipal(arn), action: 'lambda:InvokeFunction' });
    });

    const period = Duration.minutes(5);
    // The dimensions the function's Powertools Metrics writes: its service and its deployment (this stack).
    const dimensions = { service: SERVICE_NAME, [DEPLOYMENT_DIMENSION]: Stack.of(this).stackName };
    this.opensAlarm = new cloudwatch.MathExpression({
      // An engine that is not trading emits nothing: no data is zero opens, not a missing alarm state.
      expression: 'FILL(opens, 0)',
      usingMetrics: {
        opens: new cloudwatch.Metric({
          namespace: METRICS_NAMESPACE,
          metricName: OPENED_METRIC,
          dimensionsMap: dimensions,
          statistic: 'Sum',
          period,
        }),
      },
      period,
      label: 'API keys opened by the engine',
    }).createAlarm(this, 'UnusualOpens', {
      alarmDescription: `More than ${props.engine.opensAlarmThreshold} API keys opened in 5 minutes: a compromised engine may be draining keys (docs/engine.md)`,
      threshold: props.engine.opensAlarmThreshold,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    props.alarms.notifyOn(this.opensAlarm);

    // Refusals are results, not errors: a database or ring the function cannot reach shows only here.
    props.alarms.notifyOn(
      new cloudwatch.MathExpression({
        expression: 'FILL(unavailable, 0)',
        usingMetrics: {
          unavailable: new cloudwatch.Metric({
            namespace: METRICS_NAMESPACE,
            metricName: OPEN_REFUSED_METRIC,
            dimensionsMap: { ...dimensions, reason: 'unavailable' },
            statistic: 'Sum',
            period,
          }),
        },
        period,
        label: "Opens refused 'unavailable' (database or key ring)",
      }).createAlarm(this, 'OpensUnavailable', {
        alarmDescription: `${UNAVAILABLE_REFUSALS_THRESHOLD} or more opens refused 'unavailable' in 5 minutes: the engine gets no keys because the database or the key ring cannot be reached`,
        threshold: UNAVAILABLE_REFUSALS_THRESHOLD,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    );

    // A stored key that does not open was altered or written back from an earlier sealing: one is
    // enough to look (`npm run keys -- verify` names the row).
    props.alarms.notifyOn(
      new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName: OPEN_REFUSED_METRIC,
        dimensionsMap: { ...dimensions, reason: 'integrity' },
        statistic: 'Sum',
        period,
      }).createAlarm(this, 'IntegrityRefusals', {
        alarmDescription:
          'open-api-key refused a stored key that does not open (integrity): altered, or an earlier envelope written back (docs/security-model.md)',
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    );
  }

  /** For a principal in this app (an engine deployed beside the vault): invoke, and nothing else. */
  grantOpen(grantee: iam.IGrantable): iam.Grant {
    return this.function.grantInvoke(grantee);
  }
}
