/**
 * The deployment's configuration, validated once. `infra/app.ts` is the only place that reads
 * CDK context; it hands the raw values to `parseConfig`, and every construct receives the typed
 * result as props: no construct reads context on its own.
 */
import { ConfigError } from '../shared/config.js';
import type { RouteAccess } from '../shared/routes.js';

/** The stage that may be torn down freely: no deletion protection, single-AZ, snapshot on delete. */
export const DEV_STAGE = 'dev';

export type AuthConfig =
  /** The stack makes a Cognito user pool, an app client and an `admin` group. */
  | { readonly kind: 'cognito' }
  /** An external OpenID Connect issuer whose tokens carry one of `audience` in `aud` (or `client_id`). */
  | { readonly kind: 'external'; readonly issuer: string; readonly audience: readonly string[] };

/** The two stacks of a stage. */
export const stackNames = (stage: string) => ({ data: `vault-${stage}-data`, api: `vault-${stage}-api` });

/**
 * The role an operator creates (only when needed, MFA-guarded) to read or unwrap the key ring by
 * hand: the one principal outside the stacks that the ring's key and secret admit (docs/deploy.md).
 */
export const breakGlassRoleName = (stage: string): string => `vault-${stage}-break-glass`;

/**
 * The exchange prober's function name: fixed, because the data stack's Lambda endpoint admits
 * invoking this one function only, and the data stack may not reference the API stack (ADR 19).
 */
export const exchangeProberName = (stage: string): string => `vault-${stage}-exchange-prober`;

/**
 * Keys checked at their exchange (docs/deploy.md): a NAT gateway with a fixed Elastic IP, the
 * exchange prober behind it, and the functions that check keys bound to it. Undefined (the default)
 * is checks off: no NAT, no Elastic IP, no prober, and no function may reach the internet.
 */
export interface ExchangeChecksConfig {
  /** A key not bound to IP addresses is refused (422) rather than stored and flagged. */
  readonly requireIpRestriction: boolean;
}

/** Who may open keys with the open-api-key function, and how fast. */
export interface EngineConfig {
  /** IAM role ARNs allowed to invoke open-api-key (its resource policy); none by default. */
  readonly roleArns: readonly string[];
  /**
   * The function's reserved concurrency: at most this many opens run at once, so at most so fast can
   * keys be drained. Undefined (context `openConcurrency=none`) reserves nothing: an account whose
   * concurrency quota is 10 (a new one) cannot reserve any, since Lambda keeps 10 unreserved.
   */
  readonly reservedConcurrency: number | undefined;
  /** Opens in 5 minutes above which the unusual-opens alarm fires. */
  readonly opensAlarmThreshold: number;
}

export interface VaultConfig {
  readonly stage: string;
  /** `stage !== 'dev'`: deletion protection, Multi-AZ, retain on delete. */
  readonly production: boolean;
  readonly auth: AuthConfig;
  /** An RDS instance type without the `db.` prefix, e.g. `t4g.micro`. */
  readonly dbInstanceType: string;
  /** The single browser origin allowed by CORS; no CORS configuration when absent. */
  readonly corsOrigin: string | undefined;
  /** The two zones the subnets are in, by name or zone ID; absent, the region's default (`DEFAULT_ZONE_IDS`). */
  readonly availabilityZones: readonly [string, string] | undefined;
  /** Per-route limits, by whether the route reads or writes (its `access` in shared/routes.ts). */
  readonly throttle: Readonly<Record<RouteAccess, RouteThrottle>>;
  readonly engine: EngineConfig;
  /** Undefined: checks off (the default). */
  readonly exchangeChecks: ExchangeChecksConfig | undefined;
  /**
   * The DB snapshot (name or ARN) the database is restored from, by the restore runbook
   * (docs/deploy.md); kept in the deployment's context from then on. Undefined: a new, empty database.
   */
  readonly restoreSnapshot: string | undefined;
  /** Days every log group of both stacks keeps its events: longer outside dev, where incidents are investigated. */
  readonly logRetentionDays: number;
}

/** A month in dev, a year elsewhere (both values CloudWatch Logs accepts). */
export const LOG_RETENTION_DAYS = { dev: 30, production: 365 } as const;

