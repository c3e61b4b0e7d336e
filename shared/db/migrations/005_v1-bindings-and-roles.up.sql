-- Least privilege, second step, and the binding of the seed's envelopes to their places.

-- vault_app inserts rows but never chooses their ids or dates: INSERT on the columns the service
-- fills, not on the table. (A row inserted with an explicit user_no would leave the sequence
-- behind it, and a later first registration would fail on tb_users_pkey.)
REVOKE INSERT ON tb_users, tb_exchanges, tb_exchange_api_keys FROM vault_app;
GRANT INSERT (auth_subject) ON tb_users TO vault_app;
GRANT INSERT (exchange_name) ON tb_exchanges TO vault_app;
GRANT INSERT (user_no, exchange_id, public_key, private_key, public_key_masked, private_key_masked, is_active)
    ON tb_exchange_api_keys TO vault_app;

-- vault_reader: the role the list and read routes connect as. It reads and nothing more. Created
-- as vault_app is (migration 003): cluster-wide, maybe already there or being created by another
-- database's migration; the migration function sets its password on deploy.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'vault_reader') THEN
        CREATE ROLE vault_reader NOLOGIN;
    END IF;
EXCEPTION
    WHEN duplicate_object OR unique_violation THEN NULL;
END
$$;
-- Only the columns the read routes show or need: never the envelopes (it cannot open them, but
-- nothing should hand the least-trusted login every ciphertext), nor an adopted seed user's own columns.
GRANT SELECT ON tb_exchanges, tb_exchange_api_key_events TO vault_reader;
GRANT SELECT (user_no, auth_subject) ON tb_users TO vault_reader;
GRANT SELECT (key_no, user_no, exchange_id, is_active, create_date, update_date, public_key_masked, private_key_masked)
    ON tb_exchange_api_keys TO vault_reader;

-- Seed envelopes (version 1) carry no associated data, so on their own they open wherever they
-- are copied. Each one is bound to its row and column here, at adoption, by a digest of its place
-- and its content, kept where vault_app can only read: a version-1 envelope opens only where a
-- digest recorded for that key_no and field matches it (shared/crypto/envelope.ts computes the
-- same digest). Records are never replaced, so no later write can make a moved envelope match.
CREATE TABLE IF NOT EXISTS tb_v1_envelope_bindings (
    key_no INTEGER NOT NULL REFERENCES tb_exchange_api_keys (key_no) ON DELETE CASCADE,
    field TEXT NOT NULL CONSTRAINT ck_v1_binding_field CHECK (field IN ('public_key', 'private_key')),
    digest BYTEA NOT NULL CONSTRAINT ck_v1_binding_digest CHECK (octet_length(digest) = 32),
    PRIMARY KEY (key_no, field)
);

-- SHA-256 over one line each: a tag, the table, key_no, user_no, exchange_id, the column, and the
-- envelope's enc, nonce and tag (its only free fields: alg and version are fixed, extra fields make
-- it malformed). No line can hold a newline: numbers, fixed names and canonical base64.
CREATE OR REPLACE FUNCTION v1_envelope_digest(key_no INTEGER, user_no INTEGER, exchange_id INTEGER, field TEXT, envelope JSONB)
RETURNS BYTEA LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT sha256(convert_to(concat_ws(E'\n',
        'exchange-api-key-vault/v1-binding', 'tb_exchange_api_keys', $1, $2, $3, $4,
        $5 ->> 'enc', $5 ->> 'nonce', $5 ->> 'tag'), 'UTF8'))
$$;

-- Records every version-1 field that has no record yet and returns how many it recorded. Run here
-- once; the master user runs it again only for seed rows written before the vault served traffic
-- (docs/key-management.md), since whatever it finds it binds where it finds it.
CREATE OR REPLACE FUNCTION bind_v1_envelopes() RETURNS BIGINT LANGUAGE sql AS $$
    WITH recorded AS (
        INSERT INTO tb_v1_envelope_bindings (key_no, field, digest)
        SELECT k.key_no, f.field, v1_envelope_digest(k.key_no, k.user_no, k.exchange_id, f.field, f.envelope)
          FROM tb_exchange_api_keys k
         CROSS JOIN LATERAL (VALUES ('public_key', k.public_key), ('private_key', k.private_key)) AS f (field, envelope)
         WHERE f.envelope @> '{"version": 1}'
        ON CONFLICT (key_no, field) DO NOTHING
        RETURNING 1
    )
    SELECT count(*) FROM recorded
$$;
REVOKE EXECUTE ON FUNCTION v1_envelope_digest(INTEGER, INTEGER, INTEGER, TEXT, JSONB), bind_v1_envelopes() FROM PUBLIC;

SELECT bind_v1_envelopes();

-- The maintenance commands read the records beside the rows; nobody but the master user writes them.
GRANT SELECT ON tb_v1_envelope_bindings TO vault_app;
