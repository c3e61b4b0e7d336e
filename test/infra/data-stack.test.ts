import { beforeAll, describe, expect, it } from '@jest/globals';
import { ENGINE_FUNCTIONS } from '../../infra/constructs/engine-functions.js';
import { routes } from '../../shared/routes.js';
import {
  type Json,
  onlyResource,
  type Resource,
  referencedLogicalId,
  resource,
  resources,
  type Synthesized,
  stackArtifact,
  synthesized,
} from './support/synth.js';

let dev: Synthesized;
let prod: Synthesized;

beforeAll(async () => {
  dev = await synthesized('dev');
  prod = await synthesized('prodSmall');
});

const groupId = (value: Json): string | undefined => value?.['Fn::GetAtt']?.[0];
const securityGroupByDescription = (template: Json, prefix: string): string => {
  const found = resources(template, 'AWS::EC2::SecurityGroup').filter((g) => g.Properties.GroupDescription.startsWith(prefix));
  if (found.length !== 1) throw new Error(`expected one security group "${prefix}...", found ${found.length}`);
  return found[0]!.logicalId;
};

/** Every way into a security group: inline ingress and separate AWS::EC2::SecurityGroupIngress resources. */
function ingressOf(template: Json, sg: string): { from: string | undefined; cidr: string | undefined; port: Json }[] {
  const inline = (template.Resources[sg].Properties.SecurityGroupIngress ?? []).map((r: Json) => ({
    from: groupId(r.SourceSecurityGroupId),
    cidr: r.CidrIp ?? r.CidrIpv6,
    port: r.FromPort,
  }));
  const separate = resources(template, 'AWS::EC2::SecurityGroupIngress')
    .filter((r) => groupId(r.Properties.GroupId) === sg)
    .map((r) => ({ from: groupId(r.Properties.SourceSecurityGroupId), cidr: r.Properties.CidrIp ?? r.Properties.CidrIpv6, port: r.Properties.FromPort }));
  return [...inline, ...separate];
}

function egressOf(template: Json, sg: string): { to: string | undefined; cidr: string | undefined; port: Json }[] {
  const inline = (template.Resources[sg].Properties.SecurityGroupEgress ?? []).map((r: Json) => ({
    to: groupId(r.DestinationSecurityGroupId),
    cidr: r.CidrIp ?? r.CidrIpv6,
    port: r.FromPort,
  }));
  const separate = resources(template, 'AWS::EC2::SecurityGroupEgress')
    .filter((r) => groupId(r.Properties.GroupId) === sg)
    .map((r) => ({ to: groupId(r.Properties.DestinationSecurityGroupId), cidr: r.Properties.CidrIp, port: r.Properties.FromPort }));
  // CDK's placeholder rule for "no egress at all" is not a way out.
  return [...inline, ...separate].filter((r) => r.cidr !== '255.255.255.255/32');
}

