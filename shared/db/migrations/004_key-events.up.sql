-- The history of each key: one append-only row per change, open or refusal. It names the key by
-- (user_no, exchange_id), not by key_no, so it outlives the key's deletion and a key registered
-- again continues the same history. It never holds key material, not even masks.
CREATE TABLE IF NOT EXISTS tb_exchange_api_key_events (
    event_id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_no INTEGER NOT NULL REFERENCES tb_users (user_no),
    exchange_id INTEGER NOT NULL REFERENCES tb_exchanges (exchange_id),
    event TEXT NOT NULL CONSTRAINT ck_key_event_event CHECK (
        event IN ('registered', 'replaced', 'deactivated', 'reactivated', 'deleted', 'opened', 'open_refused', 'reencrypted')
    ),
    -- The statement's own time, not the transaction's: a batch's events are not all one instant.
    at TIMESTAMP WITH TIME ZONE DEFAULT statement_timestamp() NOT NULL,
    actor_kind TEXT NOT NULL CONSTRAINT ck_key_event_actor_kind CHECK (actor_kind IN ('user', 'engine', 'maintenance')),
    actor_id TEXT,
    request_id TEXT,
    purpose TEXT CONSTRAINT ck_key_event_purpose CHECK (purpose ~ '^[a-z0-9._-]{1,64}$')
);

-- A key's history newest first, a page at a time: one index range scan.
CREATE INDEX IF NOT EXISTS ix_key_events_key ON tb_exchange_api_key_events (user_no, exchange_id, event_id DESC);

-- The functions may append and read events, never change or delete them, and never choose an
-- event's id or time: INSERT on the columns they fill, nothing else.
GRANT SELECT ON tb_exchange_api_key_events TO vault_app;
GRANT INSERT (user_no, exchange_id, event, actor_kind, actor_id, request_id, purpose) ON tb_exchange_api_key_events TO vault_app;
