/**
 * Issue 20, item 6: keys checked at their exchange, in AWS. Exactly one function reaches the
 * internet, the exchange prober: egress subnets behind a NAT gateway whose Elastic IP the data stack
 * outputs, HTTPS out only, no database, no secret, no KMS. The functions that check keys invoke it,
 * and only it, through a Lambda endpoint of the isolated subnets. Checks off: none of it exists.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { exchangeProberName, parseConfig } from '../../infra/config.js';
import { ENGINE_FUNCTIONS, engineProbesExchange } from '../../infra/constructs/engine-functions.js';
import { NEAR_TIMEOUT_SHARE, PROBE_TIMEOUT, PROBER_TIMEOUT } from '../../infra/constructs/exchange-prober.js';
import { RING_HOLDER_WORST_CASE, VaultFunction } from '../../infra/constructs/vault-function.js';
import { handlerEntry } from '../../infra/paths.js';
import { ConfigError } from '../../shared/config.js';
import { probesExchange, routes } from '../../shared/routes.js';
import {
  actionsOf,
  functionsByName,
  type Json,
  onlyResource,
  type Resource,
  referencedLogicalId,
  resource,
  resources,
  resourcesOf,
  type Synthesized,
  statementsOfFunction,
  statementsOfRole,
  synthesized,
} from './support/synth.js';

const PROBER = 'probe-exchange-key';
/** The functions that wait for the prober on a request: the routes the route table marks and the engine functions so marked. */
const WAITERS = [...routes.filter(probesExchange).map((route) => route.name), ...ENGINE_FUNCTIONS.filter(engineProbesExchange).map((spec) => spec.name)];
/** The functions that check keys: those, and key maintenance (its `check`). */
const CHECKERS = [...WAITERS, 'key-maintenance'];
/** API Gateway ends every integration at 30 s: a route must answer before. */
const API_GATEWAY_LIMIT_S = 30;

let off: Synthesized;
let dev: Synthesized;
let on: Synthesized;
beforeAll(async () => {
  off = await synthesized('prodSmall');
  dev = await synthesized('dev');
  on = await synthesized('exchangeChecks');
});

/** The data-stack subnets a function runs in, by logical ID (the API stack names them through SSM parameters). */
const subnetsOf = (synth: Synthesized, fn: Resource): string[] =>
  (fn.Properties.VpcConfig?.SubnetIds ?? []).map((id: Json) => referencedLogicalId(synth.json, id) ?? JSON.stringify(id));

/** Whether a subnet's route table sends anything outside the VPC (a default route, to a NAT or internet gateway). */
function routesOut(synth: Synthesized, subnet: string): boolean {
  const association = resources(synth.json.data, 'AWS::EC2::SubnetRouteTableAssociation').find((a) => a.Properties.SubnetId.Ref === subnet);
  if (!association) return false;
  const table = association.Properties.RouteTableId.Ref;
  return resources(synth.json.data, 'AWS::EC2::Route').some(
    (r) => r.Properties.RouteTableId.Ref === table && r.Properties.DestinationCidrBlock === '0.0.0.0/0',
  );
}

const variables = (fn: Resource): Record<string, Json> => fn.Properties.Environment?.Variables ?? {};
const prober = (synth: Synthesized): Resource => functionsByName(synth.json.api)[PROBER]!;