describe('network: isolated subnets, no NAT, endpoints', () => {
  it('has no NAT gateway, internet gateway, elastic IP or route out', () => {
    for (const type of [
      'AWS::EC2::NatGateway',
      'AWS::EC2::InternetGateway',
      'AWS::EC2::VPCGatewayAttachment',
      'AWS::EC2::EIP',
      'AWS::EC2::Route',
      'AWS::EC2::EgressOnlyInternetGateway',
    ]) {
      expect(resources(dev.json.data, type)).toEqual([]);
    }
    const subnets = resources(dev.json.data, 'AWS::EC2::Subnet');
    expect(subnets.length).toBeGreaterThanOrEqual(2);
    for (const subnet of subnets) {
      expect(subnet.Properties.MapPublicIpOnLaunch).toBe(false);
      expect(subnet.Properties.Tags).toContainEqual({ Key: 'aws-cdk:subnet-type', Value: 'Isolated' });
    }
  });

  it('has private interface endpoints for Secrets Manager and KMS, reachable from the functions and the proxy only', () => {
    const endpoints = resources(dev.json.data, 'AWS::EC2::VPCEndpoint');
    const services = endpoints.map((e) => JSON.stringify(e.Properties.ServiceName));
    expect(services).toEqual(expect.arrayContaining([expect.stringContaining('.secretsmanager'), expect.stringContaining('.kms')]));
    const endpointsSg = securityGroupByDescription(dev.json.data, 'Interface endpoints');
    for (const endpoint of endpoints) {
      expect(endpoint.Properties.VpcEndpointType).toBe('Interface');
      expect(endpoint.Properties.PrivateDnsEnabled).toBe(true);
      expect(endpoint.Properties.SecurityGroupIds.map(groupId)).toEqual([endpointsSg]);
    }
    const sources = ingressOf(dev.json.data, endpointsSg);
    expect(sources.every((r) => r.port === 443 && r.cidr === undefined)).toBe(true);
    expect(sources.map((r) => r.from).sort()).toEqual(
      [
        securityGroupByDescription(dev.json.data, 'Lambda functions'),
        securityGroupByDescription(dev.json.data, 'RDS Proxy'),
        securityGroupByDescription(dev.json.data, 'Master-secret rotation'),
      ].sort(),
    );
  });

  it('lets only the functions reach the proxy and only the proxy (and the rotation function) reach the database', () => {
    const functionsSg = securityGroupByDescription(dev.json.data, 'Lambda functions');
    const proxySg = securityGroupByDescription(dev.json.data, 'RDS Proxy');
    const databaseSg = securityGroupByDescription(dev.json.data, 'PostgreSQL');
    const rotationSg = securityGroupByDescription(dev.json.data, 'Master-secret rotation');
    const endpointsSg = securityGroupByDescription(dev.json.data, 'Interface endpoints');

    expect(ingressOf(dev.json.data, proxySg)).toEqual([{ from: functionsSg, cidr: undefined, port: 5432 }]);
    expect(
      ingressOf(dev.json.data, databaseSg)
        .map((r) => r.from)
        .sort(),
    ).toEqual([proxySg, rotationSg].sort());
    expect(ingressOf(dev.json.data, functionsSg)).toEqual([]);
    expect(egressOf(dev.json.data, functionsSg).sort((a, b) => Number(a.port) - Number(b.port))).toEqual([
      { to: endpointsSg, cidr: undefined, port: 443 },
      { to: proxySg, cidr: undefined, port: 5432 },
    ]);
    expect(egressOf(dev.json.data, databaseSg)).toEqual([]);
    expect(
      egressOf(dev.json.data, proxySg)
        .map((r) => r.to)
        .sort(),
    ).toEqual([databaseSg, endpointsSg].sort());
  });

  it('opens nothing to an address range', () => {
    for (const sg of resources(dev.json.data, 'AWS::EC2::SecurityGroup')) {
      expect(ingressOf(dev.json.data, sg.logicalId).filter((r) => r.cidr !== undefined)).toEqual([]);
      expect(egressOf(dev.json.data, sg.logicalId).filter((r) => r.cidr !== undefined)).toEqual([]);
    }
  });

  it('puts the API functions in the isolated subnets with the functions security group', () => {
    const functionsSg = securityGroupByDescription(dev.json.data, 'Lambda functions');
    const subnets = resources(dev.json.data, 'AWS::EC2::Subnet')
      .map((s) => s.logicalId)
      .sort();
    const inVpc = resources(dev.json.api, 'AWS::Lambda::Function').filter((f) => f.Properties.VpcConfig);
    // One per route, key maintenance, migrate and one per engine function.
    expect(inVpc).toHaveLength(routes.length + 2 + ENGINE_FUNCTIONS.length);
    for (const fn of inVpc) {
      expect(fn.Properties.VpcConfig.SecurityGroupIds.map((v: Json) => referencedLogicalId(dev.json, v))).toEqual([functionsSg]);
      expect(fn.Properties.VpcConfig.SubnetIds.map((v: Json) => referencedLogicalId(dev.json, v)).sort()).toEqual(subnets);
    }
  });
});

