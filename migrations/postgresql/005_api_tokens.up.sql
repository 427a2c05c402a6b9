-- 005_api_tokens.up.sql (PostgreSQL 15)
--
-- Revision 005_api_tokens: the bearer tokens of the HTTP service (optiinfra
-- serve).  A token is shown once, when it is made; the table keeps only the
-- SHA-256 of the token text, so a copy of the database gives no one a
-- working token.  Requires revision 004_events_recent_index.
--
-- Conventions as in 001_core_tables.up.sql (uuid ids, timestamptz, named
-- constraints and indexes).
--   * role: admin, read_only or agent.  An agent token acts for one agent:
--     agent_id is set exactly when the role is agent (ck_api_tokens_agent_id),
--     and the token goes with its agent (ON DELETE CASCADE).
--   * token_sha256: 64 lower-case hex digits, unique; lookups by it use the
--     index of the unique constraint.
--   * no last_used_at: recording each use would turn every authenticated
--     request into a write.
--
-- No BEGIN/COMMIT here: the migrator runs this script and the update of
-- alembic_version in one transaction.

CREATE TABLE api_tokens (
    id            uuid        NOT NULL DEFAULT gen_random_uuid(),
    role          text        NOT NULL,
    agent_id      uuid,
    label         text,
    token_sha256  text        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_api_tokens PRIMARY KEY (id),
    CONSTRAINT fk_api_tokens_agent_id FOREIGN KEY (agent_id) REFERENCES agents (id) ON DELETE CASCADE,
    CONSTRAINT uq_api_tokens_token_sha256 UNIQUE (token_sha256),
    CONSTRAINT ck_api_tokens_role CHECK (role IN ('admin', 'read_only', 'agent')),
    CONSTRAINT ck_api_tokens_agent_id CHECK ((role = 'agent') = (agent_id IS NOT NULL)),
    CONSTRAINT ck_api_tokens_token_sha256 CHECK (token_sha256 ~ '^[0-9a-f]{64}$')
);

CREATE INDEX ix_api_tokens_agent_id ON api_tokens (agent_id);
