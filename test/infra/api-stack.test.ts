import { beforeAll, describe, expect, it } from '@jest/globals';
import { ENGINE_FUNCTIONS } from '../../infra/constructs/engine-functions.js';
import { routes } from '../../shared/routes.js';
import { CORS_ORIGIN, EXTERNAL_AUDIENCE, EXTERNAL_ISSUER } from './support/configurations.js';
import {
  functionsByName,
  type Json,
  onlyResource,
  type Resource,
  referencedLogicalId,
  resource,
  resources,
  type Synthesized,
  stackDependencies,
  synthesized,
} from './support/synth.js';

let cognito: Synthesized;
let external: Synthesized;
let fns: Record<string, Resource>;

beforeAll(async () => {
  // Unbundled: the bundles themselves are checked on the real `cdk synth` (offline-synth.test.ts).
  cognito = await synthesized('dev');
  external = await synthesized('externalIssuer');
  fns = functionsByName(cognito.json.api);
});

const integrationTarget = (template: Json, route: Resource): Resource => {
  const target = route.Properties.Target['Fn::Join'][1][1].Ref;
  return resource(template, target);
};

describe('routes and authorizer', () => {
  it('has exactly one route per entry of the shared route table, each invoking the function of that name', () => {
    const apiRoutes = resources(cognito.json.api, 'AWS::ApiGatewayV2::Route');
    expect(apiRoutes.map((r) => r.Properties.RouteKey).sort()).toEqual(routes.map((r) => `${r.method} ${r.path}`).sort());
    for (const route of routes) {
      const apiRoute = apiRoutes.find((r) => r.Properties.RouteKey === `${route.method} ${route.path}`)!;
      const integration = integrationTarget(cognito.json.api, apiRoute);
      expect(integration.Properties.IntegrationType).toBe('AWS_PROXY');
      expect(integration.Properties.PayloadFormatVersion).toBe('2.0');
      expect(integration.Properties.IntegrationUri['Fn::GetAtt'][0]).toBe(fns[route.name]!.logicalId);
    }
  });

  it.each([
    ['the stack-made Cognito pool', () => cognito],
    ['an external issuer', () => external],
  ])('puts the JWT authorizer on every route (%s)', (_, synth) => {
    const s = synth();
    const authorizer = onlyResource(s.json.api, 'AWS::ApiGatewayV2::Authorizer');
    expect(authorizer.Properties.AuthorizerType).toBe('JWT');
    expect(authorizer.Properties.IdentitySource).toEqual(['$request.header.Authorization']);
    for (const route of resources(s.json.api, 'AWS::ApiGatewayV2::Route')) {
      expect(route.Properties.AuthorizationType).toBe('JWT');
      expect(route.Properties.AuthorizerId).toEqual({ Ref: authorizer.logicalId });
    }
  });

  it('trusts the Cognito pool the data stack makes, for its app client only', () => {
    const { JwtConfiguration: jwt } = onlyResource(cognito.json.api, 'AWS::ApiGatewayV2::Authorizer').Properties;
    const pool = onlyResource(cognito.json.data, 'AWS::Cognito::UserPool').logicalId;
    const client = onlyResource(cognito.json.data, 'AWS::Cognito::UserPoolClient').logicalId;
    expect(jwt.Audience.map((a: Json) => referencedLogicalId(cognito.json, a))).toEqual([client]);
    const issuer = JSON.stringify(jwt.Issuer);
    expect(issuer).toContain('https://cognito-idp.');
    expect(jwt.Issuer['Fn::Join'][1].map((part: Json) => referencedLogicalId(cognito.json, part))).toContain(pool);
  });

  it('trusts an external issuer and audience from context, and then makes no user pool', () => {
    const { JwtConfiguration: jwt } = onlyResource(external.json.api, 'AWS::ApiGatewayV2::Authorizer').Properties;
    expect(jwt).toEqual({ Issuer: EXTERNAL_ISSUER, Audience: EXTERNAL_AUDIENCE });
    expect(resources(external.json.data, 'AWS::Cognito::UserPool')).toEqual([]);
  });
});

describe('stage: throttling, access logs, CORS', () => {
  it('throttles every route by default and writes JSON access logs to a log group with a retention', () => {
    const stage = onlyResource(cognito.json.api, 'AWS::ApiGatewayV2::Stage');
    expect(stage.Properties.StageName).toBe('$default');
    expect(stage.Properties.AutoDeploy).toBe(true);
    expect(stage.Properties.DefaultRouteSettings).toEqual({ ThrottlingBurstLimit: 100, ThrottlingRateLimit: 50 });
    const logGroup = resource(cognito.json.api, stage.Properties.AccessLogSettings.DestinationArn['Fn::GetAtt'][0]);
    expect(logGroup.Properties.RetentionInDays).toBeGreaterThan(0);
    const format = JSON.parse(stage.Properties.AccessLogSettings.Format);
    expect(format).toEqual(expect.objectContaining({ requestId: '$context.requestId', status: '$context.status', route: '$context.routeKey' }));
  });

  it('allows the configured origin only, and configures no CORS without one', () => {
    const api = onlyResource(external.json.api, 'AWS::ApiGatewayV2::Api');
    expect(api.Properties.CorsConfiguration).toEqual(
      expect.objectContaining({
        AllowOrigins: [CORS_ORIGIN],
        AllowHeaders: ['authorization', 'content-type', 'if-match'],
        ExposeHeaders: ['etag'],
        AllowMethods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
      }),
    );
    expect(api.Properties.CorsConfiguration.AllowCredentials).toBeUndefined();
    expect(onlyResource(cognito.json.api, 'AWS::ApiGatewayV2::Api').Properties.CorsConfiguration).toBeUndefined();
  });
});