describe('database', () => {
  const db = (s: Synthesized): Resource => onlyResource(s.json.data, 'AWS::RDS::DBInstance');
  const roleSecret = (s: Synthesized, user: string): Resource => {
    const found = resources(s.json.data, 'AWS::SecretsManager::Secret').filter(
      (r) => r.Properties.GenerateSecretString?.SecretStringTemplate === `{"username":"${user}"}`,
    );
    if (found.length !== 1) throw new Error(`expected one ${user} secret, found ${found.length}`);
    return found[0]!;
  };

  it('is PostgreSQL 17, encrypted, explicitly not public, in the isolated subnets', () => {
    const { Properties: p } = db(dev);
    expect(p.Engine).toBe('postgres');
    expect(p.EngineVersion).toMatch(/^17(\.|$)/);
    expect(p.StorageEncrypted).toBe(true);
    expect(p.PubliclyAccessible).toBe(false);
    const subnetGroup = resource(dev.json.data, p.DBSubnetGroupName.Ref);
    expect(subnetGroup.Properties.SubnetIds.map((s: Json) => s.Ref).sort()).toEqual(
      resources(dev.json.data, 'AWS::EC2::Subnet')
        .map((s) => s.logicalId)
        .sort(),
    );
  });

  it('forces TLS in its own parameter group', () => {
    const group = resource(dev.json.data, db(dev).Properties.DBParameterGroupName.Ref);
    expect(group.Type).toBe('AWS::RDS::DBParameterGroup');
    expect(group.Properties.Family).toBe('postgres17');
    expect(group.Properties.Parameters['rds.force_ssl']).toBe('1');
  });

  it('keeps automated backups and takes its master credentials from a generated, rotated, retained secret', () => {
    const { Properties: p } = db(dev);
    expect(p.BackupRetentionPeriod).toBeGreaterThanOrEqual(7);
    expect(p.DeleteAutomatedBackups).toBe(false);
    const secretId = p.MasterUserPassword['Fn::Join'][1][1].Ref;
    const secret = resource(dev.json.data, secretId);
    expect(secret.Properties.GenerateSecretString.GenerateStringKey).toBe('password');
    expect(secret.DeletionPolicy).toBe('Retain');
    const rotation = onlyResource(dev.json.data, 'AWS::SecretsManager::RotationSchedule');
    expect(rotation.Properties.RotationRules.ScheduleExpression).toBe('rate(30 days)');
  });

  it.each(['vault_app', 'vault_reader', 'vault_engine'])(
    'has a generated secret for %s, encrypted as the master secret is, not rotated, deleted with the stack',
    (user) => {
      const secret = roleSecret(dev, user);
      const masterSecret = resource(dev.json.data, db(dev).Properties.MasterUserPassword['Fn::Join'][1][1].Ref);
      expect(secret.Properties.GenerateSecretString).toEqual({
        ...masterSecret.Properties.GenerateSecretString,
        SecretStringTemplate: `{"username":"${user}"}`,
      });
      expect(secret.Properties.SecretString).toBeUndefined();
      expect(secret.Properties.KmsKeyId).toEqual(masterSecret.Properties.KmsKeyId);
      expect(secret.DeletionPolicy).toBe('Delete');
      const rotated = resources(dev.json.data, 'AWS::SecretsManager::RotationSchedule').map((r) => referencedLogicalId(dev.json, r.Properties.SecretId));
      expect(rotated).toHaveLength(1);
      expect(rotated).not.toContain(secret.logicalId);
    },
  );

  it('has deletion protection, Multi-AZ and a retain policy outside dev; dev is snapshotted on delete', () => {
    expect(db(prod).Properties.DeletionProtection).toBe(true);
    expect(db(prod).Properties.MultiAZ).toBe(true);
    expect(db(prod).DeletionPolicy).toBe('Retain');
    expect(db(prod).UpdateReplacePolicy).toBe('Retain');
    expect(db(prod).Properties.DBInstanceClass).toBe('db.t4g.small');

    expect(db(dev).Properties.DeletionProtection).toBe(false);
    expect(db(dev).Properties.MultiAZ).toBe(false);
    expect(db(dev).DeletionPolicy).toBe('Snapshot');
    expect(db(dev).Properties.DBInstanceClass).toBe('db.t4g.micro');
  });

  it('sits behind an RDS Proxy that requires TLS and IAM authentication, for the master user and the app, reader and engine roles', () => {
    const proxy = onlyResource(dev.json.data, 'AWS::RDS::DBProxy');
    expect(proxy.Properties.RequireTLS).toBe(true);
    expect(proxy.Properties.EngineFamily).toBe('POSTGRESQL');
    // The master secret as the instance's attachment names it (its Ref is the secret's ARN).
    const masterSecret = onlyResource(dev.json.data, 'AWS::SecretsManager::SecretTargetAttachment');
    expect(masterSecret.Properties.SecretId).toEqual({ Ref: db(dev).Properties.MasterUserPassword['Fn::Join'][1][1].Ref });
    expect(proxy.Properties.Auth).toEqual([
      { AuthScheme: 'SECRETS', IAMAuth: 'REQUIRED', SecretArn: { Ref: masterSecret.logicalId } },
      { AuthScheme: 'SECRETS', IAMAuth: 'REQUIRED', SecretArn: { Ref: roleSecret(dev, 'vault_app').logicalId } },
      { AuthScheme: 'SECRETS', IAMAuth: 'REQUIRED', SecretArn: { Ref: roleSecret(dev, 'vault_reader').logicalId } },
      { AuthScheme: 'SECRETS', IAMAuth: 'REQUIRED', SecretArn: { Ref: roleSecret(dev, 'vault_engine').logicalId } },
    ]);
    expect(proxy.Properties.DebugLogging).toBe(false);
    // No fixed name: a replacement (new subnets) would collide with the proxy it replaces.
    expect(typeof proxy.Properties.DBProxyName).not.toBe('string');
    const subnets = resources(dev.json.data, 'AWS::EC2::Subnet')
      .map((s) => s.logicalId)
      .sort();
    const named = [...JSON.stringify(proxy.Properties.DBProxyName).matchAll(/"Ref":"([A-Za-z0-9]+)"/g)].map((m) => m[1]).sort();
    expect(named).toEqual(subnets);
    expect(proxy.Properties.VpcSubnetIds.map((s: Json) => s.Ref).sort()).toEqual(subnets);
    const target = onlyResource(dev.json.data, 'AWS::RDS::DBProxyTargetGroup');
    expect(target.Properties.DBInstanceIdentifiers).toEqual([{ Ref: db(dev).logicalId }]);
  });
});

