-- 001_core_tables.down.sql (SQLite 3.40+)
--
-- Reverts revision 001_core_tables: drops the six core tables, children
-- before parents.  Dropping a table also drops its indexes and triggers
-- (ix_*, trg_*_updated_at), so nothing of the revision is left behind.
-- Revision 002_agent_state_tables must have been reverted first: its tables
-- reference agents.
--
-- No BEGIN/COMMIT here: the migrator runs this script and the update of
-- alembic_version in one transaction.

DROP TABLE optimizations;
DROP TABLE approvals;
DROP TABLE recommendations;
DROP TABLE events;
DROP TABLE agents;
DROP TABLE customers;
