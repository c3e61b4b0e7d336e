import { randomUUID } from 'node:crypto';
import { DecryptCommand, GenerateDataKeyWithoutPlaintextCommand, KMSClient } from '@aws-sdk/client-kms';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { describeAwsFailure } from '../aws-failure.js';
import { OperatorError } from '../errors.js';
import { buildKeyRing, kidForMessage, parseRingText } from './key-ring.js';
import { kmsEncryptionContext, newPlainKey, type RingDocument } from './ring-document.js';
import { RingChanged, type RingStore, ringText } from './ring-store.js';

/**
 * Secrets Manager or KMS could not give us the ring (unreachable, denied, throttled, missing).
 * The message names the call, the secret or kid and the service's error, never a value.
 */
export class KeyRingServiceError extends OperatorError {
  override readonly name = 'KeyRingServiceError';
}

// AWS error messages name resources and principals, never secret values; cap them anyway.
const serviceError = (what: string, error: unknown): KeyRingServiceError => new KeyRingServiceError(describeAwsFailure(what, error));

/**
 * Bounded so an unreachable or hung endpoint (a missing VPC endpoint, say) becomes a 503 within
 * the function's timeout instead of the function timing out. requestTimeout counts from the
 * request's start, connecting included, and only ends a request with throwOnRequestTimeout (the
 * locked @smithy/node-http-handler 4.14 merely logs a warning without it). A ring load is two
 * calls in sequence (GetSecretValue, then the KMS Decrypts side by side): 2 calls x 2 attempts x
 * 1.5 s + the retry backoff (under 0.1 s per retry) is under 6.5 s, inside the 20 s timeout of the
 * functions that load the ring on a request, with room for their database statement (RING_HOLDER_TIMEOUT). Secrets Manager and KMS answer in tens of milliseconds.
 */
export const awsClientConfig = {
  maxAttempts: 2,
  requestHandler: { connectionTimeout: 1_000, requestTimeout: 1_500, throwOnRequestTimeout: true },
} as const;

/** The staging label a new ring version waits under until AWSCURRENT is moved to it. */
export const PENDING_STAGE = 'vault-pending';

export interface SecretsRingStoreOptions {
  /** The secret's ARN (never its value), from KEY_RING_SECRET_ARN. */
  readonly secretArn: string;
  /** KEY_RING_KMS_KEY_ID: pins Decrypt to this key, and is the key new entries are wrapped under. */
  readonly kmsKeyId?: string | undefined;
  readonly secrets: SecretsManagerClient;
  readonly kms: KMSClient;
}

const hasWrappedEntries = (doc: RingDocument): boolean => Object.values(doc.keys).some((entry) => typeof entry !== 'string');

/**
 * The key ring in one Secrets Manager secret, its `{kms}` entries unwrapped with KMS Decrypt
 * under `kmsEncryptionContext(kid)`, so a blob copied to another kid does not unwrap. Rotation
 * wraps new keys with GenerateDataKeyWithoutPlaintext under the same context. Writes are
 * compare-and-set: the new version is put under PENDING_STAGE (AWSCURRENT does not move), then
 * UpdateSecretVersionStage moves AWSCURRENT to it with RemoveFromVersionId = the version read,
 * which Secrets Manager refuses if AWSCURRENT is elsewhere by then. Of two racing writers the
 * second to move fails with RingChanged; its version stays behind under PENDING_STAGE, never read
 * (the next write takes the label over), and the winner's ring holds every key the loser read.
 *
 * No cache here: the built ring is cached by `ringStoreSource` (cachedKeyRingSource). A cache of
 * the secret text (Powertools' SecretsProvider, say) would add nothing at a cold start, and would
 * hand a retry after a malformed secret, or a reload after a rotation, the stale value.
 */
