-- 005_api_tokens.down.sql (SQLite 3.40+)
--
-- Reverts revision 005_api_tokens: drops the token table and its index.
-- Every token stops working.
--
-- No BEGIN/COMMIT here: the migrator runs this script and the update of
-- alembic_version in one transaction.

DROP TABLE api_tokens;
