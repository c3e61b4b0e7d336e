-- A key's life after registration: replacing it (PUT) rewrites its envelopes and masks and sets
-- update_date; pausing or resuming it (PATCH) sets is_active and update_date; deleting it removes
-- the row. vault_app may now do exactly that: UPDATE on those two more columns, and DELETE on key
-- rows. Its events stay append-only (003 and 004 grant them no UPDATE or DELETE), and nothing
-- else may be deleted.
GRANT UPDATE (is_active, update_date) ON tb_exchange_api_keys TO vault_app;
GRANT DELETE ON tb_exchange_api_keys TO vault_app;
