--
-- errors: the error paths of applying, planning and introspecting
-- (src/execute.c, src/graph.c, src/resolve.c, src/funcs.c), each with its
-- SQLSTATE and a check that nothing was applied or changed.
--
\set VERBOSITY default
CREATE EXTENSION ap_migrate;
CREATE TABLE err_ledger (rev text);
-- the state a refused call must leave alone
CREATE FUNCTION err_state() RETURNS text LANGUAGE sql AS $$
  SELECT format('applied %s, ledger %s, history %s, advisory locks %s',
    (SELECT count(*) FROM ap_migrate.applied), (SELECT count(*) FROM err_ledger),
    (SELECT count(*) FROM ap_migrate.history),
    (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory')) $$;
-- checksum algorithm 1 (register.c), to tamper with the catalog consistently
CREATE FUNCTION err_field(v text) RETURNS bytea LANGUAGE sql AS $$
  SELECT decode(string_agg(substr(h, 15 - 2 * i, 2), '' ORDER BY i), 'hex')
         || coalesce(convert_to(v, 'UTF8'), '')
    FROM (SELECT lpad(to_hex(coalesce(octet_length(v), -1)::bigint), 16, '0') AS h) s,
         generate_series(0, 7) i $$;
CREATE FUNCTION err_checksum(up text, down text, tr boolean) RETURNS text LANGUAGE sql AS $$
  SELECT encode(sha256(err_field(up) || err_field(down) ||
                       err_field(CASE WHEN tr THEN 't' ELSE 'f' END)), 'hex') $$;

------------------------------------------------------------------------
-- 1. Graph errors reported when the graph is used (graph.c)
------------------------------------------------------------------------
-- a parent that is never registered
SELECT ap_migrate_add('c10000000002', '{c10000000001}', 'INSERT INTO err_ledger VALUES (''c2'');', NULL);
SELECT ap_migrate_upgrade();
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM ap_migrate_plan('c10000000002');
\echo :LAST_ERROR_SQLSTATE
SELECT problem, revision FROM ap_migrate_validate() WHERE severity = 'error'
 ORDER BY problem, revision;
-- a dependency that is never registered
SELECT ap_migrate_add('c10000000002', NULL, 'INSERT INTO err_ledger VALUES (''c2'');', NULL,
                      depends_on => '{c10000000009}');
SELECT ap_migrate_upgrade();
\echo :LAST_ERROR_SQLSTATE
-- a cycle made behind ap_migrate's back (registration refuses to make one)
SELECT ap_migrate_add('c10000000002', NULL, 'INSERT INTO err_ledger VALUES (''c2'');', NULL);
SELECT ap_migrate_add('c10000000003', '{c10000000002}', '', NULL);
UPDATE ap_migrate.revision SET down_revision = '{c10000000003}' WHERE id = 'c10000000002';
SELECT ap_migrate_upgrade('c10000000003');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM ap_migrate_plan('c10000000003');
\echo :LAST_ERROR_SQLSTATE
SELECT err_state();
DROP EXTENSION ap_migrate;
CREATE EXTENSION ap_migrate;

------------------------------------------------------------------------
-- 2. Transactions that cannot run an operation (execute.c, step 1)
------------------------------------------------------------------------
SELECT ap_migrate_add('c20000000001', NULL, 'INSERT INTO err_ledger VALUES (''c20000000001'');',
                      'DELETE FROM err_ledger;', 'first');
BEGIN READ ONLY;
SELECT ap_migrate_upgrade();
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN READ ONLY;
SELECT ap_migrate_add('c20000000002', '{c20000000001}', '', NULL);
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN READ ONLY;
SELECT step, revision FROM ap_migrate_plan() ORDER BY step;
ROLLBACK;
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT ap_migrate_upgrade();
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN ISOLATION LEVEL SERIALIZABLE;
SELECT ap_migrate_downgrade('base');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN ISOLATION LEVEL SERIALIZABLE;
SELECT ap_migrate_add('c20000000002', '{c20000000001}', '', NULL);
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
-- a dry run is fine in REPEATABLE READ
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT step, operation, revision FROM ap_migrate_plan() ORDER BY step;
COMMIT;
SELECT err_state();

------------------------------------------------------------------------
-- 3. Re-entrancy: migration SQL must not call ap_migrate
------------------------------------------------------------------------
SELECT ap_migrate_add('c30000000001', '{c20000000001}',
                      'INSERT INTO err_ledger VALUES (''c3''); SELECT ap_migrate_upgrade();',
                      NULL, 'calls upgrade');
SELECT ap_migrate_upgrade();
\echo :LAST_ERROR_SQLSTATE
SELECT err_state();
SELECT ap_migrate_add('c30000000001', '{c20000000001}',
                      E'INSERT INTO err_ledger VALUES (''c3'');\nSELECT ap_migrate_add(''c3000000000f'', NULL, '''', NULL);',
                      NULL, 'calls add');
SELECT ap_migrate_upgrade();
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_add('c30000000001', '{c20000000001}',
                      'SELECT ap_migrate_downgrade(''base'');', NULL, 'calls downgrade');
SELECT ap_migrate_upgrade();
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_add('c30000000001', '{c20000000001}',
                      'DO $$ BEGIN PERFORM ap_migrate_upgrade(); END $$;', NULL, 'calls upgrade from DO');
SELECT ap_migrate_upgrade();
\echo :LAST_ERROR_SQLSTATE
SELECT err_state();
SELECT count(*) AS registered FROM ap_migrate.revision;
-- the flag is cleared after a refused call: a clean revision now applies
SELECT ap_migrate_add('c30000000001', '{c20000000001}',
                      'INSERT INTO err_ledger VALUES (''c3'');', 'DELETE FROM err_ledger WHERE rev = ''c3'';', 'clean');
SELECT ap_migrate_upgrade();
SELECT * FROM err_ledger ORDER BY rev;

------------------------------------------------------------------------
-- 4. Steps that cannot run are refused before any step runs
------------------------------------------------------------------------
-- downgrade across an irreversible revision
SELECT ap_migrate_add('c40000000001', '{c30000000001}', 'INSERT INTO err_ledger VALUES (''c4'');',
                      NULL, 'irreversible');
SELECT ap_migrate_add('c40000000002', '{c40000000001}', 'INSERT INTO err_ledger VALUES (''c5'');',
                      'DELETE FROM err_ledger WHERE rev = ''c5'';', 'above it');
SELECT ap_migrate_upgrade();
SELECT err_state() AS before \gset
SELECT ap_migrate_downgrade('base');
\echo :LAST_ERROR_SQLSTATE
SELECT err_state() = :'before' AS nothing_reverted;
SELECT ap_migrate_downgrade('c40000000001');
-- a revision that is not transactional
SELECT ap_migrate_add('c40000000003', '{c40000000002}', 'INSERT INTO err_ledger VALUES (''c6'');', NULL);
SELECT ap_migrate_add('c40000000004', '{c40000000003}', 'VACUUM err_ledger;', NULL,
                      'vacuum', transactional => false);
SELECT err_state() AS before \gset
SELECT ap_migrate_upgrade();
\echo :LAST_ERROR_SQLSTATE
SELECT err_state() = :'before' AS nothing_applied;
-- a revision whose owner was dropped
CREATE ROLE err_gone;
SELECT ap_migrate_add('c40000000004', '{c40000000003}', 'SELECT 1;', NULL, owner => 'err_gone');
DROP ROLE err_gone;
-- terse: only the message and SQLSTATE are checked here
\set VERBOSITY terse
SELECT ap_migrate_upgrade();
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
-- a revision owned by a superuser, applied by a role that is not one
CREATE ROLE err_app;
GRANT USAGE ON SCHEMA ap_migrate TO err_app;
GRANT SELECT ON ap_migrate.applied TO err_app;
GRANT EXECUTE ON FUNCTION ap_migrate_upgrade(text) TO err_app;
SELECT ap_migrate_add('c40000000004', '{c40000000003}', 'SELECT 1;', NULL, 'by a superuser');
SET ROLE err_app;
SELECT ap_migrate_upgrade();
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS applied FROM ap_migrate.applied;
RESET ROLE;
SELECT err_state() = :'before' AS nothing_applied;

------------------------------------------------------------------------
-- 5. Drift: the catalog changed behind ap_migrate's back
------------------------------------------------------------------------
-- the checksum is what register.c documents
SELECT id FROM ap_migrate.revision
 WHERE checksum <> err_checksum(upgrade_sql, downgrade_sql, transactional);
SELECT err_state() AS before \gset
-- the SQL of a pending revision edited: refused when its step comes
UPDATE ap_migrate.revision SET upgrade_sql = 'INSERT INTO err_ledger VALUES (''evil'');'
 WHERE id = 'c40000000003';
SELECT ap_migrate_upgrade('c40000000003');
\echo :LAST_ERROR_SQLSTATE
SELECT err_state() = :'before' AS nothing_applied;
SELECT problem, revision FROM ap_migrate_validate() WHERE severity = 'error'
 ORDER BY problem, revision;
-- registering it again repairs it
SELECT ap_migrate_add('c40000000003', '{c40000000002}', 'INSERT INTO err_ledger VALUES (''c6'');', NULL);
SELECT count(*) AS problems FROM ap_migrate_validate() WHERE severity = 'error';
-- an applied revision edited, with a matching checksum: drift
UPDATE ap_migrate.revision
   SET upgrade_sql = 'INSERT INTO err_ledger VALUES (''c3 v2'');',
       checksum = err_checksum('INSERT INTO err_ledger VALUES (''c3 v2'');', downgrade_sql, transactional)
 WHERE id = 'c30000000001';
SELECT ap_migrate_upgrade('c40000000003');
\echo :LAST_ERROR_SQLSTATE
SELECT step, revision FROM ap_migrate_plan('c40000000003') ORDER BY step;
\echo :LAST_ERROR_SQLSTATE
SELECT err_state() = :'before' AS nothing_applied;
SELECT problem, revision FROM ap_migrate_validate() WHERE severity = 'error'
 ORDER BY problem, revision;
SELECT ap_migrate_check();
-- an applied revision deleted from the catalog (with the pending ones above it)
DELETE FROM ap_migrate.revision WHERE id >= 'c40000000001';
\set VERBOSITY terse
SELECT ap_migrate_upgrade();
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
SELECT problem, revision FROM ap_migrate_validate() WHERE severity = 'error'
 ORDER BY problem, revision;
SELECT err_state() = :'before' AS nothing_applied;

------------------------------------------------------------------------
-- 6. The history log is append-only, even for a superuser
------------------------------------------------------------------------
SELECT count(*) AS history_rows FROM ap_migrate.history \gset
UPDATE ap_migrate.history SET success = false;
\echo :LAST_ERROR_SQLSTATE
DELETE FROM ap_migrate.history;
\echo :LAST_ERROR_SQLSTATE
TRUNCATE ap_migrate.history;
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) = :history_rows AS history_kept, bool_and(success) AS all_successful
  FROM ap_migrate.history;
DROP EXTENSION ap_migrate;
CREATE EXTENSION ap_migrate;
TRUNCATE err_ledger;

------------------------------------------------------------------------
-- 7. A migration failing at run time keeps its SQLSTATE; 0 of 10 applied
------------------------------------------------------------------------
SELECT bool_and(ap_migrate_add('c7000000000' || n,
                               CASE WHEN n > 0 THEN ARRAY['c7000000000' || (n - 1)] END,
                               format('INSERT INTO err_ledger VALUES (%L);', 'r' || n),
                               NULL, 'step ' || n))
  FROM generate_series(0, 9) n;
SELECT err_state() AS before \gset
SELECT ap_migrate_add('c70000000006', '{c70000000005}',
                      E'INSERT INTO err_ledger VALUES (''r6'');\nSELECT 1 / 0;', NULL, 'divide');
SELECT ap_migrate_upgrade();
\echo :LAST_ERROR_SQLSTATE
SELECT err_state() = :'before' AS nothing_applied;
SELECT ap_migrate_add('c70000000006', '{c70000000005}',
                      E'INSERT INTO err_ledger VALUES (''r6'');\n\nDO $$\nBEGIN\n  RAISE EXCEPTION ''custom failure'';\nEND $$;',
                      NULL, 'raise');
SELECT ap_migrate_upgrade();
\echo :LAST_ERROR_SQLSTATE
SELECT err_state() = :'before' AS nothing_applied;
SELECT ap_migrate_add('c70000000006', '{c70000000005}',
                      'INSERT INTO err_ledger VALUES (''r6''); ALTER TABLE err_missing ADD x int;',
                      NULL, 'missing table');
SELECT ap_migrate_upgrade();
\echo :LAST_ERROR_SQLSTATE
SELECT err_state() = :'before' AS nothing_applied;
-- statement_timeout interrupts a step
SELECT ap_migrate_add('c70000000006', '{c70000000005}', 'SELECT pg_sleep(5);', NULL, 'slow');
SET statement_timeout = '500ms';
SELECT ap_migrate_upgrade();
\echo :LAST_ERROR_SQLSTATE
RESET statement_timeout;
SELECT err_state() = :'before' AS nothing_applied;
-- and with a working revision 7, all 10 apply
SELECT ap_migrate_add('c70000000006', '{c70000000005}', 'INSERT INTO err_ledger VALUES (''r6'');', NULL, 'step 6');
SELECT ap_migrate_upgrade() \g /dev/null
SELECT err_state();

------------------------------------------------------------------------
-- 8. Argument errors of the SQL functions (funcs.c)
------------------------------------------------------------------------
SELECT ap_migrate_upgrade(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_downgrade(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_stamp(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM ap_migrate_plan(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM ap_migrate_show(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT revision FROM ap_migrate_show('base');
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_add('c80000000001', '{c70000000003}', '', NULL);
SELECT revision FROM ap_migrate_show('heads');
\echo :LAST_ERROR_SQLSTATE

------------------------------------------------------------------------
-- 9. Targets that do not resolve (resolve.c)
------------------------------------------------------------------------
SELECT err_state() AS before \gset
SELECT ap_migrate_upgrade('');
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_upgrade(repeat('a', 145));
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_upgrade('head ');
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_upgrade('c7@head');
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_upgrade('c7-x');
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_upgrade('+1234567890');
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_upgrade('+0');
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_upgrade('-1');
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_downgrade('+1');
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_upgrade('c70000000099');
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_upgrade('c7');
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_upgrade('head');
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_upgrade('c70000000003+1');
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_upgrade('c70000000009+1');
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_upgrade('heads+1');
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_downgrade('base-1');
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_downgrade('c70000000001-3');
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_downgrade('c80000000001');
\echo :LAST_ERROR_SQLSTATE
SELECT err_state() = :'before' AS nothing_changed;

------------------------------------------------------------------------
-- Re-entrancy stays refused after migration SQL called a read-only
-- ap_migrate function first (the read-only call must not clear the guard).
SELECT ap_migrate_stamp('base');
SELECT ap_migrate_add('ca0000000001', NULL, $$INSERT INTO err_ledger VALUES ('ca1')$$, NULL, 'first');
SELECT ap_migrate_add('ca0000000002', '{ca0000000001}',
       $$SELECT count(*) FROM ap_migrate_current(); SELECT ap_migrate_stamp('base')$$, NULL, 'sneaky');
SELECT ap_migrate_upgrade('ca0000000002');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS applied FROM ap_migrate.applied WHERE revision LIKE 'ca%';

-- A stamp is the way out of drift and of applied revisions that are not
-- registered: it accepts the content as it is and forgets the orphan.
SELECT ap_migrate_add('ca0000000002', '{ca0000000001}', 'SELECT 2', NULL, 'plain');
SELECT ap_migrate_upgrade('ca0000000002');
UPDATE ap_migrate.revision SET message = 'tampered', checksum = repeat('0', 64) WHERE id = 'ca0000000001';
INSERT INTO ap_migrate.applied VALUES ('ca00000000ff', 'x', now(), 'postgres');
SELECT ap_migrate_upgrade('ca0000000002');
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_stamp('ca0000000002');
SELECT severity, problem, revision FROM ap_migrate_validate()
 WHERE problem IN ('drift', 'applied_not_registered') ORDER BY 1, 2, 3;
SELECT ap_migrate_upgrade('ca0000000002');
SELECT operation, from_revisions, to_revisions FROM ap_migrate.history ORDER BY id DESC LIMIT 1;
-- a stamp that changes nothing is not logged
SELECT count(*) AS log_rows FROM ap_migrate.history \gset
SELECT ap_migrate_stamp('ca0000000002');
SELECT count(*) = :log_rows AS not_logged FROM ap_migrate.history;

------------------------------------------------------------------------
-- A partial graph stays usable: a branch whose ancestry is registered can
-- be applied; targets that need missing revisions name them, once each.
------------------------------------------------------------------------
DROP EXTENSION ap_migrate;
CREATE EXTENSION ap_migrate;
DELETE FROM err_ledger;
SELECT ap_migrate_add('c100000000a1', NULL, 'INSERT INTO err_ledger VALUES (''a1'');', 'DELETE FROM err_ledger WHERE rev = ''a1''');
SELECT ap_migrate_add('c100000000a2', '{c100000000a1}', '', '');
SELECT ap_migrate_add('c100000000b2', '{c100000000b1,c100000000a1}', '', NULL,
                      depends_on => '{c100000000b1,c100000000b0}');
SELECT ap_migrate_upgrade('c100000000a2');
SELECT ap_migrate_upgrade('heads');
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_stamp('c100000000b2');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM ap_migrate_current();
SELECT ap_migrate_downgrade('base');
SELECT count(*) AS left_over FROM err_ledger;

------------------------------------------------------------------------
DROP EXTENSION ap_migrate;
DROP TABLE err_ledger;
DROP FUNCTION err_state(), err_checksum(text, text, boolean), err_field(text);
DROP ROLE err_app;
