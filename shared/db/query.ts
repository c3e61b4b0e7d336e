import pg from 'pg';
import { Unavailable } from '../errors.js';

export type Queryable = Pick<pg.Pool, 'query'>;

/** SQLSTATE classes that mean "the server cannot serve us now", not "the statement is wrong". */
const UNAVAILABLE_CLASSES = ['08', '53', '57', '58'];

const reasonOf = (error: unknown): string => {
  if (error instanceof pg.DatabaseError) return `sqlstate ${error.code ?? 'unknown'}`;
  if (error instanceof Error) return 'code' in error && typeof error.code === 'string' ? error.code : error.message;
  return 'unknown';
};

/**
 * pg.Pool#query discards its connection whenever a statement fails, even when the server only
 * refused the statement (a unique violation, i.e. every 409): the next request would then pay for
 * a new connection (through RDS Proxy: TLS, an IAM token, authentication). This is pg.Pool#query
 * with one difference: the connection goes back to the pool unless the failure was its own.
 * Callbacks, as in pg-pool, so the error listener is on before pg parses another message.
 */
function send<Row extends pg.QueryResultRow>(db: Queryable, text: string, values: unknown[]): Promise<pg.QueryResult<Row>> {
  if (!(db instanceof pg.Pool)) return db.query<Row>(text, values);
  return new Promise((resolve, reject) => {
    db.connect((connectError, client, release) => {
      if (connectError || !client) return reject(connectError ?? new Error('no connection'));
      let settled = false;
      const lost = (error: Error): void => {
        if (settled) return;
        settled = true;
        release(error);
        reject(error);
      };
      client.once('error', lost);
      try {
        client.query<Row>(text, values, (error, result) => {
          client.removeListener('error', lost);
          if (settled) return;
          settled = true;
          const refused = error instanceof pg.DatabaseError && error.severity !== 'FATAL' && error.severity !== 'PANIC';
          release(error && !refused ? error : undefined);
          if (error) reject(error);
          else resolve(result);
        });
      } catch (error) {
        client.removeListener('error', lost);
        settled = true;
        release(error);
        reject(error);
      }
    });
  });
}

/**
 * Every statement goes through here. Only pg runs inside the call, so anything it throws that is
 * not a server-reported DatabaseError is a connection failure (refused, reset, pool or connect
 * timeout); server errors of the unavailability classes are too. Either is thrown as Unavailable,
 * the cause kept as its reason for the log only. Other server errors (a unique
 * violation, say) reach the caller as they are, to be decided by code and constraint name.
 */
export async function query<Row extends pg.QueryResultRow>(db: Queryable, text: string, values: readonly unknown[] = []): Promise<pg.QueryResult<Row>> {
  try {
    return await send<Row>(db, text, values as unknown[]);
  } catch (error) {
    if (error instanceof pg.DatabaseError && !UNAVAILABLE_CLASSES.includes(error.code?.slice(0, 2) ?? '')) throw error;
    throw new Unavailable('database', reasonOf(error));
  }
}

export const isUniqueViolation = (error: unknown, constraints: readonly string[]): boolean =>
  error instanceof pg.DatabaseError && error.code === '23505' && constraints.includes(error.constraint ?? '');
