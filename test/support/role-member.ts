import { randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * A throwaway login that is a member of one of the service's roles: its privileges and nothing of
 * its own. Tests log in as it, never as the role itself, whose password is cluster-wide and the
 * migrate handler's to set.
 */
export interface RoleMember {
  readonly role: string;
  /** The database `databaseUrl` names, logged in as this member. */
  urlFor(databaseUrl: string): string;
  drop(): Promise<void>;
}

export async function createRoleMember(admin: pg.ClientBase, of: string): Promise<RoleMember> {
  const role = `${of}_probe_${randomBytes(4).toString('hex')}`;
  const password = randomBytes(18).toString('hex');
  await admin.query(`CREATE ROLE ${pg.escapeIdentifier(role)} LOGIN PASSWORD ${pg.escapeLiteral(password)} IN ROLE ${pg.escapeIdentifier(of)}`);
  return {
    role,
    urlFor(databaseUrl) {
      const url = new URL(databaseUrl);
      url.username = role;
      url.password = password;
      return url.toString();
    },
    async drop() {
      await admin.query(`DROP ROLE IF EXISTS ${pg.escapeIdentifier(role)}`);
    },
  };
}

export interface Grant {
  readonly object: string;
  readonly privilege: string;
}

/** What `role` was granted in the database `catalog` is connected to: on tables and sequences, and on columns (`table.column`). */
export async function grantsOf(catalog: pg.Pool, role: string): Promise<{ tables: Grant[]; columns: Grant[] }> {
  const { rows: tables } = await catalog.query<Grant>(
    `SELECT c.relname AS object, a.privilege_type AS privilege
       FROM pg_class c, aclexplode(c.relacl) a
      WHERE a.grantee = $1::regrole ORDER BY 1, 2`,
    [role],
  );
  const { rows: columns } = await catalog.query<Grant>(
    `SELECT c.relname || '.' || at.attname AS object, a.privilege_type AS privilege
       FROM pg_attribute at JOIN pg_class c ON c.oid = at.attrelid, aclexplode(at.attacl) a
      WHERE a.grantee = $1::regrole ORDER BY 1, 2`,
    [role],
  );
  return { tables, columns };
}
