-- 001_core_tables.up.sql (SQLite 3.40+)
--
-- Revision 001_core_tables: creates the six core tables of OptiInfra's step
-- 0.2a (customers, agents, events, recommendations, approvals,
-- optimizations) with their named constraints, indexes and updated_at
-- triggers.  Column order matches include/optiinfra/records.h.
--
-- Conventions (the PostgreSQL script uses the same names):
--   * ids are lowercase canonical UUID text (8-4-4-4-12), checked by GLOB;
--     the default makes a random version-4 UUID, as gen_random_uuid() does
--     on PostgreSQL.  "TEXT PRIMARY KEY" alone would admit NULL in SQLite,
--     hence NOT NULL.
--   * timestamps are UTC text in the fixed-width form
--     YYYY-MM-DDTHH:MM:SS.ffffffZ (always six fraction digits, so text
--     order is time order); the defaults give that form with millisecond
--     precision and three trailing zeros.
--   * JSON columns are text checked with json_valid()/json_type(); JSON
--     objects default to '{}', lists of strings to '[]'.
--   * booleans are INTEGER 0/1; numeric columns are REAL, type-checked, and
--     money/percentage columns are limited to the range of numeric(10,2).
--   * constraints are named pk_/uq_/fk_/ck_<table>_<column(s)>, indexes
--     ix_<table>_<column(s)>, triggers trg_<table>_updated_at.
--   * foreign keys are enforced only with PRAGMA foreign_keys=ON, which the
--     store sets on every connection.
--
-- No BEGIN/COMMIT here: the migrator runs this script and the update of
-- alembic_version in one transaction.  The BEGIN ... END below are trigger
-- bodies, so the script must be executed whole (sqlite3_exec), not split on
-- semicolons.

CREATE TABLE customers (
    id          TEXT NOT NULL DEFAULT (lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || substr(lower(hex(randomblob(2))), 2) || '-' || substr('89ab', 1 + (random() & 3), 1) || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6)))),
    name        TEXT NOT NULL,
    email       TEXT NOT NULL,
    api_key     TEXT NOT NULL,
    plan        TEXT NOT NULL DEFAULT 'free',
    status      TEXT NOT NULL DEFAULT 'active',
    metadata    TEXT NOT NULL DEFAULT '{}',
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    updated_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    CONSTRAINT pk_customers PRIMARY KEY (id),
    CONSTRAINT uq_customers_email UNIQUE (email),
    CONSTRAINT uq_customers_api_key UNIQUE (api_key),
    CONSTRAINT ck_customers_id CHECK (id GLOB '[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]'),
    CONSTRAINT ck_customers_plan CHECK (plan IN ('free', 'startup', 'enterprise')),
    CONSTRAINT ck_customers_status CHECK (status IN ('active', 'suspended', 'churned')),
    CONSTRAINT ck_customers_metadata CHECK (CASE WHEN json_valid(metadata) THEN json_type(metadata) = 'object' ELSE 0 END),
    CONSTRAINT ck_customers_created_at CHECK (created_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    CONSTRAINT ck_customers_updated_at CHECK (updated_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z')
);

CREATE TABLE agents (
    id              TEXT NOT NULL DEFAULT (lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || substr(lower(hex(randomblob(2))), 2) || '-' || substr('89ab', 1 + (random() & 3), 1) || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6)))),
    type            TEXT NOT NULL,
    name            TEXT NOT NULL,
    version         TEXT,
    status          TEXT NOT NULL DEFAULT 'active',
    endpoint        TEXT,
    capabilities    TEXT NOT NULL DEFAULT '[]',
    metadata        TEXT NOT NULL DEFAULT '{}',
    last_heartbeat  TEXT,
    created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    updated_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    CONSTRAINT pk_agents PRIMARY KEY (id),
    CONSTRAINT uq_agents_type_name UNIQUE (type, name),
    CONSTRAINT ck_agents_id CHECK (id GLOB '[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]'),
    CONSTRAINT ck_agents_capabilities CHECK (CASE WHEN json_valid(capabilities) THEN json_type(capabilities) = 'array' ELSE 0 END),
    CONSTRAINT ck_agents_metadata CHECK (CASE WHEN json_valid(metadata) THEN json_type(metadata) = 'object' ELSE 0 END),
    CONSTRAINT ck_agents_last_heartbeat CHECK (last_heartbeat GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    CONSTRAINT ck_agents_created_at CHECK (created_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    CONSTRAINT ck_agents_updated_at CHECK (updated_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z')
);

CREATE INDEX ix_agents_type ON agents (type);
CREATE INDEX ix_agents_status ON agents (status);
CREATE INDEX ix_agents_last_heartbeat ON agents (last_heartbeat);

CREATE TABLE events (
    id           TEXT NOT NULL DEFAULT (lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || substr(lower(hex(randomblob(2))), 2) || '-' || substr('89ab', 1 + (random() & 3), 1) || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6)))),
    customer_id  TEXT NOT NULL,
    agent_id     TEXT,
    event_type   TEXT NOT NULL,
    severity     TEXT NOT NULL DEFAULT 'info',
    data         TEXT NOT NULL DEFAULT '{}',
    created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    CONSTRAINT pk_events PRIMARY KEY (id),
    CONSTRAINT fk_events_customer_id FOREIGN KEY (customer_id) REFERENCES customers (id) ON DELETE CASCADE,
    CONSTRAINT fk_events_agent_id FOREIGN KEY (agent_id) REFERENCES agents (id) ON DELETE SET NULL,
    CONSTRAINT ck_events_id CHECK (id GLOB '[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]'),
    CONSTRAINT ck_events_severity CHECK (severity IN ('info', 'warning', 'error', 'critical')),
    CONSTRAINT ck_events_data CHECK (CASE WHEN json_valid(data) THEN json_type(data) = 'object' ELSE 0 END),
    CONSTRAINT ck_events_created_at CHECK (created_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z')
);

