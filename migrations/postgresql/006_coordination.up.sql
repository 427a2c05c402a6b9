-- 006_coordination.up.sql (PostgreSQL 15)
--
-- Revision 006_coordination: what agents coordinate with (docs/coordination.md).
-- The tables are those of the SQLite script (see its header):
--   * store_revision: the store-wide change revision and how much of the
--     change log to keep (keep_changes rows, none older than keep_seconds);
--   * change_log: one row per change, revisions consecutive;
--   * a revision column on each watched table: the revision of the change
--     that last wrote the row, what compare-and-set compares;
--   * lock_fences: the newest fencing token of every resource ever locked,
--     and free_at, the end of a deregistered holder's lock-delay;
--     lock_fence_seq: the counter tokens are drawn from (a row, as on
--     SQLite, so both backends run the same statement; only lock
--     acquisitions take it, after the lock row itself, so it adds no cycle
--     of waits);
--   * resource_locks.lock_delay: the holder's lock-delay, in microseconds.
--
-- Why the triggers are deferred: revisions must be handed out in commit
-- order, or a watcher that has read up to revision 11 would never see a
-- revision 10 that committed after it.  So the counter is a row, and whoever
-- bumps it holds that row until it commits.  If the bump happened at each
-- write, a transaction would hold the counter while still taking row locks,
-- and two transactions could each wait for the other (a heartbeat holding an
-- agent's state row, a lock acquisition holding the counter and wanting that
-- row).  Deferred to commit time, the bump is the last thing a transaction
-- does: it needs no further row lock, holds the counter only while it
-- commits, and no cycle of waits can form.  Commits that change watched
-- tables are serialised by that row; docs/coordination.md states the cost.
--
-- At commit, for each row changed, oi_record_change() bumps the counter,
-- appends the change, prunes at most two of the oldest log rows (so pruning
-- is constant work), writes the revision into the row (already locked by
-- this transaction) and notifies channel optiinfra_changes.  The payload is
-- empty, so PostgreSQL folds a transaction's notifications into one; a
-- listener reads the log to learn what changed.  The update triggers ignore
-- updates that change revision, so the row update cannot loop, and the
-- updated_at triggers of 001 and 002 are recreated to ignore it as well.
--
-- No BEGIN/COMMIT here: the migrator runs this script and the update of
-- alembic_version in one transaction.

CREATE TABLE store_revision (
    id            integer NOT NULL,
    revision      bigint  NOT NULL DEFAULT 0,
    keep_changes  bigint  NOT NULL DEFAULT 100000,
    keep_seconds  bigint  NOT NULL DEFAULT 86400,
    CONSTRAINT pk_store_revision PRIMARY KEY (id),
    CONSTRAINT ck_store_revision_id CHECK (id = 1),
    CONSTRAINT ck_store_revision_revision CHECK (revision >= 0),
    CONSTRAINT ck_store_revision_keep_changes CHECK (keep_changes >= 1),
    CONSTRAINT ck_store_revision_keep_seconds CHECK (keep_seconds >= 1)
);
INSERT INTO store_revision (id) VALUES (1);

CREATE TABLE change_log (
    revision    bigint      NOT NULL,
    table_name  text        NOT NULL,
    row_key     text        NOT NULL,
    agent_id    uuid,
    kind        text        NOT NULL,
    changed_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    CONSTRAINT pk_change_log PRIMARY KEY (revision),
    CONSTRAINT ck_change_log_kind CHECK (kind IN ('insert', 'update', 'delete'))
);

CREATE TABLE lock_fences (
    resource  text        NOT NULL,
    fence     bigint      NOT NULL,
    free_at   timestamptz,
    CONSTRAINT pk_lock_fences PRIMARY KEY (resource),
    CONSTRAINT uq_lock_fences_fence UNIQUE (fence),
    CONSTRAINT ck_lock_fences_fence CHECK (fence >= 1)
);

CREATE TABLE lock_fence_seq (
    id    integer NOT NULL,
    last  bigint  NOT NULL DEFAULT 0,
    CONSTRAINT pk_lock_fence_seq PRIMARY KEY (id),
    CONSTRAINT ck_lock_fence_seq_id CHECK (id = 1)
);
INSERT INTO lock_fence_seq (id) VALUES (1);

ALTER TABLE resource_locks ADD COLUMN lock_delay bigint NOT NULL DEFAULT 15000000;
ALTER TABLE resource_locks ADD CONSTRAINT ck_resource_locks_lock_delay CHECK (lock_delay >= 0);

-- The locks held when this revision is applied get their first tokens.
INSERT INTO lock_fences (resource, fence)
SELECT resource, row_number() OVER (ORDER BY resource COLLATE "C") FROM resource_locks;
UPDATE lock_fence_seq SET last = (SELECT count(*) FROM lock_fences);

-- A deregistered agent's locks go with it (ON DELETE CASCADE); its
-- resources stay untakeable for the lock's lock-delay, so that work the
-- agent still has in flight can drain (docs/coordination.md).
CREATE FUNCTION oi_delay_freed_locks() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE lock_fences f
       SET free_at = clock_timestamp() + l.lock_delay * interval '1 microsecond'
      FROM resource_locks l
     WHERE l.agent_id = OLD.id AND f.resource = l.resource;
    RETURN OLD;
