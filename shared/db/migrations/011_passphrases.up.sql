-- Every credential: the third half some exchanges' keys have (OKX, KuCoin, Bitget: a passphrase the
-- user chose when creating the key). Sealed like the other halves, in the same sealing, with its
-- own field name in the associated data (shared/crypto/envelope.ts); null for a key without one.
ALTER TABLE tb_exchange_api_keys ADD COLUMN IF NOT EXISTS passphrase JSONB;
-- What the masked key shows of it: whether there is one. A column of its own so the reading role
-- can be granted it without the envelope.
ALTER TABLE tb_exchange_api_keys ADD COLUMN IF NOT EXISTS has_passphrase BOOLEAN GENERATED ALWAYS AS (passphrase IS NOT NULL) STORED;

-- The row guard of migration 008, with the passphrase among the envelopes: a new or removed
-- passphrase is new key material, so it needs a new sealing (an earlier passphrase envelope
-- written back, or one dropped, is refused like the other halves) and moves the tag.
CREATE OR REPLACE FUNCTION guard_api_key_row() RETURNS TRIGGER
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    resealed BOOLEAN;
    first_use BOOLEAN;
    trusted BOOLEAN := pg_has_role(session_user, (SELECT relowner FROM pg_class WHERE oid = TG_RELID), 'MEMBER');
BEGIN
    IF TG_OP = 'INSERT' THEN
        resealed := true;
        NEW.key_version := 1;
    ELSE
        IF NOT trusted AND (NEW.key_no <> OLD.key_no OR NEW.user_no <> OLD.user_no OR NEW.exchange_id <> OLD.exchange_id) THEN
            RAISE EXCEPTION 'a key row keeps its key_no, user_no and exchange_id' USING ERRCODE = 'insufficient_privilege';
        END IF;
        resealed := NEW.public_key IS DISTINCT FROM OLD.public_key
                 OR NEW.private_key IS DISTINCT FROM OLD.private_key
                 OR NEW.passphrase IS DISTINCT FROM OLD.passphrase
                 OR NEW.sealing IS DISTINCT FROM OLD.sealing;
        IF NEW.key_version <> OLD.key_version AND NOT (resealed AND NEW.key_version = OLD.key_version + 1) THEN
            RAISE EXCEPTION 'key_version only moves up by one, with new envelopes' USING ERRCODE = 'insufficient_privilege';
        END IF;
    END IF;
    IF resealed AND NEW.sealing IS NOT NULL THEN
        INSERT INTO tb_api_key_sealings (sealing) VALUES (NEW.sealing) ON CONFLICT DO NOTHING RETURNING true INTO first_use;
    END IF;
    IF resealed AND NOT trusted AND NEW.sealing IS NULL THEN
        RAISE EXCEPTION 'new envelopes need a new sealing' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF resealed AND NOT trusted AND first_use IS NULL THEN
        RAISE EXCEPTION 'this sealing was stored before' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF TG_OP = 'INSERT' OR resealed
       OR NEW.is_active IS DISTINCT FROM OLD.is_active
       OR NEW.update_date IS DISTINCT FROM OLD.update_date
       OR NEW.public_key_masked IS DISTINCT FROM OLD.public_key_masked
       OR NEW.private_key_masked IS DISTINCT FROM OLD.private_key_masked THEN
        NEW.etag := gen_random_uuid();
    ELSIF NOT trusted THEN
        -- Nothing the service writes leaves a row as it was; refusing it keeps the engine's
        -- row-lock grant (009) from being a way to write.
        RAISE EXCEPTION 'an update must change what the owner sees' USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;
REVOKE EXECUTE ON FUNCTION guard_api_key_row() FROM PUBLIC;

-- vault_app writes the passphrase where it writes the other halves (register, PUT, re-encryption);
-- vault_reader sees only whether there is one; vault_engine reads what the open returns.
GRANT INSERT (passphrase) ON tb_exchange_api_keys TO vault_app;
GRANT UPDATE (passphrase) ON tb_exchange_api_keys TO vault_app;
GRANT SELECT (has_passphrase) ON tb_exchange_api_keys TO vault_reader;
GRANT SELECT (passphrase, has_passphrase) ON tb_exchange_api_keys TO vault_engine;