CREATE INDEX ix_events_customer_id ON events (customer_id);
CREATE INDEX ix_events_agent_id ON events (agent_id);
CREATE INDEX ix_events_created_at ON events (created_at);

CREATE TABLE recommendations (
    id                     TEXT NOT NULL DEFAULT (lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || substr(lower(hex(randomblob(2))), 2) || '-' || substr('89ab', 1 + (random() & 3), 1) || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6)))),
    customer_id            TEXT NOT NULL,
    agent_id               TEXT NOT NULL,
    type                   TEXT NOT NULL,
    title                  TEXT NOT NULL,
    description            TEXT,
    estimated_savings      REAL,
    estimated_improvement  REAL,
    confidence_score       REAL,
    priority               TEXT NOT NULL DEFAULT 'medium',
    status                 TEXT NOT NULL DEFAULT 'pending',
    data                   TEXT NOT NULL DEFAULT '{}',
    created_at             TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    updated_at             TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    approved_at            TEXT,
    executed_at            TEXT,
    CONSTRAINT pk_recommendations PRIMARY KEY (id),
    CONSTRAINT fk_recommendations_customer_id FOREIGN KEY (customer_id) REFERENCES customers (id) ON DELETE CASCADE,
    CONSTRAINT fk_recommendations_agent_id FOREIGN KEY (agent_id) REFERENCES agents (id) ON DELETE CASCADE,
    CONSTRAINT ck_recommendations_id CHECK (id GLOB '[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]'),
    -- numeric(10,2) on PostgreSQL: |x| must round to less than 10^8
    CONSTRAINT ck_recommendations_estimated_savings CHECK (estimated_savings IS NULL OR (typeof(estimated_savings) = 'real' AND abs(estimated_savings) < 99999999.995)),
    CONSTRAINT ck_recommendations_estimated_improvement CHECK (estimated_improvement IS NULL OR (typeof(estimated_improvement) = 'real' AND abs(estimated_improvement) < 99999999.995)),
    CONSTRAINT ck_recommendations_confidence_score CHECK (confidence_score IS NULL OR (typeof(confidence_score) = 'real' AND confidence_score >= 0 AND confidence_score <= 1)),
    CONSTRAINT ck_recommendations_priority CHECK (priority IN ('low', 'medium', 'high', 'critical')),
    CONSTRAINT ck_recommendations_status CHECK (status IN ('pending', 'approved', 'rejected', 'executing', 'completed', 'failed', 'rolled_back')),
    CONSTRAINT ck_recommendations_data CHECK (CASE WHEN json_valid(data) THEN json_type(data) = 'object' ELSE 0 END),
    CONSTRAINT ck_recommendations_created_at CHECK (created_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    CONSTRAINT ck_recommendations_updated_at CHECK (updated_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    CONSTRAINT ck_recommendations_approved_at CHECK (approved_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    CONSTRAINT ck_recommendations_executed_at CHECK (executed_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z')
);

CREATE INDEX ix_recommendations_customer_id ON recommendations (customer_id);
CREATE INDEX ix_recommendations_agent_id ON recommendations (agent_id);
CREATE INDEX ix_recommendations_status ON recommendations (status);

CREATE TABLE approvals (
    id                 TEXT NOT NULL DEFAULT (lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || substr(lower(hex(randomblob(2))), 2) || '-' || substr('89ab', 1 + (random() & 3), 1) || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6)))),
    recommendation_id  TEXT NOT NULL,
    approved_by        TEXT NOT NULL,
    status             TEXT NOT NULL DEFAULT 'pending',
    comment            TEXT,
    created_at         TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    updated_at         TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    CONSTRAINT pk_approvals PRIMARY KEY (id),
    CONSTRAINT fk_approvals_recommendation_id FOREIGN KEY (recommendation_id) REFERENCES recommendations (id) ON DELETE CASCADE,
    CONSTRAINT ck_approvals_id CHECK (id GLOB '[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]'),
    CONSTRAINT ck_approvals_status CHECK (status IN ('pending', 'approved', 'rejected')),
    CONSTRAINT ck_approvals_created_at CHECK (created_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    CONSTRAINT ck_approvals_updated_at CHECK (updated_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z')
);

CREATE INDEX ix_approvals_recommendation_id ON approvals (recommendation_id);

CREATE TABLE optimizations (
    id                  TEXT NOT NULL DEFAULT (lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || substr(lower(hex(randomblob(2))), 2) || '-' || substr('89ab', 1 + (random() & 3), 1) || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6)))),
    recommendation_id   TEXT NOT NULL,
    customer_id         TEXT NOT NULL,
    agent_id            TEXT NOT NULL,
    status              TEXT NOT NULL DEFAULT 'queued',
    progress            INTEGER NOT NULL DEFAULT 0,
    result              TEXT,
    error               TEXT,
    actual_savings      REAL,
    actual_improvement  REAL,
    started_at          TEXT,
    completed_at        TEXT,
    rolled_back_at      TEXT,
    created_at          TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    CONSTRAINT pk_optimizations PRIMARY KEY (id),
    CONSTRAINT fk_optimizations_recommendation_id FOREIGN KEY (recommendation_id) REFERENCES recommendations (id) ON DELETE CASCADE,
    CONSTRAINT fk_optimizations_customer_id FOREIGN KEY (customer_id) REFERENCES customers (id) ON DELETE CASCADE,
    CONSTRAINT fk_optimizations_agent_id FOREIGN KEY (agent_id) REFERENCES agents (id) ON DELETE CASCADE,
    CONSTRAINT ck_optimizations_id CHECK (id GLOB '[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]'),
    CONSTRAINT ck_optimizations_status CHECK (status IN ('queued', 'executing', 'completed', 'failed', 'rolled_back')),
    CONSTRAINT ck_optimizations_progress CHECK (typeof(progress) = 'integer' AND progress >= 0 AND progress <= 100),
    CONSTRAINT ck_optimizations_result CHECK (result IS NULL OR CASE WHEN json_valid(result) THEN json_type(result) = 'object' ELSE 0 END),
    CONSTRAINT ck_optimizations_actual_savings CHECK (actual_savings IS NULL OR (typeof(actual_savings) = 'real' AND abs(actual_savings) < 99999999.995)),
    CONSTRAINT ck_optimizations_actual_improvement CHECK (actual_improvement IS NULL OR (typeof(actual_improvement) = 'real' AND abs(actual_improvement) < 99999999.995)),
    CONSTRAINT ck_optimizations_started_at CHECK (started_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    CONSTRAINT ck_optimizations_completed_at CHECK (completed_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    CONSTRAINT ck_optimizations_rolled_back_at CHECK (rolled_back_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    CONSTRAINT ck_optimizations_created_at CHECK (created_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z')
);

CREATE INDEX ix_optimizations_recommendation_id ON optimizations (recommendation_id);
CREATE INDEX ix_optimizations_customer_id ON optimizations (customer_id);
CREATE INDEX ix_optimizations_agent_id ON optimizations (agent_id);

-- updated_at: the store sets it on every update.  These triggers cover the
-- writers that do not (plain SQL, other services): when an UPDATE leaves
-- updated_at unchanged, it is moved forward to now (never backwards).
CREATE TRIGGER trg_customers_updated_at AFTER UPDATE ON customers
FOR EACH ROW WHEN NEW.updated_at IS OLD.updated_at
BEGIN
    UPDATE customers SET updated_at = strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')
     WHERE id = NEW.id AND updated_at < strftime('%Y-%m-%dT%H:%M:%f000Z', 'now');
END;

CREATE TRIGGER trg_agents_updated_at AFTER UPDATE ON agents
FOR EACH ROW WHEN NEW.updated_at IS OLD.updated_at
BEGIN
    UPDATE agents SET updated_at = strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')
     WHERE id = NEW.id AND updated_at < strftime('%Y-%m-%dT%H:%M:%f000Z', 'now');
END;

CREATE TRIGGER trg_recommendations_updated_at AFTER UPDATE ON recommendations
FOR EACH ROW WHEN NEW.updated_at IS OLD.updated_at
BEGIN
    UPDATE recommendations SET updated_at = strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')
     WHERE id = NEW.id AND updated_at < strftime('%Y-%m-%dT%H:%M:%f000Z', 'now');
END;

CREATE TRIGGER trg_approvals_updated_at AFTER UPDATE ON approvals
FOR EACH ROW WHEN NEW.updated_at IS OLD.updated_at
BEGIN
    UPDATE approvals SET updated_at = strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')
     WHERE id = NEW.id AND updated_at < strftime('%Y-%m-%dT%H:%M:%f000Z', 'now');
END;
