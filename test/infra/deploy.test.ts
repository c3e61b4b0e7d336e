/**
 * The deploy-time findings of issue 11, checked on the synthesized templates of the default stage
 * (Cognito) and of a production stage with an external issuer whose URL ends in a slash.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { DEFAULT_THROTTLE, DEFAULT_ZONE_IDS } from '../../infra/config.js';
import { routes } from '../../shared/routes.js';
import { PROD_ISSUER } from './support/configurations.js';
import { type Json, onlyResource, resource, resources, type Synthesized, synthesized } from './support/synth.js';

let dev: Synthesized;
let prod: Synthesized;

beforeAll(async () => {
  dev = await synthesized('dev');
  prod = await synthesized('prodDeploy');
});

const stages: [string, () => Synthesized][] = [
  ['the default stage', () => dev],
  ['a prod stage with an external issuer', () => prod],
];

describe.each(stages)('%s', (_, synth) => {
  it('imports no CloudFormation export into the API stack, and exports nothing from the data stack', () => {
    const s = synth();
    expect(JSON.stringify(s.json.api)).not.toContain('Fn::ImportValue');
    expect(Object.entries((s.json.data.Outputs ?? {}) as Record<string, Json>).filter(([, output]) => output.Export)).toEqual([]);
    expect(JSON.stringify(s.json.api)).not.toMatch(/Fn::GetStackOutput/);
  });

  it('reads from SSM exactly the parameters the data stack writes, for the same stage', () => {
    const s = synth();
    const read = Object.entries((s.json.api.Parameters ?? {}) as Record<string, Json>)
      .filter(([name]) => name !== 'BootstrapVersion')
      .map(([, parameter]) => parameter.Default as string)
      .sort();
    const written = resources(s.json.data, 'AWS::SSM::Parameter')
      .map((p) => p.Properties.Name as string)
      .sort();
    expect(read).toEqual(written);
    for (const name of written) expect(name.startsWith(`/exchange-api-key-vault/${s.stackNames.data.split('-')[1]}/`)).toBe(true);
  });

  it('fills every input of every metric-math alarm, so a metric with no datapoints reads 0', () => {
    const mathAlarms = resources(synth().json.api, 'AWS::CloudWatch::Alarm').filter((a) => a.Properties.Metrics);
    expect(mathAlarms.length).toBeGreaterThanOrEqual(4);
    for (const alarm of mathAlarms) {
      const metrics = alarm.Properties.Metrics as Json[];
      const ids = metrics.filter((m) => m.MetricStat).map((m) => m.Id as string);
      const expressions = metrics.filter((m) => m.Expression).map((m) => m.Expression as string);
      expect(expressions).toHaveLength(1);
      const expression = expressions[0]!;
      for (const id of ids) expect(expression).toContain(`FILL(${id}, 0)`);
      // No input anywhere outside a FILL.
      const bare = expression.replace(/FILL\(\w+, 0\)/g, '');
      for (const id of ids) expect(bare).not.toMatch(new RegExp(`\\b${id}\\b`));
    }
  });

  it('gives every function in both stacks a log group with a retention', () => {
    const s = synth();
    for (const stack of ['data', 'api'] as const) {
      const functions = resources(s.json[stack], 'AWS::Lambda::Function');
      expect(functions.length).toBeGreaterThan(0);
      for (const fn of functions) {
        const logGroup = resource(s.json[stack], fn.Properties.LoggingConfig?.LogGroup?.Ref ?? `(none for ${fn.logicalId})`);
        expect(logGroup.Type).toBe('AWS::Logs::LogGroup');
        expect(logGroup.Properties.RetentionInDays).toBeGreaterThan(0);
      }
    }
  });

  it("places the subnets in configured zones, never in the account's first zones by name", () => {
    const s = synth();
    expect(JSON.stringify(s.json.data)).not.toContain('Fn::GetAZs');
    const subnets = resources(s.json.data, 'AWS::EC2::Subnet');
    expect(subnets).toHaveLength(2);
    for (const subnet of subnets) {
      expect(subnet.Properties.AvailabilityZone).toBeUndefined();
      expect(subnet.Properties.AvailabilityZoneId).toBeDefined();
    }
  });

  it('limits each route on its own, writes lower than reads', () => {
    const s = synth();
    const stage = onlyResource(s.json.api, 'AWS::ApiGatewayV2::Stage');
    const settings = stage.Properties.RouteSettings as Record<string, Json>;
    expect(Object.keys(settings).sort()).toEqual(routes.map((r) => `${r.method} ${r.path}`).sort());
    const reads = routes.filter((r) => r.method === 'GET').map((r) => settings[`${r.method} ${r.path}`]);
    const writes = routes.filter((r) => r.method !== 'GET').map((r) => settings[`${r.method} ${r.path}`]);
    expect(reads.length).toBeGreaterThan(0);
    expect(writes.length).toBeGreaterThan(0);
    for (const read of reads) for (const write of writes) expect(write.ThrottlingRateLimit).toBeLessThan(read.ThrottlingRateLimit);
    // Route settings name route keys, which must exist first.
    const routeIds = resources(s.json.api, 'AWS::ApiGatewayV2::Route').map((r) => r.logicalId);
    expect(stage.DependsOn).toEqual(expect.arrayContaining(routeIds));
  });
});

describe('per stage', () => {
  it('keeps an external issuer exactly as given, trailing slash included', () => {
    const { JwtConfiguration: jwt } = onlyResource(prod.json.api, 'AWS::ApiGatewayV2::Authorizer').Properties;
    expect(jwt.Issuer).toBe(PROD_ISSUER);
  });

  it("defaults the zones to the region's pair of zone IDs, looked up at deploy time", () => {
    const mapping = Object.values(dev.json.data.Mappings as Record<string, Json>)[0];
    expect(mapping['us-east-1']).toEqual({ first: DEFAULT_ZONE_IDS['us-east-1']![0], second: DEFAULT_ZONE_IDS['us-east-1']![1] });
    expect(Object.values(mapping).map((zones) => JSON.stringify(zones))).not.toContainEqual(expect.stringContaining('use1-az3'));
    const zones = resources(dev.json.data, 'AWS::EC2::Subnet').map((s) => s.Properties.AvailabilityZoneId['Fn::FindInMap']);
    expect(zones.map((z) => [z[1], z[2]])).toEqual([
      [{ Ref: 'AWS::Region' }, 'first'],
      [{ Ref: 'AWS::Region' }, 'second'],
    ]);
  });

  it('takes the zones from context, as zone IDs or names', async () => {
    expect(resources(prod.json.data, 'AWS::EC2::Subnet').map((s) => s.Properties.AvailabilityZoneId)).toEqual(['use1-az4', 'use1-az6']);
    const named = await synthesized('namedZones');
    expect(resources(named.json.data, 'AWS::EC2::Subnet').map((s) => [s.Properties.AvailabilityZone, s.Properties.AvailabilityZoneId])).toEqual([
      ['eu-west-1b', undefined],
      ['eu-west-1c', undefined],
    ]);
  });

  it('takes the route limits from context, with defaults', () => {
    const limitsOf = (s: Synthesized, method: string) => {
      const settings = onlyResource(s.json.api, 'AWS::ApiGatewayV2::Stage').Properties.RouteSettings as Record<string, Json>;
      const route = routes.find((r) => r.method === method)!;
      return settings[`${route.method} ${route.path}`];
    };
    expect(limitsOf(dev, 'POST')).toEqual({ ThrottlingRateLimit: DEFAULT_THROTTLE.write.rateLimit, ThrottlingBurstLimit: DEFAULT_THROTTLE.write.burstLimit });
    expect(limitsOf(dev, 'GET')).toEqual({ ThrottlingRateLimit: DEFAULT_THROTTLE.read.rateLimit, ThrottlingBurstLimit: DEFAULT_THROTTLE.read.burstLimit });
    expect(limitsOf(prod, 'POST').ThrottlingRateLimit).toBe(3);
  });

  it('gives the Cognito app client no OAuth flows, scopes or callback URLs', () => {
    const client = onlyResource(dev.json.data, 'AWS::Cognito::UserPoolClient').Properties;
    expect(client.AllowedOAuthFlows).toBeUndefined();
    expect(client.AllowedOAuthScopes).toBeUndefined();
    expect(client.CallbackURLs).toBeUndefined();
    expect(client.AllowedOAuthFlowsUserPoolClient ?? false).toBe(false);
    expect(client.ExplicitAuthFlows).toEqual(expect.arrayContaining(['ALLOW_USER_SRP_AUTH', 'ALLOW_USER_PASSWORD_AUTH']));
  });
});