export interface RouteThrottle {
  /** Steady requests per second. */
  readonly rateLimit: number;
  /** Requests that may arrive at once above the steady rate. */
  readonly burstLimit: number;
}

/** Writes take the database's row locks and, for keys, the key ring: a lower limit than reads. */
export const DEFAULT_THROTTLE: Readonly<Record<RouteAccess, RouteThrottle>> = {
  read: { rateLimit: 50, burstLimit: 100 },
  write: { rateLimit: 10, burstLimit: 20 },
};

/**
 * Zone IDs (the same physical zones in every account, unlike zone names, which AWS maps to zones
 * per account) for the regions with a default; elsewhere `availabilityZones` must be given. Never
 * us-east-1's use1-az3, which lacks newer instance classes and some endpoint services: by zone name
 * (`Fn::GetAZs`), an account's first two zones may include it.
 */
export const DEFAULT_ZONE_IDS: Readonly<Record<string, readonly [string, string]>> = {
  'us-east-1': ['use1-az1', 'use1-az2'],
  'us-east-2': ['use2-az1', 'use2-az2'],
  'us-west-2': ['usw2-az1', 'usw2-az2'],
  'eu-west-1': ['euw1-az1', 'euw1-az2'],
  'eu-central-1': ['euc1-az1', 'euc1-az2'],
  'ap-northeast-1': ['apne1-az1', 'apne1-az2'],
  'ap-northeast-2': ['apne2-az1', 'apne2-az2'],
  'ap-southeast-1': ['apse1-az1', 'apse1-az2'],
};

/** The context keys `infra/app.ts` reads, exactly as given on the command line or in cdk.json. */
export interface RawContext {
  readonly stage?: unknown;
  readonly jwtIssuer?: unknown;
  readonly jwtAudience?: unknown;
  readonly dbInstanceSize?: unknown;
  readonly corsOrigin?: unknown;
  readonly availabilityZones?: unknown;
  readonly readRateLimit?: unknown;
  readonly readBurstLimit?: unknown;
  readonly writeRateLimit?: unknown;
  readonly writeBurstLimit?: unknown;
  readonly engineRoleArns?: unknown;
  readonly openConcurrency?: unknown;
  readonly opensAlarmThreshold?: unknown;
  readonly exchangeChecks?: unknown;
  readonly requireIpRestriction?: unknown;
  readonly restoreSnapshot?: unknown;
}

export const DEFAULT_DB_INSTANCE_TYPE = 't4g.micro';
/** Five opens at once: with an open taking a few milliseconds, a drain is held to about a thousand keys a second (the alarm notices it); ample for an engine that opens per order. */
export const DEFAULT_OPEN_CONCURRENCY = 5;
/** 1000 opens in 5 minutes (over 3 a second, sustained): more than an engine placing orders needs, far less than a drain. */
export const DEFAULT_OPENS_ALARM_THRESHOLD = 1000;

const STAGE = /^[a-z][a-z0-9-]{0,15}$/;
/** `micro`, `small`, ... of the default class, or a full type such as `r7g.large`. */
const SIZE = /^(nano|micro|small|medium|large|[0-9]*xlarge)$/;
const INSTANCE_TYPE = /^[a-z][a-z0-9-]*\.(nano|micro|small|medium|large|[0-9]*xlarge)$/;
/** A zone name (`us-east-1a`) or a zone ID (`use1-az1`). */
const ZONE = /^([a-z]{2}(-[a-z]+)+-\d[a-z]|[a-z]+\d-az\d+)$/;
/** A DB snapshot: a manual one's name, an automated one's (`rds:...`), or a shared one's ARN. */
const SNAPSHOT = /^(arn:aws[a-z-]*:rds:[a-z0-9-]+:[0-9]{12}:snapshot:)?(rds:)?[a-zA-Z][a-zA-Z0-9-]{0,254}$/;
/** An IAM role, in any partition; paths allowed. Not a user, not an account root, no wildcard. */
const ROLE_ARN = /^arn:aws[a-z-]*:iam::[0-9]{12}:role\/[\w+=,.@/-]{1,512}$/;

