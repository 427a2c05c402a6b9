-- 001_core_tables.up.sql (PostgreSQL 15)
--
-- Revision 001_core_tables: creates the six core tables of OptiInfra's step
-- 0.2a (customers, agents, events, recommendations, approvals,
-- optimizations) with their named constraints and indexes, and the trigger
-- function oi_set_updated_at() with one trigger per table that has an
-- updated_at column.  Column order matches include/optiinfra/records.h.
--
-- Conventions (the SQLite script uses the same names):
--   * ids are uuid DEFAULT gen_random_uuid() (built in since PostgreSQL 13);
--   * timestamps are timestamptz (microsecond precision), created_at and
--     updated_at default to now();
--   * JSON columns are jsonb: objects NOT NULL DEFAULT '{}', lists of
--     strings jsonb arrays NOT NULL DEFAULT '[]', checked with jsonb_typeof;
--   * closed value sets are text with CHECK ... IN (...), not enum types,
--     so that adding a value is one ALTER of a constraint;
--   * money/percentage columns are numeric(10,2) (NaN refused);
--   * constraints are named pk_/uq_/fk_/ck_<table>_<column(s)>, indexes
--     ix_<table>_<column(s)>, triggers trg_<table>_updated_at.
--
-- No BEGIN/COMMIT here: the migrator runs this script and the update of
-- alembic_version in one transaction.  The function body is dollar-quoted
-- PL/pgSQL (its BEGIN ... END is a block, not a transaction), so the script
-- must be sent whole (PQexec, psql -f), not split on semicolons.

-- updated_at: the store sets it on every update.  This trigger covers the
-- writers that do not (plain SQL, other services): when an UPDATE leaves
-- updated_at unchanged, it is moved forward to the current time.
CREATE FUNCTION oi_set_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.updated_at IS NOT DISTINCT FROM OLD.updated_at THEN
        NEW.updated_at := greatest(clock_timestamp(), OLD.updated_at);
    END IF;
    RETURN NEW;
END;
$$;

CREATE TABLE customers (
    id          uuid        NOT NULL DEFAULT gen_random_uuid(),
    name        text        NOT NULL,
    email       text        NOT NULL,
    api_key     text        NOT NULL,
    plan        text        NOT NULL DEFAULT 'free',
    status      text        NOT NULL DEFAULT 'active',
    metadata    jsonb       NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_customers PRIMARY KEY (id),
    CONSTRAINT uq_customers_email UNIQUE (email),
    CONSTRAINT uq_customers_api_key UNIQUE (api_key),
    CONSTRAINT ck_customers_plan CHECK (plan IN ('free', 'startup', 'enterprise')),
    CONSTRAINT ck_customers_status CHECK (status IN ('active', 'suspended', 'churned')),
    CONSTRAINT ck_customers_metadata CHECK (jsonb_typeof(metadata) = 'object')
);

CREATE TABLE agents (
    id              uuid        NOT NULL DEFAULT gen_random_uuid(),
    type            text        NOT NULL,
    name            text        NOT NULL,
    version         text,
    status          text        NOT NULL DEFAULT 'active',
    endpoint        text,
    capabilities    jsonb       NOT NULL DEFAULT '[]',
    metadata        jsonb       NOT NULL DEFAULT '{}',
    last_heartbeat  timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_agents PRIMARY KEY (id),
    CONSTRAINT uq_agents_type_name UNIQUE (type, name),
    CONSTRAINT ck_agents_capabilities CHECK (jsonb_typeof(capabilities) = 'array'),
    CONSTRAINT ck_agents_metadata CHECK (jsonb_typeof(metadata) = 'object')
);

CREATE INDEX ix_agents_type ON agents (type);
CREATE INDEX ix_agents_status ON agents (status);
CREATE INDEX ix_agents_last_heartbeat ON agents (last_heartbeat);

CREATE TABLE events (
    id           uuid        NOT NULL DEFAULT gen_random_uuid(),
    customer_id  uuid        NOT NULL,
    agent_id     uuid,
    event_type   text        NOT NULL,
    severity     text        NOT NULL DEFAULT 'info',
    data         jsonb       NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_events PRIMARY KEY (id),
    CONSTRAINT fk_events_customer_id FOREIGN KEY (customer_id) REFERENCES customers (id) ON DELETE CASCADE,
    CONSTRAINT fk_events_agent_id FOREIGN KEY (agent_id) REFERENCES agents (id) ON DELETE SET NULL,
    CONSTRAINT ck_events_severity CHECK (severity IN ('info', 'warning', 'error', 'critical')),
    CONSTRAINT ck_events_data CHECK (jsonb_typeof(data) = 'object')
);

CREATE INDEX ix_events_customer_id ON events (customer_id);
CREATE INDEX ix_events_agent_id ON events (agent_id);
CREATE INDEX ix_events_created_at ON events (created_at);

