import { ConfigError } from '../config.js';
import { keyRingFromText } from '../crypto/key-ring.js';
import { cachedKeyRingSource, type KeyRingSource } from '../crypto/key-ring-source.js';

function keyRingSource(env: NodeJS.ProcessEnv): KeyRingSource {
  const inline = env.SYMMETRIC_KEY;
  if (inline) return cachedKeyRingSource(() => keyRingFromText(inline));
  throw new ConfigError('SYMMETRIC_KEY must be set');
}

/** Imported only by the functions that encrypt; the list functions never hold a key. */
export const keyRing = keyRingSource(process.env);
