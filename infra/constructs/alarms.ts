import { Aspects, Aws, Duration, Stack, Validations } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as rds from 'aws-cdk-lib/aws-rds';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { WatchEveryFunction } from './function-alarms.js';
import { fill } from './metric-math.js';

export interface VaultAlarmsProps {
  readonly api: apigw.IHttpApi;
  readonly proxy: rds.IDatabaseProxy;
  /** The RDS instance; `burstable` (a t class) adds the CPU credit alarm. */
  readonly database: { readonly instanceId: string; readonly burstable: boolean };
  /** The ring's KMS key: disabling it, or scheduling its deletion, stops every seal and open. */
  readonly ringKeyArn: string;
  /** The secrets Secrets Manager rotates for the vault (the database master secret): a failed rotation of one alarms. */
  readonly rotatedSecretArns: readonly string[];
}

/** Thresholds, named so the runbook can quote them. */
export const ALARM_THRESHOLDS = {
  /** Percent of requests answered 5xx over 5 minutes (with at least 10 requests, or at least 2 answered 5xx). */
  api5xxPercent: 5,
  /** Below this many requests in 5 minutes one 5xx is not a rate: it takes `api5xxAtLowTraffic` of them. */
  api5xxMinRequests: 10,
  /** 5xx answers in 5 minutes that fire the alarm however few requests came (a full outage at low traffic). */
  api5xxAtLowTraffic: 2,
  /** Percent of the proxy's allowed database connections in use, 3 minutes running. */
  proxyConnectionsPercent: 80,
  /** Percent of the proxy's database connections pinned to one client session, 15 minutes running. */
  proxyPinnedPercent: 50,
  /** The database's CPU, percent, 15 minutes running. */
  databaseCpuPercent: 80,
  /** The database's freeable memory, bytes, 15 minutes running. */
  databaseFreeMemoryBytes: 64 * 1024 ** 2,
  /** The database's free storage, bytes (storage autoscaling grows it only to its maximum). */
  databaseFreeStorageBytes: 2 * 1024 ** 3,
  /** CPU credits left on a burstable instance: at 0 it runs at its baseline, a fraction of a core. */
  databaseCpuCredits: 20,
} as const;

/**
 * The alarms that say the vault is unhealthy, all notifying one SNS topic: the API's 5xx rate, RDS
 * Proxy connection saturation and session pinning, and the errors and throttles of every function
 * in the stack (function-alarms.ts), however many there are.
 */