export function secretsManagerRingStore(options: SecretsRingStoreOptions): RingStore {
  const { secretArn, kmsKeyId, secrets, kms } = options;

  const unwrap = async (blob: Buffer, kid: string): Promise<Buffer> => {
    let plaintext: Uint8Array | undefined;
    try {
      ({ Plaintext: plaintext } = await kms.send(
        new DecryptCommand({
          CiphertextBlob: blob,
          EncryptionContext: kmsEncryptionContext(kid),
          ...(kmsKeyId ? { KeyId: kmsKeyId } : {}),
        }),
      ));
    } catch (error) {
      throw serviceError(`KMS Decrypt of ring key ${kidForMessage(kid)}`, error);
    }
    if (!plaintext) throw new KeyRingServiceError(`KMS Decrypt of ring key ${kidForMessage(kid)} returned no plaintext`);
    return Buffer.from(plaintext);
  };

  return {
    location: `Secrets Manager secret ${secretArn}`,

    async read() {
      let text: string | undefined;
      let versionId: string | undefined;
      try {
        const value = await secrets.send(new GetSecretValueCommand({ SecretId: secretArn }));
        versionId = value.VersionId;
        text = value.SecretString ?? (value.SecretBinary ? Buffer.from(value.SecretBinary).toString('utf8') : undefined);
      } catch (error) {
        throw serviceError(`Secrets Manager GetSecretValue on ${secretArn}`, error);
      }
      if (text === undefined) throw new KeyRingServiceError(`Secrets Manager secret ${secretArn} has no value`);
      return { doc: parseRingText(text), revision: versionId ?? '' };
    },

    build: (doc) => buildKeyRing(doc, unwrap),

    async generate(kid, doc) {
      if (!kmsKeyId) {
        if (hasWrappedEntries(doc)) {
          throw new KeyRingServiceError('KEY_RING_KMS_KEY_ID must be set to add a key to a KMS-wrapped ring');
        }
        // A ring of plain keys (a seed's SYMMETRIC_KEY moved into the secret) stays plain;
        // the secret itself is encrypted by Secrets Manager.
        return newPlainKey();
      }
      try {
        const { CiphertextBlob } = await kms.send(
          new GenerateDataKeyWithoutPlaintextCommand({ KeyId: kmsKeyId, KeySpec: 'AES_256', EncryptionContext: kmsEncryptionContext(kid) }),
        );
        if (!CiphertextBlob) throw new Error('no CiphertextBlob in the response');
        return { kms: Buffer.from(CiphertextBlob).toString('base64') };
      } catch (error) {
        throw serviceError(`KMS GenerateDataKeyWithoutPlaintext for ring key ${kid}`, error);
      }
    },

    async write(doc, basis) {
      const written = (versionId: string): string => `Secrets Manager secret ${secretArn}, version ${versionId}`;
      const changed = () =>
        new RingChanged(`the ring in ${secretArn} changed since it was read (another rotation or retirement?); nothing was written, run the command again`);
      const currentVersion = async (): Promise<string | undefined> => {
        try {
          const described = await secrets.send(new DescribeSecretCommand({ SecretId: secretArn }));
          return Object.entries(described.VersionIdsToStages ?? {}).find(([, stages]) => stages.includes('AWSCURRENT'))?.[0];
        } catch (error) {
          throw serviceError(`Secrets Manager DescribeSecret on ${secretArn}`, error);
        }
      };
      let versionId: string;
      try {
        const put = await secrets.send(
          new PutSecretValueCommand({ SecretId: secretArn, SecretString: ringText(doc), ClientRequestToken: randomUUID(), VersionStages: [PENDING_STAGE] }),
        );
        if (!put.VersionId) throw new Error('no VersionId in the response');
        versionId = put.VersionId;
      } catch (error) {
        throw serviceError(`Secrets Manager PutSecretValue on ${secretArn}`, error);
      }
      try {
        await secrets.send(
          new UpdateSecretVersionStageCommand({
            SecretId: secretArn,
            VersionStage: 'AWSCURRENT',
            MoveToVersionId: versionId,
            RemoveFromVersionId: basis.revision,
          }),
        );
      } catch (error) {
        // The move may have happened and only its answer been lost: AWSCURRENT on our version is success.
        // Elsewhere, it was refused because AWSCURRENT moved (the race this guards against), or failed on its own.
        const current = await currentVersion();
        if (current === versionId) return written(versionId);
        if (current !== basis.revision) throw changed();
        throw serviceError(`Secrets Manager UpdateSecretVersionStage on ${secretArn}`, error);
      }
      return written(versionId);
    },
  };
}

export const defaultAwsClients = (): { secrets: SecretsManagerClient; kms: KMSClient } => ({
  secrets: new SecretsManagerClient(awsClientConfig),
  kms: new KMSClient(awsClientConfig),
});
