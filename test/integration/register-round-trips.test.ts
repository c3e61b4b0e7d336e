/**
 * How many statements a registration costs, counted where pg sends them, and that saving one
 * never lets a caller write under a user_no that is not theirs. Each case is a container that has
 * just started: a user directory that remembers nothing.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import pg from 'pg';
import { openEnvelope } from '../../shared/crypto/envelope.js';
import { keyRingFromText } from '../../shared/crypto/key-ring.js';
import { cachedKeyRingSource } from '../../shared/crypto/key-ring-source.js';
import { createExchangeKindMemory } from '../../shared/db/exchanges.js';
import { API_KEYS_TABLE } from '../../shared/db/tables.js';
import { createUserDirectory, type UserDirectory } from '../../shared/db/users.js';
import { NO_CHECKS } from '../../shared/exchanges/checker.js';
import type { RegisterApiKeyBody } from '../../shared/schemas/api-keys.js';
import { type RegisterDependencies, registerApiKey } from '../../shared/services/api-keys.js';
import type { Caller } from '../../shared/services/caller.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { testSymmetricKey } from '../support/handlers.js';

let db: TestDatabase;
const symmetricKey = testSymmetricKey();
const keyRingSource = cachedKeyRingSource(() => keyRingFromText(symmetricKey));

beforeAll(async () => {
  db = await createTestDatabase();
  const { rows } = await db.pool.query<{ exchange_id: number }>(`INSERT INTO tb_exchanges (exchange_name) VALUES ('Binance') RETURNING exchange_id`);
  expect(rows[0]!.exchange_id).toBe(102);
});

afterAll(async () => {
  await db.drop();
});

afterEach(() => {
  jest.restoreAllMocks();
});

let subjects = 0;
const freshSubject = (): string => `round-trips-${++subjects}`;

/** A user row linked to the subject, as an earlier container or the seed-adoption runbook left it. */
const existingUser = async (subject: string): Promise<number> =>
  (await db.pool.query<{ user_no: number }>('INSERT INTO tb_users (auth_subject) VALUES ($1) RETURNING user_no', [subject])).rows[0]!.user_no;

const caller = (subject: string): Caller => ({ subject, isAdmin: false });

const newContainer = (): RegisterDependencies & { users: UserDirectory } => ({
  db: db.pool,
  users: createUserDirectory(db.pool),
  kinds: createExchangeKindMemory(),
  keyRingSource,
  checker: NO_CHECKS,
});

const aKey = (extra: Partial<RegisterApiKeyBody> = {}): RegisterApiKeyBody => ({
  exchange_id: 101,
  public_key: 'PUBLICabcdefghijkl',
  private_key: 'PRIVATE-0123456789-abcdefWXYZ',
  ...extra,
});

/** Runs `work` and counts the statements it sent to PostgreSQL. */
async function counted<T>(work: () => Promise<T>): Promise<{ statements: number; result: T | undefined; error: unknown }> {
  const spy = jest.spyOn(pg.Client.prototype, 'query');
  try {
    const result = await work();
    return { statements: spy.mock.calls.length, result, error: undefined };
  } catch (error) {
    return { statements: spy.mock.calls.length, result: undefined, error };
  } finally {
    spy.mockRestore();
  }
}

const keyRowsOf = async (userNo: number) =>
  (await db.pool.query('SELECT user_no, exchange_id, public_key, private_key, sealing FROM tb_exchange_api_keys WHERE user_no = $1 ORDER BY key_no', [userNo]))
    .rows;