const optionalString = (key: string, value: unknown): string | undefined => {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw new ConfigError(`context "${key}" must be a string`);
  return value.trim();
};

/** A comma-separated string or an array of strings, each trimmed, empty ones dropped; undefined when none is left. */
const stringList = (key: string, value: unknown, expected: string): string[] | undefined => {
  if (value === undefined || value === null || value === '') return undefined;
  const items = Array.isArray(value) ? value : typeof value === 'string' ? value.split(',') : undefined;
  if (!items?.every((item) => typeof item === 'string')) throw new ConfigError(`context "${key}" must be ${expected}`);
  const list = (items as string[]).map((item) => item.trim()).filter((item) => item.length > 0);
  return list.length > 0 ? list : undefined;
};

const audienceList = (value: unknown): string[] | undefined => stringList('jwtAudience', value, 'a string, a comma-separated list or an array of strings');

const httpsUrl = (key: string, value: string): string => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`context "${key}" must be a URL, got "${value}"`);
  }
  if (url.protocol !== 'https:') throw new ConfigError(`context "${key}" must be an https URL`);
  // API Gateway compares the token's `iss` with this string exactly: a trailing slash is part of it.
  return value;
};

const zones = (value: unknown): readonly [string, string] | undefined => {
  if (value === undefined || value === null || value === '') return undefined;
  const items = Array.isArray(value) ? value : typeof value === 'string' ? value.split(',') : [];
  const names = items.map((item) => (typeof item === 'string' ? item.trim() : ''));
  if (names.length !== 2 || !names.every((name) => ZONE.test(name)) || names[0] === names[1]) {
    throw new ConfigError(
      `context "availabilityZones" must be two different zone names (us-east-1a,us-east-1b) or zone IDs (use1-az1,use1-az2), got ${JSON.stringify(value)}`,
    );
  }
  return [names[0]!, names[1]!];
};

const limit = (key: string, value: unknown, fallback: number): number => {
  if (value === undefined || value === null || value === '') return fallback;
  const number = typeof value === 'number' ? value : typeof value === 'string' ? Number(value.trim()) : Number.NaN;
  if (!Number.isInteger(number) || number <= 0) throw new ConfigError(`context "${key}" must be a positive integer, got ${JSON.stringify(value)}`);
  return number;
};

const origin = (value: string): string => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`context "corsOrigin" must be an origin such as https://app.example.com, got "${value}"`);
  }
  const local = url.hostname === 'localhost' || url.hostname === '127.0.0.1';
  if (url.protocol !== 'https:' && !(local && url.protocol === 'http:')) {
    throw new ConfigError('context "corsOrigin" must be https (http only for localhost)');
  }
  if (url.origin !== value.replace(/\/$/, '')) {
    throw new ConfigError(`context "corsOrigin" must be a bare origin (scheme, host, optional port), got "${value}"`);
  }
  return url.origin;
};

const roleArns = (value: unknown): string[] => {
  const arns = stringList('engineRoleArns', value, 'a comma-separated list or an array of IAM role ARNs') ?? [];
  const bad = arns.find((arn) => !ROLE_ARN.test(arn));
  if (bad !== undefined) throw new ConfigError(`context "engineRoleArns" takes IAM role ARNs (arn:aws:iam::<account>:role/<name>), got "${bad}"`);
  return [...new Set(arns)];
};

const positiveInteger = (key: string, value: unknown, fallback: number): number => {
  if (value === undefined || value === null || value === '') return fallback;
  const number = typeof value === 'string' ? Number(value.trim()) : value;
  if (typeof number !== 'number' || !Number.isSafeInteger(number) || number <= 0) {
    throw new ConfigError(`context "${key}" must be a positive integer, got ${JSON.stringify(value)}`);
  }
  return number;
};

/** `none` reserves nothing; otherwise a positive integer, the default when absent. */
const openConcurrency = (value: unknown): number | undefined =>
  typeof value === 'string' && value.trim() === 'none' ? undefined : positiveInteger('openConcurrency', value, DEFAULT_OPEN_CONCURRENCY);

