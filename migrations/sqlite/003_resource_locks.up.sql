-- 003_resource_locks.up.sql (SQLite 3.40+)
--
-- Revision 003_resource_locks: the table of resource locks.  One row per
-- locked resource (the primary key is what makes two holders impossible),
-- naming its holder and when the lock lapses; agent_states.resource_locks
-- becomes a copy of this table, rewritten by every lock operation
-- (docs/runtime.md).  Requires revision 002_agent_state_tables.
--
-- Conventions as in 001_core_tables.up.sql (text timestamps of fixed width,
-- so text order is time order; named constraints and indexes).
--   * resource: 1 to 255 characters, chosen by the agents ("gpu_pool").
--   * previous_agent_id: the holder before the latest acquisition (the
--     holder itself after a renewal; NULL when the resource was free).  It
--     is what lets one statement take a lock over and still tell the store
--     whose agent_states.resource_locks to rewrite.
--   * acquired_at is kept on renewal and reset on takeover.
--
-- Existing claims are carried over: each resource listed in an
-- agent_states.resource_locks becomes a lock of that agent for 5 minutes
-- (the default TTL), so upgrading a running system does not hand its
-- resources to the next comer at once.  A resource that several agents list
-- goes to one of them (the one with the smallest agent id), and every
-- agent's list is then rewritten from the table, sorted, so that lists and
-- table agree from the first moment.
--
-- No BEGIN/COMMIT here: the migrator runs this script and the update of
-- alembic_version in one transaction.

CREATE TABLE resource_locks (
    resource           TEXT NOT NULL,
    agent_id           TEXT NOT NULL,
    previous_agent_id  TEXT,
    acquired_at        TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')),
    expires_at         TEXT NOT NULL,
    CONSTRAINT pk_resource_locks PRIMARY KEY (resource),
    CONSTRAINT fk_resource_locks_agent_id FOREIGN KEY (agent_id) REFERENCES agents (id) ON DELETE CASCADE,
    CONSTRAINT fk_resource_locks_previous_agent_id FOREIGN KEY (previous_agent_id) REFERENCES agents (id) ON DELETE SET NULL,
    CONSTRAINT ck_resource_locks_resource CHECK (typeof(resource) = 'text' AND length(resource) BETWEEN 1 AND 255),
    CONSTRAINT ck_resource_locks_acquired_at CHECK (acquired_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    CONSTRAINT ck_resource_locks_expires_at CHECK (expires_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'),
    CONSTRAINT ck_resource_locks_expiry CHECK (expires_at > acquired_at)
);

CREATE INDEX ix_resource_locks_agent_id ON resource_locks (agent_id);
CREATE INDEX ix_resource_locks_previous_agent_id ON resource_locks (previous_agent_id);

-- carry the existing claims over (see above).  SQLite's parser needs the
-- SELECT of an INSERT ... SELECT ... ON CONFLICT to have a WHERE clause.
INSERT INTO resource_locks (resource, agent_id, acquired_at, expires_at)
SELECT claim.value, s.agent_id,
       strftime('%Y-%m-%dT%H:%M:%f000Z', 'now'),
       strftime('%Y-%m-%dT%H:%M:%f000Z', 'now', '+5 minutes')
  FROM agent_states s, json_each(s.resource_locks) claim
 WHERE claim.type = 'text' AND length(claim.value) BETWEEN 1 AND 255
 ORDER BY s.agent_id
ON CONFLICT (resource) DO NOTHING;

UPDATE agent_states
   SET resource_locks = (SELECT json_group_array(resource)
                           FROM (SELECT resource FROM resource_locks l
                                  WHERE l.agent_id = agent_states.agent_id
                                  ORDER BY resource))
 WHERE resource_locks <> (SELECT json_group_array(resource)
                            FROM (SELECT resource FROM resource_locks l
                                   WHERE l.agent_id = agent_states.agent_id
                                   ORDER BY resource));
