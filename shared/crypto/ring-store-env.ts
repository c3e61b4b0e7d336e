import { ConfigError, type Env } from '../config.js';
import { textRingStore, type RingStore } from './ring-store.js';
import { defaultAwsClients, secretsManagerRingStore } from './secrets-key-ring.js';

/**
 * Where a function's ring lives: the Secrets Manager secret KEY_RING_SECRET_ARN names (in AWS;
 * KEY_RING_KMS_KEY_ID pins and wraps), or SYMMETRIC_KEY (locally and in tests; read-only). Both
 * set is refused rather than one silently winning: writing under a key the other source does not
 * hold would strand rows. Constructing a store reads nothing.
 */
export function ringStoreFromEnv(env: Env): RingStore {
  const inline = env.SYMMETRIC_KEY?.trim() || undefined;
  const secretArn = env.KEY_RING_SECRET_ARN?.trim() || undefined;
  if (inline && secretArn) throw new ConfigError('KEY_RING_SECRET_ARN and SYMMETRIC_KEY are both set; set exactly one');
  if (secretArn) {
    return secretsManagerRingStore({ secretArn, kmsKeyId: env.KEY_RING_KMS_KEY_ID?.trim() || undefined, ...defaultAwsClients() });
  }
  if (inline) return textRingStore({ location: 'SYMMETRIC_KEY', read: async () => inline });
  throw new ConfigError('KEY_RING_SECRET_ARN (in AWS) or SYMMETRIC_KEY (locally) must be set');
}