describe('statements per registration', () => {
  it("costs one more the first time a container meets an exchange's kind, and never stores a key unchecked against it", async () => {
    const { rows } = await db.pool.query<{ exchange_id: number }>(
      `INSERT INTO tb_exchanges (exchange_name, kind) VALUES ('CoinoneRT', 'coinone') RETURNING exchange_id`,
    );
    const coinone = rows[0]!.exchange_id;
    const container = newContainer();
    const subject = freshSubject();
    const userNo = await existingUser(subject);
    const uuidKey = () => aKey({ exchange_id: coinone, user_no: userNo, public_key: randomUUID(), private_key: randomUUID() });
    // The container guesses no kind; the insert finds coinone, writes nothing, and says so: the key is checked, then written.
    expect(await counted(() => registerApiKey(container, caller(subject), uuidKey()))).toMatchObject({ statements: 2, error: undefined });
    expect(container.kinds.remembered(coinone)).toBe('coinone');
    await db.pool.query('DELETE FROM tb_exchange_api_keys WHERE user_no = $1', [userNo]);
    expect(await counted(() => registerApiKey(container, caller(subject), uuidKey()))).toMatchObject({ statements: 1, error: undefined });
    // A free-form key at a fresh container: the statement that learns the kind writes nothing, and the check refuses it.
    await db.pool.query('DELETE FROM tb_exchange_api_keys WHERE user_no = $1', [userNo]);
    const refused = await counted(() => registerApiKey(newContainer(), caller(subject), aKey({ exchange_id: coinone, user_no: userNo })));
    expect(refused).toMatchObject({ statements: 1, error: { status: 422 } });
    expect(await keyRowsOf(userNo)).toEqual([]);
  });

  it('costs two on a subject first seen by this container: its user_no is needed before sealing', async () => {
    const container = newContainer();
    const subject = freshSubject();
    const first = await counted(() => registerApiKey(container, caller(subject), aKey()));
    expect(first).toMatchObject({ statements: 2, error: undefined });
    const second = await counted(() => registerApiKey(container, caller(subject), aKey({ exchange_id: 102 })));
    expect(second.statements).toBe(1);
  });

  it('costs one when the caller names its own user_no, in the body or the query', async () => {
    for (const where of ['body', 'query'] as const) {
      const subject = freshSubject();
      const userNo = await existingUser(subject);
      const outcome = await counted(() =>
        registerApiKey(newContainer(), caller(subject), where === 'body' ? aKey({ user_no: userNo }) : aKey(), where === 'query' ? { user_no: userNo } : {}),
      );
      expect(outcome).toMatchObject({ statements: 1, error: undefined });
      const [row] = await keyRowsOf(userNo);
      const place = { table: API_KEYS_TABLE, userNo, exchangeId: 101, sealing: row.sealing } as const;
      const ring = await keyRingSource.current();
      expect(openEnvelope(row.private_key, ring, { ...place, field: 'private_key' })).toBe(aKey().private_key);
    }
  });

  it('remembers a user_no the insert confirmed: the next registration without one is one statement', async () => {
    const container = newContainer();
    const subject = freshSubject();
    const userNo = await existingUser(subject);
    await registerApiKey(container, caller(subject), aKey({ user_no: userNo }));
    expect(await counted(() => registerApiKey(container, caller(subject), aKey({ exchange_id: 102 })))).toMatchObject({ statements: 1, error: undefined });
  });
});

