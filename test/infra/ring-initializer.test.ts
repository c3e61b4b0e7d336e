import { randomBytes } from 'node:crypto';
import { GenerateDataKeyWithoutPlaintextCommand, KMSClient } from '@aws-sdk/client-kms';
import { GetSecretValueCommand, PutSecretValueCommand, SecretsManagerClient, UpdateSecretVersionStageCommand } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { handler } from '../../infra/resources/ring-initializer.js';
import { kmsEncryptionContext, RING_PLACEHOLDER, ringDocument } from '../../shared/crypto/ring-document.js';
import { PENDING_STAGE } from '../../shared/crypto/secrets-ring-store.js';

const kms = mockClient(KMSClient);
const secrets = mockClient(SecretsManagerClient);

const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:KeyRingSecret-AbCdEf';
const OTHER_SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:KeyRingSecret-XyZ123';
const KEY_ARN = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const REQUEST_ID = 'b1a4c1d2-0f7e-4f0c-9d8e-2b9a3f1e6c55';
const BLOB = randomBytes(184);

const base = {
  ServiceToken: 'arn:aws:lambda:eu-west-1:111122223333:function:provider',
  ResponseURL: 'https://cloudformation-custom-resource-response.example/',
  StackId: 'arn:aws:cloudformation:eu-west-1:111122223333:stack/vault-dev-data/abc',
  RequestId: REQUEST_ID,
  LogicalResourceId: 'KeyRingInitialization',
  ResourceType: 'Custom::KeyRingInitialization',
};
const props = (secretArn = SECRET_ARN) => ({ ServiceToken: base.ServiceToken, SecretArn: secretArn, KeyArn: KEY_ARN });
const create = (): CloudFormationCustomResourceEvent => ({ ...base, RequestType: 'Create', ResourceProperties: props() });
const update = (secretArn: string): CloudFormationCustomResourceEvent => ({
  ...base,
  RequestType: 'Update',
  PhysicalResourceId: SECRET_ARN,
  ResourceProperties: props(secretArn),
  OldResourceProperties: props(),
});
const remove = (): CloudFormationCustomResourceEvent => ({ ...base, RequestType: 'Delete', PhysicalResourceId: SECRET_ARN, ResourceProperties: props() });

const PLACEHOLDER_VERSION = 'v-placeholder';
/** The secret's current value, as GetSecretValue returns it. */
const holding = (text: string, versionId = PLACEHOLDER_VERSION) =>
  secrets.on(GetSecretValueCommand).resolves({ ARN: SECRET_ARN, VersionId: versionId, SecretString: text });
const placeholder = () => holding(JSON.stringify({ ...RING_PLACEHOLDER, placeholder: 'Zx8rT2qP' }));
const aRing = () => JSON.stringify({ primary: 'k1', keys: { k1: { kms: randomBytes(184).toString('base64') } } });

let logged: string[];
const originalLog = console.log;

beforeEach(() => {
  kms.reset();
  secrets.reset();
  kms.on(GenerateDataKeyWithoutPlaintextCommand).resolves({ CiphertextBlob: BLOB, KeyId: KEY_ARN });
  secrets.on(PutSecretValueCommand).resolves({ VersionId: 'v1' });
  secrets.on(UpdateSecretVersionStageCommand).resolves({ ARN: SECRET_ARN });
  logged = [];
  console.log = (...args: unknown[]) => {
    logged.push(args.map(String).join(' '));
  };
});

afterAll(() => {
  console.log = originalLog;
});

