-- Envelopes bound to their sealing, key versions, entity tags that reveal nothing, and event
-- numbers that count one key's history only.
--
-- A version-2 envelope is bound to its table, user, exchange and field: a role that may write the
-- key table could save a row's envelopes and write them back later (into the same row after a
-- PUT, or into a new row after a DELETE) and the old key would open again. From here on every
-- sealing has its own identifier, `sealing`, a random UUID the sealing function draws and puts in
-- both envelopes' associated data (shared/crypto/envelope.ts). The database refuses to store a
-- sealing identifier it has stored before, and refuses new envelopes without a new identifier, so
-- an earlier envelope can only ever sit in a row whose identifier is not the one it was sealed
-- under: it does not open. A random identifier rather than a counter the database moves, because
-- the envelopes are sealed before the row is written: a counter would cost a read before every
-- write, and one statement per request is the rule (docs/decisions).
--
-- Rows written before this migration keep `sealing` null: their version-1 and version-2
-- envelopes open only while it is null, that is until the row is sealed again (a PUT or
-- `reencrypt`); after that, no earlier envelope opens in it.
ALTER TABLE tb_exchange_api_keys
    ADD COLUMN IF NOT EXISTS sealing UUID,
    -- 1 at registration, +1 per replacement of the key material; re-encryption and pausing keep it.
    ADD COLUMN IF NOT EXISTS key_version INTEGER NOT NULL DEFAULT 1,
    -- The entity tag: a random value drawn again whenever anything the owner sees changes, so it
    -- says that the key changed and nothing else (no count, no date, no mask).
    ADD COLUMN IF NOT EXISTS etag UUID NOT NULL DEFAULT gen_random_uuid();

-- Every sealing identifier ever stored, kept after its row is replaced or deleted. Nobody but
-- the table owner reads or writes it; the row guard below writes it as that owner.
CREATE TABLE IF NOT EXISTS tb_api_key_sealings (
    sealing UUID PRIMARY KEY
);
INSERT INTO tb_api_key_sealings (sealing)
SELECT sealing FROM tb_exchange_api_keys WHERE sealing IS NOT NULL
ON CONFLICT DO NOTHING;

-- Runs for every insert and update of a key row. SECURITY DEFINER so it may record sealings the
-- login roles cannot touch; search_path pinned so nobody can shadow what it calls. The table's
-- owner (the migration user, or a superuser) is trusted as row-level security trusts it (it could
-- drop this trigger): its writes get new tags and versions as anyone's, but may leave a row
-- without a new sealing (as a seed database's rows are) or move it, as an operator's repair may need.
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
CREATE OR REPLACE TRIGGER tg_guard_api_key_row BEFORE INSERT OR UPDATE ON tb_exchange_api_keys
    FOR EACH ROW EXECUTE FUNCTION guard_api_key_row();

-- Event numbers per key. event_id was one counter over every user's history, so any user could
-- measure everyone's activity between two of their own events. key_event_no counts the events
-- of one (user_no, exchange_id) only; the API shows it as the event's id and pages by it.
ALTER TABLE tb_exchange_api_key_events
    ADD COLUMN IF NOT EXISTS key_event_no BIGINT,
    -- Why an open was refused (`inactive`, `integrity`), else null.
    ADD COLUMN IF NOT EXISTS reason TEXT CONSTRAINT ck_key_event_reason CHECK (reason ~ '^[a-z_]{1,40}$');
UPDATE tb_exchange_api_key_events ev SET key_event_no = numbered.n
  FROM (SELECT event_id, row_number() OVER (PARTITION BY user_no, exchange_id ORDER BY event_id) AS n
          FROM tb_exchange_api_key_events) numbered
 WHERE ev.event_id = numbered.event_id AND ev.key_event_no IS NULL;
ALTER TABLE tb_exchange_api_key_events ALTER COLUMN key_event_no SET NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS uq_key_events_key_event_no ON tb_exchange_api_key_events (user_no, exchange_id, key_event_no DESC);
DROP INDEX IF EXISTS ix_key_events_key;

-- The last number given per key; like the sealings, only the owner writes it.
CREATE TABLE IF NOT EXISTS tb_api_key_event_counters (
    user_no INTEGER NOT NULL,
    exchange_id INTEGER NOT NULL,
    last_event_no BIGINT NOT NULL,
    PRIMARY KEY (user_no, exchange_id)
);
INSERT INTO tb_api_key_event_counters (user_no, exchange_id, last_event_no)
SELECT user_no, exchange_id, max(key_event_no) FROM tb_exchange_api_key_events GROUP BY user_no, exchange_id
ON CONFLICT (user_no, exchange_id) DO UPDATE SET last_event_no = GREATEST(tb_api_key_event_counters.last_event_no, EXCLUDED.last_event_no);

-- The counter row is locked until the statement's transaction ends, so one key's events are
-- numbered in commit order; different keys never wait for each other.
CREATE OR REPLACE FUNCTION number_key_event() RETURNS TRIGGER
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
    INSERT INTO tb_api_key_event_counters AS c (user_no, exchange_id, last_event_no)
    VALUES (NEW.user_no, NEW.exchange_id, 1)
    ON CONFLICT (user_no, exchange_id) DO UPDATE SET last_event_no = c.last_event_no + 1
    RETURNING last_event_no INTO NEW.key_event_no;
    RETURN NEW;
END
$$;
REVOKE EXECUTE ON FUNCTION number_key_event() FROM PUBLIC;
CREATE OR REPLACE TRIGGER tg_number_key_event BEFORE INSERT ON tb_exchange_api_key_events
    FOR EACH ROW EXECUTE FUNCTION number_key_event();

-- vault_app names the sealing it wrote and moves key_version on a PUT; the guard decides what is
-- allowed. It records why an open was refused. vault_reader shows key_version and the tag.
GRANT INSERT (sealing) ON tb_exchange_api_keys TO vault_app;
GRANT UPDATE (sealing, key_version) ON tb_exchange_api_keys TO vault_app;
GRANT INSERT (reason) ON tb_exchange_api_key_events TO vault_app;
GRANT SELECT (key_version, etag) ON tb_exchange_api_keys TO vault_reader;