describe('checks off (the default)', () => {
  it('has no NAT gateway, no Elastic IP, no internet gateway, no prober, no output and no Lambda endpoint', () => {
    for (const synth of [off, dev]) {
      for (const type of ['AWS::EC2::NatGateway', 'AWS::EC2::EIP', 'AWS::EC2::InternetGateway']) expect(resources(synth.json.data, type)).toEqual([]);
      expect(functionsByName(synth.json.api)[PROBER]).toBeUndefined();
      expect(synth.json.data.Outputs.ExchangeEgressIps).toBeUndefined();
      const services = resources(synth.json.data, 'AWS::EC2::VPCEndpoint').map((e) => JSON.stringify(e.Properties.ServiceName));
      expect(services.filter((s) => s.includes('.lambda'))).toEqual([]);
      expect(resources(synth.json.data, 'AWS::EC2::Subnet').every((subnet) => !routesOut(synth, subnet.logicalId))).toBe(true);
    }
  });

  it('tells no function to check keys, and lets none invoke another', () => {
    for (const fn of Object.values(functionsByName(off.json.api))) {
      expect(Object.keys(variables(fn)).filter((v) => /^(EXCHANGE_|REQUIRE_IP)/.test(v))).toEqual([]);
      expect(
        statementsOfFunction(off.json.api, fn)
          .flatMap(actionsOf)
          .filter((a) => a.startsWith('lambda:')),
      ).toEqual([]);
    }
  });

  it('reads exchangeChecks and requireIpRestriction as on/off, off by default, and refuses IP binding without checks', () => {
    expect(parseConfig({}).exchangeChecks).toBeUndefined();
    expect(parseConfig({ exchangeChecks: 'off' }).exchangeChecks).toBeUndefined();
    expect(parseConfig({ exchangeChecks: 'on' }).exchangeChecks).toEqual({ requireIpRestriction: false });
    expect(parseConfig({ exchangeChecks: ' on ', requireIpRestriction: 'on' }).exchangeChecks).toEqual({ requireIpRestriction: true });
    expect(parseConfig({ exchangeChecks: true, requireIpRestriction: false }).exchangeChecks).toEqual({ requireIpRestriction: false });
    expect(() => parseConfig({ requireIpRestriction: 'on' })).toThrow(/requireIpRestriction.*exchangeChecks=on/);
    for (const bad of ['yes', '1', 'ON', 1]) {
      expect(() => parseConfig({ exchangeChecks: bad })).toThrow(ConfigError);
      expect(() => parseConfig({ exchangeChecks: 'on', requireIpRestriction: bad })).toThrow(/requireIpRestriction/);
    }
  });
});

