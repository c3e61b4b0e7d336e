-- Timeouts belong to the roles the functions log in as, not to each connection's startup message:
-- RDS Proxy may pin a client to one database connection, and stop multiplexing it, when a session
-- carries parameters of its own. The proxy logs in to the database as the client's user, so a
-- role setting applies to every session it opens and no client sends anything.
--
-- vault_app serves requests, each one indexed statement: 5 seconds is the request's budget (the
-- functions' client-side query_timeout, 6 seconds, is never sent). Key maintenance scans the
-- table and raises its own limit with SET LOCAL inside its transactions, for that transaction
-- only. A transaction left open (a frozen or timed-out function) ends after 30 seconds instead of
-- holding its row locks.
--
-- The master user (migrations, operators) keeps the server's defaults: schema changes are bounded
-- by the migration function's own deadline.
ALTER ROLE vault_app SET statement_timeout = '5s';
ALTER ROLE vault_app SET idle_in_transaction_session_timeout = '30s';
