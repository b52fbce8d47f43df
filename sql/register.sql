--
-- register: ap_migrate_add() -- identity of revisions, re-registration,
-- id format, graph shape checks, ownership, NULL arguments and the checks
-- made on the migration SQL at registration time.
--
\set VERBOSITY default
CREATE EXTENSION ap_migrate;

-- a view of the catalog used throughout
CREATE VIEW reg_rows AS
  SELECT id, down_revision, message, is_head, transactional,
         downgrade_sql IS NULL AS irreversible
    FROM ap_migrate.revision ORDER BY seq;
-- a fingerprint of the whole catalog, to show that refused calls change nothing
CREATE FUNCTION reg_fp() RETURNS text LANGUAGE sql AS $$
  SELECT count(*) || ' rows, ' || md5(coalesce(string_agg(
           id || down_revision::text || message || upgrade_sql ||
           coalesce(downgrade_sql, '<null>') || branch_labels::text ||
           depends_on::text || transactional || is_head || checksum || owner::text,
           '|' ORDER BY seq), ''))
    FROM ap_migrate.revision $$;

------------------------------------------------------------------------
-- 1. A base and two children: true for a new revision
------------------------------------------------------------------------
SELECT ap_migrate_add('a00000000001', NULL, 'CREATE TABLE reg_t1 (a int);',
                      'DROP TABLE reg_t1;', 'base one');
SELECT ap_migrate_add('a00000000002', ARRAY['a00000000001'],
                      'ALTER TABLE reg_t1 ADD b int;', 'ALTER TABLE reg_t1 DROP b;',
                      'add b');
SELECT ap_migrate_add('a00000000003', '{a00000000002}',
                      'ALTER TABLE reg_t1 ADD c int;', NULL, 'add c, irreversible');
SELECT * FROM reg_rows;

-- identical re-registration: false, nothing added or changed
SELECT reg_fp() AS fp \gset
SELECT ap_migrate_add('a00000000002', ARRAY['a00000000001'],
                      'ALTER TABLE reg_t1 ADD b int;', 'ALTER TABLE reg_t1 DROP b;',
                      'add b');
SELECT ap_migrate_add('a00000000003', '{a00000000002}',
                      'ALTER TABLE reg_t1 ADD c int;', NULL, 'add c, irreversible');
SELECT reg_fp() = :'fp' AS unchanged;

------------------------------------------------------------------------
-- 2. Re-registering a PENDING revision with changed content replaces it
------------------------------------------------------------------------
-- new SQL and message: replaced in place (same registration order)
SELECT ap_migrate_add('a00000000003', '{a00000000002}',
                      'ALTER TABLE reg_t1 ADD c text;', 'ALTER TABLE reg_t1 DROP c;',
                      'add c as text');
SELECT id, message, upgrade_sql, downgrade_sql FROM ap_migrate.revision
 WHERE id = 'a00000000003';
SELECT count(*) FROM ap_migrate.revision;
-- new parent: a00000000003 now hangs off the base, so a00000000002
-- becomes a head again and the base is not one
SELECT ap_migrate_add('a00000000003', '{a00000000001}',
                      'ALTER TABLE reg_t1 ADD c text;', 'ALTER TABLE reg_t1 DROP c;',
                      'add c as text');
SELECT id, down_revision, is_head FROM reg_rows;
SELECT revision FROM ap_migrate_heads() ORDER BY revision;
-- and back
SELECT ap_migrate_add('a00000000003', '{a00000000002}',
                      'ALTER TABLE reg_t1 ADD c text;', 'ALTER TABLE reg_t1 DROP c;',
                      'add c as text');
SELECT id, down_revision, is_head FROM reg_rows;

------------------------------------------------------------------------
-- 3. Re-registering an APPLIED revision with different content is refused
------------------------------------------------------------------------
SELECT ap_migrate_upgrade('a00000000002');
SELECT checksum AS cs2 FROM ap_migrate.revision WHERE id = 'a00000000002' \gset
SELECT reg_fp() AS fp \gset
SELECT ap_migrate_add('a00000000002', ARRAY['a00000000001'],
                      'ALTER TABLE reg_t1 ADD b bigint;', 'ALTER TABLE reg_t1 DROP b;',
                      'add b');
\echo :LAST_ERROR_SQLSTATE
-- a change of message only is refused too
SELECT ap_migrate_add('a00000000002', ARRAY['a00000000001'],
                      'ALTER TABLE reg_t1 ADD b int;', 'ALTER TABLE reg_t1 DROP b;',
                      'add column b');
