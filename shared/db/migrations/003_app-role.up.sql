-- vault_app: the role the API and key-maintenance functions connect as. It may read and write
-- rows the way the service does and nothing more: no DELETE, no TRUNCATE, no DDL, no ownership,
-- no setval. The migration function (the master user) sets its password on deploy; until then,
-- and locally, it cannot log in.
--
-- Roles are cluster-wide: the role may already exist (another database of the cluster, an earlier
-- run), and another database's migration may be creating it in a transaction not yet committed,
-- in which case CREATE ROLE waits for it and then fails as a duplicate.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'vault_app') THEN
        CREATE ROLE vault_app NOLOGIN;
    END IF;
EXCEPTION
    WHEN duplicate_object OR unique_violation THEN NULL;
END
$$;

-- First registration: INSERT ... ON CONFLICT (auth_subject) DO UPDATE SET auth_subject ... RETURNING.
GRANT SELECT, INSERT ON tb_users TO vault_app;
GRANT UPDATE (auth_subject) ON tb_users TO vault_app;
GRANT USAGE ON SEQUENCE tb_users_user_no_seq TO vault_app;

-- Listing and creating exchanges.
GRANT SELECT, INSERT ON tb_exchanges TO vault_app;
GRANT USAGE ON SEQUENCE exchange_no_seq TO vault_app;

-- Registering and listing keys; reencrypt locks rows (SELECT ... FOR UPDATE, which needs UPDATE on
-- a column) and rewrites the envelopes and masks, never the owner, exchange, flag or dates.
GRANT SELECT, INSERT ON tb_exchange_api_keys TO vault_app;
GRANT UPDATE (public_key, private_key, public_key_masked, private_key_masked) ON tb_exchange_api_keys TO vault_app;
GRANT USAGE ON SEQUENCE tb_exchange_api_keys_key_no_seq TO vault_app;
