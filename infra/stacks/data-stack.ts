import { Aws, CfnOutput, Fn, Stack, type StackProps } from 'aws-cdk-lib';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { breakGlassRoleName, exchangeProberName, stackNames, type VaultConfig } from '../config.js';
import { CognitoUsers } from '../constructs/cognito-users.js';
import { Database } from '../constructs/database.js';
import { KeyRingSecret } from '../constructs/key-ring-secret.js';
import { Network } from '../constructs/network.js';
import { functionRolePath } from '../constructs/vault-function.js';
import { publishDataValues } from './data-values.js';

export interface DataStackProps extends StackProps {
  readonly config: VaultConfig;
}

/**
 * Everything that holds state: the network the database lives in, the database and its proxy,
 * the key ring (KMS key + secret) and, unless an external issuer is configured, the user pool.
 * Termination protection is on; the database, the secrets, the key and the pool are retained
 * (the dev database is snapshotted) when the stack is deleted.
 */
export class DataStack extends Stack {
  readonly network: Network;
  readonly database: Database;
  readonly ringSecret: KeyRingSecret;
  readonly users: CognitoUsers | undefined;

  constructor(scope: Construct, id: string, props: DataStackProps) {
    super(scope, id, { terminationProtection: true, ...props });
    const { config } = props;

    this.network = new Network(this, 'Network', {
      availabilityZones: config.availabilityZones,
      production: config.production,
      ...(config.exchangeChecks && { exchangeProberName: exchangeProberName(config.stage) }),
    });
    this.database = new Database(this, 'Database', {
      network: this.network,
      stage: config.stage,
      instanceType: config.dbInstanceType,
      production: config.production,
      logRetention: config.logRetentionDays as logs.RetentionDays,
      ...(config.restoreSnapshot !== undefined && { restoreSnapshot: config.restoreSnapshot }),
    });
    const role = (name: string) => `arn:${Aws.PARTITION}:iam::${Aws.ACCOUNT_ID}:role/${name}`;
    this.ringSecret = new KeyRingSecret(this, 'KeyRing', {
      stage: config.stage,
      // Every function role of the API stack, by its path: a function added there is admitted, and
      // its IAM policy still decides what it may do.
      trustedRoleArns: [role(`${functionRolePath(stackNames(config.stage).api).slice(1)}*`), role(breakGlassRoleName(config.stage))],
    });
    this.users = config.auth.kind === 'cognito' ? new CognitoUsers(this, 'Users', { stage: config.stage }) : undefined;

    new CfnOutput(this, 'KeyRingSecretArn', { value: this.ringSecret.secret.secretArn, description: 'The key-ring secret (KMS-wrapped keys)' });
    new CfnOutput(this, 'KeyRingKeyArn', { value: this.ringSecret.key.keyArn, description: 'The KMS key that wraps the ring' });
    new CfnOutput(this, 'DatabaseSecretArn', {
      value: this.database.instance.secret?.secretArn ?? '',
      description: 'The generated master credentials (rotated every 30 days)',
    });
    new CfnOutput(this, 'DatabaseProxyEndpoint', { value: this.database.proxy.endpoint });
    new CfnOutput(this, 'DatabaseProxyName', { value: this.database.proxy.dbProxyName, description: 'For aws rds describe-db-proxy-targets' });
    if (this.users) {
      new CfnOutput(this, 'UserPoolId', { value: this.users.userPool.userPoolId });
      new CfnOutput(this, 'UserPoolClientId', { value: this.users.client.userPoolClientId });
      new CfnOutput(this, 'JwtIssuer', { value: this.users.issuer });
    }
    if (this.network.exchangeEgress) {
      new CfnOutput(this, 'ExchangeEgressIps', {
        value: Fn.join(',', [this.network.exchangeEgress.ip.ref]),
        description:
          "Where the exchange prober's requests come from: users allow-list these at their exchange beside their engine's addresses (docs/deploy.md)",
      });
    }
    // What the API stack reads, as SSM parameters rather than exports that would lock them.
    publishDataValues(this, config);
  }
}
