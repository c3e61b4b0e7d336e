import { RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/** The AWS APIs the functions in the VPC call: the ring secret and KMS unwrapping. */
export const INTERFACE_ENDPOINT_SERVICES = {
  SecretsManager: ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
  Kms: ec2.InterfaceVpcEndpointAwsService.KMS,
} as const;

export const POSTGRES_PORT = 5432;

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

  constructor(scope: Construct, id: string) {
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

    this.proxySecurityGroup.connections.allowFrom(
      this.functionsSecurityGroup,
      ec2.Port.tcp(POSTGRES_PORT),
      'Functions to RDS Proxy (PostgreSQL over TLS)',
    );
    for (const client of [this.functionsSecurityGroup, this.proxySecurityGroup]) {
      this.endpointsSecurityGroup.connections.allowFrom(client, ec2.Port.tcp(443), 'HTTPS to the AWS API endpoints');
    }

    const subnets = { subnetType: ec2.SubnetType.PRIVATE_ISOLATED };
    const endpoint = (name: keyof typeof INTERFACE_ENDPOINT_SERVICES) =>
      this.vpc.addInterfaceEndpoint(name, {
        service: INTERFACE_ENDPOINT_SERVICES[name],
        subnets,
        privateDnsEnabled: true,
        securityGroups: [this.endpointsSecurityGroup],
        open: false,
      });
    this.endpoints = { SecretsManager: endpoint('SecretsManager'), Kms: endpoint('Kms') };
  }

  /** A security group for something else that needs the endpoints (the master-secret rotation function). */
  allowEndpointsFrom(peer: ec2.IConnectable, description: string): void {
    this.endpointsSecurityGroup.connections.allowFrom(peer, ec2.Port.tcp(443), description);
  }
}
