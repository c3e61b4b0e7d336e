import { fileURLToPath } from 'node:url';
import { Aws, CustomResource, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { kmsEncryptionContext } from '../../shared/crypto/ring-document.js';
import { VaultFunction } from './vault-function.js';

/** The `purpose` every ring entry is wrapped under; a KMS grant on the ring is conditioned on it. */
export const RING_PURPOSE: string = (() => {
  const purpose = kmsEncryptionContext('any').purpose;
  if (!purpose) throw new Error('kmsEncryptionContext has no purpose');
  return purpose;
})();

/**
 * How CloudFormation generates the secret's first value: the placeholder the initializer alone may
 * overwrite (`isRingPlaceholder`, shared/crypto/ring-document.ts, must keep recognising it). Written
 * out, never derived from shared code: CloudFormation writes a NEW current version (the placeholder
 * again, over the live ring) whenever these settings change, and every seal and open then fails.
 * A test holds this literal, and the data stack's stack policy refuses any update of the secret.
 */
export const RING_SECRET_GENERATOR = {
  secretStringTemplate: '{"state":"uninitialized"}',
  generateStringKey: 'placeholder',
  passwordLength: 8,
  excludePunctuation: true,
} as const satisfies secretsmanager.SecretStringGenerator;

/**
 * The ring as another stack sees it: two ARNs, plain strings (read from SSM parameters at deploy
 * time, infra/stacks/data-values.ts), from which every grant below is built.
 */
export interface KeyRingArns {
  readonly secretArn: string;
  readonly keyArn: string;
}

/** The ring as a function's stack sees it: its ARNs, and how a function is given each kind of access. */
export interface IKeyRingSecret extends KeyRingArns {
  /** KEY_RING_SECRET_ARN (the ARN, never the value), and read + unwrap on the ring only. */
  bindTo(fn: lambda.Function): void;
  /**
   * What the key-maintenance commands need on top of reading: KEY_RING_KMS_KEY_ID for `rotate`
   * (GenerateDataKeyWithoutPlaintext under the ring's encryption context) and writing new ring versions.
   */
  bindMaintenanceTo(fn: lambda.Function): void;
}

function bindReader(ring: KeyRingArns, fn: lambda.Function): void {
  fn.addEnvironment('KEY_RING_SECRET_ARN', ring.secretArn);
  grantKeyRingRead(ring, fn);
}

function bindMaintainer(ring: KeyRingArns, fn: lambda.Function): void {
  bindReader(ring, fn);
  fn.addEnvironment('KEY_RING_KMS_KEY_ID', ring.keyArn);
  grantKeyRingMaintain(ring, fn);
}

export interface KeyRingSecretProps {
  readonly stage: string;
  /**
   * The roles outside this construct that may read and unwrap the ring (ARNs, `*` patterns allowed):
   * the API stack's functions and the break-glass role. The key's and the secret's own policies
   * refuse everyone else, whatever their IAM policies say; the initializer is added here.
   */
  readonly trustedRoleArns: readonly string[];
}

/**
 * The key ring: a customer-managed KMS key with yearly rotation, and a Secrets Manager secret
 * encrypted with it whose value is a JSON ring of KMS-wrapped AES-256 keys. A custom resource
 * fills the secret once, at creation, from KMS GenerateDataKeyWithoutPlaintext, so no plaintext
 * key exists in the template, a parameter, an environment variable or a log; the initializer
 * writes the ring only over the placeholder and can never unwrap it. Both key and secret outlive the stack.
 */
export class KeyRingSecret extends Construct implements IKeyRingSecret {
  readonly key: kms.Key;
  readonly secret: secretsmanager.Secret;
  readonly initializer: VaultFunction;

  /** The ring of another stack, from its ARNs (infra/stacks/data-values.ts). */
  static fromArns(arns: KeyRingArns): IKeyRingSecret {
    return {
      ...arns,
      bindTo: (fn) => bindReader(arns, fn),
      bindMaintenanceTo: (fn) => bindMaintainer(arns, fn),
    };
  }

  constructor(scope: Construct, id: string, props: KeyRingSecretProps) {
    super(scope, id);

    this.key = new kms.Key(this, 'Key', {
      description: `exchange-api-key-vault (${props.stage}): wraps the key ring's AES keys and encrypts the ring secret`,
      enableKeyRotation: true,
      alias: `alias/exchange-api-key-vault/${props.stage}/key-ring`,
      pendingWindow: Duration.days(30),
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.secret = new secretsmanager.Secret(this, 'Secret', {
      description: `exchange-api-key-vault (${props.stage}): the AES key ring (KMS-wrapped entries; see shared/crypto/ring-document.ts)`,
      encryptionKey: this.key,
      generateSecretString: { ...RING_SECRET_GENERATOR },
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.secret).acknowledge(
      ...[
        {
          id: 'AwsSolutions-SMG4',
          reason:
            'The ring is rotated by the key-maintenance function (rotate: add a KMS-wrapped key and make it primary, then reencrypt and retire), not by a Secrets Manager rotation Lambda: replacing the value would orphan every envelope written under the old keys.',
        },
      ],
    );

    this.initializer = new VaultFunction(this, 'Initializer', {
      entry: fileURLToPath(new URL('../resources/ring-initializer.ts', import.meta.url)),
      description: 'Deploy-time: writes the first KMS-wrapped key into the empty key-ring secret (never overwrites a ring)',
      timeout: Duration.seconds(30),
      memorySize: 256,
    });
    grantKeyRingInitialize(this, this.initializer);
    this.admitOnly([...props.trustedRoleArns, (this.initializer.role as iam.IRole).roleArn]);

    const provider = new cr.Provider(this, 'Provider', {
      onEventHandler: this.initializer,
      logGroup: new logs.LogGroup(this, 'ProviderLogGroup', {
        retention: logs.RetentionDays.ONE_MONTH,
        removalPolicy: RemovalPolicy.DESTROY,
      }),
    });

    const init = new CustomResource(this, 'Initialization', {
      serviceToken: provider.serviceToken,
      resourceType: 'Custom::KeyRingInitialization',
      properties: { SecretArn: this.secret.secretArn, KeyArn: this.key.keyArn },
      // The ring is the data's only way back in: deleting the custom resource never touches it.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    init.node.addDependency(this.secret, this.key);

    const frameworkFunction = provider.node.findChild('framework-onEvent');
    const initializerLogicalId = Stack.of(this).getLogicalId(this.initializer.node.defaultChild as lambda.CfnFunction);
    Validations.of(frameworkFunction).acknowledge(
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason: 'The custom-resource framework function (aws-cdk-lib) writes its own logs with AWSLambdaBasicExecutionRole and holds no other managed policy.',
      },
      {
        id: `AwsSolutions-IAM5[Resource::<${initializerLogicalId}.Arn>:*]`,
        reason: 'The framework function may invoke any version of the initializer function (`<arn>:*`), and no other function.',
      },
      {
        id: 'Serverless-LambdaDLQ',
        reason: 'CloudFormation invokes the framework synchronously; a failure fails the deployment, there is nothing to redrive.',
      },
      {
        id: 'Serverless-LambdaTracing',
        reason: 'The framework function relays one CloudFormation event per stack creation; its log group records each run.',
      },
      {
        id: 'Serverless-LambdaDefaultMemorySize',
        reason: 'The framework function is sized by aws-cdk-lib; it relays one small event and calls the initializer.',
      },
    );
  }

  /**
   * The account is not the boundary: the key's default policy gives `kms:*` to the account root, so any
   * role of the account granted kms:Decrypt could unwrap the ring. These denies admit only `roleArns`
   * to decrypt with the key and to read or write the secret.
   */
  private admitOnly(roleArns: readonly string[]): void {
    const others = { ArnNotLike: { 'aws:PrincipalArn': [...roleArns] } };
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'DecryptOnlyByTheVaultsRoles',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['kms:Decrypt', 'kms:ReEncryptFrom'],
        resources: ['*'],
        conditions: others,
      }),
    );
    this.secret.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'ReadAndWriteOnlyByTheVaultsRoles',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue', 'secretsmanager:UpdateSecretVersionStage'],
        resources: ['*'],
        conditions: others,
      }),
    );
  }

  get secretArn(): string {
    return this.secret.secretArn;
  }

  get keyArn(): string {
    return this.key.keyArn;
  }

  bindTo(fn: lambda.Function): void {
    bindReader(this, fn);
  }

  bindMaintenanceTo(fn: lambda.Function): void {
    bindMaintainer(this, fn);
  }
}

