import pg from 'pg';
import { SubjectNotLinked } from '../errors.js';
import { type Queryable, query } from './query.js';

/**
 * The user row a token subject names, created on its first registration. A linked subject's row
 * is found without an insert being tried: on a database adopted from the seed, the new row would
 * fail the seed's NOT NULL columns before PostgreSQL considered the conflict. The conflicting
 * branch updates nothing but makes RETURNING yield the row a concurrent first request inserted.
 */
export async function upsertUserNo(db: Queryable, subject: string): Promise<number> {
  try {
    const { rows } = await query<{ user_no: number }>(
      db,
      `WITH linked AS (
         SELECT user_no FROM tb_users WHERE auth_subject = $1
       ), created AS (
         INSERT INTO tb_users (auth_subject) SELECT $1 WHERE NOT EXISTS (SELECT 1 FROM linked)
         ON CONFLICT (auth_subject) DO UPDATE SET auth_subject = EXCLUDED.auth_subject
         RETURNING user_no
       )
       SELECT user_no FROM linked UNION ALL SELECT user_no FROM created`,
      [subject],
    );
    const [row] = rows;
    if (!row) throw new Error('upsert returned no row');
    return row.user_no;
  } catch (error) {
    // A database adopted from the seed may give tb_users NOT NULL columns we cannot fill:
    // such a deployment links its users to subjects instead (docs/key-management.md, "Adopting a database written by the seed's service").
    if (error instanceof pg.DatabaseError && error.code === '23502' && error.table === 'tb_users') {
      throw new SubjectNotLinked('the subject has no user row, and tb_users has NOT NULL columns this service cannot fill');
    }
    throw error;
  }
}

/**
 * A subject's user_no rarely changes, so a container may remember it; memory only ever saves a
 * statement: a relink is caught by the guard in the writes, and a request naming another user_no
 * makes the service ask the database before it refuses.
 */
export interface UserDirectory {
  /** The subject's user_no, from memory or else from the database (creating the user). */
  userNoFor(subject: string): Promise<number>;
  /**
   * The subject's user_no when it already has one, from memory unless the request named another
   * (memory is no ground for a 403: the subject may have been relinked), else from the database;
   * never creates a user.
   */
  linkedUserNo(subject: string, named: number | undefined): Promise<number | undefined>;
  /** What this container already knows, without a statement. */
  remembered(subject: string): number | undefined;
  /** A user_no the database just confirmed for the subject. */
  remember(subject: string, userNo: number): void;
  forget(subject: string): void;
}

/** The user_no a subject is linked to, if any: a lookup that never creates a user. */
async function selectLinkedUserNo(db: Queryable, subject: string): Promise<number | undefined> {
  const { rows } = await query<{ user_no: number }>(db, 'SELECT user_no FROM tb_users WHERE auth_subject = $1', [subject]);
  return rows[0]?.user_no;
}

export function createUserDirectory(db: Queryable, capacity = 1000): UserDirectory {
  const known = new Map<string, number>();
  const remember = (subject: string, userNo: number): void => {
    if (!known.has(subject) && known.size >= capacity) known.delete(known.keys().next().value as string);
    known.set(subject, userNo);
  };
  return {
    async userNoFor(subject) {
      const cached = known.get(subject);
      if (cached !== undefined) return cached;
      const userNo = await upsertUserNo(db, subject);
      remember(subject, userNo);
      return userNo;
    },
    async linkedUserNo(subject, named) {
      const cached = known.get(subject);
      if (cached !== undefined && (named === undefined || named === cached)) return cached;
      known.delete(subject);
      const userNo = await selectLinkedUserNo(db, subject);
      if (userNo !== undefined) remember(subject, userNo);
      return userNo;
    },
    remembered: (subject) => known.get(subject),
    remember,
    forget(subject) {
      known.delete(subject);
    },
  };
}
