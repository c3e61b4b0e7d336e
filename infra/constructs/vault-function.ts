import { relative } from 'node:path';
import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, type OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { DEPLOYMENT_VARIABLE } from '../../shared/metrics.js';
import { ESBUILD_TARGET, FUNCTION_BUNDLING } from '../bundling.js';
import { LOCKFILE, REPO_ROOT } from '../paths.js';

/**
 * The timeout of a function that loads the key ring on a request path (register, replace, open):
 * a ring load against a hung endpoint gives up within 6.5 s (shared/crypto/secrets-ring-store.ts),
 * then the request may still wait 3 s to connect and 6 s for its statement (shared/db/pool.ts):
 * 15.5 s in the worst case, so 20 s, and the answer is a 503 rather than a Lambda timeout.
 */
export const RING_HOLDER_TIMEOUT = Duration.seconds(20);
/** The 15.5 s above: what a ring holder may spend before anything else it waits for. */
export const RING_HOLDER_WORST_CASE = Duration.millis(15_500);

/** The exchange prober as a function that checks keys sees it (infra/constructs/exchange-prober.ts). */
export interface ExchangeProberTarget {
  readonly functionName: string;
  readonly functionArn: string;
  /** The prober's own timeout: the longest a caller waits for one probe. */
  readonly timeout: Duration;
}

/** How a deployment checks keys at their exchange (infra/config.ts). */
export interface ExchangeCheckSettings {
  readonly requireIpRestriction: boolean;
}

/** One place for the runtime every handler runs on; the esbuild target follows it (infra/bundling.ts). */
export const RUNTIME = lambda.Runtime.NODEJS_22_X;
export const ARCHITECTURE = lambda.Architecture.ARM_64;
export const SERVICE_NAME = 'exchange-api-key-vault';

/**
 * Where a function runs in the VPC, as plain IDs: the API stack reads them from the data stack's
 * SSM parameters (infra/stacks/data-values.ts), and a Lambda's VPC configuration needs nothing else.
 */
export interface FunctionNetwork {
  /** The isolated subnets, one per zone. */
  readonly subnetIds: readonly string[];
  /** The functions' security group; its rules (egress to the proxy and the endpoints) live with the network. */
  readonly securityGroupId: string;
}

/**
 * The IAM path of every VaultFunction's role: its stack's name. The ring's key and secret admit the
 * API stack's roles by this path (`role/vault-<stage>-api/*`), so a function added there is admitted
 * without a change to their policies, and a role made by hand elsewhere in the account is not.
 */
export const functionRolePath = (stackName: string): string => `/${stackName}/`;

/** A folder copied into the bundle beside `index.mjs` (e.g. the SQL migrations). */
export interface BundledFolder {
  /** Absolute path of the source folder, inside the repository. */
  readonly from: string;
  /** Folder name inside the bundle output. */
  readonly to: string;
}

export interface VaultFunctionProps {
  /** Absolute path of the TypeScript entry that exports `handler`. */
  readonly entry: string;
  readonly description: string;
  /** Omit for functions that call only public AWS endpoints (deploy-time custom resources). */
  readonly network?: FunctionNetwork;
  readonly memorySize?: number;
  readonly timeout?: Duration;
  readonly logRetention?: logs.RetentionDays;
  /** What becomes of the log group when the stack deletes it or rolls its creation back; deleted by default. */
  readonly logRemovalPolicy?: RemovalPolicy;
  readonly bundledFolders?: readonly BundledFolder[];
  /** At most this many invocations at once (and never starved of them by the others); unreserved when omitted. */
  readonly reservedConcurrency?: number;
  /** A fixed name, for what must name the function before it exists (the Lambda endpoint's policy); generated when omitted. */
  readonly functionName?: string;
}

/**
 * A `NodejsFunction` with the vault's defaults: Node.js 22 on arm64, bundled as infra/bundling.ts
 * says (a minified ESM bundle with the AWS SDK inside it, no source maps), JSON
 * logs through Powertools, its own log group with a retention. What a function may reach is
 * not its business: each resource binds itself to a function (`database.connect(fn, user)`,
 * `ringSecret.bindTo(fn)`), setting the environment variable a handler reads AND granting exactly
 * the access that variable implies, as aws-cdk-lib's own constructs grant (`table.grantReadData(fn)`).
 */
export class VaultFunction extends NodejsFunction {
  constructor(scope: Construct, id: string, props: VaultFunctionProps) {
    const logGroup = new logs.LogGroup(scope, `${id}LogGroup`, {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.DESTROY,
    });
    const folders = props.bundledFolders ?? [];
    const role = new iam.Role(scope, `${id}ServiceRole`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      path: functionRolePath(Stack.of(scope).stackName),
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AWSLambdaBasicExecutionRole')],
    });

