import { randomBytes } from 'node:crypto';
import { open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { RingChanged, type RingStore, ringText, textRevision, textRingStore } from '../shared/crypto/ring-store.js';

/** Writes `text` to `file` whole or not at all, readable only by this user. */
async function replaceFile(file: string, text: string): Promise<void> {
  const temporary = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(temporary, `${text}\n`, { mode: 0o600, flag: 'wx' });
  await rename(temporary, file);
}

/**
 * Runs `work` holding `<file>.lock`, created exclusively: a second writer finds it and fails as
 * RingChanged rather than waiting, as a second rotation against the secret does. A command that
 * died holding it leaves it behind; the message says to remove it.
 */
async function holdingLock<T>(file: string, work: () => Promise<T>): Promise<T> {
  const lock = `${file}.lock`;
  const handle = await open(lock, 'wx', 0o600).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error;
    throw new RingChanged(`another command is writing ${file} (${lock} exists; remove it if none is running); nothing was written, run the command again`);
  });
  try {
    return await work();
  } finally {
    await handle.close();
    await rm(lock, { force: true });
  }
}

/**
 * The ring in a local file (the dev ring file `npm start` reads): read afresh each time, written
 * compare-and-set: under the file's lock, and only if the file still holds what the write's basis
 * read, so of two concurrent rotations one fails with RingChanged and no key is dropped.
 */
export function fileRingStore(file: string, read: () => Promise<string> = () => readFile(file, 'utf8')): RingStore {
  return textRingStore({
    location: file,
    read,
    write: (doc, basis) =>
      holdingLock(file, async () => {
        if (textRevision(await readFile(file, 'utf8')) !== basis.revision) {
          throw new RingChanged(`${file} changed since it was read; nothing was written, run the command again`);
        }
        await replaceFile(file, ringText(doc));
        return `${file} (npm start picks it up within KEY_RING_MAX_AGE_S)`;
      }),
  });
}
