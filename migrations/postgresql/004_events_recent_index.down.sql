-- 004_events_recent_index.down.sql
--
-- Reverts revision 004_events_recent_index: drops the index.
--
-- No BEGIN/COMMIT here: the migrator runs this script and the update of
-- alembic_version in one transaction.

DROP INDEX ix_events_customer_id_created_at;