describe('functions: runtime, architecture, configuration', () => {
  it.each([...routes.map((route) => route.name), 'key-maintenance', 'migrate', ...ENGINE_FUNCTIONS.map((spec) => spec.name)])(
    '%s runs Node.js 22 on arm64, with its own log group and a retention',
    (name) => {
      const fn = fns[name]!;
      expect(fn.Properties.Runtime).toBe('nodejs22.x');
      expect(fn.Properties.Architectures).toEqual(['arm64']);
      expect(fn.Properties.Handler).toBe('index.handler');
      expect(fn.Properties.MemorySize).toBeGreaterThanOrEqual(512);
      expect(fn.Properties.Timeout).toBeGreaterThan(3);
      // A function that loads the ring on a request waits out a hung Secrets Manager or KMS, then the database, and still answers.
      if (['register-api-key', 'replace-api-key', 'open-api-key'].includes(name)) expect(fn.Properties.Timeout).toBe(20);
      const logGroup = resource(cognito.json.api, fn.Properties.LoggingConfig.LogGroup.Ref);
      expect(logGroup.Properties.RetentionInDays).toBeGreaterThan(0);
      expect(fn.Properties.Environment.Variables).toEqual(
        expect.objectContaining({ POWERTOOLS_SERVICE_NAME: 'exchange-api-key-vault', POWERTOOLS_LOG_LEVEL: 'INFO' }),
      );
    },
  );

  it('runs the deploy-time ring initializer on the same runtime and architecture', () => {
    const initializer = resources(cognito.json.data, 'AWS::Lambda::Function').find((f) => f.logicalId.startsWith('KeyRingInitializer'))!;
    expect(initializer.Properties.Runtime).toBe('nodejs22.x');
    expect(initializer.Properties.Architectures).toEqual(['arm64']);
  });
});

