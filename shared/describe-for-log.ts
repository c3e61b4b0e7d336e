import pg from 'pg';

/**
 * What an unexpected error may say in a log: its kind and where it came from. Messages are left
 * out because some quote their input (JSON.parse, pg's "invalid input syntax"), and input may be a key.
 */
export function describeForLog(error: unknown): Record<string, unknown> {
  if (error instanceof pg.DatabaseError) {
    const { code, constraint, table, column, routine } = error;
    return { name: 'DatabaseError', code, constraint, table, column, routine };
  }
  // The stack begins with the message, which may run over several lines: keep only the frames.
  if (error instanceof Error)
    return {
      name: error.name,
      stack: error.stack
        ?.split('\n')
        .filter((line) => /^\s+at /.test(line))
        .join('\n'),
    };
  return { name: typeof error };
}
