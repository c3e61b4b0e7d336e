import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { DEPLOYMENT_DIMENSION, METRICS_NAMESPACE, OPEN_REFUSED_METRIC, OPENED_METRIC } from '../../shared/metrics.js';
import type { EngineConfig, ExchangeChecksConfig } from '../config.js';
import { handlerEntry } from '../paths.js';
import type { VaultAlarms } from './alarms.js';
import type { DatabaseAccess } from './database.js';
import { PROBING_TIMEOUT } from './exchange-prober.js';
import type { IKeyRingSecret } from './key-ring-secret.js';
import { type ExchangeProberTarget, type FunctionNetwork, RING_HOLDER_TIMEOUT, SERVICE_NAME, VaultFunction } from './vault-function.js';

/** Opens refused `unavailable` in 5 minutes that fire the alarm: an engine retries, so one is a blip, three an outage. */
export const UNAVAILABLE_REFUSALS_THRESHOLD = 3;

/** What the stack needs to know of one of the trading engine's functions (docs/engine.md). */
export interface EngineFunctionSpec {
  /** The handler's file name (`functions/<name>.ts`) and its description's first word. */
  readonly name: string;
  readonly summary: string;
  /** Opens keys: holds the key ring whatever the deployment checks. */
  readonly opensKeys: boolean;
  /** Re-checks a key at its exchange where checks are on: then it holds the ring (to open the key) and may invoke the prober. */
  readonly probesExchange?: true;
}

/**
 * The trading engine's functions: IAM-only (no route, no function URL), each logged in as
 * vault_engine, each invocable by the configured engine roles and by `grantEngine`, each with the
 * reserved concurrency the configuration gives the engine, each named by a stack output
 * (`<Name>FunctionName`). A new engine function is one entry here.
 */
export const ENGINE_FUNCTIONS = [
  { name: 'open-api-key', summary: 'the trading engine opens active keys, one or a batch', opensKeys: true },
  { name: 'list-active-keys', summary: 'every active key, a page at a time, for an engine starting up (no key material)', opensKeys: false },
  { name: 'list-key-changes', summary: "every key's history as one feed after a cursor (no key material)", opensKeys: false },
  {
    name: 'report-api-key',
    summary: "the engine reports a key its exchange refused: recorded in the key's history, and checked again where checks are on",
    opensKeys: false,
    probesExchange: true,
  },
] as const satisfies readonly EngineFunctionSpec[];

export type EngineFunctionName = (typeof ENGINE_FUNCTIONS)[number]['name'];

/** Whether an engine function re-checks keys at their exchange (`probesExchange`). */
export const engineProbesExchange = (spec: EngineFunctionSpec): boolean => spec.probesExchange === true;

export interface EngineFunctionProps {
  readonly spec: EngineFunctionSpec;
  readonly network: FunctionNetwork;
  readonly database: DatabaseAccess;
  readonly ringSecret: IKeyRingSecret;
  readonly engine: EngineConfig;
  /** With exchange checks on: the prober and the deployment's settings. */
  readonly exchangeChecks?: { readonly prober: ExchangeProberTarget; readonly settings: ExchangeChecksConfig };
}

/** One function of the engine's, as its entry in ENGINE_FUNCTIONS says. */
export class EngineFunction extends Construct {
  readonly function: VaultFunction;

  constructor(scope: Construct, id: string, props: EngineFunctionProps) {
    super(scope, id);
    const { spec, exchangeChecks } = props;
    const probes = engineProbesExchange(spec) && exchangeChecks !== undefined;
    const holdsRing = spec.opensKeys || probes;
    const timeout = probes ? PROBING_TIMEOUT : holdsRing ? RING_HOLDER_TIMEOUT : undefined;
    this.function = new VaultFunction(this, 'Function', {
      entry: handlerEntry(spec.name),
      description: `${spec.name}: ${spec.summary} (Lambda Invoke, IAM only; not routed)`,
      network: props.network,
      ...(timeout && { timeout }),
      ...(props.engine.reservedConcurrency !== undefined && { reservedConcurrency: props.engine.reservedConcurrency }),
    });
    props.database.connect(this.function, props.database.engineUser);
    if (holdsRing) props.ringSecret.bindTo(this.function);
    if (probes) this.function.bindExchangeProber(exchangeChecks.prober, exchangeChecks.settings);

    props.engine.roleArns.forEach((arn, i) => {
      this.function.addPermission(`EngineInvoke${i}`, { principal: new iam.ArnPrincipal(arn), action: 'lambda:InvokeFunction' });
    });
  }
}

/**
 * The alarms on what open-api-key emits: an unusual number of opens (a compromised engine draining
 * keys), opens refused `unavailable` (the engine gets no keys), and any `integrity` refusal (a stored
 * key altered or written back). Its errors and throttles are watched with every function's.
 */
export function watchOpens(opener: EngineFunction, engine: EngineConfig, alarms: Pick<VaultAlarms, 'notifyOn'>): void {
  const period = Duration.minutes(5);
  // The dimensions the function's Powertools Metrics writes: its service and its deployment (this stack).
  const dimensions = { service: SERVICE_NAME, [DEPLOYMENT_DIMENSION]: Stack.of(opener).stackName };
  const metric = (metricName: string, extra: Record<string, string> = {}) =>
    new cloudwatch.Metric({ namespace: METRICS_NAMESPACE, metricName, dimensionsMap: { ...dimensions, ...extra }, statistic: 'Sum', period });

  alarms.notifyOn(
    new cloudwatch.MathExpression({
      // An engine that is not trading emits nothing: no data is zero opens, not a missing alarm state.
      expression: 'FILL(opens, 0)',
      usingMetrics: { opens: metric(OPENED_METRIC) },
      period,
      label: 'API keys opened by the engine',
    }).createAlarm(opener, 'UnusualOpens', {
      alarmDescription: `More than ${engine.opensAlarmThreshold} API keys opened in 5 minutes: a compromised engine may be draining keys (docs/engine.md)`,
      threshold: engine.opensAlarmThreshold,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    }),
  );

  // Refusals are results, not errors: a database or ring the function cannot reach shows only here.
  alarms.notifyOn(
    new cloudwatch.MathExpression({
      expression: 'FILL(unavailable, 0)',
      usingMetrics: { unavailable: metric(OPEN_REFUSED_METRIC, { reason: 'unavailable' }) },
      period,
      label: "Opens refused 'unavailable' (database or key ring)",
    }).createAlarm(opener, 'OpensUnavailable', {
      alarmDescription: `${UNAVAILABLE_REFUSALS_THRESHOLD} or more opens refused 'unavailable' in 5 minutes: the engine gets no keys because the database or the key ring cannot be reached`,
      threshold: UNAVAILABLE_REFUSALS_THRESHOLD,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    }),
  );

  // A stored key that does not open was altered or written back from an earlier sealing: one is
  // enough to look (`npm run keys -- verify` names the row).
  alarms.notifyOn(
    metric(OPEN_REFUSED_METRIC, { reason: 'integrity' }).createAlarm(opener, 'IntegrityRefusals', {
      alarmDescription:
        'open-api-key refused a stored key that does not open (integrity): altered, or an earlier envelope written back (docs/security-model.md)',
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    }),
  );
}
