/**
 * Someone who can write the database (a stolen backup restored elsewhere, a SQL injection we have
 * not found, a careless migration) moves or alters stored envelopes. A version-2 envelope is bound
 * to its table, user_no, exchange_id and column by associated data, so no moved, altered or
 * relabelled envelope ever opens to a value, let alone another user's key: opening it with the
 * place of the row it now sits in throws, and the key-maintenance `verify` command reports the row
 * by key_no. Reads never decrypt, so listing is unaffected. A seed (version-1) envelope has no
 * associated data; the record adoption makes binds it instead, and test/integration/app-role.test.ts
 * moves one as the functions' own database role.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { EnvelopeError, type EnvelopeFailure, type EnvelopePlace, openEnvelope } from '../../shared/crypto/envelope.js';
import { type KeyRing, keyRingFromText } from '../../shared/crypto/key-ring.js';
import { cachedKeyRingSource } from '../../shared/crypto/key-ring-source.js';
import { verify } from '../../shared/key-maintenance/commands.js';
import { maskedApiKeyList } from '../../shared/schemas/api-keys.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { closeHandlerPool, type LoadedHandlers, loadHandlers } from '../support/handlers.js';
import { userNoOf } from './helpers.js';

let db: TestDatabase;
let api: LoadedHandlers;
let ring: KeyRing;
const RING = JSON.stringify({ primary: 'k1', keys: { k1: Buffer.alloc(32, 1).toString('base64') } });

type Field = 'public_key' | 'private_key';
interface Row {
  key_no: number;
  user_no: number;
  exchange_id: number;
  public_key: Record<string, unknown>;
  private_key: Record<string, unknown>;
  sealing: string | null;
}

const keysOf = (subject: string, exchangeId: number) => ({
  public_key: `${subject}-public-${exchangeId}`,
  private_key: `${subject}-private-key-${exchangeId}`,
});
const placeOf = (row: Row, field: Field): EnvelopePlace => ({
  table: 'tb_exchange_api_keys',
  userNo: row.user_no,
  exchangeId: row.exchange_id,
  field,
  sealing: row.sealing,
});
const rowOf = async (subject: string, exchangeId = 101): Promise<Row> =>
  (
    await db.pool.query<Row>(
      'SELECT k.key_no, k.user_no, k.exchange_id, k.public_key, k.private_key, k.sealing FROM tb_exchange_api_keys k JOIN tb_users u USING (user_no) WHERE u.auth_subject = $1 AND k.exchange_id = $2',
      [subject, exchangeId],
    )
  ).rows[0]!;
const setField = (keyNo: number, field: Field, envelope: unknown) =>
  db.pool.query(`UPDATE tb_exchange_api_keys SET ${field} = $2 WHERE key_no = $1`, [keyNo, JSON.stringify(envelope)]);

/** Flips one bit of a base64 field's bytes; the result is still canonical base64 of the same length. */
const flipBit = (envelope: Record<string, unknown>, part: 'enc' | 'nonce' | 'tag', bit: number) => {
  const bytes = Buffer.from(String(envelope[part]), 'base64');
  bytes[bit >> 3] = bytes[bit >> 3]! ^ (1 << (bit & 7));
  return { ...envelope, [part]: bytes.toString('base64') };
};

/** What opening a field of a row, with that row's own place, does: a value, or why not. */
function openWithRowsPlace(row: Row, field: Field): { opened: string } | { reason: EnvelopeFailure; message: string } {
  try {
    return { opened: openEnvelope(row[field], ring, placeOf(row, field)) };
  } catch (error) {
    if (!(error instanceof EnvelopeError)) throw error;
    return { reason: error.reason, message: error.message };
  }
}

interface Tampering {
  name: string;
  subject: string;
  exchangeId?: number;
  /** Alters the stored row; returns the fields it expects to fail, and why. */
  apply(row: Row): Promise<Array<[Field, EnvelopeFailure]>>;
}

