import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type CryptoKey, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
import { newPlainKey } from '../shared/crypto/ring-document.js';

/** Everything the local runner keeps between runs: embedded database, dev ring file, token signing key. */
export const DATA_DIR = process.env.VAULT_DATA_DIR ?? join(dirname(fileURLToPath(import.meta.url)), '..', '.data');

export const LOCAL_ISSUER = 'https://vault.local/issuer';
export const LOCAL_AUDIENCE = 'exchange-api-key-vault-local';
export const TOKEN_ALGORITHM = 'ES256';

/**
 * The commands beside `npm start` (token, keys, engine-demo) use its dev keys and never make their
 * own: a key made in the wrong folder only fails later, as a 401 or as rows that do not open. The
 * usual cause is a VAULT_DATA_DIR that differs from npm start's, so the message names the folder.
 */
export class NoDevKey extends Error {
  override readonly name = 'NoDevKey';
  constructor(file: string) {
    super(`no dev key (${basename(file)}) in ${dirname(file)}: run npm start first, or give this command the VAULT_DATA_DIR npm start has`);
  }
}

/** Only `npm start` creates a missing dev key. */
export interface DevKeyOptions {
  readonly create?: boolean;
}

async function readDevFile(file: string, create: (() => Promise<string>) | undefined): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    if (!create) throw new NoDevKey(file);
    const value = await create();
    await mkdir(dirname(file), { recursive: true });
    // `wx`: two processes starting at once keep the first writer's key, never a mix.
    await writeFile(file, value, { mode: 0o600, flag: 'wx' }).catch(async (writeError: NodeJS.ErrnoException) => {
      if (writeError.code !== 'EEXIST') throw writeError;
    });
    return readFile(file, 'utf8');
  }
}

/**
 * The dev ring file `npm start` seals with and `npm run keys` rotates: first a bare 256-bit key.
 * Its name on disk predates rings and is kept so existing data directories keep their keys.
 */
export const DEV_RING_FILE = join(DATA_DIR, 'dev-symmetric-key');

/** The dev ring file's text; `npm start` creates it on first use with one generated 256-bit key, never used outside this machine. */
export const readDevRingFile = ({ create = false }: DevKeyOptions = {}): Promise<string> =>
  readDevFile(DEV_RING_FILE, create ? async () => newPlainKey() : undefined).then((text) => text.trim());

interface SigningKeys {
  privateKey: CryptoKey;
  publicKey: CryptoKey;
}

export async function devSigningKeys({ create = false }: DevKeyOptions = {}): Promise<SigningKeys> {
  const generate = async () => {
    const { privateKey } = await generateKeyPair(TOKEN_ALGORITHM, { extractable: true });
    return JSON.stringify(await exportJWK(privateKey));
  };
  const text = await readDevFile(join(DATA_DIR, 'dev-jwt-key.json'), create ? generate : undefined);
  const jwk = JSON.parse(text) as JWK;
  const { d: _private, ...publicJwk } = jwk;
  return {
    privateKey: (await importJWK(jwk, TOKEN_ALGORITHM)) as CryptoKey,
    publicKey: (await importJWK(publicJwk, TOKEN_ALGORITHM)) as CryptoKey,
  };
}
