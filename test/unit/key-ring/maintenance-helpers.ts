import type pg from 'pg';
import { openEnvelope } from '../../../shared/crypto/envelope.js';
import type { KeyRing } from '../../../shared/crypto/key-ring.js';
import type { KeyRingSource } from '../../../shared/crypto/key-ring-source.js';
import { RingChanged, type RingStore, ringText, textRevision, textRingStore } from '../../../shared/crypto/ring-store.js';
import { createExchangeKindMemory } from '../../../shared/db/exchanges.js';
import { createUserDirectory } from '../../../shared/db/users.js';
import { NO_CHECKS } from '../../../shared/exchanges/checker.js';
import { registerApiKey } from '../../../shared/services/api-keys.js';
import { v1Fixtures } from '../crypto/helpers.js';

/** A writable ring of plain keys held in memory, standing in for the secret. */
export function memoryRingStore(initial: string): { store: RingStore; text(): string } {
  let text = initial;
  const store = textRingStore({
    location: 'memory',
    read: async () => text,
    async write(doc, basis) {
      if (textRevision(text) !== basis.revision) throw new RingChanged('memory ring changed');
      text = ringText(doc);
      return 'memory';
    },
  });
  return { store, text: () => text };
}

/** A key ring source that always answers one fixed ring: a warm container that has not seen a rotation. */
export const frozenSource = (ring: KeyRing): KeyRingSource => ({ current: async () => ring, reload: async () => ring });

export const SEED_KEY = v1Fixtures.find((fixture) => fixture.keyBytes === 16)!.key;
const seedFixtures = v1Fixtures.filter((fixture) => fixture.key === SEED_KEY);

export interface Plaintexts {
  readonly public_key: string;
  readonly private_key: string;
}

/**
 * Rows as the seed's service wrote them: users with no auth subject, version-1 envelopes under
 * the seed's 16-byte key, no masks; and, as adoption does (migration 005), each envelope bound to
 * its row and column. `pool` must be the master user's. Returns each row's plaintexts by key_no.
 */
export async function insertSeedRows(pool: pg.Pool, count: number): Promise<Map<number, Plaintexts>> {
  const written = new Map<number, Plaintexts>();
  for (let i = 0; i < count; i += 1) {
    const pub = seedFixtures[i % seedFixtures.length]!;
    const priv = seedFixtures[(i + 1) % seedFixtures.length]!;
    const { rows } = await pool.query<{ key_no: number }>(
      `WITH u AS (INSERT INTO tb_users DEFAULT VALUES RETURNING user_no)
       INSERT INTO tb_exchange_api_keys (user_no, exchange_id, public_key, private_key, is_active)
       SELECT user_no, 101, $1, $2, true FROM u RETURNING key_no`,
      [pub.envelope, priv.envelope],
    );
    written.set(rows[0]!.key_no, { public_key: pub.plaintext, private_key: priv.plaintext });
  }
  await pool.query('SELECT bind_v1_envelopes()');
  return written;
}

export const plaintextsFor = (subject: string): Plaintexts => ({
  public_key: `PUB-${subject}-abcdefghij`,
  private_key: `PRIV-${subject}-0123456789-secret`,
});

/** Registers one key for `subject` through the service, as the register function does. */
export async function register(pool: pg.Pool, keyRingSource: KeyRingSource, subject: string, exchangeId = 101): Promise<void> {
  await registerApiKey(
    { db: pool, users: createUserDirectory(pool), kinds: createExchangeKindMemory(), keyRingSource, checker: NO_CHECKS },
    { subject, isAdmin: false },
    { exchange_id: exchangeId, ...plaintextsFor(subject) },
  );
}

export interface StoredKeyRow {
  key_no: number;
  user_no: number;
  exchange_id: number;
  auth_subject: string | null;
  public_key: unknown;
  private_key: unknown;
  public_key_masked: string | null;
  private_key_masked: string | null;
  sealing: string | null;
}

export async function allRows(pool: pg.Pool): Promise<StoredKeyRow[]> {
  const { rows } = await pool.query<StoredKeyRow>(
    `SELECT k.key_no, k.user_no, k.exchange_id, u.auth_subject, k.public_key, k.private_key, k.public_key_masked, k.private_key_masked, k.sealing
       FROM tb_exchange_api_keys k JOIN tb_users u USING (user_no) ORDER BY k.key_no`,
  );
  return rows;
}

/** Both fields of a row, opened with the row's own place. */
export const openRow = (ring: KeyRing, row: StoredKeyRow): Plaintexts => {
  const place = { table: 'tb_exchange_api_keys', userNo: row.user_no, exchangeId: row.exchange_id, sealing: row.sealing } as const;
  return {
    public_key: openEnvelope(row.public_key, ring, { ...place, field: 'public_key' }),
    private_key: openEnvelope(row.private_key, ring, { ...place, field: 'private_key' }),
  };
};

export const kidsOf = (row: StoredKeyRow): string => {
  const kid = (envelope: unknown) => {
    const e = envelope as { version?: number; kid?: string };
    return e.version === 1 ? '(v1)' : String(e.kid);
  };
  return `${kid(row.public_key)}|${kid(row.private_key)}`;
};
