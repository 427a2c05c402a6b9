-- 002_agent_state_tables.down.sql (SQLite 3.40+)
--
-- Reverts revision 002_agent_state_tables: drops the four agent-state
-- tables (they depend only on agents, not on each other).  Dropping a table
-- also drops its indexes and triggers (ix_*, trg_*_updated_at), so nothing
-- of the revision is left behind.  The core tables of 001 stay.
--
-- No BEGIN/COMMIT here: the migrator runs this script and the update of
-- alembic_version in one transaction.

DROP TABLE agent_metrics;
DROP TABLE agent_capabilities;
DROP TABLE agent_states;
DROP TABLE agent_configs;
