--
-- Transaction control that real migration files contain keeps the meaning
-- its tool gives it: a whole-body BEGIN ... COMMIT wrapper is the step's
-- own transaction; COMMIT AND CHAIN (or COMMIT; BEGIN) is a commit point,
-- which only CALL ap_migrate_run() can honour; the rest is refused with a
-- hint saying what would run.
--
\set VERBOSITY default
CREATE EXTENSION ap_migrate;
CREATE TABLE tc_t (n int);
CREATE TABLE tc_gate (ok int);

-- accepted: a wrapper (BEGIN/COMMIT or START TRANSACTION/END), a lone
-- COMMIT at the end, commit points
SELECT ap_migrate_add('7c0000000001', NULL, E'BEGIN;\nINSERT INTO tc_t VALUES (1);\nCOMMIT;',
       E'START TRANSACTION; DELETE FROM tc_t WHERE n = 1; END;', 'wrapped');
SELECT ap_migrate_add('7c0000000002', '{7c0000000001}',
       E'INSERT INTO tc_t VALUES (2);\nCOMMIT AND CHAIN;\nINSERT INTO tc_t VALUES (3);\nCOMMIT;\nBEGIN;\nINSERT INTO tc_t VALUES (10 / (SELECT count(*) FROM tc_gate));\nCOMMIT;',
       'DELETE FROM tc_t WHERE n IN (2, 3, 10)', 'commit points');
-- refused: what cannot keep its meaning in a step
SELECT ap_migrate_add('7c0000000009', NULL, 'ROLLBACK', NULL, 'rollback');
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_add('7c0000000009', NULL, 'BEGIN; SELECT 1', NULL, 'begin, no commit');
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_add('7c0000000009', NULL, 'BEGIN ISOLATION LEVEL SERIALIZABLE; SELECT 1; COMMIT', NULL, 'options');
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_add('7c0000000009', NULL, 'SELECT 1; SAVEPOINT a; SELECT 2', NULL, 'savepoint');
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_add('7c0000000009', NULL, 'SELECT 1; COMMIT', NULL, 'non-transactional', transactional => false);
\echo :LAST_ERROR_SQLSTATE

-- a function call is one transaction: a revision with commit points is
-- refused (and everything the call did rolls back)
SELECT ap_migrate_upgrade('head');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS rows FROM tc_t;
-- the wrapped revision runs in a function call
SELECT ap_migrate_upgrade('7c0000000001');
SELECT n FROM tc_t ORDER BY n;

-- the procedure commits at each commit point; a failure after one says
-- what stays committed, and the revision is not recorded
CALL ap_migrate_run('head');
\echo :LAST_ERROR_SQLSTATE
SELECT n FROM tc_t ORDER BY n;
SELECT revision FROM ap_migrate.applied ORDER BY revision;
-- once the data allows it, the whole revision runs again and is recorded
DELETE FROM tc_t WHERE n IN (2, 3);
INSERT INTO tc_gate VALUES (1);
CALL ap_migrate_run('head');
SELECT n FROM tc_t ORDER BY n;
SELECT revision FROM ap_migrate.applied ORDER BY revision;
SELECT ap_migrate_downgrade('base');
SELECT count(*) AS rows FROM tc_t;

-- the offline script writes a commit point as COMMIT and BEGIN, and leaves
-- the wrapper out
\pset format unaligned
\pset tuples_only on
SELECT ap_migrate_sql('head');
\pset format aligned
\pset tuples_only off

DROP EXTENSION ap_migrate;
DROP TABLE tc_t, tc_gate;
