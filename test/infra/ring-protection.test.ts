/**
 * Issue 22, item 2: no template change can overwrite the live key ring. CloudFormation writes a new
 * current version of a secret whenever its generator settings change, so what it sees is frozen here
 * as literals, and the data stack's stack policy (applied by the deploy workflow) refuses any update
 * of the ring secret.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { stackNames } from '../../infra/config.js';
import { REPO_ROOT } from '../../infra/paths.js';
import { isRingPlaceholder } from '../../shared/crypto/ring-document.js';
import { type Json, resource, resources, type Synthesized, synthesized } from './support/synth.js';

const POLICY_FILE = 'infra/stack-policies/data.json';
const policy = JSON.parse(readFileSync(`${REPO_ROOT}${POLICY_FILE}`, 'utf8')) as { Statement: Json[] };
const workflow = readFileSync(`${REPO_ROOT}.github/workflows/deploy.yml`, 'utf8');

let dev: Synthesized;
let prod: Synthesized;
beforeAll(async () => {
  dev = await synthesized('dev');
  prod = await synthesized('prodSmall');
});

const ringSecret = (synth: Synthesized) => {
  const [secret, ...others] = resources(synth.json.data, 'AWS::SecretsManager::Secret').filter((s) =>
    JSON.stringify(s.Properties.Description).includes('key ring'),
  );
  if (!secret || others.length > 0) throw new Error('expected exactly one ring secret');
  return secret;
};

const asList = (value: string | string[]): string[] => (Array.isArray(value) ? value : [value]);
const statementsFor = (logicalId: string, effect: 'Allow' | 'Deny'): Json[] =>
  policy.Statement.filter((s) => s.Effect === effect && asList(s.Resource).some((r) => r === `LogicalResourceId/${logicalId}` || r === '*'));

describe.each([
  ['the default stage', () => dev],
  ['a prod stage', () => prod],
])('%s', (_, synth) => {
  it("freezes the ring secret's generator settings as literals (a change would write the placeholder over the ring)", () => {
    expect(ringSecret(synth()).Properties.GenerateSecretString).toEqual({
      SecretStringTemplate: '{"state":"uninitialized"}',
      GenerateStringKey: 'placeholder',
      PasswordLength: 8,
      ExcludePunctuation: true,
    });
  });

  it("freezes the database secrets' generator settings, excluded characters written out", () => {
    const secrets = resources(synth().json.data, 'AWS::SecretsManager::Secret').filter(
      (s) => s.Properties.GenerateSecretString?.GenerateStringKey === 'password',
    );
    expect(secrets.map((s) => s.logicalId).sort()).toEqual([
      'DatabaseAppSecret2E50FD00',
      'DatabaseEngineSecretA1CC2284',
      'DatabaseMasterSecretC5C2A01F',
      'DatabaseReaderSecretE0C0B0A4',
    ]);
    for (const secret of secrets) {
      const { SecretStringTemplate, ...settings } = secret.Properties.GenerateSecretString;
      expect(Object.keys(JSON.parse(SecretStringTemplate))).toEqual(['username']);
      expect(settings).toEqual({ GenerateStringKey: 'password', PasswordLength: 30, ExcludeCharacters: ' %+~`#$&*()|[]{}:;<>?!\'/@"\\' });
    }
  });

  it('has a stack policy that refuses every update of the ring secret and replacing the ring key or the database, and allows the rest', () => {
    const secret = ringSecret(synth()).logicalId;
    expect(statementsFor(secret, 'Deny')).toEqual([{ Effect: 'Deny', Principal: '*', Action: 'Update:*', Resource: `LogicalResourceId/${secret}` }]);
    for (const [logicalId, type] of [
      ['KeyRingKey92F48230', 'AWS::KMS::Key'],
      ['DatabaseInstanceAA8A5FDE', 'AWS::RDS::DBInstance'],
    ]) {
      expect(resource(synth().json.data, logicalId!).Type).toBe(type);
      expect(
        statementsFor(logicalId!, 'Deny')
          .flatMap((s) => asList(s.Action))
          .sort(),
      ).toEqual(['Update:Delete', 'Update:Replace']);
    }
    expect(policy.Statement.filter((s) => s.Effect === 'Allow')).toEqual([{ Effect: 'Allow', Principal: '*', Action: 'Update:*', Resource: '*' }]);
    // Every resource the policy names exists in the template: a renamed construct would leave it protecting nothing.
    const named = policy.Statement.flatMap((s) => asList(s.Resource)).filter((r) => r !== '*');
    for (const r of named) expect(synth().json.data.Resources[r.replace('LogicalResourceId/', '')]).toBeDefined();
  });
});

it('the frozen ring template is still the placeholder the initializer recognises (shared/crypto/ring-document.ts)', () => {
  const generated = { ...JSON.parse(ringSecret(dev).Properties.GenerateSecretString.SecretStringTemplate), placeholder: 'Zx8rT2qP' };
  expect(isRingPlaceholder(JSON.stringify(generated))).toBe(true);
});

it('the deploy workflow sets that stack policy on the data stack before the deploy (when the stack exists) and after it', () => {
  const data = stackNames('$STAGE').data;
  const setPolicy = `aws cloudformation set-stack-policy --stack-name "${data}" --stack-policy-body file://${POLICY_FILE}`;
  const lines = workflow.split('\n');
  const deploy = lines.findIndex((line) => line.includes('npx cdk deploy'));
  const sets = lines.flatMap((line, i) => (line.includes(setPolicy) ? [i] : []));
  expect(deploy).toBeGreaterThan(0);
  expect(sets.filter((i) => i < deploy)).toHaveLength(1);
  expect(sets.filter((i) => i > deploy)).toHaveLength(1);
});
