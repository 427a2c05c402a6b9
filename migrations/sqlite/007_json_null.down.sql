-- 007_json_null.down.sql (SQLite)
--
-- Reverts revision 007_json_null: a JSON null is made SQL NULL (both mean
-- "no value", so nothing is lost), then the checks of 001/002 come back by
-- the procedure of 007_json_null.up.sql, which a narrower check allows once
-- no row breaks it.
--
-- No BEGIN/COMMIT here: the migrator runs this script and the update of
-- alembic_version in one transaction.

UPDATE agent_states SET last_error = NULL WHERE json_type(last_error) = 'null';
UPDATE optimizations SET result = NULL WHERE json_type(result) = 'null';

PRAGMA writable_schema = ON;
UPDATE sqlite_schema
   SET sql = replace(sql, 'json_type(last_error) IN (''object'', ''null'')',
                          'json_type(last_error) = ''object''')
 WHERE type = 'table' AND name = 'agent_states';
UPDATE sqlite_schema
   SET sql = replace(sql, 'json_type(result) IN (''object'', ''null'')',
                          'json_type(result) = ''object''')
 WHERE type = 'table' AND name = 'optimizations';
PRAGMA writable_schema = RESET;
CREATE TABLE schema_cookie_bump (x);
DROP TABLE schema_cookie_bump;
