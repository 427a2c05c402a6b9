-- 007_json_null.down.sql (PostgreSQL 15)
--
-- Reverts revision 007_json_null: a JSON null is made SQL NULL (both mean
-- "no value", so nothing is lost), then the checks of 001/002 come back.
--
-- No BEGIN/COMMIT here: the migrator runs this script and the update of
-- alembic_version in one transaction.

UPDATE agent_states SET last_error = NULL WHERE jsonb_typeof(last_error) = 'null';
UPDATE optimizations SET result = NULL WHERE jsonb_typeof(result) = 'null';
-- The updates queued 006's deferred change-log triggers, and a table with
-- pending trigger events cannot be altered: run them now.
SET CONSTRAINTS ALL IMMEDIATE;

ALTER TABLE agent_states DROP CONSTRAINT ck_agent_states_last_error,
    ADD CONSTRAINT ck_agent_states_last_error
        CHECK (last_error IS NULL OR jsonb_typeof(last_error) = 'object');

ALTER TABLE optimizations DROP CONSTRAINT ck_optimizations_result,
    ADD CONSTRAINT ck_optimizations_result
        CHECK (result IS NULL OR jsonb_typeof(result) = 'object');
