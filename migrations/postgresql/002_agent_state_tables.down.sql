-- 002_agent_state_tables.down.sql (PostgreSQL 15)
--
-- Reverts revision 002_agent_state_tables: drops the four agent-state
-- tables (they depend only on agents, not on each other).  With them go
-- their indexes, constraints, triggers and the identity sequence of
-- agent_metrics, so nothing of the revision is left behind.  The core
-- tables and oi_set_updated_at() belong to 001 and stay.
--
-- No BEGIN/COMMIT here: the migrator runs this script and the update of
-- alembic_version in one transaction.

DROP TABLE agent_metrics;
DROP TABLE agent_capabilities;
DROP TABLE agent_states;
DROP TABLE agent_configs;