\echo :LAST_ERROR_SQLSTATE
SELECT checksum = :'cs2' AS checksum_unchanged,
       (SELECT checksum FROM ap_migrate.applied WHERE revision = 'a00000000002') = :'cs2'
         AS applied_checksum_unchanged
  FROM ap_migrate.revision WHERE id = 'a00000000002';
SELECT reg_fp() = :'fp' AS unchanged;
-- identical content of an applied revision is still a no-op
SELECT ap_migrate_add('a00000000002', ARRAY['a00000000001'],
                      'ALTER TABLE reg_t1 ADD b int;', 'ALTER TABLE reg_t1 DROP b;',
                      'add b');
SELECT ap_migrate_upgrade();
SELECT column_name FROM information_schema.columns
 WHERE table_name = 'reg_t1' ORDER BY ordinal_position;
SELECT ap_migrate_downgrade('base');
SELECT count(*) AS applied FROM ap_migrate.applied;

------------------------------------------------------------------------
-- 4. Parents may be registered after their children (one transaction)
------------------------------------------------------------------------
BEGIN;
SELECT ap_migrate_add('b00000000003', '{b00000000002}',
                      'INSERT INTO reg_log VALUES (3);', 'DELETE FROM reg_log WHERE n = 3;');
SELECT ap_migrate_add('b00000000002', '{b00000000001}',
                      'INSERT INTO reg_log VALUES (2);', 'DELETE FROM reg_log WHERE n = 2;');
SELECT ap_migrate_add('b00000000001', NULL,
                      'CREATE TABLE reg_log (n int);', 'DROP TABLE reg_log;');
SELECT id, down_revision, is_head FROM reg_rows WHERE id LIKE 'b%';
SELECT ap_migrate_upgrade('b00000000003');
COMMIT;
SELECT * FROM reg_log ORDER BY n;
SELECT ap_migrate_downgrade('base');
SELECT to_regclass('reg_log') IS NULL AS reg_log_dropped;

