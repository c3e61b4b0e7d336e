import type { RawContext } from '../../../infra/config.js';

/** The trading engine's roles in the `engine` configuration: one of this account, one of another. */
export const ENGINE = 'arn:aws:iam::123456789012:role/trading-engine';
export const OTHER_ACCOUNT_ENGINE = 'arn:aws:iam::210987654321:role/ops/engine-canary';
/** An external identity provider, as the `externalIssuer` configuration names it. */
export const EXTERNAL_ISSUER = 'https://issuer.example.com/tenant';
export const EXTERNAL_AUDIENCE = ['vault-api', 'vault-web'];
export const CORS_ORIGIN = 'https://app.example.com';
/** The prod-like deployment's issuer (Auth0's form, with its trailing slash). */
export const PROD_ISSUER = 'https://tenant.auth0.com/';

/** The snapshot the `restored` configuration restores from. */
export const RESTORE_SNAPSHOT = 'vault-prod-before-incident';

/**
 * Every configuration the template tests read, by name: the global setup synthesizes each once,
 * before any test file starts (support/synth.ts), so no test waits on another for a synthesis.
 */
export const CONFIGURATIONS = {
  dev: { stage: 'dev' },
  engine: { stage: 'dev', engineRoleArns: `${ENGINE},${OTHER_ACCOUNT_ENGINE}`, openConcurrency: '3', opensAlarmThreshold: '120' },
  externalIssuer: { stage: 'staging', jwtIssuer: EXTERNAL_ISSUER, jwtAudience: EXTERNAL_AUDIENCE.join(','), corsOrigin: CORS_ORIGIN },
  prodSmall: { stage: 'prod', dbInstanceSize: 'small' },
  prodDeploy: { stage: 'prod', jwtIssuer: PROD_ISSUER, jwtAudience: 'vault-api', availabilityZones: 'use1-az4,use1-az6', writeRateLimit: '3' },
  namedZones: { stage: 'dev', availabilityZones: 'eu-west-1b,eu-west-1c' },
  unreserved: { stage: 'dev', openConcurrency: 'none' },
  prodLarge: { stage: 'prod', dbInstanceSize: 'r7g.large' },
  /** Keys checked at their exchange, in a stage whose egress address outlives the stack. */
  exchangeChecks: { stage: 'prod', exchangeChecks: 'on', requireIpRestriction: 'on' },
  /** The restore runbook's deploy: the data stack pointed at a snapshot. */
  restored: { stage: 'prod', dbInstanceSize: 'small', restoreSnapshot: RESTORE_SNAPSHOT },
} as const satisfies Record<string, RawContext>;

export type ConfigurationName = keyof typeof CONFIGURATIONS;
