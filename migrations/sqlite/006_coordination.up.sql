-- 006_coordination.up.sql (SQLite 3.40+)
--
-- Revision 006_coordination: what agents coordinate with (docs/coordination.md).
--
--   * store_revision: one row holding the store-wide change revision, a
--     counter that every committed change to a watched table moves up by
--     one, and how much of the change log to keep (keep_changes rows, and
--     none older than keep_seconds).
--   * change_log: one row per change (revision, table, key, the agent it
--     belongs to, insert/update/delete, when), read by oi_changes_since()
--     and the service's watches.  Revisions in it are consecutive: a gap
--     below the oldest kept row is what was pruned (the compact revision).
--   * a revision column on each watched table (agents, agent_states,
--     agent_configs, agent_capabilities, resource_locks, recommendations,
--     approvals): the revision of the change that last wrote the row, what
--     compare-and-set compares.  0 on rows older than this revision.
--   * lock_fences: the newest fencing token issued for every resource ever
--     locked (it outlives the lock), and free_at: the end of the lock-delay
--     of a resource whose holder was deregistered.  lock_fence_seq: the
--     counter tokens are drawn from.
--   * resource_locks.lock_delay: the holder's lock-delay, in microseconds.
--
-- The triggers do the bookkeeping, so every writer is covered: this library,
-- plain SQL, OptiInfra's Python services, and the deletes that cascade from
-- an agent.  SQLite has one writer at a time, so a plain counter row gives
-- revisions in commit order.  Each watched table has three triggers; they
-- hand the change to the INSTEAD OF trigger of the view change_feed, which
-- bumps the counter, appends to the log and prunes its oldest rows (two at
-- most per change, so pruning is constant work), then write the new
-- revision into the row.  The row update changes only revision, and the
-- update trigger ignores updates that change revision, so it cannot loop.
-- The update trigger also keeps updated_at moving for writers that leave it
-- unchanged, replacing trg_*_updated_at of the tables that had one (two
-- AFTER UPDATE triggers on a table would each see the other's update).
--
-- No BEGIN/COMMIT here: the migrator runs this script and the update of
-- alembic_version in one transaction.  The BEGIN ... END below are trigger
-- bodies, so the script must be executed whole.

CREATE TABLE store_revision (
    id            INTEGER NOT NULL,
    revision      INTEGER NOT NULL DEFAULT 0,
    keep_changes  INTEGER NOT NULL DEFAULT 100000,
    keep_seconds  INTEGER NOT NULL DEFAULT 86400,
    CONSTRAINT pk_store_revision PRIMARY KEY (id),
    CONSTRAINT ck_store_revision_id CHECK (id = 1),
    CONSTRAINT ck_store_revision_revision CHECK (typeof(revision) = 'integer' AND revision >= 0),
    CONSTRAINT ck_store_revision_keep_changes CHECK (typeof(keep_changes) = 'integer' AND keep_changes >= 1),
    CONSTRAINT ck_store_revision_keep_seconds CHECK (typeof(keep_seconds) = 'integer' AND keep_seconds >= 1)
);
INSERT INTO store_revision (id) VALUES (1);

CREATE TABLE change_log (
    revision    INTEGER NOT NULL,
    table_name  TEXT NOT NULL,
    row_key     TEXT NOT NULL,
    agent_id    TEXT,
    kind        TEXT NOT NULL,
    changed_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    CONSTRAINT pk_change_log PRIMARY KEY (revision),
    CONSTRAINT ck_change_log_kind CHECK (kind IN ('insert', 'update', 'delete'))
);

CREATE TABLE lock_fences (
    resource  TEXT NOT NULL,
    fence     INTEGER NOT NULL,
    free_at   TEXT,
    CONSTRAINT pk_lock_fences PRIMARY KEY (resource),
    CONSTRAINT uq_lock_fences_fence UNIQUE (fence),
    CONSTRAINT ck_lock_fences_fence CHECK (typeof(fence) = 'integer' AND fence >= 1)
);

CREATE TABLE lock_fence_seq (
    id    INTEGER NOT NULL,
    last  INTEGER NOT NULL DEFAULT 0,
    CONSTRAINT pk_lock_fence_seq PRIMARY KEY (id),
    CONSTRAINT ck_lock_fence_seq_id CHECK (id = 1)
);
INSERT INTO lock_fence_seq (id) VALUES (1);

ALTER TABLE resource_locks ADD COLUMN lock_delay INTEGER NOT NULL DEFAULT 15000000
    CONSTRAINT ck_resource_locks_lock_delay CHECK (typeof(lock_delay) = 'integer' AND lock_delay >= 0);

-- The locks held when this revision is applied get their first tokens.
INSERT INTO lock_fences (resource, fence)
SELECT resource, row_number() OVER (ORDER BY resource) FROM resource_locks WHERE true;
UPDATE lock_fence_seq SET last = (SELECT count(*) FROM lock_fences);

-- A deregistered agent's locks go with it (ON DELETE CASCADE); its
-- resources stay untakeable for the lock's lock-delay, so that work the
-- agent still has in flight can drain (docs/coordination.md).
CREATE TRIGGER trg_agents_delay_freed_locks BEFORE DELETE ON agents
BEGIN
    UPDATE lock_fences
       SET free_at = strftime('%Y-%m-%dT%H:%M:%f000Z', 'now',
                              '+' || (l.lock_delay / 1000000.0) || ' seconds')
      FROM resource_locks l
     WHERE l.agent_id = OLD.id AND lock_fences.resource = l.resource;
END;

CREATE VIEW change_feed AS
SELECT table_name, row_key, agent_id, kind FROM change_log;

CREATE TRIGGER trg_change_feed_insert INSTEAD OF INSERT ON change_feed
BEGIN
    UPDATE store_revision SET revision = revision + 1 WHERE id = 1;
    INSERT INTO change_log (revision, table_name, row_key, agent_id, kind)
    SELECT revision, NEW.table_name, NEW.row_key, NEW.agent_id, NEW.kind
      FROM store_revision WHERE id = 1;
    DELETE FROM change_log
     WHERE revision IN (SELECT revision FROM change_log ORDER BY revision LIMIT 2)
       AND (revision <= (SELECT revision - keep_changes FROM store_revision WHERE id = 1)
            OR changed_at < strftime('%Y-%m-%dT%H:%M:%f000Z', 'now',
                                     (SELECT '-' || keep_seconds || ' seconds'
                                        FROM store_revision WHERE id = 1)));
END;


-- agents
ALTER TABLE agents ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;
DROP TRIGGER trg_agents_updated_at;
CREATE TRIGGER trg_agents_insert_change AFTER INSERT ON agents
BEGIN
    INSERT INTO change_feed VALUES ('agents', NEW.id, NEW.id, 'insert');
    UPDATE agents SET revision = (SELECT revision FROM store_revision WHERE id = 1)
     WHERE id = NEW.id;
END;
-- A heartbeat is one change, logged through agent_states: an update of agents
-- that moves only last_heartbeat and updated_at (the copy of the beat the
-- spec keeps in agents) is not logged again, and leaves agents.revision.
CREATE TRIGGER trg_agents_update_change AFTER UPDATE ON agents
FOR EACH ROW WHEN NEW.revision IS OLD.revision
              AND NOT (NEW.id IS OLD.id AND NEW.type IS OLD.type AND NEW.name IS OLD.name AND NEW.version IS OLD.version AND NEW.status IS OLD.status AND NEW.endpoint IS OLD.endpoint AND NEW.capabilities IS OLD.capabilities AND NEW.metadata IS OLD.metadata AND NEW.created_at IS OLD.created_at
                       AND NEW.updated_at IS NOT OLD.updated_at)
BEGIN
    INSERT INTO change_feed VALUES ('agents', NEW.id, NEW.id, 'update');
    UPDATE agents SET revision = (SELECT revision FROM store_revision WHERE id = 1),
           updated_at = CASE WHEN NEW.updated_at IS OLD.updated_at AND updated_at < strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')
                             THEN strftime('%Y-%m-%dT%H:%M:%f000Z', 'now') ELSE updated_at END
     WHERE id = NEW.id;
END;
CREATE TRIGGER trg_agents_delete_change AFTER DELETE ON agents
BEGIN
    INSERT INTO change_feed VALUES ('agents', OLD.id, OLD.id, 'delete');
END;

-- agent_states
ALTER TABLE agent_states ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;
DROP TRIGGER trg_agent_states_updated_at;
CREATE TRIGGER trg_agent_states_insert_change AFTER INSERT ON agent_states
BEGIN
    INSERT INTO change_feed VALUES ('agent_states', NEW.id, NEW.agent_id, 'insert');
    UPDATE agent_states SET revision = (SELECT revision FROM store_revision WHERE id = 1)
     WHERE id = NEW.id;
END;
CREATE TRIGGER trg_agent_states_update_change AFTER UPDATE ON agent_states
FOR EACH ROW WHEN NEW.revision IS OLD.revision
BEGIN
    INSERT INTO change_feed VALUES ('agent_states', NEW.id, NEW.agent_id, 'update');
    UPDATE agent_states SET revision = (SELECT revision FROM store_revision WHERE id = 1),
           updated_at = CASE WHEN NEW.updated_at IS OLD.updated_at AND updated_at < strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')
                             THEN strftime('%Y-%m-%dT%H:%M:%f000Z', 'now') ELSE updated_at END
     WHERE id = NEW.id;
END;
CREATE TRIGGER trg_agent_states_delete_change AFTER DELETE ON agent_states
BEGIN
    INSERT INTO change_feed VALUES ('agent_states', OLD.id, OLD.agent_id, 'delete');
END;

-- agent_configs
ALTER TABLE agent_configs ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;
DROP TRIGGER trg_agent_configs_updated_at;
CREATE TRIGGER trg_agent_configs_insert_change AFTER INSERT ON agent_configs
BEGIN
    INSERT INTO change_feed VALUES ('agent_configs', NEW.id, NEW.agent_id, 'insert');
    UPDATE agent_configs SET revision = (SELECT revision FROM store_revision WHERE id = 1)
     WHERE id = NEW.id;
END;
CREATE TRIGGER trg_agent_configs_update_change AFTER UPDATE ON agent_configs
FOR EACH ROW WHEN NEW.revision IS OLD.revision
BEGIN
    INSERT INTO change_feed VALUES ('agent_configs', NEW.id, NEW.agent_id, 'update');
    UPDATE agent_configs SET revision = (SELECT revision FROM store_revision WHERE id = 1),
           updated_at = CASE WHEN NEW.updated_at IS OLD.updated_at AND updated_at < strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')
                             THEN strftime('%Y-%m-%dT%H:%M:%f000Z', 'now') ELSE updated_at END
     WHERE id = NEW.id;
END;
CREATE TRIGGER trg_agent_configs_delete_change AFTER DELETE ON agent_configs
BEGIN
    INSERT INTO change_feed VALUES ('agent_configs', OLD.id, OLD.agent_id, 'delete');
END;

-- agent_capabilities
ALTER TABLE agent_capabilities ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;
DROP TRIGGER trg_agent_capabilities_updated_at;
CREATE TRIGGER trg_agent_capabilities_insert_change AFTER INSERT ON agent_capabilities
BEGIN
    INSERT INTO change_feed VALUES ('agent_capabilities', NEW.id, NEW.agent_id, 'insert');
    UPDATE agent_capabilities SET revision = (SELECT revision FROM store_revision WHERE id = 1)
     WHERE id = NEW.id;
END;
CREATE TRIGGER trg_agent_capabilities_update_change AFTER UPDATE ON agent_capabilities
FOR EACH ROW WHEN NEW.revision IS OLD.revision
BEGIN
    INSERT INTO change_feed VALUES ('agent_capabilities', NEW.id, NEW.agent_id, 'update');
    UPDATE agent_capabilities SET revision = (SELECT revision FROM store_revision WHERE id = 1),
           updated_at = CASE WHEN NEW.updated_at IS OLD.updated_at AND updated_at < strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')
                             THEN strftime('%Y-%m-%dT%H:%M:%f000Z', 'now') ELSE updated_at END
     WHERE id = NEW.id;
END;
CREATE TRIGGER trg_agent_capabilities_delete_change AFTER DELETE ON agent_capabilities
BEGIN
    INSERT INTO change_feed VALUES ('agent_capabilities', OLD.id, OLD.agent_id, 'delete');
END;

-- resource_locks
ALTER TABLE resource_locks ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;
CREATE TRIGGER trg_resource_locks_insert_change AFTER INSERT ON resource_locks
BEGIN
    INSERT INTO change_feed VALUES ('resource_locks', NEW.resource, NEW.agent_id, 'insert');
    UPDATE resource_locks SET revision = (SELECT revision FROM store_revision WHERE id = 1)
     WHERE resource = NEW.resource;
END;
CREATE TRIGGER trg_resource_locks_update_change AFTER UPDATE ON resource_locks
FOR EACH ROW WHEN NEW.revision IS OLD.revision
BEGIN
    INSERT INTO change_feed VALUES ('resource_locks', NEW.resource, NEW.agent_id, 'update');
    UPDATE resource_locks SET revision = (SELECT revision FROM store_revision WHERE id = 1)
     WHERE resource = NEW.resource;
END;
CREATE TRIGGER trg_resource_locks_delete_change AFTER DELETE ON resource_locks
BEGIN
    INSERT INTO change_feed VALUES ('resource_locks', OLD.resource, OLD.agent_id, 'delete');
END;

-- recommendations
ALTER TABLE recommendations ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;
DROP TRIGGER trg_recommendations_updated_at;
CREATE TRIGGER trg_recommendations_insert_change AFTER INSERT ON recommendations
BEGIN
    INSERT INTO change_feed VALUES ('recommendations', NEW.id, NEW.agent_id, 'insert');
    UPDATE recommendations SET revision = (SELECT revision FROM store_revision WHERE id = 1)
     WHERE id = NEW.id;
END;
CREATE TRIGGER trg_recommendations_update_change AFTER UPDATE ON recommendations
FOR EACH ROW WHEN NEW.revision IS OLD.revision
BEGIN
    INSERT INTO change_feed VALUES ('recommendations', NEW.id, NEW.agent_id, 'update');
    UPDATE recommendations SET revision = (SELECT revision FROM store_revision WHERE id = 1),
           updated_at = CASE WHEN NEW.updated_at IS OLD.updated_at AND updated_at < strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')
                             THEN strftime('%Y-%m-%dT%H:%M:%f000Z', 'now') ELSE updated_at END
     WHERE id = NEW.id;
END;
CREATE TRIGGER trg_recommendations_delete_change AFTER DELETE ON recommendations
BEGIN
    INSERT INTO change_feed VALUES ('recommendations', OLD.id, OLD.agent_id, 'delete');
END;

-- approvals
ALTER TABLE approvals ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;
DROP TRIGGER trg_approvals_updated_at;
CREATE TRIGGER trg_approvals_insert_change AFTER INSERT ON approvals
BEGIN
    INSERT INTO change_feed VALUES ('approvals', NEW.id, (SELECT agent_id FROM recommendations WHERE id = NEW.recommendation_id), 'insert');
    UPDATE approvals SET revision = (SELECT revision FROM store_revision WHERE id = 1)
     WHERE id = NEW.id;
END;
CREATE TRIGGER trg_approvals_update_change AFTER UPDATE ON approvals
FOR EACH ROW WHEN NEW.revision IS OLD.revision
BEGIN
    INSERT INTO change_feed VALUES ('approvals', NEW.id, (SELECT agent_id FROM recommendations WHERE id = NEW.recommendation_id), 'update');
    UPDATE approvals SET revision = (SELECT revision FROM store_revision WHERE id = 1),
           updated_at = CASE WHEN NEW.updated_at IS OLD.updated_at AND updated_at < strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')
                             THEN strftime('%Y-%m-%dT%H:%M:%f000Z', 'now') ELSE updated_at END
     WHERE id = NEW.id;
END;
CREATE TRIGGER trg_approvals_delete_change AFTER DELETE ON approvals
BEGIN
    INSERT INTO change_feed VALUES ('approvals', OLD.id, (SELECT agent_id FROM recommendations WHERE id = OLD.recommendation_id), 'delete');
END;
