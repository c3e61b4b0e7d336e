import { beforeAll, describe, expect, it } from '@jest/globals';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { DatabaseProxy } from 'aws-cdk-lib/aws-rds';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { DEFAULT_OPEN_CONCURRENCY, DEFAULT_OPENS_ALARM_THRESHOLD, parseConfig, type RawContext } from '../../infra/config.js';
import { Database } from '../../infra/constructs/database.js';
import { ENGINE_FUNCTIONS, EngineFunction } from '../../infra/constructs/engine-functions.js';
import { PROBER_TIMEOUT, PROBING_TIMEOUT } from '../../infra/constructs/exchange-prober.js';
import { KeyRingSecret } from '../../infra/constructs/key-ring-secret.js';
import { constructIdOf } from '../../infra/paths.js';
import { buildVault } from '../../infra/vault.js';
import { DEPLOYMENT_DIMENSION, DEPLOYMENT_VARIABLE, METRICS_NAMESPACE, OPEN_REFUSED_METRIC, OPENED_METRIC } from '../../shared/metrics.js';
import { ENGINE as ENGINE_ROLE, OTHER_ACCOUNT_ENGINE } from './support/configurations.js';
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

/** The trading engine's way in (docs/engine.md): who may invoke its functions, and nothing else. */

let plain: Synthesized;
let configured: Synthesized;
const ENGINE: string[] = ENGINE_FUNCTIONS.map((spec) => spec.name);
const engineFunction = (synth: Synthesized, name: string): Resource => functionsByName(synth.json.api)[name]!;
const opener = (synth: Synthesized): Resource => engineFunction(synth, 'open-api-key');
/** Does this CloudFormation value name the function (Ref, GetAtt, or inside a Join)? */
const names = (value: Json, fn: Resource): boolean => JSON.stringify(value ?? null).includes(`"${fn.logicalId}"`);

beforeAll(async () => {
  plain = await synthesized('dev');
  configured = await synthesized('engine');
});

