import { Duration } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as rds from 'aws-cdk-lib/aws-rds';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';

export interface VaultAlarmsProps {
  readonly api: apigw.IHttpApi;
  readonly apiFunctions: readonly lambda.IFunction[];
  readonly proxy: rds.IDatabaseProxy;
  /** Functions that run jobs (maintenance, migrations): any error is worth a page. */
  readonly jobs: Readonly<Record<string, lambda.IFunction>>;
}

/**
 * A metric-math input that reads 0 where the metric has no datapoint: Lambda publishes nothing for
 * a function nobody invoked, API Gateway nothing for a quiet minute, and an expression over a
 * missing input yields nothing at all, so an alarm on it could never fire.
 */
export const fill = (id: string): string => `FILL(${id}, 0)`;

/** Thresholds, named so the runbook can quote them. */
export const ALARM_THRESHOLDS = {
  /** Percent of requests answered 5xx over 5 minutes (with at least 10 requests). */
  api5xxPercent: 5,
  /** Throttled invocations of the API functions in 5 minutes. */
  throttles: 1,
  /** Percent of the proxy's allowed database connections in use, 3 minutes running. */
  proxyConnectionsPercent: 80,
  /** Percent of the proxy's database connections pinned to one client session, 15 minutes running. */
  proxyPinnedPercent: 50,
} as const;

/** CloudWatch's limit on the metrics one alarm's expression may use. */
const MAX_METRICS_PER_ALARM = 10;

/**
 * The alarms that say the vault is unhealthy, all notifying one SNS topic: the API's 5xx rate,
 * throttled API functions, RDS Proxy connection saturation and session pinning, and any error
 * of the key-maintenance or migration functions.
 */
export class VaultAlarms extends Construct {
  readonly topic: sns.Topic;
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: VaultAlarmsProps) {
    super(scope, id);
    // Not KMS-encrypted: notifications carry alarm names and metric values only, and CloudWatch
    // can publish to an encrypted topic only through a customer-managed key whose policy admits it.
    this.topic = new sns.Topic(this, 'Topic', { displayName: 'exchange-api-key-vault alarms', enforceSSL: true });
    const notify = new actions.SnsAction(this.topic);
    const add = (alarm: cloudwatch.Alarm) => {
      alarm.addAlarmAction(notify);
      alarm.addOkAction(notify);
      this.alarms.push(alarm);
    };
    const fiveMinutes = Duration.minutes(5);
    const oneMinute = Duration.minutes(1);

    // API 5xx rate; below 10 requests a single failure is not a rate.
    add(
      new cloudwatch.MathExpression({
        expression: `IF(${fill('requests')} >= 10, 100 * ${fill('errors')} / ${fill('requests')}, 0)`,
        usingMetrics: {
          errors: props.api.metricServerError({ period: fiveMinutes, statistic: 'Sum' }),
          requests: props.api.metricCount({ period: fiveMinutes, statistic: 'Sum' }),
        },
        period: fiveMinutes,
        label: 'API 5xx (% of requests)',
      }).createAlarm(this, 'Api5xxRate', {
        alarmDescription: `More than ${ALARM_THRESHOLDS.api5xxPercent}% of API requests answered 5xx over 5 minutes`,
        threshold: ALARM_THRESHOLDS.api5xxPercent,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    );

    // Throttles of the API functions (account concurrency exhausted): callers see 5xx/429. An
    // alarm's expression takes at most 10 metrics, so past 10 functions there is one alarm per 10.
    for (let first = 0; first < props.apiFunctions.length; first += MAX_METRICS_PER_ALARM) {
      const throttles: Record<string, cloudwatch.IMetric> = {};
      props.apiFunctions.slice(first, first + MAX_METRICS_PER_ALARM).forEach((fn, i) => {
        throttles[`t${i}`] = fn.metricThrottles({ period: fiveMinutes, statistic: 'Sum' });
      });
      const group = first / MAX_METRICS_PER_ALARM;
      add(
        new cloudwatch.MathExpression({
          expression: Object.keys(throttles).map(fill).join(' + '),
          usingMetrics: throttles,
          period: fiveMinutes,
          label: 'API function throttles',
        }).createAlarm(this, group === 0 ? 'ApiFunctionThrottles' : `ApiFunctionThrottles${group + 1}`, {
          alarmDescription: 'An API function was throttled (Lambda concurrency exhausted)',
          threshold: ALARM_THRESHOLDS.throttles,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          evaluationPeriods: 1,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        }),
      );
    }

    // RDS Proxy: connections to the database against what the proxy may open.
    const proxyMetric = (metricName: string, statistic: string) =>
      new cloudwatch.Metric({
        namespace: 'AWS/RDS',
        metricName,
        dimensionsMap: { ProxyName: props.proxy.dbProxyName },
        statistic,
        period: oneMinute,
      });
    add(
      new cloudwatch.MathExpression({
        expression: `IF(${fill('allowed')} > 0, 100 * ${fill('connections')} / ${fill('allowed')}, 0)`,
        usingMetrics: {
          connections: proxyMetric('DatabaseConnections', 'Sum'),
          allowed: proxyMetric('MaxDatabaseConnectionsAllowed', 'Maximum'),
        },
        period: oneMinute,
        label: 'Proxy database connections (% of allowed)',
      }).createAlarm(this, 'ProxyConnectionSaturation', {
        alarmDescription: `RDS Proxy uses more than ${ALARM_THRESHOLDS.proxyConnectionsPercent}% of the database connections it may open`,
        threshold: ALARM_THRESHOLDS.proxyConnectionsPercent,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 3,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    );
    add(
      new cloudwatch.MathExpression({
        expression: `IF(${fill('connections')} > 0, 100 * ${fill('pinned')} / ${fill('connections')}, 0)`,
        usingMetrics: {
          pinned: proxyMetric('DatabaseConnectionsCurrentlySessionPinned', 'Sum'),
          connections: proxyMetric('DatabaseConnections', 'Sum'),
        },
        period: oneMinute,
        label: 'Proxy connections pinned (%)',
      }).createAlarm(this, 'ProxySessionPinning', {
        alarmDescription: `More than ${ALARM_THRESHOLDS.proxyPinnedPercent}% of RDS Proxy database connections are pinned to a client session (no multiplexing)`,
        threshold: ALARM_THRESHOLDS.proxyPinnedPercent,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 15,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    );

    for (const [name, fn] of Object.entries(props.jobs)) {
      add(
        fn.metricErrors({ period: fiveMinutes, statistic: 'Sum' }).createAlarm(this, `${name}Errors`, {
          alarmDescription: `The ${name} function failed`,
          threshold: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          evaluationPeriods: 1,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        }),
      );
    }
  }
}