const snapshot = (value: string | undefined): string | undefined => {
  if (value === undefined || SNAPSHOT.test(value)) return value;
  throw new ConfigError(`context "restoreSnapshot" must be a DB snapshot's name (my-snapshot, rds:automated-name) or ARN, got "${value}"`);
};

/** `on` or `off` (or a boolean, as cdk.json may hold it); undefined when not given. */
const onOff = (key: string, value: unknown): boolean | undefined => {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'boolean') return value;
  const text = typeof value === 'string' ? value.trim() : undefined;
  if (text === 'on') return true;
  if (text === 'off') return false;
  throw new ConfigError(`context "${key}" must be "on" or "off", got ${JSON.stringify(value)}`);
};

/** Off unless asked for: checks open a path to the internet and cost a NAT gateway (ADR 29). */
const exchangeChecks = (raw: RawContext): ExchangeChecksConfig | undefined => {
  const checks = onOff('exchangeChecks', raw.exchangeChecks) ?? false;
  const requireIpRestriction = onOff('requireIpRestriction', raw.requireIpRestriction);
  if (!checks) {
    if (requireIpRestriction) throw new ConfigError('context "requireIpRestriction" needs "exchangeChecks=on": only a checked key is known to be bound');
    return undefined;
  }
  return { requireIpRestriction: requireIpRestriction ?? false };
};

export function parseConfig(raw: RawContext): VaultConfig {
  const stage = optionalString('stage', raw.stage) ?? DEV_STAGE;
  if (!STAGE.test(stage)) {
    throw new ConfigError(`context "stage" must match ${STAGE.source}, got "${stage}"`);
  }

  const issuer = optionalString('jwtIssuer', raw.jwtIssuer);
  const audience = audienceList(raw.jwtAudience);
  if ((issuer === undefined) !== (audience === undefined)) {
    throw new ConfigError('context "jwtIssuer" and "jwtAudience" go together: give both (external issuer) or neither (Cognito)');
  }
  const auth: AuthConfig =
    issuer !== undefined && audience !== undefined ? { kind: 'external', issuer: httpsUrl('jwtIssuer', issuer), audience } : { kind: 'cognito' };

  const size = optionalString('dbInstanceSize', raw.dbInstanceSize)?.replace(/^db\./, '');
  let dbInstanceType = DEFAULT_DB_INSTANCE_TYPE;
  if (size !== undefined) {
    if (SIZE.test(size)) dbInstanceType = `t4g.${size}`;
    else if (INSTANCE_TYPE.test(size)) dbInstanceType = size;
    else throw new ConfigError(`context "dbInstanceSize" must be a size (micro, small, ...) or a type (r7g.large), got "${size}"`);
  }

  const cors = optionalString('corsOrigin', raw.corsOrigin);

  return {
    stage,
    production: stage !== DEV_STAGE,
    auth,
    dbInstanceType,
    corsOrigin: cors === undefined ? undefined : origin(cors),
    availabilityZones: zones(raw.availabilityZones),
    throttle: {
      read: {
        rateLimit: limit('readRateLimit', raw.readRateLimit, DEFAULT_THROTTLE.read.rateLimit),
        burstLimit: limit('readBurstLimit', raw.readBurstLimit, DEFAULT_THROTTLE.read.burstLimit),
      },
      write: {
        rateLimit: limit('writeRateLimit', raw.writeRateLimit, DEFAULT_THROTTLE.write.rateLimit),
        burstLimit: limit('writeBurstLimit', raw.writeBurstLimit, DEFAULT_THROTTLE.write.burstLimit),
      },
    },
    engine: {
      roleArns: roleArns(raw.engineRoleArns),
      reservedConcurrency: openConcurrency(raw.openConcurrency),
      opensAlarmThreshold: positiveInteger('opensAlarmThreshold', raw.opensAlarmThreshold, DEFAULT_OPENS_ALARM_THRESHOLD),
    },
    exchangeChecks: exchangeChecks(raw),
    restoreSnapshot: snapshot(optionalString('restoreSnapshot', raw.restoreSnapshot)),
    logRetentionDays: stage === DEV_STAGE ? LOG_RETENTION_DAYS.dev : LOG_RETENTION_DAYS.production,
  };
}