describe('migrations on every deploy, before the API takes traffic', () => {
  it('runs the migration function through a Trigger, synchronously, whenever its bundle or configuration changes', () => {
    const trigger = onlyResource(cognito.json.api, 'Custom::Trigger');
    expect(trigger.Properties.InvocationType).toBe('RequestResponse');
    expect(trigger.Properties.ExecuteOnHandlerChange).toBe(true);
    const version = resource(cognito.json.api, trigger.Properties.HandlerArn.Ref);
    expect(version.Type).toBe('AWS::Lambda::Version');
    expect(version.Properties.FunctionName).toEqual({ Ref: fns.migrate!.logicalId });
  });

  it('updates the stage and every API and maintenance function only after the migration ran', () => {
    const trigger = onlyResource(cognito.json.api, 'Custom::Trigger').logicalId;
    const stage = onlyResource(cognito.json.api, 'AWS::ApiGatewayV2::Stage');
    expect(stage.DependsOn).toContain(trigger);
    for (const name of [...routes.map((r) => r.name), 'key-maintenance', ...ENGINE_FUNCTIONS.map((spec) => spec.name)]) {
      expect(fns[name]!.DependsOn).toContain(trigger);
    }
    expect(fns.migrate!.DependsOn ?? []).not.toContain(trigger);
  });

  it('runs after the database and its proxy exist: the API stack is deployed after the data stack', () => {
    // In the cloud assembly, which is what `cdk deploy` orders the stacks by.
    expect(stackDependencies(cognito, 'api')).toEqual([cognito.stackNames.data]);
    expect(stackDependencies(cognito, 'data')).toEqual([]);
  });

  it('gives the first migration the time a new proxy takes (14 minutes, within the 15-minute Trigger provider), and keeps its log group after a rollback', () => {
    expect(fns.migrate!.Properties.Timeout).toBe(14 * 60);
    const trigger = onlyResource(cognito.json.api, 'Custom::Trigger');
    expect(Number(trigger.Properties.Timeout)).toBe((14 * 60 + 30) * 1000);
    const provider = resources(cognito.json.api, 'AWS::Lambda::Function').find((f) => f.logicalId.startsWith('AWSCDKTriggerCustomResourceProvider'))!;
    expect(Number(trigger.Properties.Timeout)).toBeLessThan(provider.Properties.Timeout * 1000);
    const logGroup = resource(cognito.json.api, fns.migrate!.Properties.LoggingConfig.LogGroup.Ref);
    expect({ DeletionPolicy: logGroup.DeletionPolicy, UpdateReplacePolicy: logGroup.UpdateReplacePolicy }).toEqual({
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
  });

  it('runs again when a value read from the data stack changes (proxy, app or reader secret): the version it runs carries them', () => {
    const trigger = onlyResource(cognito.json.api, 'Custom::Trigger');
    const description = JSON.stringify(resource(cognito.json.api, trigger.Properties.HandlerArn.Ref).Properties.Description);
    const parameterOf = (key: string): string =>
      Object.entries(cognito.json.api.Parameters as Record<string, Json>).find(([, p]) => p.Default === `/exchange-api-key-vault/dev/${key}`)![0];
    // A version's description cannot change in place: a new value publishes a new version, which the Trigger runs.
    for (const key of ['proxy-endpoint', 'app-secret-arn', 'reader-secret-arn']) expect(description).toContain(`{"Ref":"${parameterOf(key)}"}`);
  });

  it('reaches the database from inside the VPC', () => {
    expect(fns.migrate!.Properties.VpcConfig).toBeDefined();
    expect(Object.keys(fns.migrate!.Properties.Environment.Variables)).toEqual(expect.arrayContaining(['DB_HOST', 'DB_PORT', 'DB_NAME', 'DB_USER']));
  });
});

describe('alarms', () => {
  const alarms = (): Resource[] => resources(cognito.json.api, 'AWS::CloudWatch::Alarm');
  const metricsOf = (alarm: Resource): Json[] =>
    alarm.Properties.Metrics
      ? alarm.Properties.Metrics.filter((m: Json) => m.MetricStat).map((m: Json) => m.MetricStat.Metric)
      : [{ MetricName: alarm.Properties.MetricName, Namespace: alarm.Properties.Namespace, Dimensions: alarm.Properties.Dimensions }];
  const find = (predicate: (metrics: Json[]) => boolean): Resource[] => alarms().filter((a) => predicate(metricsOf(a)));

  it('alarms on the API 5xx rate', () => {
    const [alarm] = find((m) => m.some((x) => x.MetricName === '5xx') && m.some((x) => x.MetricName === 'Count'));
    expect(alarm).toBeDefined();
    const expression = alarm!.Properties.Metrics.find((m: Json) => m.Expression).Expression;
    expect(expression).toContain('100 * FILL(errors, 0) / FILL(requests, 0)');
  });

  it('alarms on RDS Proxy connection saturation and session pinning', () => {
    const proxyMetrics = (names: string[]) =>
      find((m) => names.every((n) => m.some((x) => x.MetricName === n && x.Namespace === 'AWS/RDS' && x.Dimensions[0].Name === 'ProxyName')));
    expect(proxyMetrics(['DatabaseConnections', 'MaxDatabaseConnectionsAllowed'])).toHaveLength(1);
    expect(proxyMetrics(['DatabaseConnectionsCurrentlySessionPinned', 'DatabaseConnections'])).toHaveLength(1);
  });

  it.each(['key-maintenance', 'migrate', ...routes.map((r) => r.name)])('alarms on any error and any throttle of %s', (name) => {
    for (const metricName of ['Errors', 'Throttles']) {
      const matching = find((m) => m.some((x) => x.MetricName === metricName && x.Dimensions?.[0]?.Value?.Ref === fns[name]!.logicalId));
      expect({ metricName, alarms: matching.length }).toEqual({ metricName, alarms: 1 });
      expect(matching[0]!.Properties.Threshold).toBe(1);
    }
  });

  it('notifies one SNS topic that only accepts TLS', () => {
    const topic = onlyResource(cognito.json.api, 'AWS::SNS::Topic').logicalId;
    expect(alarms().length).toBeGreaterThan(0);
    for (const alarm of alarms()) expect(alarm.Properties.AlarmActions).toEqual([{ Ref: topic }]);
    const policy = onlyResource(cognito.json.api, 'AWS::SNS::TopicPolicy');
    expect(JSON.stringify(policy.Properties.PolicyDocument)).toContain('aws:SecureTransport');
  });

  it("lets this account's CloudWatch alarms publish to the topic (its policy replaces SNS's default one), no one else", () => {
    for (const synth of [cognito, external]) {
      const topic = onlyResource(synth.json.api, 'AWS::SNS::Topic').logicalId;
      const policy = onlyResource(synth.json.api, 'AWS::SNS::TopicPolicy').Properties;
      expect(policy.Topics).toEqual([{ Ref: topic }]);
      const allows = (policy.PolicyDocument.Statement as Json[]).filter((s) => s.Effect === 'Allow');
      expect(allows).toEqual([
        {
          Sid: 'CloudWatchAlarmsOfThisAccountPublish',
          Effect: 'Allow',
          Principal: { Service: 'cloudwatch.amazonaws.com' },
          Action: 'sns:Publish',
          Resource: { Ref: topic },
          Condition: {
            StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
            ArnLike: {
              'aws:SourceArn': {
                'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':cloudwatch:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':alarm:*']],
              },
            },
          },
        },
      ]);
      // The TLS deny still applies to everyone, CloudWatch included.
      expect((policy.PolicyDocument.Statement as Json[]).filter((s) => s.Effect === 'Deny')).toHaveLength(1);
    }
  });
});
