--
-- Running on Citus, tested with stand-ins that need no Citus:
--   - an extension's transaction-scoped setting (what Citus keeps for the
--     running transaction) survives the step that set it, until the end of
--     the transaction; what migration SQL sets otherwise does not;
--   - citus.multi_shard_modify_mode is sequential for a function call's
--     transaction (ap_migrate.citus_sequential);
--   - a node whose Citus group is not the coordinator's refuses every call,
--     naming the coordinator (Citus's node metadata, made by hand here).
--
\set VERBOSITY default
CREATE EXTENSION ap_migrate;
SET client_min_messages = warning;

-- 1. step 1 sets an extension setting for the transaction (the way Citus
-- does), plus a core setting with SET LOCAL and an extension setting with
-- plain SET; step 2 records what it sees.
SELECT ap_migrate_add('c17000000001', NULL,
  $$SELECT set_config('apm_standin.mode', 'sequential', true);
    SET LOCAL search_path = pg_catalog;
    SET apm_standin.session = 'leaked'$$, 'SELECT 1', 'sets');
SELECT ap_migrate_add('c17000000002', '{c17000000001}',
  $$CREATE TABLE public.citus_seen AS
      SELECT current_setting('apm_standin.mode', true) AS mode,
             current_setting('search_path') = 'pg_catalog' AS core_local_kept,
             current_setting('apm_standin.session', true) AS session_set,
             current_setting('citus.multi_shard_modify_mode', true) AS citus_mode$$,
  'DROP TABLE public.citus_seen', 'sees');
SET citus.multi_shard_modify_mode = 'parallel';
BEGIN;
SELECT ap_migrate_upgrade('head');
-- the caller's transaction goes on with the transaction-scoped values
SELECT current_setting('apm_standin.mode', true) AS mode_in_transaction,
       current_setting('citus.multi_shard_modify_mode') AS citus_mode_in_transaction;
COMMIT;
SELECT * FROM citus_seen;
-- after the transaction: nothing is left
SELECT coalesce(current_setting('apm_standin.mode', true), '') AS mode_after,
       coalesce(current_setting('apm_standin.session', true), '') AS session_after,
       current_setting('citus.multi_shard_modify_mode') AS citus_mode_after;

-- 2. with ap_migrate.citus_sequential off the mode is left alone
SET ap_migrate.citus_sequential = off;
SELECT ap_migrate_downgrade('c17000000001');
SELECT ap_migrate_upgrade('head');
SELECT citus_mode FROM citus_seen;
RESET ap_migrate.citus_sequential;
-- the procedures commit after each step: nothing to carry over
SELECT ap_migrate_downgrade('base');
CALL ap_migrate_run('head');
SELECT mode, citus_mode FROM citus_seen;

-- 3. a Citus worker node (group 2 in Citus's node metadata) refuses
SET allow_system_table_mods = on;
CREATE TABLE pg_catalog.pg_dist_local_group (groupid integer);
CREATE TABLE pg_catalog.pg_dist_node (nodename text, nodeport integer, groupid integer);
RESET allow_system_table_mods;
INSERT INTO pg_catalog.pg_dist_local_group VALUES (2);
INSERT INTO pg_catalog.pg_dist_node VALUES ('coordinator.example', 5432, 0), ('worker-2.example', 5432, 2);
SELECT ap_migrate_upgrade('head');
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_check();
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM ap_migrate_current();
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_add('c17000000003', '{c17000000002}', 'SELECT 1', NULL, 'on a worker');
\echo :LAST_ERROR_SQLSTATE
CALL ap_migrate_run('head');
\echo :LAST_ERROR_SQLSTATE
-- the coordinator (group 0) works
UPDATE pg_catalog.pg_dist_local_group SET groupid = 0;
SELECT ap_migrate_check();
SET allow_system_table_mods = on;
DROP TABLE pg_catalog.pg_dist_local_group;
DROP TABLE pg_catalog.pg_dist_node;
RESET allow_system_table_mods;

RESET client_min_messages;
RESET citus.multi_shard_modify_mode;
DROP TABLE citus_seen;
DROP EXTENSION ap_migrate;
