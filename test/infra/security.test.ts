import { beforeAll, describe, expect, it } from '@jest/globals';
import { ENGINE_FUNCTIONS } from '../../infra/constructs/engine-functions.js';
import { kmsEncryptionContext, ringDocument } from '../../shared/crypto/ring-document.js';
import { DEPLOYMENT_VARIABLE } from '../../shared/metrics.js';
import { routes } from '../../shared/routes.js';
import {
  actionsOf,
  functionsByName,
  type Json,
  onlyResource,
  publishedLogicalId,
  type Resource,
  referencedLogicalId,
  resources,
  resourcesOf,
  roleOfFunction,
  type Statement,
  type Synthesized,
  statementsOfFunction,
  statementsOfRole,
  synthesized,
} from './support/synth.js';

/** The only functions that may ever hold the key ring (issue 4, point 6; open-api-key: issue 10). */
const RING_READERS = ['register-api-key', 'replace-api-key', 'check-api-key', 'key-maintenance', 'open-api-key'];
/** The trading engine's functions: each logs in as vault_engine. */
const ENGINE: readonly string[] = ENGINE_FUNCTIONS.map((spec) => spec.name);
const ALL_FUNCTIONS = [...routes.map((r) => r.name), 'key-maintenance', 'migrate', ...ENGINE];
/** The only function that logs in as the master user, and the only one that reads the login roles' secrets. */
const MIGRATE = 'migrate';
/** The routes that log in as the SELECT-only vault_reader. */
const READ_ONLY: readonly string[] = routes.filter((r) => r.access === 'read').map((r) => r.name);
const PURPOSE = kmsEncryptionContext('x').purpose;

let synth: Synthesized;
let fns: Record<string, Resource>;
let ringSecretId: string;
let ringKeyId: string;
let appSecretId: string;
let readerSecretId: string;
let engineSecretId: string;
let masterSecretId: string;

const isKeyOrSecretAction = (action: string): boolean => /^(kms|secretsmanager):/i.test(action);
const touchesRing = (s: Statement): boolean =>
  resourcesOf(s).some((r) => {
    const id = referencedLogicalId(synth.json, r);
    return id === ringSecretId || id === ringKeyId;
  });

/** Every role in both stacks with its statements. */
const allRoles = (): { stack: 'data' | 'api'; roleId: string; statements: Statement[] }[] =>
  (['data', 'api'] as const).flatMap((stack) =>
    resources(synth.json[stack], 'AWS::IAM::Role').map((role) => ({
      stack,
      roleId: role.logicalId,
      statements: statementsOfRole(synth.json[stack], role.logicalId),
    })),
  );

const roleOf = (name: string): string => roleOfFunction(fns[name]!);

beforeAll(async () => {
  synth = await synthesized('dev');
  fns = functionsByName(synth.json.api);
  ringKeyId = onlyResource(synth.json.data, 'AWS::KMS::Key').logicalId;
  ringSecretId = resources(synth.json.data, 'AWS::SecretsManager::Secret').find((s) => s.Properties.KmsKeyId?.['Fn::GetAtt']?.[0] === ringKeyId)!.logicalId;
  const databaseSecret = (user: string): string =>
    resources(synth.json.data, 'AWS::SecretsManager::Secret').find(
      (s) => s.Properties.GenerateSecretString?.SecretStringTemplate === JSON.stringify({ username: user }),
    )!.logicalId;
  appSecretId = databaseSecret('vault_app');
  readerSecretId = databaseSecret('vault_reader');
  engineSecretId = databaseSecret('vault_engine');
  masterSecretId = databaseSecret('vault_admin');
});

