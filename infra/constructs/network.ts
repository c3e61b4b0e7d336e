import { Aws, CfnMapping, RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { DEFAULT_ZONE_IDS } from '../config.js';

/**
 * The AWS APIs the functions in the VPC call (the ring secret and KMS unwrapping; the proxy and the
 * master-secret rotation read their secrets), each with what its endpoint lets through: only this
 * account's principals, on this account's resources, so a compromised function cannot use the
 * endpoint to reach another account's secrets or keys (or send data there).
 */
export const INTERFACE_ENDPOINT_SERVICES = {
  SecretsManager: {
    service: ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
    allow: [
      { actions: ['secretsmanager:*'], resource: `arn:${Aws.PARTITION}:secretsmanager:${Aws.REGION}:${Aws.ACCOUNT_ID}:secret:*` },
      // The rotation function asks for a new password; the action has no resource.
      { actions: ['secretsmanager:GetRandomPassword'], resource: '*' },
    ],
  },
  Kms: {
    service: ec2.InterfaceVpcEndpointAwsService.KMS,
    allow: [
      {
        actions: ['kms:Decrypt', 'kms:GenerateDataKey', 'kms:GenerateDataKeyWithoutPlaintext', 'kms:DescribeKey'],
        resource: `arn:${Aws.PARTITION}:kms:${Aws.REGION}:${Aws.ACCOUNT_ID}:key/*`,
      },
    ],
  },
} as const;

export const POSTGRES_PORT = 5432;

const ZONE_ID = /^[a-z]+\d-az\d+$/;

export interface NetworkProps {
  /** Two zone names or zone IDs; absent, the region's pair from `DEFAULT_ZONE_IDS`, chosen at deploy. */
  readonly availabilityZones: readonly [string, string] | undefined;
}

/**
 * A VPC with isolated subnets only (no internet gateway, no NAT): the functions reach AWS APIs
 * through interface endpoints and the database only through RDS Proxy. Four security groups, each
 * allowing exactly one hop: functions -> proxy :5432, proxy -> database :5432 (added when the proxy
 * targets the instance), functions/proxy -> endpoints :443, master-secret rotation -> database.
 */
export class Network extends Construct {
  readonly vpc: ec2.Vpc;
  readonly functionsSecurityGroup: ec2.SecurityGroup;
  readonly proxySecurityGroup: ec2.SecurityGroup;
  readonly endpointsSecurityGroup: ec2.SecurityGroup;
  readonly endpoints: Record<keyof typeof INTERFACE_ENDPOINT_SERVICES, ec2.InterfaceVpcEndpoint>;

  constructor(scope: Construct, id: string, props: NetworkProps) {
    super(scope, id);

    const flowLogs = new logs.LogGroup(this, 'FlowLogs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr('10.40.0.0/16'),
      maxAzs: 2,
      natGateways: 0,
      subnetConfiguration: [{ name: 'isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 22 }],
      restrictDefaultSecurityGroup: true,
      flowLogs: {
        all: { destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogs), trafficType: ec2.FlowLogTrafficType.ALL },
      },
    });

    this.placeSubnets(props.availabilityZones);

    this.functionsSecurityGroup = new ec2.SecurityGroup(this, 'FunctionsSecurityGroup', {
      vpc: this.vpc,
      description: 'Lambda functions: out to RDS Proxy and the interface endpoints only',
      allowAllOutbound: false,
    });
    this.proxySecurityGroup = new ec2.SecurityGroup(this, 'ProxySecurityGroup', {
      vpc: this.vpc,
      description: 'RDS Proxy: in from the functions, out to the database and the Secrets Manager endpoint',
      allowAllOutbound: false,
    });
    this.endpointsSecurityGroup = new ec2.SecurityGroup(this, 'EndpointsSecurityGroup', {
      vpc: this.vpc,
      description: 'Interface endpoints: HTTPS in from the functions and the proxy',
      allowAllOutbound: false,
    });

    this.proxySecurityGroup.connections.allowFrom(this.functionsSecurityGroup, ec2.Port.tcp(POSTGRES_PORT), 'Functions to RDS Proxy (PostgreSQL over TLS)');
    for (const client of [this.functionsSecurityGroup, this.proxySecurityGroup]) {
      this.endpointsSecurityGroup.connections.allowFrom(client, ec2.Port.tcp(443), 'HTTPS to the AWS API endpoints');
    }

    const subnets = { subnetType: ec2.SubnetType.PRIVATE_ISOLATED };
    const endpoint = (name: keyof typeof INTERFACE_ENDPOINT_SERVICES) => {
      const { service, allow } = INTERFACE_ENDPOINT_SERVICES[name];
      const created = this.vpc.addInterfaceEndpoint(name, {
        service,
        subnets,
        privateDnsEnabled: true,
        securityGroups: [this.endpointsSecurityGroup],
        open: false,
      });
      // A first statement replaces the endpoint's default full-access policy.
      for (const { actions, resource } of allow) {
        created.addToPolicy(
          new iam.PolicyStatement({
            principals: [new iam.AnyPrincipal()],
            actions: [...actions],
            resources: [resource],
            conditions: { StringEquals: { 'aws:PrincipalAccount': Aws.ACCOUNT_ID } },
          }),
        );
      }
      return created;
    };
    this.endpoints = { SecretsManager: endpoint('SecretsManager'), Kms: endpoint('Kms') };
  }

  /**
   * Puts the two subnets in the configured zones instead of the account's first two by name
   * (`Fn::GetAZs`, the Vpc construct's choice in an environment-agnostic stack). The stack stays
   * region-agnostic: the default pair is looked up by region at deploy time, and a region without
   * one fails there with a missing-mapping error that names it.
   */
  private placeSubnets(zones: readonly [string, string] | undefined): void {
    let placement: readonly string[] | undefined = zones;
    if (!placement) {
      const defaults = new CfnMapping(this, 'DefaultZoneIds', {
        mapping: Object.fromEntries(Object.entries(DEFAULT_ZONE_IDS).map(([region, [first, second]]) => [region, { first, second }])),
      });
      placement = [defaults.findInMap(Aws.REGION, 'first'), defaults.findInMap(Aws.REGION, 'second')];
    }
    const subnets = this.vpc.isolatedSubnets;
    if (subnets.length !== placement.length) throw new Error(`expected ${placement.length} isolated subnets, found ${subnets.length}`);
    subnets.forEach((subnet, i) => {
      const zone = placement[i]!;
      const cfn = subnet.node.defaultChild as ec2.CfnSubnet;
      const byId = !zones || ZONE_ID.test(zone);
      cfn.availabilityZone = byId ? undefined : zone;
      cfn.availabilityZoneId = byId ? zone : undefined;
    });
  }

  /** A security group for something else that needs the endpoints (the master-secret rotation function). */
  allowEndpointsFrom(peer: ec2.IConnectable, description: string): void {
    this.endpointsSecurityGroup.connections.allowFrom(peer, ec2.Port.tcp(443), description);
  }
}