/**
 * Read and unwrap: GetSecretValue on the ring secret; kms:Decrypt only through Secrets Manager for
 * that secret, or directly for blobs wrapped under the ring's encryption context.
 */
function grantKeyRingRead(ring: KeyRingArns, grantee: iam.IGrantable): void {
  grantee.grantPrincipal.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'ReadKeyRingSecret',
      actions: ['secretsmanager:GetSecretValue'],
      resources: [ring.secretArn],
    }),
  );
  grantee.grantPrincipal.addToPrincipalPolicy(viaSecretsManager(ring, 'DecryptKeyRingSecret', ['kms:Decrypt']));
  grantee.grantPrincipal.addToPrincipalPolicy(forRingEntries(ring, 'UnwrapKeyRingEntries', ['kms:Decrypt']));
}

/**
 * On top of `grantKeyRingRead`: write new ring versions compare-and-set (rotate, retire: put a
 * pending version, then move AWSCURRENT off the version read; DescribeSecret tells a lost race
 * from a failure) and generate new wrapped keys under the ring's encryption context.
 */
function grantKeyRingMaintain(ring: KeyRingArns, grantee: iam.IGrantable): void {
  grantee.grantPrincipal.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'WriteKeyRingSecret',
      actions: ['secretsmanager:DescribeSecret', 'secretsmanager:PutSecretValue', 'secretsmanager:UpdateSecretVersionStage'],
      resources: [ring.secretArn],
    }),
  );
  grantee.grantPrincipal.addToPrincipalPolicy(viaSecretsManager(ring, 'EncryptKeyRingSecret', ['kms:GenerateDataKey']));
  // rotate wraps new keys without ever seeing them (shared/crypto/secrets-ring-store.ts).
  grantee.grantPrincipal.addToPrincipalPolicy(forRingEntries(ring, 'GenerateKeyRingEntries', ['kms:GenerateDataKeyWithoutPlaintext']));
}

