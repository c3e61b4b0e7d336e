import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';

/** PostgreSQL's defaults (scram_iterations, and the salt length its own verifiers use). */
const DEFAULT_ITERATIONS = 4096;
const SALT_BYTES = 16;

/**
 * Printable ASCII is what SASLprep leaves unchanged, so a verifier computed from the raw bytes is
 * the one PostgreSQL would compute; anything else would need SASLprep (RFC 4013) first, which we
 * do not implement. Generated database secrets are printable ASCII.
 */
const SASLPREP_IDENTITY = /^[\x20-\x7e]+$/;

export interface ScramOptions {
  readonly salt?: Buffer;
  readonly iterations?: number;
}

/**
 * The SCRAM-SHA-256 verifier PostgreSQL stores for a password (RFC 5802/7677, as psql's \password
 * computes it client-side): `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`, base64.
 * Given to ALTER ROLE ... PASSWORD in place of the password, so the password itself never reaches
 * the server, its statement log or pg_stat_activity.
 */
export function scramSha256Verifier(password: string, options: ScramOptions = {}): string {
  if (!SASLPREP_IDENTITY.test(password)) throw new Error('the password must be non-empty printable ASCII');
  const salt = options.salt ?? randomBytes(SALT_BYTES);
  const iterations = options.iterations ?? DEFAULT_ITERATIONS;
  const saltedPassword = pbkdf2Sync(password, salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', saltedPassword).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', saltedPassword).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}