describe('grants per function', () => {
  it('finds every function of the API stack by name', () => {
    expect(Object.keys(fns).sort()).toEqual([...ALL_FUNCTIONS].sort());
  });

  it.each(ALL_FUNCTIONS.filter((n) => !RING_READERS.includes(n) && n !== MIGRATE))('%s has no Secrets Manager or KMS permission at all', (name) => {
    const actions = statementsOfFunction(synth.json.api, fns[name]!).flatMap(actionsOf);
    expect(actions.filter(isKeyOrSecretAction)).toEqual([]);
    expect(Object.keys(fns[name]!.Properties.Environment.Variables)).not.toEqual(expect.arrayContaining(['KEY_RING_SECRET_ARN']));
  });

  it.each(RING_READERS)('%s may read the ring secret and unwrap ring entries, only under the ring encryption context', (name) => {
    const statements = statementsOfFunction(synth.json.api, fns[name]!);
    const read = statements.find((s) => actionsOf(s).includes('secretsmanager:GetSecretValue'));
    expect(read && resourcesOf(read).map((r) => referencedLogicalId(synth.json, r))).toEqual([ringSecretId]);

    const decrypts = statements.filter((s) => actionsOf(s).includes('kms:Decrypt'));
    expect(decrypts.length).toBe(2);
    for (const s of decrypts) expect(resourcesOf(s).map((r) => referencedLogicalId(synth.json, r))).toEqual([ringKeyId]);
    // One through Secrets Manager for this secret only, one for blobs wrapped under the ring's purpose.
    const conditions = decrypts.map((s) => s.Condition?.StringEquals ?? {});
    expect(conditions).toContainEqual(expect.objectContaining({ 'kms:ViaService': expect.anything(), 'kms:EncryptionContext:SecretARN': expect.anything() }));
    expect(conditions).toContainEqual({ 'kms:EncryptionContext:purpose': PURPOSE });
    expect(referencedLogicalId(synth.json, fns[name]!.Properties.Environment.Variables.KEY_RING_SECRET_ARN)).toBe(ringSecretId);
  });

  it("migrate may read the app, reader and engine roles' secrets (to set their passwords) and no other secret or key", () => {
    const statements = statementsOfFunction(synth.json.api, fns[MIGRATE]!).filter((s) => actionsOf(s).some(isKeyOrSecretAction));
    expect([...new Set(statements.flatMap(actionsOf))].sort()).toEqual(['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue']);
    expect(
      statements
        .flatMap(resourcesOf)
        .map((r) => referencedLogicalId(synth.json, r))
        .sort(),
    ).toEqual([appSecretId, readerSecretId, engineSecretId].sort());
    const env = fns[MIGRATE]!.Properties.Environment.Variables;
    expect(referencedLogicalId(synth.json, env.DB_APP_SECRET_ARN)).toBe(appSecretId);
    expect(referencedLogicalId(synth.json, env.DB_READER_SECRET_ARN)).toBe(readerSecretId);
    expect(referencedLogicalId(synth.json, env.DB_ENGINE_SECRET_ARN)).toBe(engineSecretId);
    for (const name of ALL_FUNCTIONS.filter((n) => n !== MIGRATE)) {
      expect(fns[name]!.Properties.Environment.Variables.DB_APP_SECRET_ARN).toBeUndefined();
      expect(fns[name]!.Properties.Environment.Variables.DB_READER_SECRET_ARN).toBeUndefined();
      expect(fns[name]!.Properties.Environment.Variables.DB_ENGINE_SECRET_ARN).toBeUndefined();
    }
  });

  it.each(['vault_app', 'vault_reader'])('across both stacks, only the proxy and migrate can read the %s secret', (user) => {
    const secretId = user === 'vault_app' ? appSecretId : readerSecretId;
    const proxyRole = onlyResource(synth.json.data, 'AWS::RDS::DBProxy').Properties.RoleArn['Fn::GetAtt'][0];
    const readers = allRoles()
      .filter((r) =>
        r.statements.some(
          (s) => actionsOf(s).includes('secretsmanager:GetSecretValue') && resourcesOf(s).some((res) => referencedLogicalId(synth.json, res) === secretId),
        ),
      )
      .map((r) => r.roleId)
      .sort();
    expect(readers).toEqual([proxyRole, roleOf(MIGRATE)].sort());
    expect(
      resources(synth.json.data, 'AWS::SecretsManager::ResourcePolicy').filter((p) => referencedLogicalId(synth.json, p.Properties.SecretId) === secretId),
    ).toEqual([]);
  });

  it('the proxy may read the three database secrets and nothing else', () => {
    const proxyRole = onlyResource(synth.json.data, 'AWS::RDS::DBProxy').Properties.RoleArn['Fn::GetAtt'][0];
    const statements = statementsOfRole(synth.json.data, proxyRole);
    expect(statements.flatMap(actionsOf).filter((a) => !/^secretsmanager:(GetSecretValue|DescribeSecret)$/.test(a))).toEqual([]);
    // The master secret as the instance's attachment names it (its Ref is the secret's ARN).
    const masterAttachment = onlyResource(synth.json.data, 'AWS::SecretsManager::SecretTargetAttachment');
    expect(masterAttachment.Properties.SecretId).toEqual({ Ref: masterSecretId });
    expect(
      statements
        .flatMap(resourcesOf)
        .map((r) => referencedLogicalId(synth.json, r))
        .sort(),
    ).toEqual([masterAttachment.logicalId, appSecretId, readerSecretId, engineSecretId].sort());
  });

  it('only key-maintenance may write the ring and generate new wrapped keys', () => {
    const writers = allRoles()
      .filter((r) => r.stack === 'api')
      .filter((r) => r.statements.some((s) => actionsOf(s).some((a) => /PutSecretValue|GenerateDataKey/.test(a))))
      .map((r) => r.roleId);
    expect(writers).toEqual([roleOf('key-maintenance')]);
    const env = fns['key-maintenance']!.Properties.Environment.Variables;
    expect(referencedLogicalId(synth.json, env.KEY_RING_KMS_KEY_ID)).toBe(ringKeyId);
    expect(fns['register-api-key']!.Properties.Environment.Variables.KEY_RING_KMS_KEY_ID).toBeUndefined();
  });

  it('across both stacks, only register-api-key, replace-api-key, check-api-key, key-maintenance and open-api-key can read the ring secret or decrypt with the ring key (and the initializer, its placeholder)', () => {
    const readers = allRoles()
      .filter((r) => r.statements.some((s) => touchesRing(s) && actionsOf(s).some((a) => a === 'secretsmanager:GetSecretValue' || a === 'kms:Decrypt')))
      .map((r) => r.roleId)
      .sort();
    // The deploy-time initializer reads the value only to refuse to overwrite anything but the
    // placeholder (issue 14, point 12); its own test below shows it can unwrap no entry.
    const initializer = resources(synth.json.data, 'AWS::Lambda::Function').find((f) => f.logicalId.startsWith('KeyRingInitializer'))!;
    expect(readers).toEqual([...RING_READERS.map(roleOf), roleOfFunction(initializer)].sort());
  });

  it('the deploy-time ring initializer may read the secret (to see it is still the placeholder) and write it, but never unwrap an entry', () => {
    const initializer = resources(synth.json.data, 'AWS::Lambda::Function').find((f) => f.logicalId.startsWith('KeyRingInitializer'))!;
    const statements = statementsOfRole(synth.json.data, roleOfFunction(initializer));
    const actions = statements.flatMap(actionsOf).sort();
    expect(actions).toEqual(
      [
        'kms:Decrypt',
        'kms:GenerateDataKey',
        'kms:GenerateDataKeyWithoutPlaintext',
        'secretsmanager:GetSecretValue',
        'secretsmanager:PutSecretValue',
        'secretsmanager:UpdateSecretVersionStage',
      ].sort(),
    );
    const direct = statements.find((s) => actionsOf(s).includes('kms:GenerateDataKeyWithoutPlaintext'))!;
    expect(direct.Condition).toEqual({ StringEquals: { 'kms:EncryptionContext:purpose': PURPOSE } });
    // Decrypt only as Secrets Manager's decryption of this secret: a wrapped entry never unwraps.
    const viaSecretsManager = statements.find((s) => actionsOf(s).includes('kms:Decrypt'))!;
    expect(actionsOf(viaSecretsManager).sort()).toEqual(['kms:Decrypt', 'kms:GenerateDataKey']);
    expect(Object.keys(viaSecretsManager.Condition.StringEquals).sort()).toEqual(['kms:EncryptionContext:SecretARN', 'kms:ViaService']);
  });

  it('every function that uses the database may connect as one user through the proxy, and nothing else may', () => {
    const proxyId = onlyResource(synth.json.data, 'AWS::RDS::DBProxy').logicalId;
    const connectors = allRoles().filter((r) => r.statements.some((s) => actionsOf(s).includes('rds-db:connect')));
    expect(connectors.map((r) => r.roleId).sort()).toEqual(ALL_FUNCTIONS.map(roleOf).sort());
    for (const { statements } of connectors) {
      const connect = statements.filter((s) => actionsOf(s).includes('rds-db:connect'));
      expect(connect).toHaveLength(1);
      expect(resourcesOf(connect[0]!)).toHaveLength(1);
      const text = JSON.stringify(connect[0]!.Resource);
      expect(text).toContain(':dbuser:');
      expect(text).not.toContain('*');
      // The proxy's resource id, cut from its ARN (which the API stack reads from the data stack's parameter).
      const proxyArn = (connect[0]!.Resource['Fn::Join'][1] as Json[]).find((part) => part['Fn::Select'])['Fn::Select'][1]['Fn::Split'][1];
      expect(referencedLogicalId(synth.json, proxyArn)).toBe(proxyId);
    }
  });

  it('the read-only routes are the GET routes', () => {
    expect([...READ_ONLY].sort()).toEqual(
      routes
        .filter((r) => r.method === 'GET')
        .map((r) => r.name)
        .sort(),
    );
    expect(READ_ONLY.length).toBeGreaterThan(0);
  });

  it.each(ALL_FUNCTIONS)(
    '%s logs in as the user it may connect as: the master user for migrate only, vault_reader for read-only routes, vault_engine for the engine functions, vault_app for every other',
    (name) => {
      const user = name === MIGRATE ? 'vault_admin' : READ_ONLY.includes(name) ? 'vault_reader' : ENGINE.includes(name) ? 'vault_engine' : 'vault_app';
      expect(fns[name]!.Properties.Environment.Variables.DB_USER).toBe(user);
      const [connect] = statementsOfFunction(synth.json.api, fns[name]!).filter((s) => actionsOf(s).includes('rds-db:connect'));
      const arn = connect!.Resource['Fn::Join'][1] as Json[];
      // arn:<partition>:rds-db:<region>:<account>:dbuser:<the proxy's resource id>/<user>
      expect(arn.at(-1)).toBe(`/${user}`);
      expect(arn.at(-3)).toBe(':dbuser:');
      expect(arn.at(-2)['Fn::Select'][0]).toBe(6);
    },
  );
});

