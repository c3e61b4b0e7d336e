import { beforeAll, describe, expect, it } from '@jest/globals';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { DEFAULT_OPEN_CONCURRENCY, DEFAULT_OPENS_ALARM_THRESHOLD, parseConfig } from '../../infra/config.js';
import { buildVault } from '../../infra/vault.js';
import { DEPLOYMENT_DIMENSION, DEPLOYMENT_VARIABLE, METRICS_NAMESPACE, OPEN_REFUSED_METRIC, OPENED_METRIC } from '../../shared/metrics.js';
import { ENGINE, OTHER_ACCOUNT_ENGINE } from './support/configurations.js';
import {
  actionsOf,
  functionsByName,
  type Json,
  type Resource,
  resources,
  resourcesOf,
  type Synthesized,
  statementsOfFunction,
  statementsOfRole,
  synthesized,
} from './support/synth.js';

/** The trading engine's way in (docs/engine.md): who may invoke open-api-key, and nothing else. */

let plain: Synthesized;
let configured: Synthesized;
const opener = (synth: Synthesized): Resource => functionsByName(synth.json.api)['open-api-key']!;
/** Does this CloudFormation value name the function (Ref, GetAtt, or inside a Join)? */
const names = (value: Json, fn: Resource): boolean => JSON.stringify(value ?? null).includes(`"${fn.logicalId}"`);

beforeAll(async () => {
  plain = await synthesized('dev');
  configured = await synthesized('engine');
});

describe('open-api-key: no way in but IAM', () => {
  it('is no API Gateway route target, and API Gateway may not invoke it', () => {
    for (const synth of [plain, configured]) {
      const fn = opener(synth);
      expect(resources(synth.json.api, 'AWS::ApiGatewayV2::Integration').filter((i) => names(i.Properties.IntegrationUri, fn))).toEqual([]);
      const permissions = resources(synth.json.api, 'AWS::Lambda::Permission').filter((p) => names(p.Properties.FunctionName, fn));
      expect(permissions.filter((p) => String(p.Properties.Principal).includes('apigateway'))).toEqual([]);
      expect(resources(synth.json.api, 'AWS::Lambda::Url')).toEqual([]);
    }
  });

  it('has no resource policy by default: nobody outside its own account may invoke it', () => {
    const fn = opener(plain);
    expect(resources(plain.json.api, 'AWS::Lambda::Permission').filter((p) => names(p.Properties.FunctionName, fn))).toEqual([]);
  });

  it('lets exactly the configured role ARNs invoke it, one permission each, for lambda:InvokeFunction only', () => {
    const fn = opener(configured);
    const permissions = resources(configured.json.api, 'AWS::Lambda::Permission').filter((p) => names(p.Properties.FunctionName, fn));
    expect(permissions.map((p) => [p.Properties.Principal, p.Properties.Action]).sort()).toEqual(
      [
        [ENGINE, 'lambda:InvokeFunction'],
        [OTHER_ACCOUNT_ENGINE, 'lambda:InvokeFunction'],
      ].sort(),
    );
    for (const permission of permissions) expect(permission.Properties.FunctionName).toEqual({ 'Fn::GetAtt': [fn.logicalId, 'Arn'] });
  });

  it('is invocable by no role of either stack (no identity policy grants lambda:Invoke* on it)', () => {
    for (const synth of [plain, configured]) {
      const fn = opener(synth);
      for (const stack of ['data', 'api'] as const) {
        const invokers = resources(synth.json[stack], 'AWS::IAM::Role').filter((role) =>
          statementsOfRole(synth.json[stack], role.logicalId).some(
            (s) => actionsOf(s).some((a) => /^lambda:Invoke/.test(a)) && resourcesOf(s).some((r) => names(r, fn)),
          ),
        );
        expect(invokers.map((r) => r.logicalId)).toEqual([]);
      }
    }
  });

  it('grantOpen gives a principal of the same app lambda:InvokeFunction on it and nothing else', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] }, analyticsReporting: false });
    const { api } = buildVault(app, parseConfig({ stage: 'dev' }));
    const engine = new iam.Role(api, 'SameAppEngine', { assumedBy: new iam.AccountRootPrincipal() });
    api.grantOpen(engine);
    const template = Template.fromStack(api).toJSON();
    const fn = opener({ json: { api: template } } as unknown as Synthesized);
    const roleId = resources(template, 'AWS::IAM::Role').find((r) => r.logicalId.startsWith('SameAppEngine'))!.logicalId;
    const statements = statementsOfRole(template, roleId);
    expect(statements.flatMap(actionsOf)).toEqual(['lambda:InvokeFunction']);
    expect(statements.flatMap(resourcesOf).every((r) => names(r, fn))).toBe(true);
  });
});

