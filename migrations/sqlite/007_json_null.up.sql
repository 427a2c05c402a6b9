-- 007_json_null.up.sql (SQLite)
--
-- Revision 007_json_null: the nullable JSON columns, agent_states.last_error
-- and optimizations.result, take JSON null ('null') as well as SQL NULL.
-- The spec's own clients (SQLAlchemy models with JSON columns) write Python
-- None as JSON null, not SQL NULL (SQLAlchemy's JSON type, none_as_null=
-- False), and the spec allows "no value" there; the checks of 001/002
-- refused it.  The library reads both back as absent (src/table.c).  The
-- columns that are NOT NULL with a default keep refusing JSON null.
-- Requires revision 006_coordination.
--
-- SQLite cannot alter a CHECK constraint.  A check that only gets wider
-- cannot be broken by a stored row, so SQLite's documented procedure for
-- changes that leave the file format alone applies (lang_altertable.html,
-- "Making Other Kinds Of Table Schema Changes"): rewrite the table's SQL in
-- sqlite_schema, then have the schema read again.  writable_schema = RESET
-- reloads it for this connection; the CREATE and DROP of a scratch table
-- move the schema cookie on, so that every other connection reloads it too
-- (the procedure's "PRAGMA schema_version = X + 1", which a script cannot
-- compute).  Rebuilding the two tables instead would rewrite their rows and
-- recreate the change triggers of 006 for a change of two expressions.
--
-- No BEGIN/COMMIT here: the migrator runs this script and the update of
-- alembic_version in one transaction.

PRAGMA writable_schema = ON;
UPDATE sqlite_schema
   SET sql = replace(sql, 'json_type(last_error) = ''object''',
                          'json_type(last_error) IN (''object'', ''null'')')
 WHERE type = 'table' AND name = 'agent_states';
UPDATE sqlite_schema
   SET sql = replace(sql, 'json_type(result) = ''object''',
                          'json_type(result) IN (''object'', ''null'')')
 WHERE type = 'table' AND name = 'optimizations';
PRAGMA writable_schema = RESET;
CREATE TABLE schema_cookie_bump (x);
DROP TABLE schema_cookie_bump;