describe('ring initializer', () => {
  it('on Create, wraps a fresh AES-256 key under the ring encryption context and writes a one-key ring over the placeholder', async () => {
    placeholder();
    const response = await handler(create());

    const generate = kms.commandCalls(GenerateDataKeyWithoutPlaintextCommand);
    expect(generate).toHaveLength(1);
    const kid = generate[0]!.args[0].input.EncryptionContext!.kid!;
    expect(generate[0]!.args[0].input).toEqual({ KeyId: KEY_ARN, KeySpec: 'AES_256', EncryptionContext: kmsEncryptionContext(kid) });

    const put = secrets.commandCalls(PutSecretValueCommand);
    expect(put).toHaveLength(1);
    expect(put[0]!.args[0].input.SecretId).toBe(SECRET_ARN);
    expect(put[0]!.args[0].input.VersionStages).toEqual([PENDING_STAGE]);
    // Compare-and-set: AWSCURRENT moves only off the placeholder version that was read.
    expect(secrets.commandCalls(UpdateSecretVersionStageCommand).map((call) => call.args[0].input)).toEqual([
      { SecretId: SECRET_ARN, VersionStage: 'AWSCURRENT', MoveToVersionId: 'v1', RemoveFromVersionId: PLACEHOLDER_VERSION },
    ]);
    const ring = ringDocument.parse(JSON.parse(put[0]!.args[0].input.SecretString!));
    expect(ring).toEqual({ primary: kid, keys: { [kid]: { kms: BLOB.toString('base64') } } });

    expect(response).toEqual({ PhysicalResourceId: SECRET_ARN, Data: { PrimaryKid: kid } });
  });

  it.each([
    ['a JSON ring (its only version, say: a secret created with it)', aRing()],
    ['a bare seed key', randomBytes(16).toString('base64')],
  ])('never overwrites a secret whose current version already holds a valid ring: %s', async (_label, text) => {
    holding(text);
    const response = await handler(create());
    expect(kms.commandCalls(GenerateDataKeyWithoutPlaintextCommand)).toHaveLength(0);
    expect(secrets.commandCalls(PutSecretValueCommand)).toHaveLength(0);
    expect(secrets.commandCalls(UpdateSecretVersionStageCommand)).toHaveLength(0);
    expect(response).toEqual({ PhysicalResourceId: SECRET_ARN });
    expect(logged.join('\n')).toContain('already holds a key ring');
  });

  it('fails the deployment, writing nothing, when the secret holds neither the placeholder nor a ring', async () => {
    holding('{"primary": "k1", "keys": {"k1": "not a key"}}');
    await expect(handler(create())).rejects.toThrow(/neither the stack's placeholder nor a key ring/);
    expect(secrets.commandCalls(PutSecretValueCommand)).toHaveLength(0);
  });

  it('leaves a ring written meanwhile current: the stage move is refused and the deployment fails', async () => {
    placeholder();
    secrets.on(UpdateSecretVersionStageCommand).rejects(Object.assign(new Error('AWSCURRENT is not on that version'), { name: 'InvalidParameterException' }));
    await expect(handler(create())).rejects.toThrow(/AWSCURRENT/);
  });

  it('does nothing on an Update of the same secret, nor on Delete (the ring is retained)', async () => {
    placeholder();
    expect(await handler(update(SECRET_ARN))).toEqual({ PhysicalResourceId: SECRET_ARN });
    expect(await handler(remove())).toEqual({ PhysicalResourceId: SECRET_ARN });
    expect(kms.calls()).toHaveLength(0);
    expect(secrets.calls()).toHaveLength(0);
  });

  it('initializes a replacement secret on Update, still only over its placeholder', async () => {
    placeholder();
    const response = await handler(update(OTHER_SECRET_ARN));
    expect(secrets.commandCalls(PutSecretValueCommand)[0]!.args[0].input.SecretId).toBe(OTHER_SECRET_ARN);
    expect(response.PhysicalResourceId).toBe(OTHER_SECRET_ARN);
  });

  it('fails the deployment when KMS returns no blob, and writes nothing', async () => {
    placeholder();
    kms.on(GenerateDataKeyWithoutPlaintextCommand).resolves({});
    await expect(handler(create())).rejects.toThrow('CiphertextBlob');
    expect(secrets.commandCalls(PutSecretValueCommand)).toHaveLength(0);
  });

  it('logs identifiers only, never the wrapped key', async () => {
    placeholder();
    await handler(create());
    const text = logged.join('\n');
    expect(text).toContain('key ring initialized');
    expect(text).not.toContain(BLOB.toString('base64'));
    expect(text).not.toContain(BLOB.toString('base64').slice(0, 16));
  });

  it('names the first key as rotate names new ones: by its creation time, with a random part', async () => {
    placeholder();
    await handler(create());
    const kid = kms.commandCalls(GenerateDataKeyWithoutPlaintextCommand)[0]!.args[0].input.EncryptionContext!.kid!;
    expect(kid).toMatch(/^k\d{8}T\d{6}Z-[0-9a-f]{8}$/);
  });
});