CREATE TABLE recommendations (
    id                     uuid          NOT NULL DEFAULT gen_random_uuid(),
    customer_id            uuid          NOT NULL,
    agent_id               uuid          NOT NULL,
    type                   text          NOT NULL,
    title                  text          NOT NULL,
    description            text,
    estimated_savings      numeric(10,2),
    estimated_improvement  numeric(10,2),
    confidence_score       double precision,
    priority               text          NOT NULL DEFAULT 'medium',
    status                 text          NOT NULL DEFAULT 'pending',
    data                   jsonb         NOT NULL DEFAULT '{}',
    created_at             timestamptz   NOT NULL DEFAULT now(),
    updated_at             timestamptz   NOT NULL DEFAULT now(),
    approved_at            timestamptz,
    executed_at            timestamptz,
    CONSTRAINT pk_recommendations PRIMARY KEY (id),
    CONSTRAINT fk_recommendations_customer_id FOREIGN KEY (customer_id) REFERENCES customers (id) ON DELETE CASCADE,
    CONSTRAINT fk_recommendations_agent_id FOREIGN KEY (agent_id) REFERENCES agents (id) ON DELETE CASCADE,
    CONSTRAINT ck_recommendations_estimated_savings CHECK (estimated_savings <> 'NaN'::numeric),
    CONSTRAINT ck_recommendations_estimated_improvement CHECK (estimated_improvement <> 'NaN'::numeric),
    -- NaN > 1 in PostgreSQL, so NaN is refused too
    CONSTRAINT ck_recommendations_confidence_score CHECK (confidence_score >= 0 AND confidence_score <= 1),
    CONSTRAINT ck_recommendations_priority CHECK (priority IN ('low', 'medium', 'high', 'critical')),
    CONSTRAINT ck_recommendations_status CHECK (status IN ('pending', 'approved', 'rejected', 'executing', 'completed', 'failed', 'rolled_back')),
    CONSTRAINT ck_recommendations_data CHECK (jsonb_typeof(data) = 'object')
);

CREATE INDEX ix_recommendations_customer_id ON recommendations (customer_id);
CREATE INDEX ix_recommendations_agent_id ON recommendations (agent_id);
CREATE INDEX ix_recommendations_status ON recommendations (status);

CREATE TABLE approvals (
    id                 uuid        NOT NULL DEFAULT gen_random_uuid(),
    recommendation_id  uuid        NOT NULL,
    approved_by        text        NOT NULL,
    status             text        NOT NULL DEFAULT 'pending',
    comment            text,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_approvals PRIMARY KEY (id),
    CONSTRAINT fk_approvals_recommendation_id FOREIGN KEY (recommendation_id) REFERENCES recommendations (id) ON DELETE CASCADE,
    CONSTRAINT ck_approvals_status CHECK (status IN ('pending', 'approved', 'rejected'))
);

CREATE INDEX ix_approvals_recommendation_id ON approvals (recommendation_id);

CREATE TABLE optimizations (
    id                  uuid          NOT NULL DEFAULT gen_random_uuid(),
    recommendation_id   uuid          NOT NULL,
    customer_id         uuid          NOT NULL,
    agent_id            uuid          NOT NULL,
    status              text          NOT NULL DEFAULT 'queued',
    progress            integer       NOT NULL DEFAULT 0,
    result              jsonb,
    error               text,
    actual_savings      numeric(10,2),
    actual_improvement  numeric(10,2),
    started_at          timestamptz,
    completed_at        timestamptz,
    rolled_back_at      timestamptz,
    created_at          timestamptz   NOT NULL DEFAULT now(),
    CONSTRAINT pk_optimizations PRIMARY KEY (id),
    CONSTRAINT fk_optimizations_recommendation_id FOREIGN KEY (recommendation_id) REFERENCES recommendations (id) ON DELETE CASCADE,
    CONSTRAINT fk_optimizations_customer_id FOREIGN KEY (customer_id) REFERENCES customers (id) ON DELETE CASCADE,
    CONSTRAINT fk_optimizations_agent_id FOREIGN KEY (agent_id) REFERENCES agents (id) ON DELETE CASCADE,
    CONSTRAINT ck_optimizations_status CHECK (status IN ('queued', 'executing', 'completed', 'failed', 'rolled_back')),
    CONSTRAINT ck_optimizations_progress CHECK (progress >= 0 AND progress <= 100),
    CONSTRAINT ck_optimizations_result CHECK (result IS NULL OR jsonb_typeof(result) = 'object'),
    CONSTRAINT ck_optimizations_actual_savings CHECK (actual_savings <> 'NaN'::numeric),
    CONSTRAINT ck_optimizations_actual_improvement CHECK (actual_improvement <> 'NaN'::numeric)
);

CREATE INDEX ix_optimizations_recommendation_id ON optimizations (recommendation_id);
CREATE INDEX ix_optimizations_customer_id ON optimizations (customer_id);
CREATE INDEX ix_optimizations_agent_id ON optimizations (agent_id);

CREATE TRIGGER trg_customers_updated_at BEFORE UPDATE ON customers
    FOR EACH ROW EXECUTE FUNCTION oi_set_updated_at();
CREATE TRIGGER trg_agents_updated_at BEFORE UPDATE ON agents
    FOR EACH ROW EXECUTE FUNCTION oi_set_updated_at();
CREATE TRIGGER trg_recommendations_updated_at BEFORE UPDATE ON recommendations
    FOR EACH ROW EXECUTE FUNCTION oi_set_updated_at();
CREATE TRIGGER trg_approvals_updated_at BEFORE UPDATE ON approvals
    FOR EACH ROW EXECUTE FUNCTION oi_set_updated_at();
