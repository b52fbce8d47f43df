--
-- Offline mode: ap_migrate_sql(target) writes the psql script an upgrade
-- or downgrade would run, bookkeeping included.  Running that script with
-- psql must leave the database exactly as the function would.
--
CREATE EXTENSION ap_migrate;
CREATE TABLE off_ledger (n serial, step text);
SELECT ap_migrate_add('0f0000000001', NULL,
       $$CREATE TABLE off_a (id int); INSERT INTO off_ledger (step) VALUES ('+a')$$,
       $$DROP TABLE off_a; INSERT INTO off_ledger (step) VALUES ('-a')$$, 'create a');
SELECT ap_migrate_add('0f0000000002', '{0f0000000001}',
       E'ALTER TABLE off_a ADD COLUMN note text -- trailing comment\n',
       'ALTER TABLE off_a DROP COLUMN note', 'note column');
SELECT ap_migrate_add('0f0000000003', '{0f0000000002}',
       $$CREATE FUNCTION off_f() RETURNS int LANGUAGE sql AS 'SELECT 1;';
         INSERT INTO off_ledger (step) VALUES ('+f')$$,
       $$DROP FUNCTION off_f(); INSERT INTO off_ledger (step) VALUES ('-f')$$, 'a function');

-- the state the functions leave, to compare with
CREATE FUNCTION off_state() RETURNS TABLE (applied text, tables text, columns text, functions text)
LANGUAGE sql AS $$
  SELECT (SELECT string_agg(revision, ' ' ORDER BY revision) FROM ap_migrate.applied),
         (SELECT string_agg(relname, ' ' ORDER BY relname) FROM pg_class
           WHERE relname LIKE 'off\_%' AND relkind = 'r'),
         (SELECT string_agg(attname, ' ' ORDER BY attnum) FROM pg_attribute
           WHERE attrelid = to_regclass('off_a') AND attnum > 0 AND NOT attisdropped),
         (SELECT string_agg(proname, ' ' ORDER BY proname) FROM pg_proc WHERE proname LIKE 'off\_%')
$$;

-- the script
\pset format unaligned
\pset tuples_only on
SELECT ap_migrate_sql('head');
SELECT ap_migrate_sql('head') \g results/offline_upgrade.sql
\pset format aligned
\pset tuples_only off

-- generating it changed nothing
SELECT * FROM off_state();

-- run it with psql: the same state as ap_migrate_upgrade('head') leaves
\i results/offline_upgrade.sql
\unset ON_ERROR_STOP
SELECT * FROM off_state();
SELECT operation, revision, from_revisions, to_revisions FROM ap_migrate.history ORDER BY id;
SELECT * FROM ap_migrate_current();

-- the downgrade script, run, then the functions to compare with
\pset format unaligned
\pset tuples_only on
SELECT ap_migrate_sql('base') \g results/offline_downgrade.sql
\pset format aligned
\pset tuples_only off
\i results/offline_downgrade.sql
\unset ON_ERROR_STOP
SELECT * FROM off_state();
SELECT ap_migrate_upgrade('head');
SELECT * FROM off_state();
SELECT ap_migrate_downgrade('base');
SELECT * FROM off_state();
SELECT string_agg(step, ' ' ORDER BY n) AS steps FROM off_ledger;

-- each step's bookkeeping checks that the script still fits the database
SELECT ap_migrate_mark('upgrade', '0f0000000002', (SELECT checksum FROM ap_migrate.revision WHERE id = '0f0000000002'));
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_mark('upgrade', '0f0000000001', repeat('0', 64));
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_mark('downgrade', '0f0000000001', (SELECT checksum FROM ap_migrate.revision WHERE id = '0f0000000001'));
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_mark('sideways', '0f0000000001', 'x');
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_mark('upgrade', '0f00000000ff', 'x');
\echo :LAST_ERROR_SQLSTATE

-- an irreversible step makes a downgrade script impossible, as the downgrade
SELECT ap_migrate_add('0f0000000004', '{0f0000000003}', 'SELECT 1', NULL, 'irreversible');
SELECT ap_migrate_stamp('head');
SELECT ap_migrate_sql('base');
\echo :LAST_ERROR_SQLSTATE
-- a non-transactional revision is written outside the transaction
SELECT ap_migrate_add('0f0000000005', '{0f0000000004}', 'CREATE INDEX CONCURRENTLY off_i ON off_ledger (n)',
       'DROP INDEX CONCURRENTLY off_i', 'concurrent index', transactional => false);
SELECT ap_migrate_add('0f0000000006', '{0f0000000005}', 'SELECT 6', 'SELECT 6', 'after');
\pset format unaligned
\pset tuples_only on
SELECT ap_migrate_sql('head');
\pset format aligned
\pset tuples_only off


-- a script run twice stops at its first step before any statement of it
-- runs, a non-transactional step included (the index is built once)
SELECT ap_migrate_add('0f0000000007', '{0f0000000006}',
       'INSERT INTO off_ledger (step) VALUES (''+7'')', 'SELECT 1', 'seven');
SELECT ap_migrate_downgrade('0f0000000004');
\pset format unaligned
\pset tuples_only on
SELECT ap_migrate_sql('head') \g results/offline_twice.sql
\pset format aligned
\pset tuples_only off
\o /dev/null
\i results/offline_twice.sql
\unset ON_ERROR_STOP
\o
SELECT * FROM ap_migrate_current();
SELECT count(*) AS built FROM pg_indexes WHERE indexname = 'off_i';
SELECT count(*) AS sevens FROM off_ledger WHERE step = '+7';
\o /dev/null
\set VERBOSITY terse
\i results/offline_twice.sql
\o
\unset ON_ERROR_STOP
\set VERBOSITY default
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS sevens FROM off_ledger WHERE step = '+7';
SELECT count(*) AS stamps FROM ap_migrate.history WHERE revision = '0f0000000005' AND operation = 'upgrade';

-- A body that turns standard_conforming_strings off cannot make psql read a
-- line the server saw inside a string literal as a meta-command: no body is
-- lexed by psql (the \! line would print "PWNED" here).
SELECT ap_migrate_add('0f0000000008', '{0f0000000007}',
       E'SELECT set_config(''standard_conforming_strings'', ''off'', false);\n' ||
       E'SELECT ''x\\'', ''\n\\! echo PWNED\n'';', NULL, 'hostile lexing');
-- run by ap_migrate itself the step fails: the setting is pinned
SELECT ap_migrate_upgrade('0f0000000008');
\pset format unaligned
\pset tuples_only on
SELECT ap_migrate_sql('0f0000000008') \g results/offline_hostile.sql
\pset format aligned
\pset tuples_only off
\o results/offline_hostile.out
\i results/offline_hostile.sql
\o
\unset ON_ERROR_STOP
SHOW standard_conforming_strings;
SELECT revision FROM ap_migrate_current();

DROP EXTENSION ap_migrate;
DROP TABLE off_ledger;
DROP FUNCTION off_state();
