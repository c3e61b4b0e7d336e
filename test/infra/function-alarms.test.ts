/**
 * Issue 22, item 3: every function is watched for errors and throttles, in alarms CloudWatch accepts
 * (at most 10 metrics each) however many routes the API has; a function added anywhere in the API
 * stack, after the alarms too, is watched without a change to the alarm code.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { App } from 'aws-cdk-lib';
import { parseConfig } from '../../infra/config.js';
import { FUNCTIONS_PER_ALARM, inGroups } from '../../infra/constructs/function-alarms.js';
import { MAX_METRICS_PER_ALARM } from '../../infra/constructs/metric-math.js';
import { VaultFunction } from '../../infra/constructs/vault-function.js';
import { handlerEntry } from '../../infra/paths.js';
import { buildVault } from '../../infra/vault.js';
import { routes } from '../../shared/routes.js';
import { type Json, type Resource, resources, type Synthesized, synthesized } from './support/synth.js';

const ROUTES_WANTED = 30;

/** The API stack as `infra/app.ts` builds it, with functions added beside the routes' until there are `count` route functions. */
function apiTemplateWithRoutes(count: number): Json {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] }, analyticsReporting: false });
  const { api } = buildVault(app, parseConfig({ stage: 'dev' }));
  for (let i = routes.length; i < count; i++) {
    // Added after the stack (and its alarms) is built, as a later route or a new construct would be.
    new VaultFunction(api, `ExtraRoute${i}`, { entry: handlerEntry(routes[0]!.name), description: `extra-route-${i}: a route added by the test` });
  }
  return app.synth().getStackArtifact(api.artifactId).template;
}

/** Our functions (the ones with the vault's Powertools service name); aws-cdk-lib's own handlers are not watched. */
const vaultFunctions = (template: Json): Resource[] =>
  resources(template, 'AWS::Lambda::Function').filter((fn) => fn.Properties.Environment?.Variables?.POWERTOOLS_SERVICE_NAME);

const metricStats = (alarm: Resource): Json[] => (alarm.Properties.Metrics ?? []).filter((m: Json) => m.MetricStat).map((m: Json) => m.MetricStat);

/** For each Lambda metric name, how many alarms watch each function. */
function watchCounts(template: Json, metricName: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const alarm of resources(template, 'AWS::CloudWatch::Alarm')) {
    const watched = alarm.Properties.Metrics
      ? metricStats(alarm).map((s) => s.Metric)
      : [{ Namespace: alarm.Properties.Namespace, MetricName: alarm.Properties.MetricName, Dimensions: alarm.Properties.Dimensions }];
    for (const metric of watched) {
      if (metric.Namespace !== 'AWS/Lambda' || metric.MetricName !== metricName) continue;
      const fn = metric.Dimensions?.find((d: Json) => d.Name === 'FunctionName')?.Value?.Ref;
      counts.set(fn, (counts.get(fn) ?? 0) + 1);
    }
  }
  return counts;
}

function expectAcceptedByCloudWatch(template: Json): void {
  const alarms = resources(template, 'AWS::CloudWatch::Alarm');
  expect(alarms.length).toBeGreaterThan(0);
  for (const alarm of alarms) {
    const entries = alarm.Properties.Metrics?.length ?? 1;
    expect({ alarm: alarm.logicalId, entries: Math.min(entries, MAX_METRICS_PER_ALARM) }).toEqual({ alarm: alarm.logicalId, entries });
  }
}

function expectEveryFunctionWatchedOnce(template: Json): void {
  const functions = vaultFunctions(template).map((fn) => fn.logicalId);
  for (const metricName of ['Errors', 'Throttles']) {
    const counts = watchCounts(template, metricName);
    expect(Object.fromEntries(functions.map((fn) => [fn, counts.get(fn) ?? 0]))).toEqual(Object.fromEntries(functions.map((fn) => [fn, 1])));
  }
}

describe('function alarms on the synthesized stacks', () => {
  let dev: Synthesized;
  let many: Json;
  beforeAll(async () => {
    dev = await synthesized('dev');
    many = apiTemplateWithRoutes(ROUTES_WANTED);
    // A whole synthesis of its own, on a machine shared with the other test files.
  }, 120_000);

  it('today: no alarm holds more than 10 metrics, and every function is watched for errors and throttles exactly once', () => {
    expectAcceptedByCloudWatch(dev.json.api);
    expectEveryFunctionWatchedOnce(dev.json.api);
  });

  it(`with ${ROUTES_WANTED} routes: still no alarm over 10 metrics, and the added functions are watched too`, () => {
    expect(vaultFunctions(many).length).toBeGreaterThanOrEqual(ROUTES_WANTED);
    expectAcceptedByCloudWatch(many);
    expectEveryFunctionWatchedOnce(many);
  });

  it('fills every input, fires on one error or throttle in 5 minutes and notifies the alarm topic, to ALARM and back to OK', () => {
    const topic = resources(many, 'AWS::SNS::Topic')[0]!.logicalId;
    const grouped = resources(many, 'AWS::CloudWatch::Alarm').filter((a) => metricStats(a).some((s) => s.Metric.Namespace === 'AWS/Lambda'));
    expect(grouped.length).toBeGreaterThanOrEqual(2 * Math.ceil(ROUTES_WANTED / FUNCTIONS_PER_ALARM));
    for (const alarm of grouped) {
      const { Metrics, ...rest } = alarm.Properties;
      const expression = Metrics.find((m: Json) => m.Expression).Expression as string;
      expect(expression.split(' + ').sort()).toEqual(
        Metrics.filter((m: Json) => m.MetricStat)
          .map((m: Json) => `FILL(${m.Id}, 0)`)
          .sort(),
      );
      for (const stat of metricStats(alarm)) expect({ Period: stat.Period, Stat: stat.Stat }).toEqual({ Period: 300, Stat: 'Sum' });
      expect(rest).toMatchObject({
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        EvaluationPeriods: 1,
        TreatMissingData: 'notBreaching',
        AlarmActions: [{ Ref: topic }],
        OKActions: [{ Ref: topic }],
      });
    }
  });
});

describe('inGroups', () => {
  it('splits in order into groups of at most the size, none empty', () => {
    expect(inGroups([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
    expect(inGroups([], 9)).toEqual([]);
    expect(inGroups([1, 2, 3], 3)).toEqual([[1, 2, 3]]);
  });
});
