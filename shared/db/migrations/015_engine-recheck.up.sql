-- A report from the engine (report-api-key, docs/engine.md) has the vault check the key again at
-- its exchange. vault_engine writes that check through one narrow function: it has no UPDATE on
-- key rows (only the lock grant of migration 009) and gets none.

-- What writing one check is, in one place: the owner's re-check and key maintenance's `check`
-- (vault_app, shared/db/key-checks.ts) and the engine's re-check below all write through it. The
-- key is written only while it is the one checked (its key_version, and its sealing when named):
-- an unreachable exchange changes the status, its reason and the time and keeps the last facts; a
-- failed check pauses the key; the event is `checked` (reason `cleared` when the check before had
-- failed, `unreachable` when no answer came) or `check_failed` (its reason). Invoker's rights: a
-- caller needs its own grants, and the history's row-level policies (009) hold it to its actor kind.
CREATE OR REPLACE FUNCTION write_key_check(
    p_key_no INTEGER, p_key_version INTEGER, p_sealing UUID,
    p_status TEXT, p_permissions JSONB, p_ip_restricted BOOLEAN, p_expires_at TIMESTAMP WITH TIME ZONE, p_reason TEXT,
    p_actor_kind TEXT, p_actor_id TEXT, p_request_id TEXT
) RETURNS TABLE (key_no INTEGER, key_event_no BIGINT)
LANGUAGE sql SET search_path = pg_catalog, public AS $$
    WITH updated AS (
        UPDATE tb_exchange_api_keys k
           SET check_status = p_status,
               checked_at = statement_timestamp(),
               check_reason = p_reason,
               check_permissions = CASE WHEN p_status = 'unreachable' THEN k.check_permissions
                                        WHEN p_permissions IS NOT NULL THEN ARRAY(SELECT jsonb_array_elements_text(p_permissions)) END,
               check_ip_restricted = CASE WHEN p_status = 'unreachable' THEN k.check_ip_restricted ELSE p_ip_restricted END,
               check_expires_at = CASE WHEN p_status = 'unreachable' THEN k.check_expires_at ELSE p_expires_at END,
               is_active = k.is_active AND p_status <> 'failed'
          FROM tb_exchange_api_keys was
         WHERE k.key_no = p_key_no AND k.key_version = p_key_version AND (p_sealing IS NULL OR k.sealing = p_sealing)
           AND was.key_no = k.key_no
        RETURNING k.key_no, k.user_no, k.exchange_id, was.check_status AS was_status
    ), event AS (
        INSERT INTO tb_exchange_api_key_events (user_no, exchange_id, event, actor_kind, actor_id, request_id, reason)
        SELECT user_no, exchange_id,
               CASE WHEN p_status = 'failed' THEN 'check_failed' ELSE 'checked' END,
               p_actor_kind, p_actor_id, p_request_id,
               CASE WHEN p_status = 'failed' THEN p_reason WHEN p_status = 'unreachable' THEN 'unreachable' WHEN was_status = 'failed' THEN 'cleared' END
          FROM updated
        RETURNING key_event_no
    )
    SELECT updated.key_no, event.key_event_no FROM updated, event
$$;
REVOKE EXECUTE ON FUNCTION write_key_check(INTEGER, INTEGER, UUID, TEXT, JSONB, BOOLEAN, TIMESTAMP WITH TIME ZONE, TEXT, TEXT, TEXT, TEXT) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION write_key_check(INTEGER, INTEGER, UUID, TEXT, JSONB, BOOLEAN, TIMESTAMP WITH TIME ZONE, TEXT, TEXT, TEXT, TEXT) TO vault_app;

-- The engine's re-check after a report: exactly one check, of one key_no, at the sealing whose
-- envelopes were opened and asked about (a key replaced or re-sealed since is left alone), with its
-- event under actor `engine` (the report's function and request id), as every event vault_engine
-- appends. It writes no key material and cannot resume a paused key (a check that passes leaves
-- is_active as it is): at most it pauses a key the engine could open anyway. `unchecked` is no
-- outcome of a check. The key's `check_failed` then refuses the engine's next open.
CREATE OR REPLACE FUNCTION record_engine_check(
    p_key_no INTEGER, p_sealing UUID,
    p_status TEXT, p_permissions JSONB, p_ip_restricted BOOLEAN, p_expires_at TIMESTAMP WITH TIME ZONE, p_reason TEXT,
    p_actor_id TEXT, p_request_id TEXT
) RETURNS BIGINT
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT w.key_event_no
      FROM tb_exchange_api_keys k,
           write_key_check(k.key_no, k.key_version, p_sealing, p_status, p_permissions, p_ip_restricted, p_expires_at, p_reason,
                           'engine', p_actor_id, p_request_id) w
     WHERE k.key_no = p_key_no AND k.sealing = p_sealing AND p_status IN ('passed', 'failed', 'unreachable')
$$;
REVOKE EXECUTE ON FUNCTION record_engine_check(INTEGER, UUID, TEXT, JSONB, BOOLEAN, TIMESTAMP WITH TIME ZONE, TEXT, TEXT, TEXT) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION record_engine_check(INTEGER, UUID, TEXT, JSONB, BOOLEAN, TIMESTAMP WITH TIME ZONE, TEXT, TEXT, TEXT) TO vault_engine;