describe('a named user_no that is not the caller’s', () => {
  it.each(['body', 'query'] as const)('in the %s, is refused with 403 and writes nothing, from a caller with a user row and from a new one', async (where) => {
    const victim = freshSubject();
    const victimNo = await existingUser(victim);
    await registerApiKey(newContainer(), caller(victim), aKey());
    const victimRows = await keyRowsOf(victimNo);
    const withRow = freshSubject();
    await existingUser(withRow);
    const brandNew = freshSubject();

    for (const attacker of [withRow, brandNew]) {
      const body = where === 'body' ? aKey({ user_no: victimNo, exchange_id: 102 }) : aKey({ exchange_id: 102 });
      const { error } = await counted(() => registerApiKey(newContainer(), caller(attacker), body, where === 'query' ? { user_no: victimNo } : {}));
      expect(error).toMatchObject({ status: 403 });
    }
    expect(await keyRowsOf(victimNo)).toEqual(victimRows);
    const written = await db.pool.query(
      'SELECT count(*)::int AS n FROM tb_exchange_api_keys k JOIN tb_users u USING (user_no) WHERE u.auth_subject = ANY($1)',
      [[withRow, brandNew]],
    );
    expect(written.rows[0].n).toBe(0);
  });

  it('is refused after the database confirms it when this container already knows the caller', async () => {
    const container = newContainer();
    const subject = freshSubject();
    const userNo = await existingUser(subject);
    const other = await existingUser(freshSubject());
    await registerApiKey(container, caller(subject), aKey());
    const { statements, error } = await counted(() => registerApiKey(container, caller(subject), aKey({ user_no: other, exchange_id: 102 })));
    expect(error).toMatchObject({ status: 403 });
    // The guessed insert, which matches no caller and writes nothing, then the user lookup.
    expect(statements).toBe(2);
    expect(await keyRowsOf(other)).toEqual([]);
    expect(container.users.remembered(subject)).toBe(userNo);
  });

  it('is refused when body and query name different numbers, one of them the caller’s own', async () => {
    const subject = freshSubject();
    const userNo = await existingUser(subject);
    const { statements, error } = await counted(() => registerApiKey(newContainer(), caller(subject), aKey({ user_no: userNo }), { user_no: userNo + 1 }));
    expect(error).toMatchObject({ status: 403 });
    expect(statements).toBe(0);
    expect(await keyRowsOf(userNo)).toEqual([]);
  });
});

describe('a subject relinked to another user row while a container remembers the old one', () => {
  /** As the adoption runbook does: the subject now names a seed user, its first row is left unlinked. */
  const relink = async (subject: string): Promise<number> => {
    const seedUser = (await db.pool.query<{ user_no: number }>('INSERT INTO tb_users DEFAULT VALUES RETURNING user_no')).rows[0]!.user_no;
    await db.pool.query('UPDATE tb_users SET auth_subject = NULL WHERE auth_subject = $1', [subject]);
    await db.pool.query('UPDATE tb_users SET auth_subject = $1 WHERE user_no = $2', [subject, seedUser]);
    return seedUser;
  };

  it.each(['body', 'query'] as const)('registers under the new row when the request names it in the %s, and remembers it', async (where) => {
    const container = newContainer();
    const subject = freshSubject();
    const before = await existingUser(subject);
    await registerApiKey(container, caller(subject), aKey());
    expect(container.users.remembered(subject)).toBe(before);
    const after = await relink(subject);

    const body = where === 'body' ? aKey({ user_no: after, exchange_id: 102 }) : aKey({ exchange_id: 102 });
    await expect(registerApiKey(container, caller(subject), body, where === 'query' ? { user_no: after } : {})).resolves.toEqual({
      message: 'API key registered successfully.',
    });
    expect((await keyRowsOf(after)).map((row) => row.exchange_id)).toEqual([102]);
    expect(container.users.remembered(subject)).toBe(after);
  });

  it('registers under the new row when the request names none', async () => {
    const container = newContainer();
    const subject = freshSubject();
    await existingUser(subject);
    await registerApiKey(container, caller(subject), aKey());
    const after = await relink(subject);
    await expect(registerApiKey(container, caller(subject), aKey({ exchange_id: 102 }))).resolves.toEqual({ message: 'API key registered successfully.' });
    expect((await keyRowsOf(after)).map((row) => row.exchange_id)).toEqual([102]);
  });

  it('still refuses the row it was linked to before', async () => {
    const container = newContainer();
    const subject = freshSubject();
    const before = await existingUser(subject);
    await registerApiKey(container, caller(subject), aKey());
    await relink(subject);
    await expect(registerApiKey(container, caller(subject), aKey({ user_no: before, exchange_id: 102 }))).rejects.toMatchObject({ status: 403 });
    expect((await keyRowsOf(before)).map((row) => row.exchange_id)).toEqual([101]);
  });
});
