import pg from 'pg';
import { AppError, RETRY_AFTER_SECONDS } from '../errors.js';

export type Queryable = Pick<pg.Pool, 'query'>;

/** SQLSTATE classes that mean "the server cannot serve us now", not "the statement is wrong". */
const UNAVAILABLE_CLASSES = ['08', '53', '57', '58'];

/** Thrown instead of a transport or availability failure; keeps the cause for the log only. */
export class DatabaseUnavailable extends AppError {
  constructor(readonly reason: string) {
    super(503, 'The database is unavailable; retry shortly', { 'retry-after': String(RETRY_AFTER_SECONDS) });
    this.name = 'DatabaseUnavailable';
  }
}

const reasonOf = (error: unknown): string => {
  if (error instanceof pg.DatabaseError) return `sqlstate ${error.code ?? 'unknown'}`;
  if (error instanceof Error) return 'code' in error && typeof error.code === 'string' ? error.code : error.message;
  return 'unknown';
};

/**
 * Every statement goes through here. Only pg runs inside the call, so anything it throws that is
 * not a server-reported DatabaseError is a connection failure (refused, reset, pool or connect
 * timeout); server errors of the unavailability classes are too. Other server errors (a unique
 * violation, say) reach the caller as they are, to be decided by code and constraint name.
 */
export async function query<Row extends pg.QueryResultRow>(db: Queryable, text: string, values: readonly unknown[] = []): Promise<pg.QueryResult<Row>> {
  try {
    return await db.query<Row>(text, values as unknown[]);
  } catch (error) {
    if (error instanceof pg.DatabaseError && !UNAVAILABLE_CLASSES.includes(error.code?.slice(0, 2) ?? '')) throw error;
    throw new DatabaseUnavailable(reasonOf(error));
  }
}

export const isUniqueViolation = (error: unknown, constraints: readonly string[]): boolean =>
  error instanceof pg.DatabaseError && error.code === '23505' && constraints.includes(error.constraint ?? '');
