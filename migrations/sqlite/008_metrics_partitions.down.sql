-- 008_metrics_partitions.down.sql (SQLite)
--
-- Reverts revision 008_metrics_partitions, which changed nothing on SQLite
-- (see its up script): nothing to undo.
--
-- No BEGIN/COMMIT here: the migrator runs this script and the update of
-- alembic_version in one transaction.

SELECT 1;
