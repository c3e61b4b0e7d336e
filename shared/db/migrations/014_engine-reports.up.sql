-- The engine reports a key its exchange refused (report-api-key, docs/engine.md): the key's
-- history gains `reported`, actor `engine`, the exchange's refusal as its reason.

-- The whole list of events, not only the one added: migration 013 (exchange checks) adds
-- `checked` and `check_failed`, and whichever of the two runs last leaves every event allowed.
ALTER TABLE tb_exchange_api_key_events DROP CONSTRAINT IF EXISTS ck_key_event_event;
ALTER TABLE tb_exchange_api_key_events ADD CONSTRAINT ck_key_event_event CHECK (
    event IN ('registered', 'replaced', 'deactivated', 'reactivated', 'deleted', 'opened', 'open_refused', 'reencrypted',
              'checked', 'check_failed', 'reported')
);

-- vault_engine needs nothing new: it reads the key's owner and version and locks the row as an
-- open does, and appends its event through the INSERT columns and the row-level policy of
-- migration 009 (actor `engine` only). A report names no purpose; the policy already holds it to
-- the engine's own actor kind.

-- The changes feed leaves reports out, as it leaves out opens (shared/db/engine-lists.ts): a
-- report changes nothing of the key. It filters them over migration 012's index rather than
-- rebuilding that index, which would read the whole history; reports are few.
