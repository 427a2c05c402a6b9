-- 002_agent_state_tables.up.sql (SQLite 3.40+)
--
-- Revision 002_agent_state_tables: creates the four agent-state tables of
-- OptiInfra's step 0.2b (agent_configs, agent_states, agent_capabilities,
-- agent_metrics), each referencing agents ON DELETE CASCADE, with their
-- named constraints, indexes and updated_at triggers.  Column order matches
-- include/optiinfra/records.h.  Requires revision 001_core_tables.
--
-- Conventions as in 001_core_tables.up.sql: lowercase UUID text ids,
-- timestamps as fixed-width UTC text YYYY-MM-DDTHH:MM:SS.ffffffZ, JSON as
-- checked text, booleans as INTEGER 0/1, names pk_/uq_/fk_/ck_/ix_/trg_.
-- agent_metrics.id is an INTEGER PRIMARY KEY (the rowid), the 64-bit
-- identity of the time series; without AUTOINCREMENT, so the id of the
-- newest row may be reused after that row is deleted.
--
-- No BEGIN/COMMIT here: the migrator runs this script and the update of
-- alembic_version in one transaction.  The BEGIN ... END below are trigger
-- bodies, so the script must be executed whole (sqlite3_exec), not split on
-- semicolons.

CREATE TABLE agent_configs (
    id            TEXT NOT NULL DEFAULT (lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || substr(lower(hex(randomblob(2))), 2) || '-' || substr('89ab', 1 + (random() & 3), 1) || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6)))),
    agent_id      TEXT NOT NULL,
    config_key    TEXT NOT NULL,
    config_value  TEXT NOT NULL,
    config_type   TEXT NOT NULL DEFAULT 'string',
    description   TEXT,
    is_sensitive  INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    updated_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    CONSTRAINT pk_agent_configs PRIMARY KEY (id),
    CONSTRAINT fk_agent_configs_agent_id FOREIGN KEY (agent_id) REFERENCES agents (id) ON DELETE CASCADE,
    CONSTRAINT uq_agent_configs_agent_id_config_key UNIQUE (agent_id, config_key),
    CONSTRAINT ck_agent_configs_id CHECK (id GLOB '[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]'),
    CONSTRAINT ck_agent_configs_config_type CHECK (config_type IN ('string', 'number', 'integer', 'float', 'boolean', 'json')),
    CONSTRAINT ck_agent_configs_is_sensitive CHECK (is_sensitive IN (0, 1)),
    CONSTRAINT ck_agent_configs_created_at CHECK (created_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    CONSTRAINT ck_agent_configs_updated_at CHECK (updated_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z')
);

CREATE INDEX ix_agent_configs_agent_id ON agent_configs (agent_id);

CREATE TABLE agent_states (
    id                TEXT NOT NULL DEFAULT (lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || substr(lower(hex(randomblob(2))), 2) || '-' || substr('89ab', 1 + (random() & 3), 1) || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6)))),
    agent_id          TEXT NOT NULL,
    status            TEXT NOT NULL DEFAULT 'idle',
    current_workflow  TEXT,
    workflow_data     TEXT NOT NULL DEFAULT '{}',
    resource_locks    TEXT NOT NULL DEFAULT '[]',
    error_count       INTEGER NOT NULL DEFAULT 0,
    last_error        TEXT,
    last_heartbeat    TEXT,
    created_at        TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    updated_at        TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    CONSTRAINT pk_agent_states PRIMARY KEY (id),
    CONSTRAINT fk_agent_states_agent_id FOREIGN KEY (agent_id) REFERENCES agents (id) ON DELETE CASCADE,
    -- one state per agent; this unique index also serves agent_id lookups
    CONSTRAINT uq_agent_states_agent_id UNIQUE (agent_id),
    CONSTRAINT ck_agent_states_id CHECK (id GLOB '[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]'),
    CONSTRAINT ck_agent_states_workflow_data CHECK (CASE WHEN json_valid(workflow_data) THEN json_type(workflow_data) = 'object' ELSE 0 END),
    CONSTRAINT ck_agent_states_resource_locks CHECK (CASE WHEN json_valid(resource_locks) THEN json_type(resource_locks) = 'array' ELSE 0 END),
    CONSTRAINT ck_agent_states_error_count CHECK (typeof(error_count) = 'integer' AND error_count >= 0),
    CONSTRAINT ck_agent_states_last_error CHECK (last_error IS NULL OR CASE WHEN json_valid(last_error) THEN json_type(last_error) = 'object' ELSE 0 END),
    CONSTRAINT ck_agent_states_last_heartbeat CHECK (last_heartbeat GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    CONSTRAINT ck_agent_states_created_at CHECK (created_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    CONSTRAINT ck_agent_states_updated_at CHECK (updated_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z')
);

CREATE TABLE agent_capabilities (
    id                  TEXT NOT NULL DEFAULT (lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || substr(lower(hex(randomblob(2))), 2) || '-' || substr('89ab', 1 + (random() & 3), 1) || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6)))),
    agent_id            TEXT NOT NULL,
    capability_name     TEXT NOT NULL,
    capability_version  TEXT NOT NULL,
    description         TEXT,
    parameters          TEXT NOT NULL DEFAULT '{}',
    is_enabled          INTEGER NOT NULL DEFAULT 1,
    created_at          TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    updated_at          TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    CONSTRAINT pk_agent_capabilities PRIMARY KEY (id),
    CONSTRAINT fk_agent_capabilities_agent_id FOREIGN KEY (agent_id) REFERENCES agents (id) ON DELETE CASCADE,
    CONSTRAINT uq_agent_capabilities_agent_name_version UNIQUE (agent_id, capability_name, capability_version),
    CONSTRAINT ck_agent_capabilities_id CHECK (id GLOB '[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]'),
    CONSTRAINT ck_agent_capabilities_parameters CHECK (CASE WHEN json_valid(parameters) THEN json_type(parameters) = 'object' ELSE 0 END),
    CONSTRAINT ck_agent_capabilities_is_enabled CHECK (is_enabled IN (0, 1)),
    CONSTRAINT ck_agent_capabilities_created_at CHECK (created_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    CONSTRAINT ck_agent_capabilities_updated_at CHECK (updated_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z')
);

CREATE INDEX ix_agent_capabilities_agent_id ON agent_capabilities (agent_id);

CREATE TABLE agent_metrics (
    id                    INTEGER NOT NULL,
    agent_id              TEXT NOT NULL,
    metric_name           TEXT NOT NULL,
    metric_value          REAL NOT NULL,
    metric_unit           TEXT,
    collection_timestamp  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    metadata              TEXT NOT NULL DEFAULT '{}',
    created_at            TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    -- INTEGER PRIMARY KEY: an alias of the rowid, assigned on insert
    CONSTRAINT pk_agent_metrics PRIMARY KEY (id),
    CONSTRAINT fk_agent_metrics_agent_id FOREIGN KEY (agent_id) REFERENCES agents (id) ON DELETE CASCADE,
    -- finite: SQLite stores NaN as NULL (refused by NOT NULL); 9e999 is +inf
    CONSTRAINT ck_agent_metrics_metric_value CHECK (typeof(metric_value) = 'real' AND metric_value > -9e999 AND metric_value < 9e999),
    CONSTRAINT ck_agent_metrics_collection_timestamp CHECK (collection_timestamp GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    CONSTRAINT ck_agent_metrics_metadata CHECK (CASE WHEN json_valid(metadata) THEN json_type(metadata) = 'object' ELSE 0 END),
    CONSTRAINT ck_agent_metrics_created_at CHECK (created_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z')
);

-- also serves lookups by agent_id alone (leading column)
CREATE INDEX ix_agent_metrics_agent_name_time ON agent_metrics (agent_id, metric_name, collection_timestamp);
CREATE INDEX ix_agent_metrics_collection_timestamp ON agent_metrics (collection_timestamp);

-- updated_at triggers, as in 001_core_tables (agent_metrics has none)
CREATE TRIGGER trg_agent_configs_updated_at AFTER UPDATE ON agent_configs
FOR EACH ROW WHEN NEW.updated_at IS OLD.updated_at
BEGIN
    UPDATE agent_configs SET updated_at = strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')
     WHERE id = NEW.id AND updated_at < strftime('%Y-%m-%dT%H:%M:%f000Z', 'now');
END;

CREATE TRIGGER trg_agent_states_updated_at AFTER UPDATE ON agent_states
FOR EACH ROW WHEN NEW.updated_at IS OLD.updated_at
BEGIN
    UPDATE agent_states SET updated_at = strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')
     WHERE id = NEW.id AND updated_at < strftime('%Y-%m-%dT%H:%M:%f000Z', 'now');
END;

CREATE TRIGGER trg_agent_capabilities_updated_at AFTER UPDATE ON agent_capabilities
FOR EACH ROW WHEN NEW.updated_at IS OLD.updated_at
BEGIN
    UPDATE agent_capabilities SET updated_at = strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')
     WHERE id = NEW.id AND updated_at < strftime('%Y-%m-%dT%H:%M:%f000Z', 'now');
END;