describe('checks on: the one way out', () => {
  it('has one NAT gateway whose Elastic IP is its own resource, kept outside dev, and output as ExchangeEgressIps', () => {
    const nat = onlyResource(on.json.data, 'AWS::EC2::NatGateway');
    const eip = onlyResource(on.json.data, 'AWS::EC2::EIP');
    expect(nat.Properties.AllocationId).toEqual({ 'Fn::GetAtt': [eip.logicalId, 'AllocationId'] });
    expect(eip.Properties.Domain).toBe('vpc');
    expect(eip).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    expect(JSON.stringify(on.json.data.Outputs.ExchangeEgressIps.Value)).toContain(`"Ref":"${eip.logicalId}"`);
    expect(on.json.data.Outputs.ExchangeEgressIps.Description).toMatch(/allow-list/);
  });

  it('keeps the isolated subnets exactly as they are with checks off (turning checks on replaces no subnet, proxy or database)', () => {
    const isolated = (synth: Synthesized) =>
      resources(synth.json.data, 'AWS::EC2::Subnet')
        .filter((s) => s.logicalId.includes('isolated'))
        .map((s) => [s.logicalId, s.Properties.CidrBlock]);
    expect(isolated(on)).toEqual(isolated(off));
    expect(isolated(on)).toHaveLength(2);
    for (const type of ['AWS::RDS::DBSubnetGroup', 'AWS::RDS::DBProxy']) expect(onlyResource(on.json.data, type)).toEqual(onlyResource(off.json.data, type));
  });

  it('runs the prober, and only the prober, in subnets with a route out', () => {
    const fns = functionsByName(on.json.api);
    const outward = Object.entries(fns)
      .filter(([, fn]) => subnetsOf(on, fn).some((subnet) => routesOut(on, subnet)))
      .map(([name]) => name);
    expect(outward).toEqual([PROBER]);
    // Every other function of ours is in the VPC, in subnets without one.
    for (const [name, fn] of Object.entries(fns)) expect({ name, subnets: subnetsOf(on, fn).length }).toEqual({ name, subnets: 2 });
    expect(subnetsOf(on, prober(on)).every((subnet) => routesOut(on, subnet))).toBe(true);
  });

  it('gives the prober a security group of its own: HTTPS out to anywhere, nothing else out, nothing in', () => {
    const [groupRef] = prober(on).Properties.VpcConfig.SecurityGroupIds;
    const group = resource(on.json.data, referencedLogicalId(on.json, groupRef)!);
    expect(group.Properties.SecurityGroupEgress).toEqual([expect.objectContaining({ CidrIp: '0.0.0.0/0', IpProtocol: 'tcp', FromPort: 443, ToPort: 443 })]);
    expect(group.Properties.SecurityGroupIngress).toBeUndefined();
    const rules = [...resources(on.json.data, 'AWS::EC2::SecurityGroupIngress'), ...resources(on.json.data, 'AWS::EC2::SecurityGroupEgress')];
    expect(rules.filter((r) => JSON.stringify(r.Properties).includes(`"${group.logicalId}"`))).toEqual([]);
    // Nothing admits it: not the proxy, not the database, not the AWS API endpoints (their groups name their clients).
    const groups = resources(on.json.data, 'AWS::EC2::SecurityGroup').filter((g) => g.logicalId !== group.logicalId);
    expect(groups.filter((g) => JSON.stringify(g.Properties.SecurityGroupIngress ?? []).includes(`"${group.logicalId}"`))).toEqual([]);
  });

  it('gives the prober no database, no secret, no KMS and no other permission, and a timeout well above its probe bound', () => {
    const fn = prober(on);
    expect(statementsOfFunction(on.json.api, fn)).toEqual([]);
    expect(Object.keys(variables(fn)).filter((v) => /^(DB_|KEY_RING)/.test(v))).toEqual([]);
    expect(fn.Properties.FunctionName).toBe(exchangeProberName('prod'));
    const probeBoundMs = Number(variables(fn).EXCHANGE_PROBE_TIMEOUT_MS);
    expect(probeBoundMs).toBe(PROBE_TIMEOUT.toMilliseconds());
    expect(fn.Properties.Timeout * 1000).toBeGreaterThanOrEqual(2 * probeBoundMs);
    expect(fn.Properties.Timeout).toBe(PROBER_TIMEOUT.toSeconds());
  });
});

