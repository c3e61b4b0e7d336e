import { randomBytes, randomUUID } from 'node:crypto';
import { DecryptCommand, type DecryptCommandInput, GenerateDataKeyWithoutPlaintextCommand, KMSClient } from '@aws-sdk/client-kms';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { type AwsClientStub, mockClient } from 'aws-sdk-client-mock';
import { kmsEncryptionContext } from '../../../shared/crypto/ring-document.js';

export const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:vault/key-ring-AbCdEf';
export const KMS_KEY_ARN = 'arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555';

/** An AWS SDK error as the SDK raises it: a name, a message, and metadata. */
export const awsError = (name: string, message = `${name} (simulated)`): Error =>
  Object.assign(new Error(message), { name, $fault: 'client', $metadata: { httpStatusCode: 400 } });

const sameContext = (a: Record<string, string> | undefined, b: Record<string, string>): boolean =>
  a !== undefined && Object.keys(a).length === Object.keys(b).length && Object.entries(b).every(([k, v]) => a[k] === v);

/**
 * A KMS that behaves as KMS does for the calls the ring makes: a wrapped blob unwraps only under
 * the encryption context it was made with, and only by its key when a KeyId is given.
 */
export class FakeKms {
  readonly mock: AwsClientStub<KMSClient> = mockClient(KMSClient);
  private readonly blobs = new Map<string, { plaintext: Buffer; context: Record<string, string> }>();

  constructor(readonly keyArn = KMS_KEY_ARN) {
    this.install();
  }

  install(): void {
    this.mock.reset();
    this.mock.on(DecryptCommand).callsFake((input: DecryptCommandInput) => {
      const entry = this.blobs.get(Buffer.from(input.CiphertextBlob ?? new Uint8Array()).toString('base64'));
      if (input.KeyId !== undefined && input.KeyId !== this.keyArn) throw awsError('IncorrectKeyException');
      if (!entry || !sameContext(input.EncryptionContext, entry.context)) throw awsError('InvalidCiphertextException', '');
      return { Plaintext: new Uint8Array(entry.plaintext), KeyId: this.keyArn, EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
    });
    this.mock
      .on(GenerateDataKeyWithoutPlaintextCommand)
      .callsFake((input: { KeyId?: string; KeySpec?: string; EncryptionContext?: Record<string, string> }) => {
        if (input.KeyId !== this.keyArn) throw awsError('NotFoundException');
        if (input.KeySpec !== 'AES_256') throw awsError('ValidationException');
        const blob = this.store(randomBytes(32), input.EncryptionContext ?? {});
        return { CiphertextBlob: Buffer.from(blob, 'base64'), KeyId: this.keyArn };
      });
  }

  private store(plaintext: Buffer, context: Record<string, string>): string {
    const blob = randomBytes(184).toString('base64');
    this.blobs.set(blob, { plaintext, context });
    return blob;
  }

  /** Wraps `plaintext` (base64) for ring entry `kid`, as GenerateDataKey would have; returns the blob as base64. */
  wrap(kid: string, plaintext: string): string {
    return this.store(Buffer.from(plaintext, 'base64'), kmsEncryptionContext(kid));
  }

  /** The plaintext key behind a blob, for tests that check what a new entry holds. */
  unwrapForTest(blob: string): Buffer | undefined {
    return this.blobs.get(blob)?.plaintext;
  }
}

/** A Secrets Manager holding one secret with versions and their staging labels, as Secrets Manager keeps them. */
export class FakeSecret {
  readonly mock: AwsClientStub<SecretsManagerClient> = mockClient(SecretsManagerClient);
  readonly versions: { id: string; text: string; stages: Set<string> }[] = [];
  /** Latency of each call, for tests of writers that race. */
  delayMs = 0;

  constructor(
    text: string,
    readonly arn = SECRET_ARN,
  ) {
    this.versions.push({ id: randomUUID(), text, stages: new Set(['AWSCURRENT']) });
    this.install();
  }

  get current(): { id: string; text: string } {
    const current = this.versions.find((version) => version.stages.has('AWSCURRENT'));
    if (!current) throw new Error('no version');
    return current;
  }

  /** Another writer (a console edit, a second rotation) replaces the value. */
  set(text: string): void {
    const id = randomUUID();
    this.versions.push({ id, text, stages: new Set() });
    this.moveStage('AWSCURRENT', id);
  }

  /** Moves a label as Secrets Manager does: AWSCURRENT leaving a version leaves AWSPREVIOUS on it. */
  /** How many of the next stage moves happen but lose their answer (the caller sees a failure). */
  answersLost = 0;

  private moveStage(stage: string, to: string): void {
    const from = this.versions.find((version) => version.stages.has(stage));
    if (from?.id === to) return;
    from?.stages.delete(stage);
    if (stage === 'AWSCURRENT' && from) this.moveStage('AWSPREVIOUS', from.id);
    this.versions.find((version) => version.id === to)?.stages.add(stage);
  }

  private async latency(): Promise<void> {
    if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
  }

  install(): void {
    this.mock.reset();
    this.mock.on(GetSecretValueCommand).callsFake(async (input: { SecretId?: string }) => {
      if (input.SecretId !== this.arn) throw awsError('ResourceNotFoundException');
      const { id, text } = this.current;
      await this.latency();
      return { ARN: this.arn, VersionId: id, SecretString: text, VersionStages: ['AWSCURRENT'] };
    });
    this.mock.on(DescribeSecretCommand).callsFake((input: { SecretId?: string }) => {
      if (input.SecretId !== this.arn) throw awsError('ResourceNotFoundException');
      return {
        ARN: this.arn,
        VersionIdsToStages: Object.fromEntries(this.versions.filter((version) => version.stages.size > 0).map((version) => [version.id, [...version.stages]])),
      };
    });
    this.mock.on(PutSecretValueCommand).callsFake(async (input: { SecretId?: string; SecretString?: string; VersionStages?: string[] }) => {
      if (input.SecretId !== this.arn) throw awsError('ResourceNotFoundException');
      if (input.SecretString === undefined) throw awsError('InvalidParameterException');
      await this.latency();
      const id = randomUUID();
      this.versions.push({ id, text: input.SecretString, stages: new Set() });
      for (const stage of input.VersionStages ?? ['AWSCURRENT']) this.moveStage(stage, id);
      return { ARN: this.arn, VersionId: id, VersionStages: input.VersionStages ?? ['AWSCURRENT'] };
    });
    this.mock
      .on(UpdateSecretVersionStageCommand)
      .callsFake(async (input: { SecretId?: string; VersionStage?: string; MoveToVersionId?: string; RemoveFromVersionId?: string }) => {
        if (input.SecretId !== this.arn) throw awsError('ResourceNotFoundException');
        await this.latency();
        const stage = input.VersionStage ?? '';
        const holder = this.versions.find((version) => version.stages.has(stage));
        // Secrets Manager refuses to take a label off a version other than the one named.
        if (holder && holder.id !== input.MoveToVersionId && holder.id !== input.RemoveFromVersionId) throw awsError('InvalidParameterException');
        if (!this.versions.some((version) => version.id === input.MoveToVersionId)) throw awsError('ResourceNotFoundException');
        this.moveStage(stage, input.MoveToVersionId ?? '');
        if (this.answersLost > 0) {
          this.answersLost -= 1;
          throw awsError('TimeoutError', 'socket hang up after the request was sent (simulated)');
        }
        return { ARN: this.arn };
      });
  }
}
