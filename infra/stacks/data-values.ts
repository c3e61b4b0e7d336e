import type { Stack } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { APP_ROLE, ENGINE_ROLE, READER_ROLE } from '../../shared/db/app-role.js';
import type { VaultConfig } from '../config.js';
import { DATABASE_NAME, DATABASE_USER, Database, type DatabaseAccess } from '../constructs/database.js';
import { type IKeyRingSecret, KeyRingSecret } from '../constructs/key-ring-secret.js';
import { POSTGRES_PORT } from '../constructs/network.js';
import type { FunctionNetwork } from '../constructs/vault-function.js';
import type { DataStack } from './data-stack.js';

/**
 * How the API stack gets the data stack's values without a CloudFormation export: the data stack
 * writes each one to an SSM parameter of a fixed name, and the API stack names that parameter in a
 * template parameter CloudFormation resolves on every deploy of the API stack. An export would lock
 * its value (a replaced subnet, secret or proxy fails the data stack's update with "Export ...
 * cannot be updated as it is in use"); a parameter is just rewritten, and the next API deploy reads
 * the new value. Everything the API stack builds from them (grants, environment, the authorizer)
 * is imported by attribute, so no reference crosses the stacks.
 */
const KEYS = [
  'subnet-1-id',
  'subnet-2-id',
  'functions-security-group-id',
  'proxy-name',
  'proxy-arn',
  'proxy-endpoint',
  'app-secret-arn',
  'reader-secret-arn',
  'engine-secret-arn',
  'key-ring-secret-arn',
  'key-ring-key-arn',
  'database-instance-id',
  'master-secret-arn',
] as const;
const USER_KEYS = ['user-pool-id', 'user-pool-client-id'] as const;
/** Only with exchange checks on: where the prober runs. */
const EGRESS_KEYS = ['exchange-egress-subnet-1-id', 'exchange-egress-subnet-2-id', 'exchange-prober-security-group-id'] as const;
type Key = (typeof KEYS)[number] | (typeof USER_KEYS)[number] | (typeof EGRESS_KEYS)[number];

/** Where the data stack of `stage` keeps `key`: one namespace per stage. */
export const parameterName = (stage: string, key: Key): string => `/exchange-api-key-vault/${stage}/${key}`;

/** What the API stack receives: the same shapes the data stack's constructs offer. */
export interface DataValues {
  readonly network: FunctionNetwork;
  readonly database: DatabaseAccess;
  readonly ringSecret: IKeyRingSecret;
  /** The database master secret, the one secret Secrets Manager rotates: the alarm on a failed rotation names it. */
  readonly masterSecretArn: string;
  /** The RDS instance's identifier, for the alarms on its CPU, memory, storage and credits. */
  readonly databaseInstanceId: string;
  /** Where the exchange prober runs (the egress subnets, its security group); undefined with checks off. */
  readonly proberNetwork: FunctionNetwork | undefined;
  /** The stack-made Cognito pool; undefined with an external issuer. */
  readonly users: { readonly userPool: cognito.IUserPool; readonly client: cognito.IUserPoolClient } | undefined;
}

/** In the data stack: one SSM parameter per value the API stack reads. */
export function publishDataValues(data: DataStack, config: VaultConfig): void {
  const scope = new Construct(data, 'ValuesForApi');
  const subnets = data.network.vpc.isolatedSubnets;
  const [subnet1, subnet2] = subnets;
  if (subnets.length !== 2 || !subnet1 || !subnet2) throw new Error(`expected 2 isolated subnets, found ${subnets.length}`);
  const egress = data.network.exchangeEgress;
  const values: Record<Key, string | undefined> = {
    'subnet-1-id': subnet1.subnetId,
    'subnet-2-id': subnet2.subnetId,
    'functions-security-group-id': data.network.functionsSecurityGroup.securityGroupId,
    'proxy-name': data.database.proxy.dbProxyName,
    'proxy-arn': data.database.proxy.dbProxyArn,
    'proxy-endpoint': data.database.proxy.endpoint,
    'app-secret-arn': data.database.appSecret.secretArn,
    'reader-secret-arn': data.database.readerSecret.secretArn,
    'engine-secret-arn': data.database.engineSecret.secretArn,
    'key-ring-secret-arn': data.ringSecret.secretArn,
    'key-ring-key-arn': data.ringSecret.keyArn,
    'database-instance-id': data.database.instance.instanceIdentifier,
    'master-secret-arn': data.database.masterSecret.secretArn,
    'user-pool-id': data.users?.userPool.userPoolId,
    'user-pool-client-id': data.users?.client.userPoolClientId,
    'exchange-egress-subnet-1-id': egress?.subnets[0]?.subnetId,
    'exchange-egress-subnet-2-id': egress?.subnets[1]?.subnetId,
    'exchange-prober-security-group-id': egress?.securityGroup.securityGroupId,
  };
  for (const [key, value] of Object.entries(values)) {
    if (value === undefined) continue;
    new ssm.StringParameter(scope, key, {
      parameterName: parameterName(config.stage, key as Key),
      stringValue: value,
      description: `exchange-api-key-vault (${config.stage}): read by the API stack at deploy time`,
    });
  }
}

/** In the API stack: the data stack's values, resolved by CloudFormation when this stack deploys. */
export function readDataValues(api: Stack, config: VaultConfig): DataValues {
  const scope = new Construct(api, 'DataStackValues');
  const value = (key: Key): string => ssm.StringParameter.valueForStringParameter(scope, parameterName(config.stage, key));

  const proxy = rds.DatabaseProxy.fromDatabaseProxyAttributes(scope, 'Proxy', {
    dbProxyName: value('proxy-name'),
    dbProxyArn: value('proxy-arn'),
    endpoint: value('proxy-endpoint'),
    securityGroups: [],
  });
  const database = Database.fromAttributes({
    proxy,
    port: POSTGRES_PORT,
    databaseName: DATABASE_NAME,
    masterUser: DATABASE_USER,
    appUser: APP_ROLE,
    appSecret: secretsmanager.Secret.fromSecretCompleteArn(scope, 'AppSecret', value('app-secret-arn')),
    readerUser: READER_ROLE,
    readerSecret: secretsmanager.Secret.fromSecretCompleteArn(scope, 'ReaderSecret', value('reader-secret-arn')),
    engineUser: ENGINE_ROLE,
    engineSecret: secretsmanager.Secret.fromSecretCompleteArn(scope, 'EngineSecret', value('engine-secret-arn')),
  });
  const users =
    config.auth.kind === 'cognito'
      ? {
          userPool: cognito.UserPool.fromUserPoolId(scope, 'UserPool', value('user-pool-id')),
          client: cognito.UserPoolClient.fromUserPoolClientId(scope, 'UserPoolClient', value('user-pool-client-id')),
        }
      : undefined;
  return {
    network: { subnetIds: [value('subnet-1-id'), value('subnet-2-id')], securityGroupId: value('functions-security-group-id') },
    database,
    ringSecret: KeyRingSecret.fromArns({ secretArn: value('key-ring-secret-arn'), keyArn: value('key-ring-key-arn') }),
    databaseInstanceId: value('database-instance-id'),
    masterSecretArn: value('master-secret-arn'),
    proberNetwork: config.exchangeChecks
      ? {
          subnetIds: [value('exchange-egress-subnet-1-id'), value('exchange-egress-subnet-2-id')],
          securityGroupId: value('exchange-prober-security-group-id'),
        }
      : undefined,
    users,
  };
}
