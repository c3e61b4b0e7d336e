import { Aws, CfnMapping, RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { DEFAULT_ZONE_IDS } from '../config.js';

/** What an interface endpoint lets through, for this account's principals only. */
interface EndpointAllow {
  readonly actions: readonly string[];
  readonly resource: string;
}

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
} as const satisfies Record<string, { service: ec2.InterfaceVpcEndpointAwsService; allow: readonly EndpointAllow[] }>;

/**
 * With exchange checks on, the isolated functions that check keys invoke the exchange prober through
 * the Lambda endpoint, and the endpoint lets through that one invocation and nothing else: no other
 * function of the account, none of another account, no other Lambda action.
 */
export const lambdaEndpointAllows = (proberName: string): readonly EndpointAllow[] => [
  { actions: ['lambda:InvokeFunction'], resource: `arn:${Aws.PARTITION}:lambda:${Aws.REGION}:${Aws.ACCOUNT_ID}:function:${proberName}` },
];

export const POSTGRES_PORT = 5432;
export const HTTPS_PORT = 443;

const ZONE_ID = /^[a-z]+\d-az\d+$/;

export interface NetworkProps {
  /** Two zone names or zone IDs; absent, the region's pair from `DEFAULT_ZONE_IDS`, chosen at deploy. */
  readonly availabilityZones: readonly [string, string] | undefined;
  /** The exchange prober's function name with exchange checks on; absent, no way out to the internet at all. */
  readonly exchangeProberName?: string;
  /** Outside dev the egress address outlives the stack: users have allow-listed it at their exchanges. */
  readonly production: boolean;
}

/** The one way out to the internet, with exchange checks on (ADR 29). */
export interface ExchangeEgress {
  /** Private subnets, one per zone, whose default route is the NAT gateway. */
  readonly subnets: readonly ec2.ISubnet[];
  /** The prober's: HTTPS out to anywhere, nothing in, nothing else out. */
  readonly securityGroup: ec2.SecurityGroup;
  /** The NAT gateway's Elastic IP: its own resource, so no change to the subnets or the gateway replaces it. */
  readonly ip: ec2.CfnEIP;
  /** The isolated functions' way to invoke the prober. */
  readonly lambdaEndpoint: ec2.InterfaceVpcEndpoint;
}

/**
 * A VPC whose functions run in isolated subnets (no route out): they reach AWS APIs through interface
 * endpoints and the database only through RDS Proxy. Four security groups, each allowing exactly one
 * hop: functions -> proxy :5432, proxy -> database :5432 (added when the proxy targets the instance),
 * functions/proxy -> endpoints :443, master-secret rotation -> database. With exchange checks on, and
 * only then, public subnets with one NAT gateway (a fixed Elastic IP) and private subnets routed
 * through it, for the exchange prober alone (`exchangeEgress`), and a Lambda endpoint to invoke it.
 */
export class Network extends Construct {
  readonly vpc: ec2.Vpc;
  readonly functionsSecurityGroup: ec2.SecurityGroup;
  readonly proxySecurityGroup: ec2.SecurityGroup;
  readonly endpointsSecurityGroup: ec2.SecurityGroup;
  readonly endpoints: Record<keyof typeof INTERFACE_ENDPOINT_SERVICES, ec2.InterfaceVpcEndpoint>;
  readonly exchangeEgress: ExchangeEgress | undefined;

  constructor(scope: Construct, id: string, props: NetworkProps) {
    super(scope, id);

    const flowLogs = new logs.LogGroup(this, 'FlowLogs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    const checks = props.exchangeProberName !== undefined;
    // Allocated apart from the VPC's constructs, so a change to the subnets or the gateway keeps the address.
    const egressIp = checks ? new ec2.CfnEIP(this, 'ExchangeEgressIp', { domain: 'vpc' }) : undefined;
    egressIp?.applyRemovalPolicy(props.production ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY);
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr('10.40.0.0/16'),
      maxAzs: 2,
      // The isolated subnets come first: their address ranges and logical IDs stay the same with checks on or off.
      subnetConfiguration: [
        { name: 'isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 22 },
        ...(checks
          ? [
              { name: 'egress', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 24 },
              { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 26, mapPublicIpOnLaunch: false },
            ]
          : []),
      ],
      // One gateway, one address to allow-list: a zone outage leaves checks `unreachable`, which stores and pauses nothing.
      natGateways: checks ? 1 : 0,
      ...(egressIp && { natGatewayProvider: ec2.NatProvider.gateway({ eipAllocationIds: [egressIp.attrAllocationId] }) }),
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
      this.endpointsSecurityGroup.connections.allowFrom(client, ec2.Port.tcp(HTTPS_PORT), 'HTTPS to the AWS API endpoints');
    }

    const endpoint = (name: keyof typeof INTERFACE_ENDPOINT_SERVICES) =>
      this.interfaceEndpoint(name, INTERFACE_ENDPOINT_SERVICES[name].service, INTERFACE_ENDPOINT_SERVICES[name].allow);
    this.endpoints = { SecretsManager: endpoint('SecretsManager'), Kms: endpoint('Kms') };
    this.exchangeEgress =
      egressIp && props.exchangeProberName !== undefined
        ? {
            subnets: this.vpc.privateSubnets,
            securityGroup: this.proberSecurityGroup(),
            ip: egressIp,
            lambdaEndpoint: this.interfaceEndpoint('Lambda', ec2.InterfaceVpcEndpointAwsService.LAMBDA, lambdaEndpointAllows(props.exchangeProberName)),
          }
        : undefined;
  }

  /** The exchange prober's security group: HTTPS out to the exchanges, nothing else out, nothing in. */
  private proberSecurityGroup(): ec2.SecurityGroup {
    const group = new ec2.SecurityGroup(this, 'ExchangeProberSecurityGroup', {
      vpc: this.vpc,
      description: 'Exchange prober: HTTPS out to the exchanges only, nothing in',
      allowAllOutbound: false,
    });
    group.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(HTTPS_PORT), 'HTTPS to the exchanges');
    return group;
  }

  /** An endpoint in the isolated subnets whose policy lets through `allow` for this account's principals, and nothing else. */
  private interfaceEndpoint(name: string, service: ec2.IInterfaceVpcEndpointService, allow: readonly EndpointAllow[]): ec2.InterfaceVpcEndpoint {
    const created = this.vpc.addInterfaceEndpoint(name, {
      service,
      subnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
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
  }

  /**
   * Puts the subnets of each kind in the two configured zones instead of the account's first two by name
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
    // Each kind of subnet (isolated; with checks on, egress and public too) has one subnet per zone, in zone order.
    const groups = [this.vpc.isolatedSubnets, this.vpc.privateSubnets, this.vpc.publicSubnets].filter((group) => group.length > 0);
    for (const subnets of groups) {
      if (subnets.length !== placement.length) throw new Error(`expected ${placement.length} subnets of each kind, found ${subnets.length}`);
    }
    groups.flat().forEach((subnet, i) => {
      const zone = placement[i % placement.length]!;
      const cfn = subnet.node.defaultChild as ec2.CfnSubnet;
      const byId = !zones || ZONE_ID.test(zone);
      cfn.availabilityZone = byId ? undefined : zone;
      cfn.availabilityZoneId = byId ? zone : undefined;
    });
  }

  /** A security group for something else that needs the endpoints (the master-secret rotation function). */
  allowEndpointsFrom(peer: ec2.IConnectable, description: string): void {
    this.endpointsSecurityGroup.connections.allowFrom(peer, ec2.Port.tcp(HTTPS_PORT), description);
  }
}