/**
 * The initializer reads the current value only to see that it is still the placeholder (never
 * overwriting a ring), and writes compare-and-set on that version. It can never unwrap an entry:
 * no direct kms:Decrypt, only Secrets Manager's own decryption of this secret.
 */
function grantKeyRingInitialize(ring: KeyRingArns, grantee: iam.IGrantable): void {
  grantee.grantPrincipal.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'InitializeKeyRingSecret',
      actions: ['secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue', 'secretsmanager:UpdateSecretVersionStage'],
      resources: [ring.secretArn],
    }),
  );
  grantee.grantPrincipal.addToPrincipalPolicy(viaSecretsManager(ring, 'EncryptKeyRingSecret', ['kms:GenerateDataKey', 'kms:Decrypt']));
  grantee.grantPrincipal.addToPrincipalPolicy(forRingEntries(ring, 'GenerateWrappedKeyRingEntry', ['kms:GenerateDataKeyWithoutPlaintext']));
}

/**
 * KMS on the ring's entries themselves: only under the ring's encryption context (its purpose), so
 * the grant reaches no other data key of the same KMS key.
 */
function forRingEntries(ring: KeyRingArns, sid: string, actions: string[]): iam.PolicyStatement {
  return new iam.PolicyStatement({ sid, actions, resources: [ring.keyArn], conditions: { StringEquals: { 'kms:EncryptionContext:purpose': RING_PURPOSE } } });
}

/** Secrets Manager calls KMS on the caller's behalf, with the secret's ARN in the encryption context. */
function viaSecretsManager(ring: KeyRingArns, sid: string, actions: string[]): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid,
    actions,
    resources: [ring.keyArn],
    conditions: {
      StringEquals: {
        'kms:ViaService': `secretsmanager.${Aws.REGION}.amazonaws.com`,
        'kms:EncryptionContext:SecretARN': ring.secretArn,
      },
    },
  });
}
