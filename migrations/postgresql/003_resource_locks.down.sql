-- 003_resource_locks.down.sql (PostgreSQL 15)
--
-- Reverts revision 003_resource_locks: drops the lock table with its
-- constraints and indexes.  agent_states.resource_locks keeps the lists as
-- the last lock operation wrote them, so the locks held at that moment stay
-- visible there, as they were before this revision.
--
-- No BEGIN/COMMIT here: the migrator runs this script and the update of
-- alembic_version in one transaction.

DROP TABLE resource_locks;
