import { Duration, type IAspect, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type { Construct, IConstruct } from 'constructs';
import { fill, MAX_METRICS_PER_ALARM } from './metric-math.js';
import { VaultFunction } from './vault-function.js';

/**
 * A group of functions takes one metric each, and the expression over them one more entry: the
 * alarm's whole Metrics array stays within CloudWatch's limit however the limit is counted.
 */
export const FUNCTIONS_PER_ALARM = MAX_METRICS_PER_ALARM - 1;

/** What a function's alarm watches; any datapoint at or above 1 in 5 minutes fires it. */
const WATCHED = {
  Errors: 'failed (an uncaught error, a timeout or out of memory: a bug, never a refusal)',
  Throttles: 'was throttled (the account, or its own reserved concurrency, has no invocation left)',
} as const;

/** `items` in consecutive groups of at most `size`, in order. */
export function inGroups<T>(items: readonly T[], size: number): T[][] {
  const groups: T[][] = [];
  for (let i = 0; i < items.length; i += size) groups.push(items.slice(i, i + size));
  return groups;
}

/** Every function of ours in `stack`, in the order of the construct tree (the order they were added). */
export const vaultFunctionsOf = (stack: Stack): VaultFunction[] =>
  stack.node.findAll().filter((node): node is VaultFunction => node instanceof VaultFunction && Stack.of(node) === stack);

/**
 * The errors and throttles of every VaultFunction in a stack, grouped at most FUNCTIONS_PER_ALARM to
 * an alarm. An aspect, run at synthesis once the whole stack exists: a function added anywhere,
 * after the alarms too, is watched with no change here. `notify` gives each alarm its actions.
 */
export class WatchEveryFunction implements IAspect {
  private done = false;

  constructor(
    private readonly scope: Construct,
    private readonly notify: (alarm: cloudwatch.Alarm) => void,
  ) {}

  visit(node: IConstruct): void {
    const stack = Stack.of(this.scope);
    if (node !== stack || this.done) return;
    this.done = true;
    const groups = inGroups(vaultFunctionsOf(stack), FUNCTIONS_PER_ALARM);
    for (const [metricName, what] of Object.entries(WATCHED)) {
      groups.forEach((group, g) => {
        this.notify(groupAlarm(this.scope, `Function${metricName}${g + 1}`, metricName, what, group));
      });
    }
  }
}

function groupAlarm(scope: Construct, id: string, metricName: string, what: string, group: readonly VaultFunction[]): cloudwatch.Alarm {
  const period = Duration.minutes(5);
  const usingMetrics: Record<string, cloudwatch.IMetric> = {};
  group.forEach((fn, i) => {
    usingMetrics[`f${i}`] = fn.metric(metricName, { period, statistic: 'Sum', label: fn.node.id });
  });
  const names = group.map((fn) => fn.node.id).join(', ');
  return new cloudwatch.MathExpression({
    // A function nobody invoked publishes nothing: FILL reads that as 0, or the sum would be missing.
    expression: Object.keys(usingMetrics).map(fill).join(' + '),
    usingMetrics,
    period,
    label: `${metricName} of ${names}`,
  }).createAlarm(scope, id, {
    alarmDescription: `One of these functions ${what}: ${names}. The alarm's graph shows which.`.slice(0, 1024),
    threshold: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    evaluationPeriods: 1,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
}