describe('key ring and stateful resources', () => {
  it('uses a customer-managed KMS key with rotation on, retained', () => {
    const key = onlyResource(dev.json.data, 'AWS::KMS::Key');
    expect(key.Properties.EnableKeyRotation).toBe(true);
    expect(key.Properties.KeySpec ?? 'SYMMETRIC_DEFAULT').toBe('SYMMETRIC_DEFAULT');
    expect(key.DeletionPolicy).toBe('Retain');
  });

  it('encrypts the ring secret with that key, retains it, and fills it at deploy through the initializer', () => {
    const key = onlyResource(dev.json.data, 'AWS::KMS::Key');
    const ring = resources(dev.json.data, 'AWS::SecretsManager::Secret').filter((s) => s.Properties.KmsKeyId);
    expect(ring).toHaveLength(1);
    expect(ring[0]!.Properties.KmsKeyId).toEqual({ 'Fn::GetAtt': [key.logicalId, 'Arn'] });
    expect(ring[0]!.DeletionPolicy).toBe('Retain');
    const init = onlyResource(dev.json.data, 'Custom::KeyRingInitialization');
    expect(init.DeletionPolicy).toBe('Retain');
    expect(init.DependsOn).toEqual(expect.arrayContaining([ring[0]!.logicalId, key.logicalId]));
  });

  it('retains the user pool (which maps token subjects to users), its client and admin group, and protects the pool from deletion', () => {
    const pool = onlyResource(dev.json.data, 'AWS::Cognito::UserPool');
    expect(pool.DeletionPolicy).toBe('Retain');
    expect(pool.Properties.DeletionProtection).toBe('ACTIVE');
    const group = onlyResource(dev.json.data, 'AWS::Cognito::UserPoolGroup');
    expect(group.Properties.GroupName).toBe('admin');
    expect(group.DeletionPolicy).toBe('Retain');
    expect(onlyResource(dev.json.data, 'AWS::Cognito::UserPoolClient').DeletionPolicy).toBe('Retain');
  });

  it('turns on termination protection for the data stack (only)', () => {
    // In the cloud assembly, which is what `cdk deploy` sets on the stacks.
    for (const s of [dev, prod]) {
      expect(stackArtifact(s, 'data').properties.terminationProtection).toBe(true);
      expect(stackArtifact(s, 'api').properties.terminationProtection ?? false).toBe(false);
    }
  });

  it('needs no account or region: both stacks are environment-agnostic', () => {
    for (const stack of ['data', 'api'] as const) {
      expect(stackArtifact(dev, stack).environment).toBe('aws://unknown-account/unknown-region');
    }
  });
});
