-- 006_coordination.down.sql (PostgreSQL 15)
--
-- Reverts revision 006_coordination: drops the change triggers, the revision
-- columns, the change log, the fencing tokens and the lock-delays, and puts
-- back the updated_at triggers of 001 and 002 as they were.  Tokens already
-- handed out are forgotten: an upgrade after this starts them again from 1.
--
-- No BEGIN/COMMIT here: the migrator runs this script and the update of
-- alembic_version in one transaction.


DROP TRIGGER trg_agents_insert_change ON agents;
DROP TRIGGER trg_agents_update_change ON agents;
DROP TRIGGER trg_agents_delete_change ON agents;
DROP TRIGGER trg_agents_updated_at ON agents;
CREATE TRIGGER trg_agents_updated_at BEFORE UPDATE ON agents
    FOR EACH ROW EXECUTE FUNCTION oi_set_updated_at();
ALTER TABLE agents DROP COLUMN revision;

DROP TRIGGER trg_agent_states_insert_change ON agent_states;
DROP TRIGGER trg_agent_states_update_change ON agent_states;
DROP TRIGGER trg_agent_states_delete_change ON agent_states;
DROP TRIGGER trg_agent_states_updated_at ON agent_states;
CREATE TRIGGER trg_agent_states_updated_at BEFORE UPDATE ON agent_states
    FOR EACH ROW EXECUTE FUNCTION oi_set_updated_at();
ALTER TABLE agent_states DROP COLUMN revision;

DROP TRIGGER trg_agent_configs_insert_change ON agent_configs;
DROP TRIGGER trg_agent_configs_update_change ON agent_configs;
DROP TRIGGER trg_agent_configs_delete_change ON agent_configs;
DROP TRIGGER trg_agent_configs_updated_at ON agent_configs;
CREATE TRIGGER trg_agent_configs_updated_at BEFORE UPDATE ON agent_configs
    FOR EACH ROW EXECUTE FUNCTION oi_set_updated_at();
ALTER TABLE agent_configs DROP COLUMN revision;

DROP TRIGGER trg_agent_capabilities_insert_change ON agent_capabilities;
DROP TRIGGER trg_agent_capabilities_update_change ON agent_capabilities;
DROP TRIGGER trg_agent_capabilities_delete_change ON agent_capabilities;
DROP TRIGGER trg_agent_capabilities_updated_at ON agent_capabilities;
CREATE TRIGGER trg_agent_capabilities_updated_at BEFORE UPDATE ON agent_capabilities
    FOR EACH ROW EXECUTE FUNCTION oi_set_updated_at();
ALTER TABLE agent_capabilities DROP COLUMN revision;

DROP TRIGGER trg_resource_locks_insert_change ON resource_locks;
DROP TRIGGER trg_resource_locks_update_change ON resource_locks;
DROP TRIGGER trg_resource_locks_delete_change ON resource_locks;
ALTER TABLE resource_locks DROP COLUMN revision;

DROP TRIGGER trg_recommendations_insert_change ON recommendations;
DROP TRIGGER trg_recommendations_update_change ON recommendations;
DROP TRIGGER trg_recommendations_delete_change ON recommendations;
DROP TRIGGER trg_recommendations_updated_at ON recommendations;
CREATE TRIGGER trg_recommendations_updated_at BEFORE UPDATE ON recommendations
    FOR EACH ROW EXECUTE FUNCTION oi_set_updated_at();
ALTER TABLE recommendations DROP COLUMN revision;

DROP TRIGGER trg_approvals_insert_change ON approvals;
DROP TRIGGER trg_approvals_update_change ON approvals;
DROP TRIGGER trg_approvals_delete_change ON approvals;
DROP TRIGGER trg_approvals_updated_at ON approvals;
CREATE TRIGGER trg_approvals_updated_at BEFORE UPDATE ON approvals
    FOR EACH ROW EXECUTE FUNCTION oi_set_updated_at();
ALTER TABLE approvals DROP COLUMN revision;

DROP TRIGGER trg_agents_delay_freed_locks ON agents;
DROP FUNCTION oi_delay_freed_locks();
ALTER TABLE resource_locks DROP COLUMN lock_delay;
DROP FUNCTION oi_record_change();
DROP TABLE change_log;
DROP TABLE store_revision;
DROP TABLE lock_fences;
DROP TABLE lock_fence_seq;
