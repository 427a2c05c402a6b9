-- 006_coordination.down.sql (SQLite 3.40+)
--
-- Reverts revision 006_coordination: drops the change triggers, the revision
-- columns, the change log, the fencing tokens and the lock-delays, and puts
-- back the updated_at triggers of 001 and 002.  Tokens already handed out
-- are forgotten: an upgrade after this starts them again from 1.
--
-- No BEGIN/COMMIT here: the migrator runs this script and the update of
-- alembic_version in one transaction.


DROP TRIGGER trg_agents_insert_change;
DROP TRIGGER trg_agents_update_change;
DROP TRIGGER trg_agents_delete_change;

ALTER TABLE agents DROP COLUMN revision;

CREATE TRIGGER trg_agents_updated_at AFTER UPDATE ON agents
FOR EACH ROW WHEN NEW.updated_at IS OLD.updated_at
BEGIN
    UPDATE agents SET updated_at = strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')
     WHERE id = NEW.id AND updated_at < strftime('%Y-%m-%dT%H:%M:%f000Z', 'now');
END;

DROP TRIGGER trg_agent_states_insert_change;
DROP TRIGGER trg_agent_states_update_change;
DROP TRIGGER trg_agent_states_delete_change;

ALTER TABLE agent_states DROP COLUMN revision;

CREATE TRIGGER trg_agent_states_updated_at AFTER UPDATE ON agent_states
FOR EACH ROW WHEN NEW.updated_at IS OLD.updated_at
BEGIN
    UPDATE agent_states SET updated_at = strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')
     WHERE id = NEW.id AND updated_at < strftime('%Y-%m-%dT%H:%M:%f000Z', 'now');
END;

DROP TRIGGER trg_agent_configs_insert_change;
DROP TRIGGER trg_agent_configs_update_change;
DROP TRIGGER trg_agent_configs_delete_change;

ALTER TABLE agent_configs DROP COLUMN revision;

CREATE TRIGGER trg_agent_configs_updated_at AFTER UPDATE ON agent_configs
FOR EACH ROW WHEN NEW.updated_at IS OLD.updated_at
BEGIN
    UPDATE agent_configs SET updated_at = strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')
     WHERE id = NEW.id AND updated_at < strftime('%Y-%m-%dT%H:%M:%f000Z', 'now');
END;

DROP TRIGGER trg_agent_capabilities_insert_change;
DROP TRIGGER trg_agent_capabilities_update_change;
DROP TRIGGER trg_agent_capabilities_delete_change;

ALTER TABLE agent_capabilities DROP COLUMN revision;

CREATE TRIGGER trg_agent_capabilities_updated_at AFTER UPDATE ON agent_capabilities
FOR EACH ROW WHEN NEW.updated_at IS OLD.updated_at
BEGIN
    UPDATE agent_capabilities SET updated_at = strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')
     WHERE id = NEW.id AND updated_at < strftime('%Y-%m-%dT%H:%M:%f000Z', 'now');
END;

DROP TRIGGER trg_resource_locks_insert_change;
DROP TRIGGER trg_resource_locks_update_change;
DROP TRIGGER trg_resource_locks_delete_change;

ALTER TABLE resource_locks DROP COLUMN revision;

DROP TRIGGER trg_recommendations_insert_change;
DROP TRIGGER trg_recommendations_update_change;
DROP TRIGGER trg_recommendations_delete_change;

ALTER TABLE recommendations DROP COLUMN revision;

CREATE TRIGGER trg_recommendations_updated_at AFTER UPDATE ON recommendations
FOR EACH ROW WHEN NEW.updated_at IS OLD.updated_at
BEGIN
    UPDATE recommendations SET updated_at = strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')
     WHERE id = NEW.id AND updated_at < strftime('%Y-%m-%dT%H:%M:%f000Z', 'now');
END;

DROP TRIGGER trg_approvals_insert_change;
DROP TRIGGER trg_approvals_update_change;
DROP TRIGGER trg_approvals_delete_change;

ALTER TABLE approvals DROP COLUMN revision;

CREATE TRIGGER trg_approvals_updated_at AFTER UPDATE ON approvals
FOR EACH ROW WHEN NEW.updated_at IS OLD.updated_at
BEGIN
    UPDATE approvals SET updated_at = strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')
     WHERE id = NEW.id AND updated_at < strftime('%Y-%m-%dT%H:%M:%f000Z', 'now');
END;

DROP TRIGGER trg_agents_delay_freed_locks;
ALTER TABLE resource_locks DROP COLUMN lock_delay;
DROP VIEW change_feed;
DROP TABLE change_log;
DROP TABLE store_revision;
DROP TABLE lock_fences;
DROP TABLE lock_fence_seq;