describe('no wildcard on secrets or keys', () => {
  it('no Secrets Manager or KMS statement in either stack has a * resource or a * action', () => {
    const offending = allRoles().flatMap((r) =>
      r.statements
        .filter((s) => actionsOf(s).some(isKeyOrSecretAction))
        .filter((s) => actionsOf(s).some((a) => a.includes('*')) || resourcesOf(s).some((res) => JSON.stringify(res).includes('*')))
        .map((s) => `${r.roleId}: ${JSON.stringify(s)}`),
    );
    expect(offending).toEqual([]);
  });

  it('no resource policy opens the ring secret or the key to another principal (they only deny: boundaries.test.ts)', () => {
    const secretStatements = resources(synth.json.data, 'AWS::SecretsManager::ResourcePolicy')
      .filter((p) => referencedLogicalId(synth.json, p.Properties.SecretId) === ringSecretId)
      .flatMap((p) => p.Properties.ResourcePolicy.Statement as Json[]);
    expect(secretStatements.length).toBeGreaterThan(0);
    expect(secretStatements.filter((s) => s.Effect !== 'Deny')).toEqual([]);
    const keyPolicy = onlyResource(synth.json.data, 'AWS::KMS::Key').Properties.KeyPolicy;
    // What it allows, it allows the account itself (so the IAM policies above decide), directly or through
    // Secrets Manager: no service principal, no other account, no role of its own. ("Resource": "*" in a key policy means this key.)
    const principals = new Set(keyPolicy.Statement.filter((s: Json) => s.Effect === 'Allow').map((s: Json) => JSON.stringify(s.Principal)));
    expect([...principals]).toEqual([
      JSON.stringify({ AWS: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':root']] } }),
    ]);
  });
});

