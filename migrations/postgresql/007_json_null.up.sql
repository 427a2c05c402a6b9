-- 007_json_null.up.sql (PostgreSQL 15)
--
-- Revision 007_json_null: the nullable JSON columns, agent_states.last_error
-- and optimizations.result, take JSON null as well as SQL NULL.  The spec's
-- own clients (SQLAlchemy models with JSONB columns) write Python None as
-- JSON null, not SQL NULL (SQLAlchemy's JSON type, none_as_null=False), and
-- the spec allows "no value" there; the checks of 001/002 refused it.  The
-- library reads both back as absent (src/table.c).  The columns that are NOT
-- NULL with a default keep refusing JSON null: an object or array is
-- required there.  Requires revision 006_coordination.
--
-- No BEGIN/COMMIT here: the migrator runs this script and the update of
-- alembic_version in one transaction.

ALTER TABLE agent_states DROP CONSTRAINT ck_agent_states_last_error,
    ADD CONSTRAINT ck_agent_states_last_error
        CHECK (last_error IS NULL OR jsonb_typeof(last_error) IN ('object', 'null'));

ALTER TABLE optimizations DROP CONSTRAINT ck_optimizations_result,
    ADD CONSTRAINT ck_optimizations_result
        CHECK (result IS NULL OR jsonb_typeof(result) IN ('object', 'null'));
