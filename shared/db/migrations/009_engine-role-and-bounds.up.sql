-- Login roles that cannot be turned against the vault: the engine gets a role of its own, each
-- role appends only events of its own actor kind, no login role can lock a table, create large
-- objects or temporary tables, or keep a transaction open past a bound.

-- vault_engine: the role open-api-key (and any later engine function) logs in as. It reads what
-- an open reads and appends engine events; nothing else. Created as vault_app is (migration 003).
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'vault_engine') THEN
        CREATE ROLE vault_engine NOLOGIN;
    END IF;
EXCEPTION
    WHEN duplicate_object OR unique_violation THEN NULL;
END
$$;
GRANT SELECT (key_no, user_no, exchange_id, public_key, private_key, is_active, create_date, update_date, sealing, key_version, etag)
    ON tb_exchange_api_keys TO vault_engine;
-- SELECT ... FOR SHARE needs UPDATE on some column. key_no is the one: the row guard (008)
-- refuses to change it and refuses an update that changes nothing, so this grant locks and never writes.
GRANT UPDATE (key_no) ON tb_exchange_api_keys TO vault_engine;
GRANT SELECT (user_no, auth_subject) ON tb_users TO vault_engine;
GRANT SELECT ON tb_exchanges, tb_exchange_api_key_events, tb_v1_envelope_bindings TO vault_engine;
GRANT INSERT (user_no, exchange_id, event, actor_kind, actor_id, request_id, purpose, reason) ON tb_exchange_api_key_events TO vault_engine;

-- Each role appends only events of its own actor kind: a user's and maintenance's from
-- vault_app, the engine's from vault_engine. Row-level security on the history (the owner, the
-- migration user, is not subject to it); everyone who may read it reads all of it.
ALTER TABLE tb_exchange_api_key_events ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS events_readable ON tb_exchange_api_key_events;
CREATE POLICY events_readable ON tb_exchange_api_key_events FOR SELECT TO vault_app, vault_reader, vault_engine USING (true);
DROP POLICY IF EXISTS events_of_users_and_maintenance ON tb_exchange_api_key_events;
CREATE POLICY events_of_users_and_maintenance ON tb_exchange_api_key_events FOR INSERT TO vault_app
    WITH CHECK (actor_kind IN ('user', 'maintenance'));
DROP POLICY IF EXISTS events_of_the_engine ON tb_exchange_api_key_events;
CREATE POLICY events_of_the_engine ON tb_exchange_api_key_events FOR INSERT TO vault_engine
    WITH CHECK (actor_kind = 'engine');

-- Table-level DELETE let vault_app LOCK the key table in any mode, ACCESS EXCLUSIVE included,
-- and so stop every list and open. It deletes through this function instead: one row by key_no,
-- as the DELETE route did. With only column-level INSERT and UPDATE and table-level SELECT, no
-- login role may lock any table in a mode above ACCESS SHARE (which only DDL waits for).
CREATE OR REPLACE FUNCTION delete_api_key_row(p_key_no INTEGER) RETURNS SETOF tb_exchange_api_keys
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    DELETE FROM tb_exchange_api_keys WHERE key_no = p_key_no RETURNING *
$$;
REVOKE EXECUTE ON FUNCTION delete_api_key_row(INTEGER) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION delete_api_key_row(INTEGER) TO vault_app;
REVOKE DELETE ON tb_exchange_api_keys FROM vault_app;

-- PUBLIC may create temporary tables and large objects by default: a read-only role could fill
-- the disk (lo_from_bytea stores what it is given). Temporary tables are the database owner's to
-- grant; the large-object functions are the bootstrap superuser's, and a master user that does not
-- own them (RDS) only gets a warning here: docs/deploy.md says how to check.
DO $$
BEGIN
    EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
END
$$;
REVOKE EXECUTE ON FUNCTION lo_from_bytea(OID, BYTEA), lo_create(OID), lo_creat(INTEGER), lo_import(TEXT), lo_import(TEXT, OID) FROM PUBLIC;
DO $$
BEGIN
    IF has_function_privilege('vault_reader', 'lo_from_bytea(oid, bytea)', 'EXECUTE') THEN
        RAISE WARNING 'login roles can still create large objects: the migration user does not own lo_from_bytea';
    END IF;
END
$$;

-- Every login role's transaction is bounded, not only each statement: a session that keeps
-- sending short statements no longer holds its row locks for as long as it likes. A request is one
-- statement of at most 5 s; key maintenance, which runs batches in transactions, raises both its
-- limits for its own transactions (shared/key-maintenance/rows.ts). transaction_timeout exists
-- from PostgreSQL 17; before that only the statement and idle limits apply (docs/deploy.md).
ALTER ROLE vault_engine SET statement_timeout = '5s';
ALTER ROLE vault_engine SET idle_in_transaction_session_timeout = '30s';
DO $$
BEGIN
    IF current_setting('server_version_num')::INTEGER >= 170000 THEN
        ALTER ROLE vault_app SET transaction_timeout = '10s';
        ALTER ROLE vault_reader SET transaction_timeout = '10s';
        ALTER ROLE vault_engine SET transaction_timeout = '10s';
    END IF;
END
$$;
