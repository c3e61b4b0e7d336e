import { type CfnResource, Duration, Fn, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { APP_ROLE, ENGINE_ROLE, READER_ROLE } from '../../shared/db/app-role.js';
import type { Network } from './network.js';
import { POSTGRES_PORT } from './network.js';

/** Everything a function needs to reach the database: the data stack's construct, or its values read in another stack. */
export interface DatabaseAttributes {
  readonly proxy: rds.IDatabaseProxy;
  readonly port: number;
  readonly databaseName: string;
  /** The master user: only the migration function logs in as it. */
  readonly masterUser: string;
  /** The DML-only role (migrations 003 and 005) the functions that write log in as. */
  readonly appUser: string;
  /** The app role's credentials; the proxy logs in with them, the migration function sets them in the database. */
  readonly appSecret: secretsmanager.ISecret;
  /** The SELECT-only role (migration 005) the read-only routes log in as. */
  readonly readerUser: string;
  /** The reader role's credentials, held and set as the app role's are. */
  readonly readerSecret: secretsmanager.ISecret;
  /** The engine's role (migration 009): open-api-key logs in as it. */
  readonly engineUser: string;
  /** The engine role's credentials, held and set as the app role's are. */
  readonly engineSecret: secretsmanager.ISecret;
}

/** The database as a function's stack sees it: its attributes, and how a function is given each. */
export interface DatabaseAccess extends DatabaseAttributes {
  /**
   * DB_HOST/DB_PORT/DB_NAME/DB_USER for the proxy, and `rds-db:connect` as that one user on that
   * one proxy (IAM authentication; the handler signs a token, shared/db/iam-auth-token.ts): `user`
   * is `readerUser` for the read-only routes, `engineUser` for the engine's functions, `appUser`
   * for everything else that serves or maintains keys, `masterUser` only for migrations.
   * The network path (functions' security group -> proxy) is part of the network, not of a grant.
   */
  connect(fn: lambda.Function, user: string): void;
  /**
   * DB_APP_SECRET_ARN, DB_READER_SECRET_ARN and DB_ENGINE_SECRET_ARN (the ARNs, never the values),
   * and read on those secrets only: for the migration function, which sets the login roles' passwords.
   */
  bindRoleSecrets(fn: lambda.Function): void;
}

function connect(db: DatabaseAttributes, fn: lambda.Function, user: string): void {
  fn.addEnvironment('DB_HOST', db.proxy.endpoint);
  fn.addEnvironment('DB_PORT', String(db.port));
  fn.addEnvironment('DB_NAME', db.databaseName);
  fn.addEnvironment('DB_USER', user);
  db.proxy.grantConnect(fn, user);
}

function bindRoleSecrets(db: DatabaseAttributes, fn: lambda.Function): void {
  fn.addEnvironment('DB_APP_SECRET_ARN', db.appSecret.secretArn);
  fn.addEnvironment('DB_READER_SECRET_ARN', db.readerSecret.secretArn);
  fn.addEnvironment('DB_ENGINE_SECRET_ARN', db.engineSecret.secretArn);
  db.appSecret.grantRead(fn);
  db.readerSecret.grantRead(fn);
  db.engineSecret.grantRead(fn);
}

/**
 * The rotation function lives in a Serverless Application Repository application, whose log group
 * Lambda would create on the first rotation: kept forever and outside the stack. Named after the
 * function (the application's fixed `functionName`), created first, with the stage's retention.
 */
function ownRotationLogGroup(scope: Construct, rotation: secretsmanager.SecretRotation, retention: logs.RetentionDays): void {
  const application = rotation.node.defaultChild as CfnResource;
  const functionName = (application as unknown as { parameters: Record<string, string> }).parameters.functionName;
  if (typeof functionName !== 'string') throw new Error('the rotation application has no functionName parameter');
  const logGroup = new logs.LogGroup(scope, 'RotationLogGroup', {
    logGroupName: `/aws/lambda/${functionName}`,
    retention,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  application.node.addDependency(logGroup);
}

export const DATABASE_NAME = 'vault';
/** The generated master user; the proxy holds its secret and maps IAM-authenticated clients onto it. */
export const DATABASE_USER = 'vault_admin';
export const ENGINE_VERSION = rds.PostgresEngineVersion.VER_17;
/**
 * What the generated passwords never contain: aws-cdk-lib's default for RDS today, written out so a
 * library upgrade that changes its default cannot change the secrets' generator settings, which makes
 * CloudFormation generate new passwords under the running database and proxy. A test holds it.
 */
export const PASSWORD_EXCLUDED_CHARACTERS = ' %+~`#$&*()|[]{}:;<>?!\'/@"\\';

export interface DatabaseProps {
  readonly network: Network;
  readonly stage: string;
  readonly instanceType: string;
  readonly production: boolean;
  /** How long the rotation function's log is kept. */
  readonly logRetention: logs.RetentionDays;
  /**
   * A DB snapshot (name or ARN) the instance is restored from (docs/deploy.md, the restore runbook).
   * Once given it must stay: CloudFormation replaces an instance whose snapshot identifier is
   * removed with an empty one.
   */
  readonly restoreSnapshot?: string;
}

/**
 * RDS PostgreSQL 17 in the isolated subnets, reachable only from RDS Proxy: storage encrypted,
 * never public, TLS forced by its own parameter group, automated backups, a generated master
 * secret rotated every 30 days, deletion protection and Multi-AZ outside dev. The proxy requires
 * TLS and IAM authentication from its clients, and holds three secrets: the master user's, and
 * the app, reader and engine roles', whose passwords the migration function sets in the database on every deploy.
 */
export class Database extends Construct implements DatabaseAccess {
  readonly instance: rds.DatabaseInstance | rds.DatabaseInstanceFromSnapshot;
  readonly parameterGroup: rds.ParameterGroup;
  readonly masterSecret: rds.DatabaseSecret;
  readonly appSecret: rds.DatabaseSecret;
  readonly readerSecret: rds.DatabaseSecret;
  readonly engineSecret: rds.DatabaseSecret;
  readonly proxy: rds.DatabaseProxy;
  readonly port = POSTGRES_PORT;
  readonly databaseName = DATABASE_NAME;
  readonly masterUser = DATABASE_USER;
  /** The proxy holds these roles' secrets too, so a client's IAM token picks which user it is. */
  readonly appUser = APP_ROLE;
  readonly readerUser = READER_ROLE;
  readonly engineUser = ENGINE_ROLE;

  /** The database of another stack, from its attributes (infra/stacks/data-values.ts). */
  static fromAttributes(attributes: DatabaseAttributes): DatabaseAccess {
    return {
      ...attributes,
      connect: (fn, user) => connect(attributes, fn, user),
      bindRoleSecrets: (fn) => bindRoleSecrets(attributes, fn),
    };
  }

  constructor(scope: Construct, id: string, props: DatabaseProps) {
    super(scope, id);
    const { vpc } = props.network;
    const isolated = { subnetType: ec2.SubnetType.PRIVATE_ISOLATED };
    const engine = rds.DatabaseInstanceEngine.postgres({ version: ENGINE_VERSION });

    this.parameterGroup = new rds.ParameterGroup(this, 'Parameters', {
      engine,
      description: 'exchange-api-key-vault: TLS required for every connection',
      parameters: { 'rds.force_ssl': '1' },
    });

    const securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc,
      description: 'PostgreSQL: in from RDS Proxy and the master-secret rotation only',
      allowAllOutbound: false,
    });

    // Generated at deploy time, never in the template; retained, since it must outlive the database it opens.
    this.masterSecret = new rds.DatabaseSecret(this, 'MasterSecret', { username: DATABASE_USER, excludeCharacters: PASSWORD_EXCLUDED_CHARACTERS });
    this.masterSecret.applyRemovalPolicy(RemovalPolicy.RETAIN);
    // Generated the same way (printable ASCII, as the SCRAM verifier requires). Deleted with the stack: each
    // opens nothing the master user cannot reset, and the next deploy sets the role's password from a new one.
    const loginRoleSecret = (id: string, role: string): rds.DatabaseSecret => {
      const secret = new rds.DatabaseSecret(this, id, { username: role, excludeCharacters: PASSWORD_EXCLUDED_CHARACTERS });
      Validations.of(secret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason:
          'Not rotated: no function or person uses this password. Functions reach the proxy with IAM tokens; only the proxy (to log in) and the migration function (to set it in the database) read the secret, and the database accepts connections only from the proxy and the master-secret rotation. Rotating would need a rotation function able to change the role in step with the proxy.',
      });
      return secret;
    };
    this.appSecret = loginRoleSecret('AppSecret', APP_ROLE);
    this.readerSecret = loginRoleSecret('ReaderSecret', READER_ROLE);
    this.engineSecret = loginRoleSecret('EngineSecret', ENGINE_ROLE);

    const retain = props.production ? RemovalPolicy.RETAIN : RemovalPolicy.SNAPSHOT;
    const instanceProps = {
      engine,
      instanceType: new ec2.InstanceType(props.instanceType),
      vpc,
      vpcSubnets: isolated,
      securityGroups: [securityGroup],
      port: POSTGRES_PORT,
      parameterGroup: this.parameterGroup,
      storageType: rds.StorageType.GP3,
      allocatedStorage: 20,
      maxAllocatedStorage: 100,
      publiclyAccessible: false,
      multiAz: props.production,
      backupRetention: Duration.days(7),
      preferredBackupWindow: '17:00-18:00',
      preferredMaintenanceWindow: 'sun:18:30-sun:19:30',
      deleteAutomatedBackups: false,
      copyTagsToSnapshot: true,
      autoMinorVersionUpgrade: true,
      caCertificate: rds.CaCertificate.RDS_CA_RSA2048_G1,
      deletionProtection: props.production,
      removalPolicy: retain,
      // The server's log (errors, slow statements, connection failures) where the runbook reads it. RDS
      // names its group after the instance and creates it itself; its retention is set once by hand
      // (docs/deploy.md): aws-cdk-lib's LogRetention function would need logs:PutRetentionPolicy on *.
      cloudwatchLogsExports: ['postgresql'],
      enablePerformanceInsights: props.production,
      ...(props.production && { performanceInsightRetention: rds.PerformanceInsightRetention.DEFAULT }),
    } satisfies rds.DatabaseInstanceSourceProps;
    // Restored: a new instance from the snapshot, under the same logical ID, its master password set
    // from the current master secret (the snapshot's is the one of its day); its database, roles and
    // encryption (with the snapshot's key) are the snapshot's. The stack policy refuses the
    // replacement until it is lifted for that deploy.
    this.instance =
      props.restoreSnapshot === undefined
        ? new rds.DatabaseInstance(this, 'Instance', {
            ...instanceProps,
            databaseName: DATABASE_NAME,
            credentials: rds.Credentials.fromSecret(this.masterSecret),
            storageEncrypted: true,
          })
        : new rds.DatabaseInstanceFromSnapshot(this, 'Instance', {
            ...instanceProps,
            snapshotIdentifier: props.restoreSnapshot,
            credentials: rds.SnapshotCredentials.fromSecret(this.masterSecret),
          });

    const rotationSecurityGroup = new ec2.SecurityGroup(this, 'RotationSecurityGroup', {
      vpc,
      description: 'Master-secret rotation function: out to the database and the Secrets Manager endpoint',
      allowAllOutbound: false,
    });
    props.network.allowEndpointsFrom(rotationSecurityGroup, 'Master-secret rotation to the Secrets Manager endpoint');
    const rotation = this.instance.addRotationSingleUser({
      automaticallyAfter: Duration.days(30),
      vpcSubnets: isolated,
      endpoint: props.network.endpoints.SecretsManager,
      securityGroup: rotationSecurityGroup,
    });
    ownRotationLogGroup(this, rotation, props.logRetention);

    this.proxy = new rds.DatabaseProxy(this, 'Proxy', {
      // CloudFormation replaces a proxy whose subnets change by creating the new one first, so a fixed
      // name would collide with the old; this one changes with the subnets (at most 58 characters).
      dbProxyName: Fn.join('-', ['vault', props.stage, ...vpc.selectSubnets(isolated).subnetIds.map((subnet) => Fn.select(1, Fn.split('-', subnet)))]),
      proxyTarget: rds.ProxyTarget.fromInstance(this.instance),
      // Until the migration function sets the roles' passwords, only their logins fail; the master's keep
      // working (each secret is matched on its own), so the first deploy can migrate through this proxy.
      secrets: [this.instance.secret as secretsmanager.ISecret, this.appSecret, this.readerSecret, this.engineSecret],
      vpc,
      vpcSubnets: isolated,
      securityGroups: [props.network.proxySecurityGroup],
      requireTLS: true,
      iamAuth: true,
      debugLogging: false,
      borrowTimeout: Duration.seconds(10),
      idleClientTimeout: Duration.minutes(15),
      maxConnectionsPercent: 90,
    });

    Validations.of(this.instance).acknowledge(
      ...[
        ...(props.restoreSnapshot === undefined
          ? []
          : [
              {
                id: 'AwsSolutions-RDS2',
                reason:
                  "Restored from a snapshot of the vault's own instance, which is created encrypted: a snapshot keeps its instance's encryption and its restore inherits it (CloudFormation takes no StorageEncrypted beside a snapshot identifier).",
              },
            ]),
        {
          id: 'AwsSolutions-RDS11',
          reason: 'The instance accepts connections only from the RDS Proxy and rotation security groups; a non-default port would hide nothing from them.',
        },
        ...(props.production
          ? []
          : [
              {
                id: 'AwsSolutions-RDS3',
                reason: 'dev stage: a single-AZ instance to halve the cost; every other stage is Multi-AZ.',
              },
              {
                id: 'AwsSolutions-RDS10',
                reason: 'dev stage: deletion protection off so the stage can be torn down (a final snapshot is taken); every other stage has it on.',
              },
            ]),
      ],
    );
  }

  connect(fn: lambda.Function, user: string): void {
    connect(this, fn, user);
  }

  bindRoleSecrets(fn: lambda.Function): void {
    bindRoleSecrets(this, fn);
  }
}