describe('checks on: who may invoke the prober', () => {
  it.each(CHECKERS)('%s is told to check keys, with the deployment’s IP rule, and may invoke the prober and no other function', (name) => {
    const fn = functionsByName(on.json.api)[name]!;
    expect(variables(fn)).toMatchObject({ EXCHANGE_CHECKS: 'on', REQUIRE_IP_RESTRICTION: 'on', EXCHANGE_PROBER_FUNCTION: { Ref: prober(on).logicalId } });
    const invokes = statementsOfFunction(on.json.api, fn).filter((s) => actionsOf(s).some((a) => a.startsWith('lambda:')));
    expect(invokes.map((s) => [actionsOf(s), resourcesOf(s)])).toEqual([[['lambda:InvokeFunction'], [{ 'Fn::GetAtt': [prober(on).logicalId, 'Arn'] }]]]);
  });

  it('lets no other function check keys or invoke anything', () => {
    for (const [name, fn] of Object.entries(functionsByName(on.json.api)).filter(([n]) => !CHECKERS.includes(n))) {
      expect({ name, vars: Object.keys(variables(fn)).filter((v) => /^(EXCHANGE_CHECKS|REQUIRE_IP|EXCHANGE_PROBER)/.test(v)) }).toEqual({ name, vars: [] });
      expect({
        name,
        lambda: statementsOfFunction(on.json.api, fn)
          .flatMap(actionsOf)
          .filter((a) => a.startsWith('lambda:')),
      }).toEqual({ name, lambda: [] });
    }
  });

  it('gives a function that waits for the prober on a request path the time for it, under the API Gateway limit', () => {
    const needed = (RING_HOLDER_WORST_CASE.toMilliseconds() + PROBER_TIMEOUT.toMilliseconds()) / 1000;
    for (const name of WAITERS) {
      const timeout = functionsByName(on.json.api)[name]!.Properties.Timeout;
      expect({ name, timeout, enough: timeout >= needed, underGateway: timeout < API_GATEWAY_LIMIT_S }).toEqual({
        name,
        timeout,
        enough: true,
        underGateway: true,
      });
    }
  });

  it('reaches the prober from the isolated subnets through a Lambda endpoint that lets through invoking it and nothing else', () => {
    const endpoint = resources(on.json.data, 'AWS::EC2::VPCEndpoint').find((e) => JSON.stringify(e.Properties.ServiceName).includes('.lambda'))!;
    expect(endpoint.Properties.PrivateDnsEnabled).toBe(true);
    expect(endpoint.Properties.SubnetIds.map((s: Json) => s.Ref).every((s: string) => s.includes('isolated'))).toBe(true);
    expect(endpoint.Properties.PolicyDocument.Statement).toEqual([
      {
        Effect: 'Allow',
        Principal: { AWS: '*' },
        Action: 'lambda:InvokeFunction',
        Resource: {
          'Fn::Join': [
            '',
            ['arn:', { Ref: 'AWS::Partition' }, ':lambda:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, `:function:${exchangeProberName('prod')}`],
          ],
        },
        Condition: { StringEquals: { 'aws:PrincipalAccount': { Ref: 'AWS::AccountId' } } },
      },
    ]);
  });

  it('refuses to bind a function too short-lived to wait for the prober', () => {
    const stack = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Probe');
    const fn = new VaultFunction(stack, 'Short', { entry: handlerEntry(PROBER), description: 'short: a test function', timeout: Duration.seconds(20) });
    const target = { functionName: 'p', functionArn: 'arn:aws:lambda:us-east-1:123456789012:function:p', timeout: PROBER_TIMEOUT };
    expect(() => fn.bindExchangeProber(target, { requireIpRestriction: false })).toThrow(/timeout must be at least/);
  });
});

describe('checks on: alarms', () => {
  it("alarms on the prober's errors (a timed-out invocation is one) and when an invocation nears its timeout", () => {
    const fn = prober(on).logicalId;
    const watching = (alarm: Resource, metric: string): boolean =>
      alarm.Properties.MetricName === metric
        ? JSON.stringify(alarm.Properties.Dimensions).includes(fn)
        : (alarm.Properties.Metrics ?? []).some(
            (m: Json) => m.MetricStat?.Metric.MetricName === metric && JSON.stringify(m.MetricStat.Metric.Dimensions).includes(fn),
          );
    const alarms = resources(on.json.api, 'AWS::CloudWatch::Alarm');
    expect(alarms.filter((a) => watching(a, 'Errors'))).toHaveLength(1);
    const [nearTimeout, ...others] = alarms.filter((a) => watching(a, 'Duration'));
    expect(others).toEqual([]);
    expect(nearTimeout!.Properties).toMatchObject({
      Namespace: 'AWS/Lambda',
      Statistic: 'Maximum',
      Threshold: NEAR_TIMEOUT_SHARE * PROBER_TIMEOUT.toMilliseconds(),
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
    expect(nearTimeout!.Properties.Threshold).toBeGreaterThan(PROBE_TIMEOUT.toMilliseconds());
    for (const alarm of [nearTimeout!, ...alarms.filter((a) => watching(a, 'Errors'))]) expect(alarm.Properties.AlarmActions).toHaveLength(1);
  });
});

describe("checks on: key maintenance's daily check", () => {
  const machineOf = (synth: Synthesized): Resource[] => resources(synth.json.api, 'AWS::StepFunctions::StateMachine');
  /** The state machine's definition read back as JSON, each reference (within a string of it) as the logical ID it names. */
  const definitionOf = (machine: Resource): { States: Record<string, Json>; StartAt: string } => {
    const parts: Json[] = machine.Properties.DefinitionString['Fn::Join'][1];
    return JSON.parse(parts.map((part) => (typeof part === 'string' ? part : (part['Fn::GetAtt']?.[0] ?? part.Ref))).join(''));
  };

  it('has no schedule with checks off', () => {
    expect(machineOf(off)).toEqual([]);
    expect(resources(off.json.api, 'AWS::Events::Rule').filter((r) => JSON.stringify(r).includes('StateMachine'))).toEqual([]);
  });

  it('starts every day a run that invokes check from the first key, and again from each next until a run is complete', () => {
    const [machine, ...more] = machineOf(on);
    expect(more).toEqual([]);
    const rules = resources(on.json.api, 'AWS::Events::Rule').filter((r) => r.Properties.ScheduleExpression !== undefined);
    expect(rules.map((r) => [r.Properties.ScheduleExpression, r.Properties.Targets[0].Arn.Ref])).toEqual([['cron(0 3 * * ? *)', machine!.logicalId]]);

    const { States, StartAt } = definitionOf(machine!);
    expect(States[StartAt]).toMatchObject({ Type: 'Pass', Result: { after: 0 }, ResultPath: '$.cursor' });
    const invoke = States[States[StartAt].Next];
    // The function itself as the task's resource: the payload is the parameters, the answer the result.
    expect(invoke).toMatchObject({ Type: 'Task', Parameters: { command: 'check', 'after.$': '$.cursor.after' }, ResultPath: '$.report' });
    expect(invoke.Resource).toBe(functionsByName(on.json.api)['key-maintenance']!.logicalId);
    const choice = States[invoke.Next];
    expect(choice.Choices).toEqual([
      { Variable: '$.report.ok', BooleanEquals: false, Next: expect.any(String) },
      { Variable: '$.report.complete', BooleanEquals: true, Next: expect.any(String) },
    ]);
    expect(States[choice.Choices[0].Next].Type).toBe('Fail');
    expect(States[choice.Choices[1].Next].Type).toBe('Succeed');
    const goOn = States[choice.Default];
    expect(goOn).toMatchObject({ Type: 'Pass', Parameters: { 'after.$': '$.report.next' }, ResultPath: '$.cursor', Next: States[StartAt].Next });
    expect(machine!.Properties.DefinitionString['Fn::Join'][1].join('')).toContain('"TimeoutSeconds":21600');
  });

  it('lets the run invoke key maintenance and nothing else, and alarms when a run does not start, fails or times out', () => {
    const [machine] = machineOf(on);
    const statements = statementsOfRole(on.json.api, machine!.Properties.RoleArn['Fn::GetAtt'][0]);
    expect(statements.flatMap(actionsOf)).toEqual(['lambda:InvokeFunction']);
    const maintenance = functionsByName(on.json.api)['key-maintenance']!.logicalId;
    for (const target of statements.flatMap(resourcesOf)) expect(JSON.stringify(target)).toContain(maintenance);
    const alarm = resources(on.json.api, 'AWS::CloudWatch::Alarm').find((a) => JSON.stringify(a.Properties.Metrics ?? []).includes('ExecutionsFailed'));
    const metrics = (alarm!.Properties.Metrics as Json[]).filter((m) => m.MetricStat).map((m) => m.MetricStat.Metric.MetricName);
    expect(metrics.sort()).toEqual(['ExecutionsFailed', 'ExecutionsTimedOut', 'FailedInvocations']);
    expect(alarm!.Properties.Metrics.find((m: Json) => m.Expression).Expression).toBe('FILL(failed, 0) + FILL(timedOut, 0) + FILL(notStarted, 0)');
    expect(alarm!.Properties).toMatchObject({ Threshold: 1, TreatMissingData: 'notBreaching' });
    expect(alarm!.Properties.AlarmActions).toHaveLength(1);
  });
});
