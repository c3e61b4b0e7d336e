-- What the engine's lists read, a page per indexed statement (docs/engine.md, "Lists for an engine").

-- list-active-keys walks the active keys by key_no.
CREATE INDEX IF NOT EXISTS ix_api_keys_active ON tb_exchange_api_keys (key_no) WHERE is_active;

-- list-key-changes reads the history in the order its transactions became visible, not in
-- event_id order: an event_id is drawn before its transaction commits, so a reader walking
-- event_id could pass an event whose transaction commits later, and never see it. Each event
-- records its transaction's id; the feed shows only events of transactions older than every
-- transaction still running (pg_snapshot_xmin), so nothing can appear behind its cursor. Events
-- from before this migration share the id 0, in event_id order.
ALTER TABLE tb_exchange_api_key_events ADD COLUMN IF NOT EXISTS written_in xid8;
UPDATE tb_exchange_api_key_events SET written_in = '0' WHERE written_in IS NULL;
ALTER TABLE tb_exchange_api_key_events ALTER COLUMN written_in SET DEFAULT pg_current_xact_id();
ALTER TABLE tb_exchange_api_key_events ALTER COLUMN written_in SET NOT NULL;
-- Opens are the engine's own echo, not changes: the feed leaves them out, and so does its index.
CREATE INDEX IF NOT EXISTS ix_key_events_changes ON tb_exchange_api_key_events (written_in, event_id)
    WHERE event NOT IN ('opened', 'open_refused');
