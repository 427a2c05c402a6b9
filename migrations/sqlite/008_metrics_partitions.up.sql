-- 008_metrics_partitions.up.sql (SQLite)
--
-- Revision 008_metrics_partitions: on PostgreSQL, agent_metrics becomes a
-- table partitioned by time (see that script's header and docs/scaling.md).
-- SQLite has no table partitioning and keeps the plain table of 002: this
-- revision changes nothing here.  It exists so that both backends share one
-- chain of revisions (a database at 008 is at head on either), and
-- `optiinfra db maintain` is a successful no-op on SQLite.
--
-- No BEGIN/COMMIT here: the migrator runs this script and the update of
-- alembic_version in one transaction.

SELECT 1;