END;
$$;
CREATE TRIGGER trg_agents_delay_freed_locks BEFORE DELETE ON agents
    FOR EACH ROW EXECUTE FUNCTION oi_delay_freed_locks();

CREATE FUNCTION oi_record_change() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    changed   record := CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    key_text  text;
    agent     uuid;
    rev       bigint;
    keep_n    bigint;
    keep_s    bigint;
BEGIN
    -- the row's key and agent, and the statement that writes its revision,
    -- spelled out per table: static SQL keeps its plan between calls
    CASE TG_TABLE_NAME
    WHEN 'agents' THEN key_text := changed.id; agent := changed.id;
    WHEN 'resource_locks' THEN key_text := changed.resource; agent := changed.agent_id;
    WHEN 'approvals' THEN
        key_text := changed.id;
        SELECT r.agent_id INTO agent FROM recommendations r WHERE r.id = changed.recommendation_id;
    ELSE key_text := changed.id; agent := changed.agent_id;
    END CASE;
    UPDATE store_revision SET revision = revision + 1 WHERE id = 1
    RETURNING revision, keep_changes, keep_seconds INTO rev, keep_n, keep_s;
    INSERT INTO change_log (revision, table_name, row_key, agent_id, kind)
    VALUES (rev, TG_TABLE_NAME, key_text, agent, lower(TG_OP));
    DELETE FROM change_log
     WHERE revision IN (SELECT revision FROM change_log ORDER BY revision LIMIT 2)
       AND (revision <= rev - keep_n
            OR changed_at < clock_timestamp() - make_interval(secs => keep_s));
    IF TG_OP <> 'DELETE' THEN
        CASE TG_TABLE_NAME
        WHEN 'agents' THEN UPDATE agents SET revision = rev WHERE id = changed.id;
        WHEN 'agent_states' THEN UPDATE agent_states SET revision = rev WHERE id = changed.id;
        WHEN 'agent_configs' THEN UPDATE agent_configs SET revision = rev WHERE id = changed.id;
        WHEN 'agent_capabilities' THEN
            UPDATE agent_capabilities SET revision = rev WHERE id = changed.id;
        WHEN 'resource_locks' THEN
            UPDATE resource_locks SET revision = rev WHERE resource = changed.resource;
        WHEN 'recommendations' THEN
            UPDATE recommendations SET revision = rev WHERE id = changed.id;
        WHEN 'approvals' THEN UPDATE approvals SET revision = rev WHERE id = changed.id;
        END CASE;
    END IF;
    PERFORM pg_notify('optiinfra_changes', '');
    RETURN NULL;
END;
$$;


-- agents
ALTER TABLE agents ADD COLUMN revision bigint NOT NULL DEFAULT 0;
CREATE CONSTRAINT TRIGGER trg_agents_insert_change AFTER INSERT ON agents
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION oi_record_change();
-- A heartbeat is one change, logged through agent_states: an update of agents
-- that moves only last_heartbeat and updated_at (the copy of the beat the
-- spec keeps in agents) is not logged again, and leaves agents.revision.
CREATE CONSTRAINT TRIGGER trg_agents_update_change AFTER UPDATE ON agents
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (NEW.revision IS NOT DISTINCT FROM OLD.revision
          AND NOT (NEW.id IS NOT DISTINCT FROM OLD.id AND NEW.type IS NOT DISTINCT FROM OLD.type AND NEW.name IS NOT DISTINCT FROM OLD.name AND NEW.version IS NOT DISTINCT FROM OLD.version AND NEW.status IS NOT DISTINCT FROM OLD.status AND NEW.endpoint IS NOT DISTINCT FROM OLD.endpoint AND NEW.capabilities IS NOT DISTINCT FROM OLD.capabilities AND NEW.metadata IS NOT DISTINCT FROM OLD.metadata AND NEW.created_at IS NOT DISTINCT FROM OLD.created_at
                   AND NEW.updated_at IS DISTINCT FROM OLD.updated_at))
    EXECUTE FUNCTION oi_record_change();
CREATE CONSTRAINT TRIGGER trg_agents_delete_change AFTER DELETE ON agents
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION oi_record_change();

DROP TRIGGER trg_agents_updated_at ON agents;
CREATE TRIGGER trg_agents_updated_at BEFORE UPDATE ON agents
    FOR EACH ROW WHEN (NEW.revision IS NOT DISTINCT FROM OLD.revision)
    EXECUTE FUNCTION oi_set_updated_at();

-- agent_states
ALTER TABLE agent_states ADD COLUMN revision bigint NOT NULL DEFAULT 0;
CREATE CONSTRAINT TRIGGER trg_agent_states_insert_change AFTER INSERT ON agent_states
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION oi_record_change();
CREATE CONSTRAINT TRIGGER trg_agent_states_update_change AFTER UPDATE ON agent_states
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (NEW.revision IS NOT DISTINCT FROM OLD.revision)
    EXECUTE FUNCTION oi_record_change();
