import { Duration, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { fill } from './metric-math.js';

/** When the daily check starts: 03:00 UTC, away from the day's trading peaks in Asia and Europe. */
export const KEY_CHECK_SCHEDULE = events.Schedule.cron({ minute: '0', hour: '3' });
/** A run over every key ends well within this; past it something is looping, and the execution is stopped. */
export const KEY_CHECK_RUN_LIMIT = Duration.hours(6);

const NOTHING_TO_TRACE =
  'Two states around one Lambda invocation: X-Ray (whose permissions need Resource *) would trace nothing the execution history and the Lambda log do not show.';

export interface KeyCheckScheduleProps {
  /** The key-maintenance function: its `check` command stops before its own timeout and returns where to go on (`next`). */
  readonly keyMaintenance: lambda.IFunction;
  /** Where a failed run notifies. */
  readonly alarms: { notifyOn(alarm: cloudwatch.Alarm): void };
}

/**
 * Key maintenance's `check` every day (docs/exchanges.md, Checks): a state machine invokes
 * `{"command": "check", "after": <key_no>}` from the first key, and again from the `next` each run
 * returns until one is `complete`, so however many keys there are, each Lambda run is bounded and
 * the day's check resumes where the last run stopped. A run that reports `ok: false` (a key that
 * would not open, the ring or the database unavailable) fails the execution, and that alarms.
 */
export class KeyCheckSchedule extends Construct {
  readonly stateMachine: sfn.StateMachine;
  /** The rule that starts it daily: operators disable it while users allow-list a new egress address (docs/deploy.md). */
  readonly daily: events.Rule;
  readonly failedAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: KeyCheckScheduleProps) {
    super(scope, id);
    const start = new sfn.Pass(this, 'FromTheFirstKey', { result: sfn.Result.fromObject({ after: 0 }), resultPath: '$.cursor' });
    const run = new tasks.LambdaInvoke(this, 'CheckABatchRun', {
      lambdaFunction: props.keyMaintenance,
      payload: sfn.TaskInput.fromObject({ command: 'check', 'after.$': '$.cursor.after' }),
      payloadResponseOnly: true,
      resultSelector: { 'ok.$': '$.ok', 'complete.$': '$.complete', 'next.$': '$.next' },
      resultPath: '$.report',
      retryOnServiceExceptions: true,
    });
    const goOn = new sfn.Pass(this, 'FromWhereItStopped', { parameters: { 'after.$': '$.report.next' }, resultPath: '$.cursor' });
    const failed = new sfn.Fail(this, 'ARunFailed', { error: 'KeyCheckFailed', cause: "key maintenance's check reported ok: false; its log has why" });
    const done = new sfn.Succeed(this, 'EveryKeyChecked');
    const definition = start
      .next(run)
      .next(
        new sfn.Choice(this, 'WhatTheRunSaid')
          .when(sfn.Condition.booleanEquals('$.report.ok', false), failed)
          .when(sfn.Condition.booleanEquals('$.report.complete', true), done)
          .otherwise(goOn.next(run)),
      );

    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      timeout: KEY_CHECK_RUN_LIMIT,
    });
    const daily = new events.Rule(this, 'Daily', {
      description: "Starts key maintenance's check of every key at its exchange (docs/exchanges.md)",
      schedule: KEY_CHECK_SCHEDULE,
      targets: [new targets.SfnStateMachine(this.stateMachine)],
    });
    this.daily = daily;
    const hour = Duration.hours(1);
    const stopped = new cloudwatch.MathExpression({
      expression: `${fill('failed')} + ${fill('timedOut')} + ${fill('notStarted')}`,
      usingMetrics: {
        failed: this.stateMachine.metricFailed({ period: hour, statistic: 'Sum' }),
        timedOut: this.stateMachine.metricTimedOut({ period: hour, statistic: 'Sum' }),
        // The rule could not start an execution (EventBridge retries for a day, then drops it).
        notStarted: new cloudwatch.Metric({
          namespace: 'AWS/Events',
          metricName: 'FailedInvocations',
          dimensionsMap: { RuleName: daily.ruleName },
          period: hour,
          statistic: 'Sum',
        }),
      },
      period: hour,
    });
    this.failedAlarm = stopped.createAlarm(this, 'RunFailed', {
      alarmDescription:
        "The daily key check did not start, failed or timed out: keys were not all checked at their exchange (the execution's history and key maintenance's log have why)",
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    props.alarms.notifyOn(this.failedAlarm);

    Validations.of(this.stateMachine).acknowledge(
      {
        id: 'AwsSolutions-SF1',
        reason:
          "The state machine carries only key numbers and counts; Step Functions keeps each execution's history for 90 days, and key maintenance logs every run's report, so a log group of its own (whose delivery permissions need Resource *) would add nothing.",
      },
      {
        id: 'AwsSolutions-SF2',
        reason: NOTHING_TO_TRACE,
      },
      {
        id: 'Serverless-StepFunctionStateMachineXray',
        reason: NOTHING_TO_TRACE,
      },
    );
    Validations.of(this.stateMachine.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::<KeyMaintenance2223E332.Arn>:*]',
      reason:
        "Step Functions' Lambda task grants the key-maintenance function and its versions; the stack publishes no version or alias, so it reaches that one function only.",
    });
    Validations.of(daily).acknowledge({
      id: 'Serverless-EventBusDLQ',
      reason:
        'A start the rule cannot make is counted in its FailedInvocations, which the RunFailed alarm watches; the next day starts a new run, and a queue of missed starts would hold nothing to replay.',
    });
  }
}
