import { readFile } from 'node:fs/promises';
import { ConfigError, type Env } from '../config.js';
import { type RingStore, textRingStore } from './ring-store.js';
import { defaultAwsClients, secretsManagerRingStore } from './secrets-ring-store.js';

/**
 * Where a function's ring lives: the Secrets Manager secret KEY_RING_SECRET_ARN names (in AWS;
 * KEY_RING_KMS_KEY_ID pins and wraps), SYMMETRIC_KEY (tests, or a ring you set yourself;
 * read-only), or KEY_RING_FILE (`npm start`'s dev ring file, read afresh at every re-check so that
 * `npm run keys` rotations reach the running server; read-only here). More than one set is
 * refused rather than one silently winning: writing under a key the other source does not hold
 * would strand rows. Constructing a store reads nothing.
 */
export function ringStoreFromEnv(env: Env): RingStore {
  const inline = env.SYMMETRIC_KEY?.trim() || undefined;
  const secretArn = env.KEY_RING_SECRET_ARN?.trim() || undefined;
  const file = env.KEY_RING_FILE?.trim() || undefined;
  const set = [secretArn && 'KEY_RING_SECRET_ARN', inline && 'SYMMETRIC_KEY', file && 'KEY_RING_FILE'].filter(Boolean);
  if (set.length > 1) throw new ConfigError(`${set.join(' and ')} are set together; set exactly one`);
  if (secretArn) {
    return secretsManagerRingStore({ secretArn, kmsKeyId: env.KEY_RING_KMS_KEY_ID?.trim() || undefined, ...defaultAwsClients() });
  }
  if (inline) return textRingStore({ location: 'SYMMETRIC_KEY', read: async () => inline });
  if (file) return textRingStore({ location: file, read: () => readFile(file, 'utf8') });
  throw new ConfigError('KEY_RING_SECRET_ARN (in AWS) or SYMMETRIC_KEY or KEY_RING_FILE (locally) must be set');
}
