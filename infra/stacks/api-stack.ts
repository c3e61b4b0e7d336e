import { CfnOutput, Duration, Fn, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpJwtAuthorizer, HttpUserPoolAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as triggers from 'aws-cdk-lib/triggers';
import type { Construct } from 'constructs';
import { MIGRATIONS_DIR } from '../../shared/db/migrate.js';
import { HTTP_METHODS, probesExchange, type RouteName, type RouteSpec, routes } from '../../shared/routes.js';
import { exchangeProberName, type VaultConfig } from '../config.js';
import { VaultAlarms } from '../constructs/alarms.js';
import { ENGINE_FUNCTIONS, EngineFunction, type EngineFunctionName, watchOpens } from '../constructs/engine-functions.js';
import { ExchangeProber, PROBING_TIMEOUT } from '../constructs/exchange-prober.js';
import { KeyCheckSchedule } from '../constructs/key-check-schedule.js';
import { type FunctionNetwork, RING_HOLDER_TIMEOUT, VaultFunction } from '../constructs/vault-function.js';
import { constructIdOf, handlerEntry } from '../paths.js';
import { readDataValues } from './data-values.js';

export interface ApiStackProps extends StackProps {
  readonly config: VaultConfig;
}

/**
 * The migration function's timeout: as long as the Trigger's provider (a 15-minute Lambda) can wait
 * for it, keeping 30 s for the provider itself. The first deploy's migration waits for the new proxy.
 */
export const MIGRATE_TIMEOUT = Duration.minutes(14);
export const MIGRATE_TRIGGER_TIMEOUT = MIGRATE_TIMEOUT.plus(Duration.seconds(30));

/**
 * The Trigger re-runs migrate when the version it invokes changes, and CDK names a version after the
 * function's template, where values read from SSM parameters are the same reference whatever they
 * hold: a replaced app or reader secret, or a new proxy, would leave the proxy's logins broken until
 * someone invoked migrate by hand. The version's description carries the distinctive part of each
 * value instead: a new value publishes a new version (a description cannot change in place), which
 * the Trigger runs.
 */
function rerunWhenDataValuesChange(fn: VaultFunction, distinctiveParts: readonly string[]): void {
  (fn.currentVersion.node.defaultChild as lambda.CfnVersion).description = Fn.join(' ', ['data values:', ...distinctiveParts]);
}

/** What changes when a secret is replaced, short enough for a version's 256-character description: `name-suffix`. */
const secretName = (arn: string): string => Fn.select(6, Fn.split(':', arn));
/** What changes when the proxy is replaced: the first label of its endpoint (its name). */
const firstLabel = (host: string): string => Fn.select(0, Fn.split('.', host));

function requireProberNetwork(network: FunctionNetwork | undefined): FunctionNetwork {
  if (!network) throw new Error('exchange checks are on but the data stack publishes no egress subnets');
  return network;
}

/** A route that waits for the prober waits longest; one that holds the ring, for the ring; the others, the default. */
function routeTimeout(route: RouteSpec, config: VaultConfig): Duration | undefined {
  if (config.exchangeChecks && probesExchange(route)) return PROBING_TIMEOUT;
  return route.usesKeyRing ? RING_HOLDER_TIMEOUT : undefined;
}

/**
 * The HTTP API (one route and one function per entry of the shared route table, a JWT authorizer
 * on every route), the key-maintenance function, the migration function and the Trigger that runs
 * it on deploy before the API's functions and stage are updated, and the alarms.
 */
export class ApiStack extends Stack {
  readonly api: apigw.HttpApi;
  readonly stage: apigw.HttpStage;
  readonly routeFunctions: Record<RouteName, VaultFunction>;
  readonly keyMaintenance: VaultFunction;
  /** The trading engine's functions, one per entry of ENGINE_FUNCTIONS. */
  readonly engineFunctions: Record<EngineFunctionName, VaultFunction>;
  /** The one function that reaches the internet, with exchange checks on; undefined with them off. */
  readonly exchangeProber: ExchangeProber | undefined;
  /** Key maintenance's daily `check`, with exchange checks on; undefined with them off. */
  readonly keyCheckSchedule: KeyCheckSchedule | undefined;
  readonly migrate: VaultFunction;
  readonly migrateTrigger: triggers.Trigger;

  constructor(scope: Construct, id: string, props: ApiStackProps) {
    super(scope, id, props);
    const { config } = props;
    // The data stack's values through SSM parameters, never an export (data-values.ts).
    const data = readDataValues(this, config);
    const network = data.network;

    const functions = {} as Record<RouteName, VaultFunction>;
    for (const route of routes) {
      const timeout = routeTimeout(route, config);
      const fn = new VaultFunction(this, constructIdOf(route.name), {
        entry: handlerEntry(route.name),
        description: `${route.name}: ${route.method} ${route.path}`,
        network,
        ...(timeout && { timeout }),
      });
      data.database.connect(fn, route.access === 'read' ? data.database.readerUser : data.database.appUser);
      // Only routes that seal hold the ring; the read routes, create-exchange, PATCH and DELETE never can.
      if (route.usesKeyRing) data.ringSecret.bindTo(fn);
      functions[route.name] = fn;
    }
    this.routeFunctions = functions;

    this.keyMaintenance = new VaultFunction(this, 'KeyMaintenance', {
      entry: handlerEntry('key-maintenance'),
      description: 'key-maintenance: rotate | reencrypt | verify | retire (invoked by an operator, not routed)',
      network,
      timeout: Duration.minutes(15),
      memorySize: 1024,
    });
    data.database.connect(this.keyMaintenance, data.database.appUser);
    data.ringSecret.bindMaintenanceTo(this.keyMaintenance);

    this.migrate = new VaultFunction(this, 'Migrate', {
      entry: handlerEntry('migrate'),
      description: 'migrate: applies the versioned SQL migrations (run by a Trigger on every deploy)',
      network,
      // It waits for the database while its time allows, keeping 90 s to migrate (functions/migrate.ts):
      // a brand-new proxy may take ten minutes or more to register its database on the first deploy.
      timeout: MIGRATE_TIMEOUT,
      // Kept when a failed first deploy rolls the stack back: the reason it failed is in it.
      logRemovalPolicy: RemovalPolicy.RETAIN,
      // Beside the bundle's entry, where shared/db/migrate.ts looks for them at run time.
      bundledFolders: [{ from: MIGRATIONS_DIR, to: 'migrations' }],
    });
    // The only function that logs in as the master user: migrations create tables and the login roles.
    data.database.connect(this.migrate, data.database.masterUser);
    data.database.bindRoleSecrets(this.migrate);

    // ---- the API
    let authorizer: HttpJwtAuthorizer | HttpUserPoolAuthorizer;
    if (config.auth.kind === 'external') {
      authorizer = new HttpJwtAuthorizer('JwtAuthorizer', config.auth.issuer, { jwtAudience: [...config.auth.audience] });
    } else if (data.users) {
      authorizer = new HttpUserPoolAuthorizer('JwtAuthorizer', data.users.userPool, { userPoolClients: [data.users.client] });
    } else {
      throw new Error('no external issuer is configured and the data stack made no user pool');
    }

    this.api = new apigw.HttpApi(this, 'HttpApi', {
      apiName: `exchange-api-key-vault-${config.stage}`,
      description: 'Exchange API key vault',
      createDefaultStage: false,
      defaultAuthorizer: authorizer,
      ...(config.corsOrigin && {
        corsPreflight: {
          allowOrigins: [config.corsOrigin],
          // In HTTP_METHODS' order, whatever order the route table lists its routes in.
          allowMethods: [
            ...HTTP_METHODS.filter((method) => routes.some((route) => route.method === method)).map((method) => apigw.CorsHttpMethod[method]),
            apigw.CorsHttpMethod.OPTIONS,
          ],
          // If-Match makes a change conditional; a browser script may read a response's ETag only if exposed.
          allowHeaders: ['authorization', 'content-type', 'if-match'],
          exposeHeaders: ['etag'],
          maxAge: Duration.hours(1),
        },
      }),
    });
    const apiRoutes = routes.flatMap((route) =>
      this.api.addRoutes({
        path: route.path,
        methods: [apigw.HttpMethod[route.method]],
        integration: new HttpLambdaIntegration(`${constructIdOf(route.name)}Integration`, functions[route.name]),
        authorizer,
      }),
    );

    // Its retention is the stage's, as every log group's (infra/vault.ts).
    const accessLogs = new logs.LogGroup(this, 'AccessLogs', { removalPolicy: RemovalPolicy.DESTROY });
    this.stage = new apigw.HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      // Routes without limits of their own (none today) get the reads' limits.
      throttle: config.throttle.read,
      accessLogSettings: {
        destination: new apigw.LogGroupLogDestination(accessLogs),
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            time: '$context.requestTime',
            ip: '$context.identity.sourceIp',
            method: '$context.httpMethod',
            route: '$context.routeKey',
            status: '$context.status',
            protocol: '$context.protocol',
            responseLength: '$context.responseLength',
            latencyMs: '$context.responseLatency',
            integrationStatus: '$context.integrationStatus',
            integrationError: '$context.integrationErrorMessage',
            authorizerError: '$context.authorizer.error',
            sub: '$context.authorizer.claims.sub',
          }),
        ),
      },
    });

    // Each route its own bucket, writes a smaller one than reads, so a flood of one route is
    // throttled before it can take the account's concurrency and the database from the others.
    const routeSettings: Record<string, { ThrottlingRateLimit: number; ThrottlingBurstLimit: number }> = {};
    for (const route of routes) {
      const limits = config.throttle[route.access];
      routeSettings[`${route.method} ${route.path}`] = { ThrottlingRateLimit: limits.rateLimit, ThrottlingBurstLimit: limits.burstLimit };
    }
    (this.stage.node.defaultChild as apigw.CfnStage).routeSettings = routeSettings;
    // API Gateway refuses settings for a route key that does not exist yet.
    for (const route of apiRoutes) this.stage.node.addDependency(route);

    // ---- migrations on every deploy, before the new code and the stage serve anything
    this.migrateTrigger = new triggers.Trigger(this, 'MigrateOnDeploy', {
      handler: this.migrate,
      // A new bundle (code or SQL files, both hashed into the asset) or configuration re-runs it.
      executeOnHandlerChange: true,
      invocationType: triggers.InvocationType.REQUEST_RESPONSE,
      timeout: MIGRATE_TRIGGER_TIMEOUT,
      // After the data stack (a stack dependency): the database and its proxy exist.
      executeBefore: [this.stage, ...Object.values(functions), this.keyMaintenance],
    });
    rerunWhenDataValuesChange(this.migrate, [
      firstLabel(data.database.proxy.endpoint),
      secretName(data.database.appSecret.secretArn),
      secretName(data.database.readerSecret.secretArn),
      // A restored database (docs/deploy.md) lacks the migrations newer than its snapshot.
      data.databaseInstanceId,
    ]);

    // ---- alarms
    const alarms = new VaultAlarms(this, 'Alarms', {
      api: this.api,
      proxy: data.database.proxy,
      database: { instanceId: data.databaseInstanceId, burstable: config.dbInstanceType.startsWith('t') },
      ringKeyArn: data.ringSecret.keyArn,
      rotatedSecretArns: [data.masterSecretArn],
    });

    // ---- keys checked at their exchange: the prober, and every function that checks keys bound to it
    this.exchangeProber = config.exchangeChecks
      ? new ExchangeProber(this, 'ExchangeProber', {
          network: requireProberNetwork(data.proberNetwork),
          functionName: exchangeProberName(config.stage),
          alarms,
        })
      : undefined;
    const exchangeChecks = this.exchangeProber && config.exchangeChecks && { prober: this.exchangeProber.target, settings: config.exchangeChecks };
    if (exchangeChecks) {
      for (const fn of [...routes.filter(probesExchange).map((route) => functions[route.name]), this.keyMaintenance]) {
        fn.bindExchangeProber(exchangeChecks.prober, exchangeChecks.settings);
      }
    }
    this.keyCheckSchedule = exchangeChecks ? new KeyCheckSchedule(this, 'KeyCheckSchedule', { keyMaintenance: this.keyMaintenance, alarms }) : undefined;

    // ---- the trading engine's way in: no route; invoked by the principals the configuration names
    const engineFunctions = {} as Record<EngineFunctionName, VaultFunction>;
    for (const spec of ENGINE_FUNCTIONS) {
      const id = constructIdOf(spec.name);
      const engineFunction = new EngineFunction(this, id, {
        spec,
        network,
        database: data.database,
        ringSecret: data.ringSecret,
        engine: config.engine,
        ...(exchangeChecks && { exchangeChecks }),
      });
      if (spec.name === 'open-api-key') watchOpens(engineFunction, config.engine, alarms);
      this.migrateTrigger.executeBefore(engineFunction.function);
      new CfnOutput(this, `${id}FunctionName`, {
        value: engineFunction.function.functionName,
        description: `The trading engine's Lambda Invoke target for ${spec.name} (docs/engine.md)`,
      });
      engineFunctions[spec.name] = engineFunction.function;
    }
    this.engineFunctions = engineFunctions;

    new CfnOutput(this, 'ApiUrl', { value: this.stage.url, description: 'Base URL of the HTTP API' });
    new CfnOutput(this, 'KeyMaintenanceFunctionName', { value: this.keyMaintenance.functionName });
    if (this.keyCheckSchedule) {
      new CfnOutput(this, 'KeyCheckRuleName', {
        value: this.keyCheckSchedule.daily.ruleName,
        description: "The rule that starts key maintenance's daily check at 03:00 UTC (docs/deploy.md, keys checked at their exchange)",
      });
    }
    new CfnOutput(this, 'MigrateFunctionName', { value: this.migrate.functionName });
    new CfnOutput(this, 'AlarmTopicArn', { value: alarms.topic.topicArn, description: 'Subscribe to receive alarm notifications' });
  }

  /**
   * Lets a principal in this app (an engine deployed beside the vault) invoke every engine function,
   * and nothing else; outside the app, use context `engineRoleArns`.
   */
  grantEngine(grantee: iam.IGrantable): iam.Grant[] {
    return Object.values(this.engineFunctions).map((fn) => fn.grantInvoke(grantee));
  }
}