CREATE CONSTRAINT TRIGGER trg_agent_states_delete_change AFTER DELETE ON agent_states
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION oi_record_change();

DROP TRIGGER trg_agent_states_updated_at ON agent_states;
CREATE TRIGGER trg_agent_states_updated_at BEFORE UPDATE ON agent_states
    FOR EACH ROW WHEN (NEW.revision IS NOT DISTINCT FROM OLD.revision)
    EXECUTE FUNCTION oi_set_updated_at();

-- agent_configs
ALTER TABLE agent_configs ADD COLUMN revision bigint NOT NULL DEFAULT 0;
CREATE CONSTRAINT TRIGGER trg_agent_configs_insert_change AFTER INSERT ON agent_configs
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION oi_record_change();
CREATE CONSTRAINT TRIGGER trg_agent_configs_update_change AFTER UPDATE ON agent_configs
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (NEW.revision IS NOT DISTINCT FROM OLD.revision)
    EXECUTE FUNCTION oi_record_change();
CREATE CONSTRAINT TRIGGER trg_agent_configs_delete_change AFTER DELETE ON agent_configs
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION oi_record_change();

DROP TRIGGER trg_agent_configs_updated_at ON agent_configs;
CREATE TRIGGER trg_agent_configs_updated_at BEFORE UPDATE ON agent_configs
    FOR EACH ROW WHEN (NEW.revision IS NOT DISTINCT FROM OLD.revision)
    EXECUTE FUNCTION oi_set_updated_at();

-- agent_capabilities
ALTER TABLE agent_capabilities ADD COLUMN revision bigint NOT NULL DEFAULT 0;
CREATE CONSTRAINT TRIGGER trg_agent_capabilities_insert_change AFTER INSERT ON agent_capabilities
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION oi_record_change();
CREATE CONSTRAINT TRIGGER trg_agent_capabilities_update_change AFTER UPDATE ON agent_capabilities
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (NEW.revision IS NOT DISTINCT FROM OLD.revision)
    EXECUTE FUNCTION oi_record_change();
CREATE CONSTRAINT TRIGGER trg_agent_capabilities_delete_change AFTER DELETE ON agent_capabilities
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION oi_record_change();

DROP TRIGGER trg_agent_capabilities_updated_at ON agent_capabilities;
CREATE TRIGGER trg_agent_capabilities_updated_at BEFORE UPDATE ON agent_capabilities
    FOR EACH ROW WHEN (NEW.revision IS NOT DISTINCT FROM OLD.revision)
    EXECUTE FUNCTION oi_set_updated_at();

-- resource_locks
ALTER TABLE resource_locks ADD COLUMN revision bigint NOT NULL DEFAULT 0;
CREATE CONSTRAINT TRIGGER trg_resource_locks_insert_change AFTER INSERT ON resource_locks
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION oi_record_change();
CREATE CONSTRAINT TRIGGER trg_resource_locks_update_change AFTER UPDATE ON resource_locks
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (NEW.revision IS NOT DISTINCT FROM OLD.revision)
    EXECUTE FUNCTION oi_record_change();
CREATE CONSTRAINT TRIGGER trg_resource_locks_delete_change AFTER DELETE ON resource_locks
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION oi_record_change();

-- recommendations
ALTER TABLE recommendations ADD COLUMN revision bigint NOT NULL DEFAULT 0;
CREATE CONSTRAINT TRIGGER trg_recommendations_insert_change AFTER INSERT ON recommendations
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION oi_record_change();
CREATE CONSTRAINT TRIGGER trg_recommendations_update_change AFTER UPDATE ON recommendations
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (NEW.revision IS NOT DISTINCT FROM OLD.revision)
    EXECUTE FUNCTION oi_record_change();
CREATE CONSTRAINT TRIGGER trg_recommendations_delete_change AFTER DELETE ON recommendations
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION oi_record_change();

DROP TRIGGER trg_recommendations_updated_at ON recommendations;
CREATE TRIGGER trg_recommendations_updated_at BEFORE UPDATE ON recommendations
    FOR EACH ROW WHEN (NEW.revision IS NOT DISTINCT FROM OLD.revision)
    EXECUTE FUNCTION oi_set_updated_at();

-- approvals
ALTER TABLE approvals ADD COLUMN revision bigint NOT NULL DEFAULT 0;
CREATE CONSTRAINT TRIGGER trg_approvals_insert_change AFTER INSERT ON approvals
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION oi_record_change();
CREATE CONSTRAINT TRIGGER trg_approvals_update_change AFTER UPDATE ON approvals
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (NEW.revision IS NOT DISTINCT FROM OLD.revision)
    EXECUTE FUNCTION oi_record_change();
CREATE CONSTRAINT TRIGGER trg_approvals_delete_change AFTER DELETE ON approvals
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION oi_record_change();

DROP TRIGGER trg_approvals_updated_at ON approvals;
CREATE TRIGGER trg_approvals_updated_at BEFORE UPDATE ON approvals
    FOR EACH ROW WHEN (NEW.revision IS NOT DISTINCT FROM OLD.revision)
    EXECUTE FUNCTION oi_set_updated_at();