    super(scope, id, {
      entry: props.entry,
      handler: 'handler',
      description: props.description,
      runtime: RUNTIME,
      architecture: ARCHITECTURE,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(10),
      projectRoot: REPO_ROOT,
      depsLockFilePath: LOCKFILE,
      logGroup,
      role,
      ...(props.functionName !== undefined && { functionName: props.functionName }),
      ...(props.reservedConcurrency !== undefined && { reservedConcurrentExecutions: props.reservedConcurrency }),
      environment: {
        POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
        POWERTOOLS_LOG_LEVEL: 'INFO',
        // The metrics' deployment dimension, which this stack's alarms name (shared/metrics.ts).
        [DEPLOYMENT_VARIABLE]: Stack.of(scope).stackName,
      },
      bundling: {
        // The CDK's OutputFormat values are esbuild's format names.
        format: FUNCTION_BUNDLING.format as OutputFormat,
        target: FUNCTION_BUNDLING.target,
        mainFields: [...FUNCTION_BUNDLING.mainFields],
        minify: FUNCTION_BUNDLING.minify,
        sourceMap: FUNCTION_BUNDLING.sourcemap,
        bundleAwsSDK: true,
        // Setting externals replaces the default ['@aws-sdk/*'].
        externalModules: [...FUNCTION_BUNDLING.external],
        banner: FUNCTION_BUNDLING.banner.js,
        ...(folders.length > 0 && {
          commandHooks: {
            beforeBundling: () => [],
            beforeInstall: () => [],
            afterBundling: (inputDir: string, outputDir: string) =>
              folders.map(({ from, to }) => `mkdir -p "${outputDir}/${to}" && cp "${inputDir}/${relative(REPO_ROOT, from)}"/*.sql "${outputDir}/${to}/"`),
          },
        }),
      },
    });

    if (props.network) {
      // Set on the resource: the `vpc` property would need the VPC imported (its ID and zones),
      // values this stack has no other use for.
      (this.node.defaultChild as lambda.CfnFunction).vpcConfig = {
        subnetIds: [...props.network.subnetIds],
        securityGroupIds: [props.network.securityGroupId],
      };
      role.addManagedPolicy(iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AWSLambdaVPCAccessExecutionRole'));
    }

    Validations.of(this).acknowledge(
      {
        id: 'AwsSolutions-L1',
        reason: `${RUNTIME.name} is the runtime the team builds and tests for (esbuild target ${ESBUILD_TARGET}); moving to a newer one is a deliberate change of the RUNTIME constant, not an automatic one.`,
      },
      {
        id: 'Serverless-LambdaLatestVersion',
        reason: `${RUNTIME.name} is the runtime the team builds and tests for (esbuild target ${ESBUILD_TARGET}); moving to a newer one is a deliberate change of the RUNTIME constant, not an automatic one.`,
      },
      {
        id: 'Serverless-LambdaDLQ',
        reason:
          'Every invocation is synchronous (API Gateway, the migration Trigger, CloudFormation, an operator): the error goes back to the caller. A DLQ only ever receives failed asynchronous invocations.',
      },
      {
        id: 'Serverless-LambdaTracing',
        reason:
          'No X-Ray: the isolated VPC would need an X-Ray interface endpoint (~$15/month) for traces of a one-query-per-request service; request IDs in the JSON logs and the access log correlate a request end to end.',
      },
    );
    // The role is the function's sibling (it carries the path the ring admits), so its findings are its own.
    Validations.of(role).acknowledge(
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason:
          'AWSLambdaBasicExecutionRole lets the function write its own logs; it is the documented minimum for any Lambda function and grants nothing else.',
      },
      ...(props.network
        ? [
            {
              id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]',
              reason:
                "AWSLambdaVPCAccessExecutionRole lets Lambda manage the function's network interfaces in the VPC (ec2:*NetworkInterface* cannot be scoped to resources at creation); it grants no data access.",
            },
          ]
        : []),
    );
  }

  /**
   * Keys checked at their exchange: EXCHANGE_CHECKS=on, REQUIRE_IP_RESTRICTION and
   * EXCHANGE_PROBER_FUNCTION (the prober's name) for the handler, and lambda:InvokeFunction on the
   * prober alone (not its versions, not any other function). The function must outlast a ring
   * holder's worst case plus a whole probe, or a hung exchange would time it out instead of
   * answering 503.
   */
  bindExchangeProber(prober: ExchangeProberTarget, settings: ExchangeCheckSettings): void {
    const needed = RING_HOLDER_WORST_CASE.toMilliseconds() + prober.timeout.toMilliseconds();
    const timeout = (this.timeout ?? Duration.seconds(3)).toMilliseconds();
    if (timeout < needed) {
      throw new Error(`${this.node.path} waits for the exchange prober: its timeout must be at least ${needed} ms, not ${timeout} ms`);
    }
    this.addEnvironment('EXCHANGE_CHECKS', 'on');
    this.addEnvironment('REQUIRE_IP_RESTRICTION', settings.requireIpRestriction ? 'on' : 'off');
    this.addEnvironment('EXCHANGE_PROBER_FUNCTION', prober.functionName);
    this.addToRolePolicy(new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [prober.functionArn] }));
  }
}