const SUBJECTS = [
  'tamper-alice',
  'tamper-bob',
  'tamper-carol',
  'tamper-dave',
  'tamper-erin',
  'tamper-frank',
  'tamper-grace',
  'tamper-heidi',
  'tamper-ivan',
  'tamper-judy',
  'tamper-ken',
  'tamper-untouched',
];

const tamperings: Tampering[] = [
  {
    name: "another user's private key envelope copied into this row",
    subject: 'tamper-bob',
    async apply(row) {
      await setField(row.key_no, 'private_key', (await rowOf('tamper-alice')).private_key);
      return [['private_key', 'unreadable']];
    },
  },
  {
    name: "the row's public key envelope copied into its private key column",
    subject: 'tamper-carol',
    async apply(row) {
      await setField(row.key_no, 'private_key', row.public_key);
      return [['private_key', 'unreadable']];
    },
  },
  {
    name: 'the two columns swapped',
    subject: 'tamper-dave',
    async apply(row) {
      await setField(row.key_no, 'private_key', row.public_key);
      await setField(row.key_no, 'public_key', row.private_key);
      return [
        ['public_key', 'unreadable'],
        ['private_key', 'unreadable'],
      ];
    },
  },
  {
    name: "the same user's envelope from another exchange copied in",
    subject: 'tamper-alice',
    exchangeId: 102,
    async apply(row) {
      await setField(row.key_no, 'private_key', (await rowOf('tamper-alice', 101)).private_key);
      return [['private_key', 'unreadable']];
    },
  },
  {
    name: 'the whole row handed to another user (user_no changed)',
    subject: 'tamper-erin',
    async apply(row) {
      const other = await userNoOf(db.pool, 'tamper-frank-no-key');
      await db.pool.query('UPDATE tb_exchange_api_keys SET user_no = $2 WHERE key_no = $1', [row.key_no, other]);
      return [
        ['public_key', 'unreadable'],
        ['private_key', 'unreadable'],
      ];
    },
  },
  {
    name: 'one bit of the ciphertext flipped',
    subject: 'tamper-frank',
    async apply(row) {
      await setField(row.key_no, 'private_key', flipBit(row.private_key, 'enc', 5));
      return [['private_key', 'unreadable']];
    },
  },
  {
    name: 'one bit of the tag flipped',
    subject: 'tamper-grace',
    async apply(row) {
      await setField(row.key_no, 'public_key', flipBit(row.public_key, 'tag', 77));
      return [['public_key', 'unreadable']];
    },
  },
  {
    name: 'one bit of the nonce flipped',
    subject: 'tamper-heidi',
    async apply(row) {
      await setField(row.key_no, 'private_key', flipBit(row.private_key, 'nonce', 0));
      return [['private_key', 'unreadable']];
    },
  },
  {
    name: 'the ciphertext cut short by a byte',
    subject: 'tamper-ivan',
    async apply(row) {
      const enc = Buffer.from(String(row.private_key.enc), 'base64');
      await setField(row.key_no, 'private_key', { ...row.private_key, enc: enc.subarray(0, enc.length - 1).toString('base64') });
      return [['private_key', 'unreadable']];
    },
  },
  {
    name: 'a kid the ring does not hold',
    subject: 'tamper-judy',
    async apply(row) {
      await setField(row.key_no, 'private_key', { ...row.private_key, kid: 'k-unknown' });
      return [['private_key', 'unknown_kid']];
    },
  },
  {
    name: 'relabelled as a version-1 envelope',
    subject: 'tamper-ken',
    async apply(row) {
      const { kid: _kid, ...rest } = row.private_key;
      await setField(row.key_no, 'private_key', { ...rest, version: 1, alg: 'AES-GCM' });
      return [['private_key', 'malformed']];
    },
  },
];

const expectedFailures: Array<{ key_no: number; field: Field; reason: EnvelopeFailure }> = [];
const tamperedRows = new Map<string, Row>();

