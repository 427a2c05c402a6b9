-- 001_core_tables.down.sql (PostgreSQL 15)
--
-- Reverts revision 001_core_tables: drops the six core tables, children
-- before parents (with them go their indexes, constraints and
-- trg_*_updated_at triggers), then the trigger function
-- oi_set_updated_at(), so nothing of the revision is left behind.
-- Revision 002_agent_state_tables must have been reverted first: its tables
-- reference agents and use oi_set_updated_at().  No CASCADE, so that an
-- unexpected dependant makes the downgrade fail instead of vanishing.
--
-- No BEGIN/COMMIT here: the migrator runs this script and the update of
-- alembic_version in one transaction.

DROP TABLE optimizations;
DROP TABLE approvals;
DROP TABLE recommendations;
DROP TABLE events;
DROP TABLE agents;
DROP TABLE customers;
DROP FUNCTION oi_set_updated_at();