describe.each(ENGINE)('%s: no way in but IAM', (name) => {
  const fnOf = (synth: Synthesized): Resource => engineFunction(synth, name);

  it('is no API Gateway route target, and API Gateway may not invoke it', () => {
    for (const synth of [plain, configured]) {
      const fn = fnOf(synth);
      expect(resources(synth.json.api, 'AWS::ApiGatewayV2::Integration').filter((i) => names(i.Properties.IntegrationUri, fn))).toEqual([]);
      const permissions = resources(synth.json.api, 'AWS::Lambda::Permission').filter((p) => names(p.Properties.FunctionName, fn));
      expect(permissions.filter((p) => String(p.Properties.Principal).includes('apigateway'))).toEqual([]);
      expect(resources(synth.json.api, 'AWS::Lambda::Url')).toEqual([]);
    }
  });

  it('has no resource policy by default: nobody outside its own account may invoke it', () => {
    const fn = fnOf(plain);
    expect(resources(plain.json.api, 'AWS::Lambda::Permission').filter((p) => names(p.Properties.FunctionName, fn))).toEqual([]);
  });

  it('lets exactly the configured role ARNs invoke it, one permission each, for lambda:InvokeFunction only', () => {
    const fn = fnOf(configured);
    const permissions = resources(configured.json.api, 'AWS::Lambda::Permission').filter((p) => names(p.Properties.FunctionName, fn));
    expect(permissions.map((p) => [p.Properties.Principal, p.Properties.Action]).sort()).toEqual(
      [
        [ENGINE_ROLE, 'lambda:InvokeFunction'],
        [OTHER_ACCOUNT_ENGINE, 'lambda:InvokeFunction'],
      ].sort(),
    );
    for (const permission of permissions) expect(permission.Properties.FunctionName).toEqual({ 'Fn::GetAtt': [fn.logicalId, 'Arn'] });
  });

  it('is invocable by no role of either stack (no identity policy grants lambda:Invoke* on it)', () => {
    for (const synth of [plain, configured]) {
      const fn = fnOf(synth);
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

  it('logs in as vault_engine, in the VPC, and reserves its concurrency (context openConcurrency)', () => {
    expect(fnOf(plain).Properties.Environment.Variables.DB_USER).toBe('vault_engine');
    expect(fnOf(plain).Properties.VpcConfig).toBeDefined();
    expect(fnOf(plain).Properties.ReservedConcurrentExecutions).toBe(DEFAULT_OPEN_CONCURRENCY);
    expect(fnOf(configured).Properties.ReservedConcurrentExecutions).toBe(3);
  });

  it('alarms on its errors and its throttles, each to the alarm topic', () => {
    const fn = fnOf(plain).logicalId;
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

  it(`is named for the engine in the stack output ${constructIdOf(name)}FunctionName`, () => {
    expect(plain.json.api.Outputs[`${constructIdOf(name)}FunctionName`].Value).toEqual({ Ref: fnOf(plain).logicalId });
  });
});

describe('the engine functions together', () => {
  it('grantEngine gives a principal of the same app lambda:InvokeFunction on each engine function and nothing else', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] }, analyticsReporting: false });
    const { api } = buildVault(app, parseConfig({ stage: 'dev' }));
    const engine = new iam.Role(api, 'SameAppEngine', { assumedBy: new iam.AccountRootPrincipal() });
    api.grantEngine(engine);
    const template = Template.fromStack(api).toJSON();
    const synth = { json: { api: template } } as unknown as Synthesized;
    const roleId = resources(template, 'AWS::IAM::Role').find((r) => r.logicalId.startsWith('SameAppEngine'))!.logicalId;
    const statements = statementsOfRole(template, roleId);
    expect([...new Set(statements.flatMap(actionsOf))]).toEqual(['lambda:InvokeFunction']);
    const granted = (fn: Resource): boolean => statements.flatMap(resourcesOf).some((r) => names(r, fn));
    expect(ENGINE.filter((name) => !granted(engineFunction(synth, name)))).toEqual([]);
    const others = Object.entries(functionsByName(template)).filter(([name]) => !ENGINE.includes(name));
    expect(others.filter(([, fn]) => granted(fn)).map(([name]) => name)).toEqual([]);
  });

  it('keeps open-api-key under the construct it always had, so its generated name (what engines are configured with) stays', () => {
    expect(opener(plain).logicalId).toMatch(/^OpenApiKeyFunction[0-9A-F]{8}$/);
  });

  it('gives report-api-key, which re-checks reported keys, the ring and the prober with checks on, and neither with them off', () => {
    const recheck = ENGINE_FUNCTIONS.find((spec) => spec.name === 'report-api-key')!;
    expect(recheck).toMatchObject({ opensKeys: false, probesExchange: true });
    const build = (context: RawContext): Json => {
      const app = new App({ context: { 'aws:cdk:bundling-stacks': [] }, analyticsReporting: false });
      const config = parseConfig(context);
      const stack = new Stack(app, 'Engine');
      const network = { subnetIds: ['subnet-0123456789abcdef0', 'subnet-0123456789abcdef1'], securityGroupId: 'sg-0123456789abcdef0' };
      const database = Database.fromAttributes({
        proxy: DatabaseProxy.fromDatabaseProxyAttributes(stack, 'Proxy', {
          dbProxyName: 'p',
          dbProxyArn: 'arn:aws:rds:us-east-1:123456789012:db-proxy:prx-1',
          endpoint: 'p.example',
          securityGroups: [],
        }),
        port: 5432,
        databaseName: 'vault',
        masterUser: 'vault_admin',
        appUser: 'vault_app',
        appSecret: Secret.fromSecretCompleteArn(stack, 'A', 'arn:aws:secretsmanager:us-east-1:123456789012:secret:a-AbCdEf'),
        readerUser: 'vault_reader',
        readerSecret: Secret.fromSecretCompleteArn(stack, 'R', 'arn:aws:secretsmanager:us-east-1:123456789012:secret:r-AbCdEf'),
        engineUser: 'vault_engine',
        engineSecret: Secret.fromSecretCompleteArn(stack, 'E', 'arn:aws:secretsmanager:us-east-1:123456789012:secret:e-AbCdEf'),
      });
      const ringSecret = KeyRingSecret.fromArns({
        secretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:ring-AbCdEf',
        keyArn: 'arn:aws:kms:us-east-1:123456789012:key/k',
      });
      const prober = { functionName: 'prober', functionArn: 'arn:aws:lambda:us-east-1:123456789012:function:prober', timeout: PROBER_TIMEOUT };
      new EngineFunction(stack, 'Recheck', {
        spec: recheck,
        network,
        database,
        ringSecret,
        engine: config.engine,
        ...(config.exchangeChecks && { exchangeChecks: { prober, settings: config.exchangeChecks } }),
      });
      return Template.fromStack(stack).toJSON();
    };
    const on = functionsByName(build({ exchangeChecks: 'on' }))['report-api-key']!;
    expect(on.Properties.Environment.Variables).toMatchObject({ DB_USER: 'vault_engine', EXCHANGE_CHECKS: 'on', EXCHANGE_PROBER_FUNCTION: 'prober' });
    expect(on.Properties.Environment.Variables.KEY_RING_SECRET_ARN).toBeDefined();
    expect(on.Properties.Timeout).toBe(PROBING_TIMEOUT.toSeconds());
    const off = functionsByName(build({}))['report-api-key']!;
    expect(Object.keys(off.Properties.Environment.Variables).filter((v) => /^(KEY_RING|EXCHANGE_)/.test(v))).toEqual([]);
    expect(off.Properties.Timeout).toBeLessThan(PROBING_TIMEOUT.toSeconds());
  });

  it('holds the key ring only in the function that opens keys: the lists read no key material', () => {
    for (const name of ENGINE) {
      const holds = 'KEY_RING_SECRET_ARN' in engineFunction(plain, name).Properties.Environment.Variables;
      expect({ name, holds }).toEqual({ name, holds: ENGINE_FUNCTIONS.find((spec) => spec.name === name)!.opensKeys });
      const actions = statementsOfFunction(plain.json.api, engineFunction(plain, name)).flatMap(actionsOf);
      if (!holds) expect({ name, actions: [...new Set(actions)] }).toEqual({ name, actions: ['rds-db:connect'] });
    }
  });
});

describe('open-api-key: least privilege, bounds, the alarm', () => {
  it('may connect to the database as vault_engine (its own role) and read and unwrap the key ring, and nothing else', () => {
    const fn = opener(plain);
    const actions = new Set(statementsOfFunction(plain.json.api, fn).flatMap(actionsOf));
    expect([...actions].sort()).toEqual(['kms:Decrypt', 'rds-db:connect', 'secretsmanager:GetSecretValue']);
  });

  it('reserves nothing for any engine function with openConcurrency=none, so a new account (quota 10) can create them', async () => {
    const unreserved = await synthesized('unreserved');
    for (const name of ENGINE) expect(engineFunction(unreserved, name).Properties).not.toHaveProperty('ReservedConcurrentExecutions');
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
});