beforeAll(async () => {
  db = await createTestDatabase();
  api = await loadHandlers({ DATABASE_URL: db.url, SYMMETRIC_KEY: RING });
  ring = await keyRingFromText(RING);
  expect((await api.call('create-exchange', { subject: 'tamper-admin', admin: true, body: { exchange_name: 'Binance' } })).status).toBe(201);
  for (const subject of SUBJECTS)
    expect((await api.call('register-api-key', { subject, body: { exchange_id: 101, ...keysOf(subject, 101) } })).status).toBe(201);
  expect((await api.call('register-api-key', { subject: 'tamper-alice', body: { exchange_id: 102, ...keysOf('tamper-alice', 102) } })).status).toBe(201);
  expect(
    (await api.call('register-api-key', { subject: 'tamper-frank-no-key', body: { exchange_id: 102, ...keysOf('tamper-frank-no-key', 102) } })).status,
  ).toBe(201);

  // Every row opens before anything is altered, so each failure below is the alteration's doing.
  const { rows } = await db.pool.query<Row>('SELECT key_no, user_no, exchange_id, public_key, private_key, sealing FROM tb_exchange_api_keys');
  for (const row of rows) for (const field of ['public_key', 'private_key'] as const) expect(openWithRowsPlace(row, field)).toHaveProperty('opened');

  for (const tampering of tamperings) {
    const row = await rowOf(tampering.subject, tampering.exchangeId);
    for (const [field, reason] of await tampering.apply(row)) expectedFailures.push({ key_no: row.key_no, field, reason });
    const after = (
      await db.pool.query<Row>('SELECT key_no, user_no, exchange_id, public_key, private_key, sealing FROM tb_exchange_api_keys WHERE key_no = $1', [
        row.key_no,
      ])
    ).rows[0]!;
    tamperedRows.set(tampering.name, after);
  }
});

afterAll(async () => {
  await closeHandlerPool();
  await db?.drop();
});

describe('a moved or altered envelope never opens', () => {
  it.each(tamperings.map((tampering) => [tampering.name, tampering] as const))('%s', async (_name, tampering) => {
    const row = tamperedRows.get(tampering.name)!;
    const expected = expectedFailures.filter((failure) => failure.key_no === row.key_no);
    expect(expected.length).toBeGreaterThan(0);
    for (const { field, reason } of expected) {
      const outcome = openWithRowsPlace(row, field);
      expect(outcome).toEqual({ reason, message: expect.any(String) });
      // The error says why, never what: no plaintext of this row or any other.
      for (const subject of SUBJECTS) expect(JSON.stringify(outcome)).not.toContain(subject);
    }
  });

  it('while the rows nobody touched still open to exactly what was registered', async () => {
    const row = await rowOf('tamper-untouched');
    expect(openWithRowsPlace(row, 'private_key')).toEqual({ opened: keysOf('tamper-untouched', 101).private_key });
    expect(openWithRowsPlace(row, 'public_key')).toEqual({ opened: keysOf('tamper-untouched', 101).public_key });
  });
});

describe('the key-maintenance verify command', () => {
  it('reports exactly the altered fields, by key_no, field and reason, and no other row', async () => {
    const report = await verify({ db: db.pool, keyRingSource: cachedKeyRingSource(() => keyRingFromText(RING)) });
    const byPlace = (a: { key_no: number; field: string }, b: { key_no: number; field: string }) => a.key_no - b.key_no || a.field.localeCompare(b.field);
    expect(report.ok).toBe(false);
    expect(report.rows).toBe(SUBJECTS.length + 2);
    expect([...report.failures].sort(byPlace)).toEqual([...expectedFailures].sort(byPlace));
    expect(report.failureCount).toBe(expectedFailures.length);
    for (const subject of SUBJECTS) expect(JSON.stringify(report)).not.toContain(subject);
  });
});

describe('reads never decrypt', () => {
  it('so the owner of an altered row still gets their list, masks and all', async () => {
    const response = await api.call('list-api-keys', { subject: 'tamper-bob' });
    expect(response.status).toBe(200);
    expect(maskedApiKeyList.parse(response.body).map((key) => [key.exchange_id, key.status])).toEqual([[101, 'ready']]);
  });
});
