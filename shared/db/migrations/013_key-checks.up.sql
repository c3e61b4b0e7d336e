-- Keys checked at their exchange (docs/exchanges.md, "Checks"): what the last check of a key
-- found, beside the key. `check_status` is `unchecked` where no check was made (checks off, an
-- exchange without a kind or an adapter, or a row from before checks: the default fills them).
-- The facts are the exchange's answer in the vault's vocabulary; `check_reason` says why the last
-- check failed (`rejected`, `forbidden_permission`, `ip_not_restricted`, ...) or why it could not
-- be made (`timeout`, `http_503`, ...). Never key material.
ALTER TABLE tb_exchange_api_keys
    ADD COLUMN IF NOT EXISTS check_status TEXT NOT NULL DEFAULT 'unchecked'
        CONSTRAINT ck_api_keys_check_status CHECK (check_status IN ('passed', 'failed', 'unreachable', 'unchecked')),
    ADD COLUMN IF NOT EXISTS checked_at TIMESTAMP WITH TIME ZONE,
    ADD COLUMN IF NOT EXISTS check_permissions TEXT[]
        CONSTRAINT ck_api_keys_check_permissions CHECK (check_permissions <@ ARRAY['read', 'trade', 'futures', 'withdraw', 'transfer']),
    ADD COLUMN IF NOT EXISTS check_ip_restricted BOOLEAN,
    ADD COLUMN IF NOT EXISTS check_expires_at TIMESTAMP WITH TIME ZONE,
    ADD COLUMN IF NOT EXISTS check_reason TEXT CONSTRAINT ck_api_keys_check_reason CHECK (check_reason ~ '^[a-z0-9_-]{1,40}$');

-- The history's events, in full: a check that passed or could not be made (`checked`), and one
-- that failed (`check_failed`, its reason in `reason`).
ALTER TABLE tb_exchange_api_key_events DROP CONSTRAINT IF EXISTS ck_key_event_event;
ALTER TABLE tb_exchange_api_key_events ADD CONSTRAINT ck_key_event_event CHECK (
    event IN ('registered', 'replaced', 'deactivated', 'reactivated', 'deleted', 'opened', 'open_refused', 'reencrypted', 'checked', 'check_failed')
);

-- A check that passed is no change for the engine, unless the key's check had failed before (its
-- reason is then `cleared`: the key may be opened again): the feed (list-key-changes) leaves the
-- other `checked` events out as it leaves out opens, and its index with it. `check_failed` is in it.
DROP INDEX IF EXISTS ix_key_events_changes;
CREATE INDEX IF NOT EXISTS ix_key_events_changes ON tb_exchange_api_key_events (written_in, event_id)
    WHERE event NOT IN ('opened', 'open_refused') AND (event <> 'checked' OR reason = 'cleared');

-- The row guard of migration 011, with the check among what the owner sees: a check moves the
-- tag (the masked key shows it), and an update that changes nothing is still refused.
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
       OR NEW.private_key_masked IS DISTINCT FROM OLD.private_key_masked
       OR NEW.check_status IS DISTINCT FROM OLD.check_status
       OR NEW.checked_at IS DISTINCT FROM OLD.checked_at
       OR NEW.check_permissions IS DISTINCT FROM OLD.check_permissions
       OR NEW.check_ip_restricted IS DISTINCT FROM OLD.check_ip_restricted
       OR NEW.check_expires_at IS DISTINCT FROM OLD.check_expires_at
       OR NEW.check_reason IS DISTINCT FROM OLD.check_reason THEN
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

-- vault_app writes a check where it writes the key (register, PUT) and again on a re-check (the
-- owner's, key maintenance's), checked_at always the statement's own time. vault_reader shows the
-- check; vault_engine reads only its status (an open refuses a key whose last check failed;
-- list-active-keys shows it).
GRANT INSERT (check_status, checked_at, check_permissions, check_ip_restricted, check_expires_at, check_reason) ON tb_exchange_api_keys TO vault_app;
GRANT UPDATE (check_status, checked_at, check_permissions, check_ip_restricted, check_expires_at, check_reason) ON tb_exchange_api_keys TO vault_app;
GRANT SELECT (check_status, checked_at, check_permissions, check_ip_restricted, check_expires_at, check_reason) ON tb_exchange_api_keys TO vault_reader;
GRANT SELECT (check_status) ON tb_exchange_api_keys TO vault_engine;