------------------------------------------------------------------------
-- 5. Revision id format
------------------------------------------------------------------------
SELECT reg_fp() AS fp \gset
-- default hex12: uppercase, 11 and 13 characters, non-hex are refused
SELECT ap_migrate_add('A00000000009', NULL, '', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_add('a0000000009', NULL, '', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_add('a000000000009', NULL, '', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_add('add_users_v1', NULL, '', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_add('', NULL, '', NULL);
\echo :LAST_ERROR_SQLSTATE
-- parents and dependencies are checked the same way
SELECT ap_migrate_add('a00000000009', '{A00000000001}', '', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_add('a00000000009', NULL, '', NULL, '', '{}', '{x}');
\echo :LAST_ERROR_SQLSTATE
-- reserved words, in any case
SELECT ap_migrate_add('head', NULL, '', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT reg_fp() = :'fp' AS unchanged;

SET ap_migrate.revision_id_format = 'relaxed';
-- a relaxed id after a hex one: accepted with a warning
SELECT ap_migrate_add('add_users.v1', NULL, '', NULL, 'relaxed');
SELECT ap_migrate_add('Add_Users.V2', '{add_users.v1}', '', NULL, 'mixed case');
SELECT ap_migrate_add('A', '{Add_Users.V2}', '', NULL, 'one letter');
SELECT id, down_revision FROM reg_rows WHERE id NOT LIKE '_00000000%';
-- a hex id after a relaxed one warns too
SELECT ap_migrate_add('c00000000001', '{A}', '', NULL);
SELECT reg_fp() AS fp \gset
-- characters that targets use, white space, quotes and SQL punctuation
SELECT ap_migrate_add('add-users', NULL, '', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_add('users@head', NULL, '', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_add('v1+1', NULL, '', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_add('branch:v1', NULL, '', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_add('add users', NULL, '', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_add(' v1', NULL, '', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_add(E'v1\n', NULL, '', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_add('x''); DROP TABLE victim; --', NULL, '', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_add('"v1"', NULL, '', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_add('v1;', NULL, '', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_add('$$v1$$', NULL, '', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_add('caf' || chr(233), NULL, '', NULL);
\echo :LAST_ERROR_SQLSTATE
-- reserved words in any case
SELECT ap_migrate_add('base', NULL, '', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_add('Head', NULL, '', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_add('HEADS', NULL, '', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_add('current', NULL, '', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_add('v1', '{Current}', '', NULL);
\echo :LAST_ERROR_SQLSTATE
-- at most 128 bytes
SELECT ap_migrate_add(repeat('x', 129), NULL, '', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT reg_fp() = :'fp' AS unchanged;
SELECT ap_migrate_add(repeat('x', 128), '{c00000000001}', '', NULL);
SELECT length(id) FROM ap_migrate.revision WHERE id LIKE 'xxx%';
RESET ap_migrate.revision_id_format;

------------------------------------------------------------------------
-- 6. Parent and dependency lists
------------------------------------------------------------------------
SELECT reg_fp() AS fp \gset
SELECT ap_migrate_add('d00000000001', '{d00000000001}', '', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_add('d00000000001', '{a00000000001,a00000000002,a00000000001}', '', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_add('d00000000001', '{a00000000001}', '', NULL, '', '{}', '{d00000000001}');
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_add('d00000000001', '{a00000000001}', '', NULL, '', '{}',
                      '{a00000000003,a00000000003}');
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_add('d00000000001', '{{a00000000001},{a00000000002}}', '', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT reg_fp() = :'fp' AS unchanged;

------------------------------------------------------------------------
-- 7. Cycles: only a revision already named as a parent can close one
------------------------------------------------------------------------
-- 2-cycle: e1 names e2 as parent, then e2 names e1
SELECT ap_migrate_add('e00000000001', '{e00000000002}', '', NULL);
SELECT reg_fp() AS fp \gset
SELECT ap_migrate_add('e00000000002', '{e00000000001}', '', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT reg_fp() = :'fp' AS unchanged;
-- a longer one: f1 <- f2 <- f3 <- f4, then f1 registered with parent f4
SELECT ap_migrate_add('f00000000002', '{f00000000001}', '', NULL);
SELECT ap_migrate_add('f00000000003', '{f00000000002}', '', NULL);
SELECT ap_migrate_add('f00000000004', '{f00000000003}', '', NULL);
SELECT reg_fp() AS fp \gset
SELECT ap_migrate_add('f00000000001', '{f00000000004}', '', NULL);
\echo :LAST_ERROR_SQLSTATE
-- through a merge parent
SELECT ap_migrate_add('f00000000001', '{a00000000001,f00000000003}', '', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT reg_fp() = :'fp' AS unchanged;
-- the same revision registered as a base is fine
SELECT ap_migrate_add('f00000000001', NULL, '', NULL);
SELECT ap_migrate_add('e00000000002', NULL, '', NULL);
-- re-registering a pending revision under its own descendant is a cycle too
SELECT reg_fp() AS fp \gset
SELECT ap_migrate_add('f00000000002', '{f00000000004}', '', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT reg_fp() = :'fp' AS unchanged;
-- no cycle or dangling parent is left behind (the relaxed ids of
-- section 5 are invalid under the default format)
SELECT problem, left(revision, 16) AS revision FROM ap_migrate_validate()
 WHERE severity = 'error' ORDER BY problem, revision COLLATE "C";

------------------------------------------------------------------------
-- 8. Branch labels
------------------------------------------------------------------------
SELECT reg_fp() AS fp \gset
SELECT ap_migrate_add('ab0000000001', NULL, '', NULL, '', '{""}');
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_add('ab0000000001', NULL, '', NULL, '', '{HEAD}');
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_add('ab0000000001', NULL, '', NULL, '', '{my-branch}');
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_add('ab0000000001', NULL, '', NULL, '', '{"my branch"}');
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_add('ab0000000001', NULL, '', NULL, '', ARRAY[repeat('l', 129)]);
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_add('ab0000000001', NULL, '', NULL, '', ARRAY['ok', NULL]);
\echo :LAST_ERROR_SQLSTATE
SELECT reg_fp() = :'fp' AS unchanged;
SELECT ap_migrate_add('ab0000000001', NULL, '', NULL, 'labelled', '{billing,Billing.v2}');
SELECT branch_labels FROM ap_migrate.revision WHERE id = 'ab0000000001';

------------------------------------------------------------------------
-- 9. Owner: only members of a role can register revisions for it
------------------------------------------------------------------------
CREATE ROLE reg_app;
CREATE ROLE reg_other;
CREATE ROLE reg_group;
GRANT reg_group TO reg_app;
GRANT EXECUTE ON FUNCTION ap_migrate_add(text, text[], text, text, text, text[], text[], boolean, regrole)
  TO reg_app;
GRANT USAGE ON SCHEMA ap_migrate TO reg_app;
SELECT reg_fp() AS fp \gset
SET ROLE reg_app;
SELECT ap_migrate_add('ac0000000001', NULL, '', NULL, owner => 'reg_other');
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_add('ac0000000001', NULL, '', NULL, owner => 'postgres');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT reg_fp() = :'fp' AS unchanged;
SET ROLE reg_app;
SELECT ap_migrate_add('ac0000000001', NULL, '', NULL, owner => 'reg_group');
SELECT ap_migrate_add('ac0000000002', '{ac0000000001}', '', NULL);
RESET ROLE;
SELECT id, owner FROM ap_migrate.revision WHERE id LIKE 'ac%' ORDER BY id;

------------------------------------------------------------------------
-- 10. NULL arguments
------------------------------------------------------------------------
SELECT reg_fp() AS fp \gset
SELECT ap_migrate_add(NULL, NULL, '', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_add('ad0000000001', NULL, NULL, NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_add('ad0000000001', NULL, '', NULL, NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_add('ad0000000001', NULL, '', NULL, '', '{}', '{}', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_add('ad0000000001', ARRAY['a00000000001', NULL], '', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_add('ad0000000001', NULL, '', NULL, '', '{}', ARRAY[NULL::text]);
\echo :LAST_ERROR_SQLSTATE
SELECT reg_fp() = :'fp' AS unchanged;
-- NULL down_revision is a base, NULL downgrade irreversible, NULL owner the
-- caller, NULL branch_labels and depends_on empty
SELECT ap_migrate_add('ad0000000001', NULL, '', NULL, 'nulls', NULL, NULL, true, NULL);
SELECT id, down_revision, branch_labels, depends_on, downgrade_sql IS NULL AS irreversible,
       owner
  FROM ap_migrate.revision WHERE id = 'ad0000000001';
-- empty and comment-only SQL are allowed and run nothing
SELECT ap_migrate_add('ad0000000002', '{ad0000000001}', '', '', 'empty');
SELECT ap_migrate_add('ad0000000003', '{ad0000000002}', E'-- nothing yet\n/* really */',
                      '   ', 'comments');
SELECT ap_migrate_upgrade('ad0000000003');
SELECT revision FROM ap_migrate.applied WHERE revision LIKE 'ad%' ORDER BY revision;
SELECT ap_migrate_downgrade('ad0000000001');
SELECT revision FROM ap_migrate.applied WHERE revision LIKE 'ad%' ORDER BY revision;

------------------------------------------------------------------------
-- 11. SQL checks at registration time
------------------------------------------------------------------------
SELECT reg_fp() AS fp \gset
-- a syntax error: the position is shown inside the migration SQL
SELECT ap_migrate_add('ae0000000001', NULL,
                      E'CREATE TABLE reg_j (a int);\nALTER TABLE reg_j ADD COLUM b int;', NULL);
\echo :LAST_ERROR_SQLSTATE
-- an error in the downgrade section names it
SELECT ap_migrate_add('ae0000000001', NULL, 'CREATE TABLE reg_j (a int);', 'DROP TABL reg_j;');
\echo :LAST_ERROR_SQLSTATE
-- transaction control
SELECT ap_migrate_add('ae0000000001', NULL, 'BEGIN; CREATE TABLE reg_j (a int);', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_add('ae0000000001', NULL, E'CREATE TABLE reg_j (a int);\nROLLBACK;', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_add('ae0000000001', NULL, 'CREATE TABLE reg_j (a int); ROLLBACK', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_add('ae0000000001', NULL, 'SAVEPOINT s1; CREATE TABLE reg_j (a int);', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_add('ae0000000001', NULL, 'CREATE TABLE reg_j (a int);',
                      'PREPARE TRANSACTION ''x''');
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_add('ae0000000001', NULL,
                      'SET TRANSACTION ISOLATION LEVEL SERIALIZABLE; CREATE TABLE reg_j (a int);', NULL);
\echo :LAST_ERROR_SQLSTATE
-- psql meta-commands on their own line
SELECT ap_migrate_add('ae0000000001', NULL, E'CREATE TABLE reg_j (a int);\n\\i x', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_add('ae0000000001', NULL, E'  \\set ON_ERROR_STOP 1\nCREATE TABLE reg_j (a int);', NULL);
\echo :LAST_ERROR_SQLSTATE
-- statements that cannot run in a transaction block
SELECT ap_migrate_add('ae0000000001', NULL, 'CREATE INDEX CONCURRENTLY reg_i ON reg_t1 (a);', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_add('ae0000000001', NULL, 'SELECT 1; DROP INDEX CONCURRENTLY reg_i;', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_add('ae0000000001', NULL, 'REINDEX TABLE CONCURRENTLY reg_t1;', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_add('ae0000000001', NULL, 'VACUUM reg_t1;', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_add('ae0000000001', NULL, 'CREATE DATABASE reg_db;', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_add('ae0000000001', NULL, 'ALTER SYSTEM SET work_mem = ''8MB'';', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_add('ae0000000001', NULL, 'DISCARD ALL;', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_add('ae0000000001', NULL, 'CLUSTER;', NULL);
\echo :LAST_ERROR_SQLSTATE
-- COPY from or to the client
SELECT ap_migrate_add('ae0000000001', NULL, 'COPY reg_t1 FROM STDIN;', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_add('ae0000000001', NULL, 'COPY (SELECT 1) TO STDOUT;', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT reg_fp() = :'fp' AS unchanged;
-- the same statements are accepted for a non-transactional revision
SELECT ap_migrate_add('af0000000001', NULL,
                      E'CREATE INDEX CONCURRENTLY reg_i ON reg_t1 (a);\nDROP INDEX CONCURRENTLY reg_i;\n'
                      'REINDEX TABLE CONCURRENTLY reg_t1;\nVACUUM reg_t1;\nCREATE DATABASE reg_db;\n'
                      'ALTER SYSTEM SET work_mem = ''8MB'';\nDISCARD ALL;\nCLUSTER;',
                      'VACUUM;', 'top level', transactional => false);
SELECT transactional FROM ap_migrate.revision WHERE id = 'af0000000001';
-- ANALYZE and CLUSTER of one table are fine in a transaction
SELECT ap_migrate_add('af0000000002', NULL, 'ANALYZE reg_t1; CLUSTER reg_t1;',
                      'ANALYZE;', 'analyze');
-- statements inside a BEGIN ATOMIC body are not taken for transaction control
-- (PostgreSQL 14 and later: 13 cannot parse the body, so it skips the call)
SELECT current_setting('server_version_num')::int >= 140000 AS begin_atomic \gset
SELECT CASE WHEN :'begin_atomic'::boolean
            THEN ap_migrate_add('af0000000004', NULL,
                      'CREATE FUNCTION reg_f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END;',
                      'DROP FUNCTION reg_f();', 'begin atomic')
            ELSE true END AS ap_migrate_add;
-- meta-commands are refused in non-transactional revisions too
SELECT ap_migrate_add('af0000000003', NULL, E'\\connect other', NULL, transactional => false);
\echo :LAST_ERROR_SQLSTATE

------------------------------------------------------------------------
-- A cycle through depends_on is refused when it is closed, like one
-- through parents: the revision closing it is already referred to.
SELECT ap_migrate_add('d00000000002', NULL, '', NULL, 'b', depends_on => '{d00000000001}');
SELECT ap_migrate_add('d00000000001', NULL, '', NULL, 'a', depends_on => '{d00000000002}');
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_add('d00000000001', '{d00000000002}', '', NULL, 'a');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS registered FROM ap_migrate.revision WHERE id LIKE 'd0%';
-- registered without the cycle, it is an ordinary base
SELECT ap_migrate_add('d00000000001', NULL, '', NULL, 'a');

-- SET TRANSACTION SNAPSHOT is transaction control too; a backslash
-- anywhere (\gset after a query) is a psql meta-command
SELECT ap_migrate_add('d00000000003', NULL, $$SET TRANSACTION SNAPSHOT '00000003-1'$$, NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_add('d00000000003', NULL, E'SELECT 1 AS one \\gset', NULL);
\echo :LAST_ERROR_SQLSTATE

-- Replacing a pending revision needs membership in its owner; an identical
-- re-registration by anyone stays a no-op.
SELECT ap_migrate_add('d00000000004', NULL, 'SELECT 4', NULL, 'by reg_other', owner => 'reg_other');
SET ROLE reg_app;
SELECT ap_migrate_add('d00000000004', NULL, 'SELECT 4', NULL, 'by reg_other');
SELECT ap_migrate_add('d00000000004', NULL, 'SELECT 40', NULL, 'hijacked');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT owner, upgrade_sql, message FROM ap_migrate.revision WHERE id = 'd00000000004';

-- A revision whose owner was dropped is adopted by whoever registers the
-- same content again (otherwise it could never run).
CREATE ROLE reg_gone;
SELECT ap_migrate_add('d00000000005', NULL, 'SELECT 5', NULL, 'orphaned', owner => 'reg_gone');
DROP ROLE reg_gone;
SELECT ap_migrate_upgrade('d00000000005');
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_add('d00000000005', NULL, 'SELECT 5', NULL, 'orphaned', owner => 'reg_other');
SELECT owner FROM ap_migrate.revision WHERE id = 'd00000000005';

------------------------------------------------------------------------
DROP VIEW reg_rows;
DROP FUNCTION reg_fp();
DROP EXTENSION ap_migrate;
DROP ROLE reg_app, reg_other, reg_group;
