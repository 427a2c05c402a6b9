-- 005_api_tokens.up.sql (SQLite 3.40+)
--
-- Revision 005_api_tokens: the bearer tokens of the HTTP service (optiinfra
-- serve).  A token is shown once, when it is made; the table keeps only the
-- SHA-256 of the token text, so a copy of the database gives no one a
-- working token.  Requires revision 004_events_recent_index.
--
-- Conventions as in 001_core_tables.up.sql (lowercase UUID text ids checked
-- by GLOB, timestamps as fixed-width UTC text, named constraints and
-- indexes).
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
    id            TEXT NOT NULL DEFAULT (lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || substr(lower(hex(randomblob(2))), 2) || '-' || substr('89ab', 1 + (random() & 3), 1) || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6)))),
    role          TEXT NOT NULL,
    agent_id      TEXT,
    label         TEXT,
    token_sha256  TEXT NOT NULL,
    created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    CONSTRAINT pk_api_tokens PRIMARY KEY (id),
    CONSTRAINT fk_api_tokens_agent_id FOREIGN KEY (agent_id) REFERENCES agents (id) ON DELETE CASCADE,
    CONSTRAINT uq_api_tokens_token_sha256 UNIQUE (token_sha256),
    CONSTRAINT ck_api_tokens_id CHECK (id GLOB '[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]'),
    CONSTRAINT ck_api_tokens_role CHECK (role IN ('admin', 'read_only', 'agent')),
    CONSTRAINT ck_api_tokens_agent_id CHECK ((role = 'agent') = (agent_id IS NOT NULL)),
    CONSTRAINT ck_api_tokens_token_sha256 CHECK (typeof(token_sha256) = 'text' AND length(token_sha256) = 64 AND token_sha256 NOT GLOB '*[^0-9a-f]*'),
    CONSTRAINT ck_api_tokens_created_at CHECK (created_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z')
);

CREATE INDEX ix_api_tokens_agent_id ON api_tokens (agent_id);
