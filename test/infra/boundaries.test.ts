/**
 * Issue 22, item 7: the account is not the only boundary. The ring's KMS key decrypts and its
 * secret is read or written only by the vault's own roles (the API stack's function roles, the
 * initializer, a named break-glass role), whatever IAM policies other roles of the account hold;
 * the VPC endpoints let through only this account's principals, on this account's resources.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { breakGlassRoleName, stackNames } from '../../infra/config.js';
import {
  actionsOf,
  type Json,
  onlyResource,
  resource,
  resources,
  resourcesOf,
  type Statement,
  type Synthesized,
  statementsOfRole,
  synthesized,
} from './support/synth.js';

let dev: Synthesized;
let prod: Synthesized;
let checks: Synthesized;
beforeAll(async () => {
  dev = await synthesized('dev');
  prod = await synthesized('prodSmall');
  checks = await synthesized('exchangeChecks');
});

const roleArn = (name: string): Json => ({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, `:role/${name}`]] });
const stageOf = (synth: Synthesized): string => synth.stackNames.data.replace(/^vault-|-data$/g, '');
const ringKey = (synth: Synthesized) => onlyResource(synth.json.data, 'AWS::KMS::Key');
const ringSecretId = (synth: Synthesized): string =>
  resources(synth.json.data, 'AWS::SecretsManager::Secret').find((s) => JSON.stringify(s.Properties.Description).includes('key ring'))!.logicalId;
const initializerRole = (synth: Synthesized): string =>
  resources(synth.json.data, 'AWS::Lambda::Function').find((fn) => String(fn.Properties.Description).startsWith('Deploy-time: writes the first'))!.Properties
    .Role['Fn::GetAtt'][0];

/** Who the ring admits: the API stack's function roles by path, the break-glass role, the initializer. */
const admitted = (synth: Synthesized): Json[] => [
  roleArn(`${stackNames(stageOf(synth)).api}/*`),
  roleArn(breakGlassRoleName(stageOf(synth))),
  { 'Fn::GetAtt': [initializerRole(synth), 'Arn'] },
];

describe.each([
  ['the default stage', () => dev],
  ['a prod stage', () => prod],
  ['a stage with exchange checks (a Lambda endpoint too)', () => checks],
])('%s', (_, synth) => {
  it("denies kms:Decrypt with the ring's key to every principal but the vault's roles", () => {
    const denies = (ringKey(synth()).Properties.KeyPolicy.Statement as Statement[]).filter((s) => s.Effect === 'Deny');
    expect(denies).toEqual([
      {
        Sid: 'DecryptOnlyByTheVaultsRoles',
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: ['kms:Decrypt', 'kms:ReEncryptFrom'],
        Resource: '*',
        Condition: { ArnNotLike: { 'aws:PrincipalArn': admitted(synth()) } },
      },
    ]);
  });

  it("denies reading and writing the ring secret to every principal but the vault's roles (its resource policy)", () => {
    const secretPolicies = resources(synth().json.data, 'AWS::SecretsManager::ResourcePolicy').filter(
      (p) => p.Properties.SecretId.Ref === ringSecretId(synth()),
    );
    expect(secretPolicies).toHaveLength(1);
    const policy = secretPolicies[0]!;
    expect(policy.Properties.ResourcePolicy.Statement).toEqual([
      {
        Sid: 'ReadAndWriteOnlyByTheVaultsRoles',
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: ['secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue', 'secretsmanager:UpdateSecretVersionStage'],
        Resource: '*',
        Condition: { ArnNotLike: { 'aws:PrincipalArn': admitted(synth()) } },
      },
    ]);
  });

  it('gives every API role that may read the ring the path the key and the secret admit', () => {
    const path = `/${stackNames(stageOf(synth())).api}/`;
    const api = synth().json.api;
    // The ring secret's ARN, as the API stack reads it from the data stack's SSM parameter.
    const isRingSecret = (r: Json): boolean => String(api.Parameters?.[r?.Ref]?.Default).endsWith('/key-ring-secret-arn');
    const readers = resources(api, 'AWS::IAM::Role').filter((role) =>
      statementsOfRole(api, role.logicalId).some((s) => actionsOf(s).includes('secretsmanager:GetSecretValue') && resourcesOf(s).some(isRingSecret)),
    );
    // register, replace, key maintenance and open-api-key at least.
    expect(readers.length).toBeGreaterThanOrEqual(4);
    for (const role of readers) expect({ role: role.logicalId, path: role.Properties.Path }).toEqual({ role: role.logicalId, path });
    expect(resource(synth().json.data, initializerRole(synth())).Type).toBe('AWS::IAM::Role');
  });

  it("lets through each VPC endpoint only this account's principals, on this account's resources", () => {
    const endpoints = resources(synth().json.data, 'AWS::EC2::VPCEndpoint');
    expect(endpoints.length).toBeGreaterThanOrEqual(2);
    for (const endpoint of endpoints) {
      const statements = endpoint.Properties.PolicyDocument?.Statement as Statement[] | undefined;
      expect({ endpoint: endpoint.logicalId, hasPolicy: (statements ?? []).length > 0 }).toEqual({ endpoint: endpoint.logicalId, hasPolicy: true });
      for (const statement of statements!) {
        expect(statement.Effect).toBe('Allow');
        expect(statement.Condition).toEqual({ StringEquals: { 'aws:PrincipalAccount': { Ref: 'AWS::AccountId' } } });
        for (const r of resourcesOf(statement)) {
          if (r === '*') {
            // Only actions that take no resource.
            expect(actionsOf(statement)).toEqual(['secretsmanager:GetRandomPassword']);
            continue;
          }
          const parts = r['Fn::Join'][1] as Json[];
          expect(parts).toContainEqual({ Ref: 'AWS::AccountId' });
          expect(parts).toContainEqual({ Ref: 'AWS::Region' });
        }
        expect(actionsOf(statement).every((a) => a !== '*')).toBe(true);
      }
    }
  });
});
