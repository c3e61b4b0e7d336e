/** Issue 22, item 9: alarm gaps (a full outage at low traffic, the engine's `unavailable` refusals, the proxy's ratio). */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { ALARM_THRESHOLDS } from '../../infra/constructs/alarms.js';
import { UNAVAILABLE_REFUSALS_THRESHOLD } from '../../infra/constructs/engine-functions.js';
import { SERVICE_NAME } from '../../infra/constructs/vault-function.js';
import { DEPLOYMENT_DIMENSION, METRICS_NAMESPACE, OPEN_REFUSED_METRIC } from '../../shared/metrics.js';
import { type Json, type Resource, resources, type Synthesized, synthesized } from './support/synth.js';

let dev: Synthesized;
beforeAll(async () => {
  dev = await synthesized('dev');
});

const alarms = (): Resource[] => resources(dev.json.api, 'AWS::CloudWatch::Alarm');
const stats = (alarm: Resource): Json[] => (alarm.Properties.Metrics ?? []).filter((m: Json) => m.MetricStat).map((m: Json) => m.MetricStat);
const expressionOf = (alarm: Resource): string => alarm.Properties.Metrics.find((m: Json) => m.Expression).Expression;
const withMetric = (name: string): Resource[] => alarms().filter((a) => stats(a).some((s) => s.Metric.MetricName === name));

/** The 5xx expression evaluated as CloudWatch would, for one period's sums (a missing metric is 0 through FILL). */
function api5xx(expression: string, errors: number, requests: number): number {
  const js = expression
    .replace(/FILL\((\w+), 0\)/g, '$1')
    .replace(/\bOR\b/g, '||')
    .replace(/^IF\((.*), (.*), (.*)\)$/, '(($1) ? ($2) : ($3))');
  return new Function('errors', 'requests', `return ${js};`)(errors, requests) as number;
}

describe('alarm gaps', () => {
  it('fires the 5xx alarm on a full outage at low traffic (2 requests, both 5xx), not on one lone 5xx', () => {
    const [alarm] = withMetric('5xx');
    const expression = expressionOf(alarm!);
    const fires = (errors: number, requests: number) => api5xx(expression, errors, requests) > alarm!.Properties.Threshold;
    expect(fires(2, 2)).toBe(true);
    expect(fires(3, 9)).toBe(true);
    expect(fires(1, 1)).toBe(false);
    expect(fires(1, 100)).toBe(false);
    expect(fires(10, 100)).toBe(true);
    expect(fires(0, 0)).toBe(false);
    expect(ALARM_THRESHOLDS.api5xxAtLowTraffic).toBe(2);
  });

  it("alarms on the engine's opens refused 'unavailable' (database or ring unreachable), to the topic", () => {
    const [alarm, ...others] = withMetric(OPEN_REFUSED_METRIC);
    expect(others).toEqual([]);
    expect(stats(alarm!)).toEqual([
      {
        Metric: {
          Namespace: METRICS_NAMESPACE,
          MetricName: OPEN_REFUSED_METRIC,
          Dimensions: [
            { Name: DEPLOYMENT_DIMENSION, Value: dev.stackNames.api },
            { Name: 'reason', Value: 'unavailable' },
            { Name: 'service', Value: SERVICE_NAME },
          ],
        },
        Period: 300,
        Stat: 'Sum',
      },
    ]);
    expect(expressionOf(alarm!)).toBe('FILL(unavailable, 0)');
    expect(alarm!.Properties).toMatchObject({ Threshold: UNAVAILABLE_REFUSALS_THRESHOLD, ComparisonOperator: 'GreaterThanOrEqualToThreshold' });
    expect(alarm!.Properties.AlarmActions).toHaveLength(1);
  });

  it('compares like with like on the proxy: each connection gauge at its peak, never a Sum over a Maximum', () => {
    for (const alarm of withMetric('DatabaseConnections')) {
      for (const stat of stats(alarm)) expect({ metric: stat.Metric.MetricName, Stat: stat.Stat }).toEqual({ metric: stat.Metric.MetricName, Stat: 'Maximum' });
    }
  });
});