describe('open-api-key: least privilege, bounds, the alarm', () => {
  it('may connect to the database as vault_engine (its own role) and read and unwrap the key ring, and nothing else', () => {
    const fn = opener(plain);
    const actions = new Set(statementsOfFunction(plain.json.api, fn).flatMap(actionsOf));
    expect([...actions].sort()).toEqual(['kms:Decrypt', 'rds-db:connect', 'secretsmanager:GetSecretValue']);
    expect(fn.Properties.Environment.Variables.DB_USER).toBe('vault_engine');
    expect(fn.Properties.VpcConfig).toBeDefined();
  });

  it('reserves its concurrency: at most so many opens at once (context openConcurrency)', () => {
    expect(opener(plain).Properties.ReservedConcurrentExecutions).toBe(DEFAULT_OPEN_CONCURRENCY);
    expect(opener(configured).Properties.ReservedConcurrentExecutions).toBe(3);
  });

  it('reserves nothing with openConcurrency=none, so a new account (quota 10) can create it', async () => {
    const unreserved = await synthesized('unreserved');
    expect(opener(unreserved).Properties).not.toHaveProperty('ReservedConcurrentExecutions');
    // A synthesis of its own, on a machine shared with the other test files.
  }, 120_000);

  it('alarms on more opens in 5 minutes than the threshold, counting no data as none, on the metric the function emits', () => {
    for (const [synth, threshold] of [
      [plain, DEFAULT_OPENS_ALARM_THRESHOLD],
      [configured, 120],
    ] as const) {
      const alarm = resources(synth.json.api, 'AWS::CloudWatch::Alarm').find((a) => JSON.stringify(a.Properties.Metrics ?? []).includes(OPENED_METRIC))!;
      expect(alarm.Properties).toMatchObject({ Threshold: threshold, ComparisonOperator: 'GreaterThanThreshold', EvaluationPeriods: 1 });
      const metrics = alarm.Properties.Metrics as Json[];
      expect(metrics.find((m) => m.Expression).Expression).toBe('FILL(opens, 0)');
      const { Metric, Period, Stat } = metrics.find((m) => m.MetricStat).MetricStat;
      expect({ Period, Stat }).toEqual({ Period: 300, Stat: 'Sum' });
      // The dimensions the function's Powertools Metrics writes: its service name and its deployment.
      const variables = opener(synth).Properties.Environment.Variables;
      expect(Metric).toEqual({
        Namespace: METRICS_NAMESPACE,
        MetricName: OPENED_METRIC,
        Dimensions: [
          { Name: DEPLOYMENT_DIMENSION, Value: variables[DEPLOYMENT_VARIABLE] },
          { Name: 'service', Value: variables.POWERTOOLS_SERVICE_NAME },
        ],
      });
      expect(variables[DEPLOYMENT_VARIABLE]).toBe(synth.stackNames.api);
      expect(alarm.Properties.AlarmActions).toHaveLength(1);
    }
  });

  it('alarms on any integrity refusal (a stored key that does not open), on the refusal metric the function emits', () => {
    const alarm = resources(plain.json.api, 'AWS::CloudWatch::Alarm').find((a) => a.Properties.MetricName === OPEN_REFUSED_METRIC)!;
    const variables = opener(plain).Properties.Environment.Variables;
    expect(alarm.Properties).toMatchObject({
      Namespace: METRICS_NAMESPACE,
      Statistic: 'Sum',
      Period: 300,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
    expect(alarm.Properties.Dimensions).toEqual(
      expect.arrayContaining([
        { Name: 'service', Value: variables.POWERTOOLS_SERVICE_NAME },
        { Name: DEPLOYMENT_DIMENSION, Value: variables[DEPLOYMENT_VARIABLE] },
        { Name: 'reason', Value: 'integrity' },
      ]),
    );
    expect(alarm.Properties.AlarmActions).toHaveLength(1);
  });

  it('alarms on its errors and its throttles, each to the alarm topic', () => {
    const fn = opener(plain).logicalId;
    for (const metric of ['Errors', 'Throttles']) {
      const alarm = resources(plain.json.api, 'AWS::CloudWatch::Alarm').find((a) =>
        (a.Properties.Metrics ?? []).some(
          (m: Json) =>
            m.MetricStat?.Metric.MetricName === metric &&
            m.MetricStat.Metric.Namespace === 'AWS/Lambda' &&
            JSON.stringify(m.MetricStat.Metric.Dimensions).includes(fn),
        ),
      );
      expect({ metric, found: alarm !== undefined }).toEqual({ metric, found: true });
      expect(alarm!.Properties).toMatchObject({ Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold', TreatMissingData: 'notBreaching' });
      expect(alarm!.Properties.AlarmActions).toHaveLength(1);
    }
  });

  it('names the function in the stack output OpenApiKeyFunctionName', () => {
    expect(plain.json.api.Outputs.OpenApiKeyFunctionName.Value).toEqual({ Ref: opener(plain).logicalId });
  });
});
