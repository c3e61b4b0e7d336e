import { GenerateDataKeyWithoutPlaintextCommand, KMSClient } from '@aws-sdk/client-kms';
import { ListSecretVersionIdsCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { kmsEncryptionContext, ringDocument } from '../../shared/crypto/ring-document.js';

/**
 * The key-ring initializer (onEvent handler of a CDK Provider). On Create it wraps a fresh
 * AES-256 data key with KMS GenerateDataKeyWithoutPlaintext (the plaintext never leaves KMS, not
 * even into this function) and writes `{"primary": kid, "keys": {kid: {"kms": blob}}}` into the
 * secret, but only while the secret still holds the single placeholder version CloudFormation
 * created: an existing ring is never overwritten. Update and Delete change nothing (the secret is
 * retained; rotation is the key-maintenance function's job).
 */

interface Properties {
  readonly SecretArn: string;
  readonly KeyArn: string;
}

export interface OnEventResponse {
  readonly PhysicalResourceId: string;
  readonly Data?: { readonly PrimaryKid: string };
}

const kms = new KMSClient({});
const secrets = new SecretsManagerClient({});

/** A kid that sorts by creation and matches the ring's kid pattern, e.g. `k20251125T103000Z`. */
export const initialKid = (now: Date): string => `k${now.toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '')}`;

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

async function initialize(props: Properties, requestId: string): Promise<OnEventResponse> {
  const listed = await secrets.send(new ListSecretVersionIdsCommand({ SecretId: props.SecretArn, IncludeDeprecated: true, MaxResults: 2 }));
  if ((listed.Versions?.length ?? 0) !== 1 || listed.NextToken) {
    log('the secret already has more than its initial placeholder version; left unchanged', { secretArn: props.SecretArn });
    return { PhysicalResourceId: props.SecretArn };
  }

  const kid = initialKid(new Date());
  const generated = await kms.send(
    new GenerateDataKeyWithoutPlaintextCommand({
      KeyId: props.KeyArn,
      KeySpec: 'AES_256',
      EncryptionContext: kmsEncryptionContext(kid),
    }),
  );
  if (!generated.CiphertextBlob) throw new Error('KMS returned no CiphertextBlob');

  const ring = ringDocument.parse({ primary: kid, keys: { [kid]: { kms: Buffer.from(generated.CiphertextBlob).toString('base64') } } });
  await secrets.send(
    new PutSecretValueCommand({
      SecretId: props.SecretArn,
      SecretString: JSON.stringify(ring),
      // Idempotent for CloudFormation's retries of the same request.
      ClientRequestToken: requestId,
    }),
  );
  log('key ring initialized', { secretArn: props.SecretArn, primary: kid });
  return { PhysicalResourceId: props.SecretArn, Data: { PrimaryKid: kid } };
}

export const handler = async (event: CloudFormationCustomResourceEvent): Promise<OnEventResponse> => {
  switch (event.RequestType) {
    case 'Create':
      return initialize(propertiesOf(event.ResourceProperties), event.RequestId);
    case 'Update': {
      const next = propertiesOf(event.ResourceProperties);
      const previous = propertiesOf(event.OldResourceProperties);
      // A different secret is a new, empty one: initialize it (still only over its placeholder).
      if (next.SecretArn !== previous.SecretArn) return initialize(next, event.RequestId);
      return { PhysicalResourceId: event.PhysicalResourceId };
    }
    case 'Delete':
      return { PhysicalResourceId: event.PhysicalResourceId };
  }
};
