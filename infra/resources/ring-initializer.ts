import { randomUUID } from 'node:crypto';
import { GenerateDataKeyWithoutPlaintextCommand, KMSClient } from '@aws-sdk/client-kms';
import { GetSecretValueCommand, PutSecretValueCommand, SecretsManagerClient, UpdateSecretVersionStageCommand } from '@aws-sdk/client-secrets-manager';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { parseRingText } from '../../shared/crypto/key-ring.js';
import { isRingPlaceholder, kmsEncryptionContext, newKid, ringDocument } from '../../shared/crypto/ring-document.js';
import { awsClientConfig, PENDING_STAGE } from '../../shared/crypto/secrets-ring-store.js';

/**
 * The key-ring initializer (onEvent handler of a CDK Provider). On Create it wraps a fresh
 * AES-256 data key with KMS GenerateDataKeyWithoutPlaintext (the plaintext never leaves KMS, not
 * even into this function) and writes `{"primary": kid, "keys": {kid: {"kms": blob}}}` into the
 * secret, but only over the placeholder the stack created, and compare-and-set on that version:
 * a secret that already holds a ring is left as it is, and one holding anything else fails the
 * deployment rather than lose what may be someone's key. It reads the value for that check only;
 * it has no direct kms:Decrypt, so it cannot unwrap a ring entry. Update and Delete change nothing
 * (the secret is retained; rotation is the key-maintenance function's job).
 */

interface Properties {
  readonly SecretArn: string;
  readonly KeyArn: string;
}

export interface OnEventResponse {
  readonly PhysicalResourceId: string;
  readonly Data?: { readonly PrimaryKid: string };
}

// Four calls in sequence, each at most 2 attempts x 1.5 s: about 12 s inside the 30 s timeout.
const kms = new KMSClient(awsClientConfig);
const secrets = new SecretsManagerClient(awsClientConfig);

const log = (message: string, fields: Record<string, string>): void => {
  // Only identifiers, never a value of the secret or a blob.
  console.log(JSON.stringify({ level: 'INFO', service: 'key-ring-initializer', message, ...fields }));
};

const propertiesOf = (raw: Record<string, unknown>): Properties => {
  const { SecretArn, KeyArn } = raw;
  if (typeof SecretArn !== 'string' || typeof KeyArn !== 'string') {
    throw new Error('SecretArn and KeyArn are required properties');
  }
  return { SecretArn, KeyArn };
};

/** Whether the text is a key ring the loader would accept as a document (its entries are not unwrapped here). */
const holdsRing = (text: string): boolean => {
  try {
    parseRingText(text);
    return true;
  } catch {
    return false;
  }
};

async function initialize(props: Properties): Promise<OnEventResponse> {
  const current = await secrets.send(new GetSecretValueCommand({ SecretId: props.SecretArn, VersionStage: 'AWSCURRENT' }));
  const text = current.SecretString ?? '';
  if (holdsRing(text)) {
    log('the secret already holds a key ring; left unchanged', { secretArn: props.SecretArn });
    return { PhysicalResourceId: props.SecretArn };
  }
  if (!isRingPlaceholder(text) || !current.VersionId) {
    throw new Error(
      `the secret ${props.SecretArn} holds neither the stack's placeholder nor a key ring; nothing was written (look at it before deploying again)`,
    );
  }

  const kid = newKid(new Date());
  const generated = await kms.send(
    new GenerateDataKeyWithoutPlaintextCommand({
      KeyId: props.KeyArn,
      KeySpec: 'AES_256',
      EncryptionContext: kmsEncryptionContext(kid),
    }),
  );
  if (!generated.CiphertextBlob) throw new Error('KMS returned no CiphertextBlob');

  const ring = ringDocument.parse({ primary: kid, keys: { [kid]: { kms: Buffer.from(generated.CiphertextBlob).toString('base64') } } });
  const put = await secrets.send(
    new PutSecretValueCommand({
      SecretId: props.SecretArn,
      SecretString: JSON.stringify(ring),
      ClientRequestToken: randomUUID(),
      VersionStages: [PENDING_STAGE],
    }),
  );
  if (!put.VersionId) throw new Error('Secrets Manager returned no VersionId');
  // Refused by Secrets Manager if AWSCURRENT left the placeholder since it was read: a ring written
  // meanwhile stays current.
  await secrets.send(
    new UpdateSecretVersionStageCommand({
      SecretId: props.SecretArn,
      VersionStage: 'AWSCURRENT',
      MoveToVersionId: put.VersionId,
      RemoveFromVersionId: current.VersionId,
    }),
  );
  log('key ring initialized', { secretArn: props.SecretArn, primary: kid });
  return { PhysicalResourceId: props.SecretArn, Data: { PrimaryKid: kid } };
}

export const handler = async (event: CloudFormationCustomResourceEvent): Promise<OnEventResponse> => {
  switch (event.RequestType) {
    case 'Create':
      return initialize(propertiesOf(event.ResourceProperties));
    case 'Update': {
      const next = propertiesOf(event.ResourceProperties);
      const previous = propertiesOf(event.OldResourceProperties);
      // A different secret is a new, empty one: initialize it (still only over its placeholder).
      if (next.SecretArn !== previous.SecretArn) return initialize(next);
      return { PhysicalResourceId: event.PhysicalResourceId };
    }
    case 'Delete':
      return { PhysicalResourceId: event.PhysicalResourceId };
  }
};