describe('no plaintext key in the synthesized templates', () => {
  const KEY_LIKE = [
    // 32 bytes in base64 (an AES-256 key), standing alone.
    /(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{43}=(?![A-Za-z0-9+/=])/,
    // 16 bytes (AES-128, as a seed key may be).
    /(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{22}==(?![A-Za-z0-9+/=])/,
    // 32 bytes in hex as a whole JSON string.
    /"[0-9a-fA-F]{64}"/,
    /SYMMETRIC_KEY/,
  ];

  it.each(['data', 'api'] as const)('the %s template holds no key-shaped value and no SYMMETRIC_KEY', (stack) => {
    const text = JSON.stringify(synth.json[stack]);
    for (const pattern of KEY_LIKE) expect(text.match(pattern)?.[0]).toBeUndefined();
  });

  it('the ring secret starts as a generated placeholder that is not a ring, never as a literal value', () => {
    const secret = synth.json.data.Resources[ringSecretId];
    expect(secret.Properties.SecretString).toBeUndefined();
    const template = secret.Properties.GenerateSecretString.SecretStringTemplate;
    expect(ringDocument.safeParse(JSON.parse(template)).success).toBe(false);
  });

  it('the only secret values the templates name are deploy-time references to the generated master secret', () => {
    expect(JSON.stringify(synth.json.api)).not.toContain('{{resolve:');
    const db = onlyResource(synth.json.data, 'AWS::RDS::DBInstance');
    const masterSecret = db.Properties.MasterUserPassword['Fn::Join'][1][1].Ref;
    expect(synth.json.data.Resources[masterSecret].Properties.GenerateSecretString).toBeDefined();
    const references = JSON.stringify(synth.json.data).match(/\{\{resolve:[a-z-]+:"?,?\{?"?Ref"?:?"?[A-Za-z0-9]*/g) ?? [];
    const dbReferences = JSON.stringify(db).match(/\{\{resolve:[a-z-]+:"?,?\{?"?Ref"?:?"?[A-Za-z0-9]*/g) ?? [];
    expect(references).toEqual(dbReferences);
    expect(dbReferences.length).toBe(2);
    for (const reference of dbReferences) expect(reference).toContain(masterSecret);
  });

  it('functions get configuration, never secrets, through their environment', () => {
    const allowed = [
      'POWERTOOLS_SERVICE_NAME',
      'POWERTOOLS_LOG_LEVEL',
      DEPLOYMENT_VARIABLE,
      'DB_HOST',
      'DB_PORT',
      'DB_NAME',
      'DB_USER',
      'DB_APP_SECRET_ARN',
      'DB_READER_SECRET_ARN',
      'DB_ENGINE_SECRET_ARN',
      'KEY_RING_SECRET_ARN',
      'KEY_RING_KMS_KEY_ID',
    ];
    // Ours, not aws-cdk-lib's custom-resource providers (the Provider framework names its handler's ARN).
    const lambdas = [...resources(synth.json.api, 'AWS::Lambda::Function'), ...resources(synth.json.data, 'AWS::Lambda::Function')].filter(
      (fn) => !/framework|CustomResourceProvider/.test(fn.logicalId),
    );
    expect(lambdas).toHaveLength(ALL_FUNCTIONS.length + 1);
    for (const fn of lambdas) {
      const variables = Object.keys(fn.Properties.Environment?.Variables ?? {});
      expect(variables.filter((v) => !allowed.includes(v))).toEqual([]);
    }
  });

  it("no template takes a parameter a key could be passed in: the API stack only names the data stack's own SSM parameters", () => {
    expect(Object.keys(synth.json.data.Parameters ?? {})).toEqual(['BootstrapVersion']);
    const apiParameters = Object.entries(synth.json.api.Parameters as Record<string, Json>).filter(([name]) => name !== 'BootstrapVersion');
    expect(apiParameters.length).toBeGreaterThan(0);
    for (const [name, parameter] of apiParameters) {
      expect({ name, type: parameter.Type }).toEqual({ name, type: 'AWS::SSM::Parameter::Value<String>' });
      // Written by the data stack from one of its resources, never a literal.
      expect(publishedLogicalId(synth.json.data, parameter.Default)).toEqual(expect.any(String));
    }
  });

  it('the ring initializer custom resource is given only the secret and key ARNs', () => {
    const init = onlyResource(synth.json.data, 'Custom::KeyRingInitialization');
    expect(Object.keys(init.Properties).sort()).toEqual(['KeyArn', 'SecretArn', 'ServiceToken']);
    expect(init.Properties.SecretArn).toEqual({ Ref: ringSecretId });
    expect(init.Properties.KeyArn).toEqual({ 'Fn::GetAtt': [ringKeyId, 'Arn'] });
  });
});
