import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { fileRingStore } from '../../../local/file-ring-store.js';
import { parseRingText } from '../../../shared/crypto/key-ring.js';
import { RingChanged } from '../../../shared/crypto/ring-store.js';
import { rotate } from '../../../shared/key-maintenance/commands.js';
import { newKey } from '../crypto/helpers.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vault-ring-file-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the dev ring file as a ring store', () => {
  it('of two rotations racing on it, one writes and the other fails as RingChanged: no key is dropped', async () => {
    const file = join(dir, 'race');
    const seed = newKey();
    await writeFile(file, `${seed}\n`, { mode: 0o600 });
    const outcomes = await Promise.allSettled([rotate({ store: fileRingStore(file) }), rotate({ store: fileRingStore(file) })]);
    const won = outcomes.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
    const lost = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason as unknown] : []));
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect(lost[0]).toBeInstanceOf(RingChanged);

    const ring = parseRingText(await readFile(file, 'utf8'));
    expect(ring).toMatchObject({ primary: won[0]!.primary, v1: 'default', keys: { default: seed } });
    expect(Object.keys(ring.keys)).toHaveLength(2);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    await expect(stat(`${file}.lock`)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('refuses a write whose basis is no longer what the file holds', async () => {
    const file = join(dir, 'stale');
    await writeFile(file, newKey());
    const store = fileRingStore(file);
    const stored = await store.read();
    const other = newKey();
    await writeFile(file, other);
    await expect(store.write(stored.doc, stored)).rejects.toBeInstanceOf(RingChanged);
    expect(await readFile(file, 'utf8')).toBe(other);
  });

  it('refuses while another writer holds the lock, and says how to clear a stale one', async () => {
    const file = join(dir, 'locked');
    await writeFile(file, newKey());
    await writeFile(`${file}.lock`, '');
    const store = fileRingStore(file);
    const stored = await store.read();
    await expect(store.write(stored.doc, stored)).rejects.toThrow(/\.lock exists; remove it if none is running/);
  });
});