export class VaultAlarms extends Construct {
  readonly topic: sns.Topic;
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: VaultAlarmsProps) {
    super(scope, id);
    // Not KMS-encrypted: notifications carry alarm names and metric values only, and CloudWatch
    // can publish to an encrypted topic only through a customer-managed key whose policy admits it.
    this.topic = new sns.Topic(this, 'Topic', { displayName: 'exchange-api-key-vault alarms', enforceSSL: true });
    // A topic policy replaces SNS's default one, which is what let the account's CloudWatch publish:
    // without this statement every alarm action fails, visible only in the alarm's history.
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsOfThisAccountPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
          ArnLike: { 'aws:SourceArn': `arn:${Aws.PARTITION}:cloudwatch:${Aws.REGION}:${Aws.ACCOUNT_ID}:alarm:*` },
        },
      }),
    );
    const add = (alarm: cloudwatch.Alarm) => this.notifyOn(alarm);
    const fiveMinutes = Duration.minutes(5);
    const oneMinute = Duration.minutes(1);

    // API 5xx rate; below 10 requests a single failure is not a rate, but two are (an outage at night).
    const { api5xxMinRequests, api5xxAtLowTraffic } = ALARM_THRESHOLDS;
    add(
      new cloudwatch.MathExpression({
        expression: `IF(${fill('requests')} >= ${api5xxMinRequests} OR ${fill('errors')} >= ${api5xxAtLowTraffic}, 100 * ${fill('errors')} / ${fill('requests')}, 0)`,
        usingMetrics: {
          errors: props.api.metricServerError({ period: fiveMinutes, statistic: 'Sum' }),
          requests: props.api.metricCount({ period: fiveMinutes, statistic: 'Sum' }),
        },
        period: fiveMinutes,
        label: 'API 5xx (% of requests)',
      }).createAlarm(this, 'Api5xxRate', {
        alarmDescription: `More than ${ALARM_THRESHOLDS.api5xxPercent}% of API requests answered 5xx over 5 minutes (below ${api5xxMinRequests} requests: ${api5xxAtLowTraffic} or more 5xx)`,
        threshold: ALARM_THRESHOLDS.api5xxPercent,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    );

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
          // Both gauges, both at their peak in the minute: a Sum of samples over a Maximum was no percentage.
          connections: proxyMetric('DatabaseConnections', 'Maximum'),
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
          pinned: proxyMetric('DatabaseConnectionsCurrentlySessionPinned', 'Maximum'),
          connections: proxyMetric('DatabaseConnections', 'Maximum'),
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

    this.databaseAlarms(props.database);
    this.eventAlarms(props.ringKeyArn, props.rotatedSecretArns);

    // Every function of ours in the stack, including any added after this construct: at synthesis.
    Aspects.of(Stack.of(this)).add(new WatchEveryFunction(this, add));
  }

  /** CPU, memory, storage and (burstable classes) CPU credits of the RDS instance, each over 15 minutes. */
  private databaseAlarms(database: VaultAlarmsProps['database']): void {
    const watched: (readonly [id: string, metricName: string, threshold: number, operator: cloudwatch.ComparisonOperator, what: string])[] = [
      ['DatabaseCpu', 'CPUUtilization', ALARM_THRESHOLDS.databaseCpuPercent, cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD, 'CPU above 80%'],
      [
        'DatabaseMemory',
        'FreeableMemory',
        ALARM_THRESHOLDS.databaseFreeMemoryBytes,
        cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        'under 64 MiB of freeable memory',
      ],
      [
        'DatabaseStorage',
        'FreeStorageSpace',
        ALARM_THRESHOLDS.databaseFreeStorageBytes,
        cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        'under 2 GiB of free storage',
      ],
      ...(database.burstable
        ? [
            [
              'DatabaseCpuCredits',
              'CPUCreditBalance',
              ALARM_THRESHOLDS.databaseCpuCredits,
              cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
              'under 20 CPU credits left',
            ] as const,
          ]
        : []),
    ];
    for (const [id, metricName, threshold, comparisonOperator, what] of watched) {
      this.notifyOn(
        new cloudwatch.Metric({
          namespace: 'AWS/RDS',
          metricName,
          dimensionsMap: { DBInstanceIdentifier: database.instanceId },
          statistic: comparisonOperator === cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD ? 'Maximum' : 'Minimum',
          period: Duration.minutes(5),
        }).createAlarm(this, id, {
          alarmDescription: `The database has ${what} for 15 minutes`,
          threshold,
          comparisonOperator,
          evaluationPeriods: 3,
          // An instance that reports nothing is itself a problem the proxy alarms and the 5xx alarm see.
          treatMissingData: cloudwatch.TreatMissingData.MISSING,
        }),
      );
    }
  }

  /**
   * What has no metric, as events to the topic: a failed rotation of a secret (the master user's) and
   * the ring's KMS key disabled or scheduled for deletion. Both arrive through CloudTrail: the account
   * needs a trail (docs/deploy.md).
   */
  private eventAlarms(ringKeyArn: string, rotatedSecretArns: readonly string[]): void {
    // Through a role that may publish to this topic only, rather than one more service in the topic's policy.
    const target = new targets.SnsTopic(this.topic, { authorizeUsingRole: true });
    const rotationFailed = new events.Rule(this, 'SecretRotationFailed', {
      description: "A Secrets Manager rotation of the vault's database master secret failed (it rotates every 30 days)",
      // The rotated secret's ARN is in the CloudTrail event's additionalEventData (a service event names no resources).
      eventPattern: {
        source: ['aws.secretsmanager'],
        detail: { eventName: ['RotationFailed'], additionalEventData: { SecretId: [...rotatedSecretArns] } },
      },
      targets: [target],
    });
    const keyDisabled = new events.Rule(this, 'RingKeyDisabled', {
      description: "The key ring's KMS key was disabled or scheduled for deletion: every seal and open fails",
      eventPattern: {
        source: ['aws.kms'],
        detail: { eventName: ['DisableKey', 'ScheduleKeyDeletion'], resources: { ARN: [ringKeyArn] } },
      },
      targets: [target],
    });
    for (const rule of [rotationFailed, keyDisabled]) {
      Validations.of(rule).acknowledge({
        id: 'Serverless-EventBusDLQ',
        reason:
          'The target is the alarm topic itself, retried by EventBridge for 24 hours; a dead-letter queue would be one more place nobody watches. A topic that refuses deliveries is found by the alarm test in docs/deploy.md.',
      });
    }
  }

  /** Sends the alarm's changes, to ALARM and back to OK, to the topic. */
  notifyOn(alarm: cloudwatch.Alarm): void {
    const notify = new actions.SnsAction(this.topic);
    alarm.addAlarmAction(notify);
    alarm.addOkAction(notify);
    this.alarms.push(alarm);
  }
}
