--
-- load: ap_migrate_load() and the migration file format of src/script.c
--
\set VERBOSITY default
CREATE EXTENSION ap_migrate;

CREATE VIEW load_rows AS
  SELECT id, down_revision, message, branch_labels, depends_on, transactional
    FROM ap_migrate.revision ORDER BY seq;
CREATE FUNCTION load_fp() RETURNS text LANGUAGE sql AS $$
  SELECT count(*) || ' rows, ' || md5(coalesce(string_agg(
           id || down_revision::text || message || upgrade_sql ||
           coalesce(downgrade_sql, '<null>') || branch_labels::text ||
           depends_on::text || transactional || checksum, '|' ORDER BY seq), ''))
    FROM ap_migrate.revision $$;

------------------------------------------------------------------------
-- 1. A full header: every key, free-text comments, both sections
------------------------------------------------------------------------
SELECT ap_migrate_load($script$
-- revision: 1a0000000001
-- down_revision:
-- message: Create the ledger
--
-- Free text in the header is ignored, as are blank lines and comment
-- lines that are not "key: value" (Like this one: it starts uppercase).

-- +upgrade
CREATE TABLE load_ledger (id int PRIMARY KEY, note text);
INSERT INTO load_ledger VALUES (1, 'one');

-- +downgrade
DROP TABLE load_ledger;
$script$) AS id;

SELECT ap_migrate_load($script$-- revision: 1a0000000002
-- down_revision: 1a0000000001
-- message:   Second: with a colon, and spaces around it   
-- branch_labels: ledger, Ledger.v2 audit
-- depends_on:
-- transactional: true
-- +upgrade
  INSERT INTO load_ledger VALUES (2, 'two');  
-- +downgrade
  DELETE FROM load_ledger WHERE id = 2;
$script$) AS id;

SELECT * FROM load_rows;
-- the sections are stored verbatim, less surrounding white space
SELECT id, upgrade_sql, downgrade_sql FROM ap_migrate.revision ORDER BY seq;

-- a merge with a dependency, comma- and space-separated lists, transactional off
SELECT ap_migrate_load($script$-- revision: 1a0000000003
-- down_revision: 1a0000000001
-- message: branch
-- +upgrade
INSERT INTO load_ledger VALUES (3, 'three');
$script$) AS id;
SELECT ap_migrate_load($script$-- revision: 1a0000000004
-- down_revision: 1a0000000002,1a0000000003
-- message: merge
-- depends_on: 1a0000000001 , 1a0000000003
-- transactional: false
-- +upgrade
VACUUM load_ledger;
-- +downgrade
$script$) AS id;
SELECT * FROM load_rows WHERE id IN ('1a0000000003', '1a0000000004');
-- no downgrade section = irreversible; an empty one = a downgrade that runs nothing
SELECT id, downgrade_sql IS NULL AS irreversible, downgrade_sql = '' AS empty_downgrade
  FROM ap_migrate.revision WHERE id IN ('1a0000000003', '1a0000000004') ORDER BY id;

------------------------------------------------------------------------
-- 2. Loading the same file twice is a no-op; changed content replaces it
------------------------------------------------------------------------
\set same '-- revision: 1a0000000005\n-- down_revision: 1a0000000002\n-- message: again\n-- +upgrade\nINSERT INTO load_ledger VALUES (5, ''five'');\n-- +downgrade\nDELETE FROM load_ledger WHERE id = 5;\n'
SELECT ap_migrate_load(:'same') AS id;
SELECT load_fp() AS fp \gset
SELECT ap_migrate_load(:'same') AS id;
SELECT load_fp() = :'fp' AS unchanged;
-- surrounding white space of a section does not count as a change
SELECT ap_migrate_load(replace(:'same', E'-- +upgrade\n', E'-- +upgrade\n\n\n')) AS id;
SELECT load_fp() = :'fp' AS unchanged;
-- a changed message of a pending revision replaces the registered one
SELECT ap_migrate_load(replace(:'same', 'again', 'again, edited')) AS id;
SELECT load_fp() = :'fp' AS unchanged;
SELECT count(*), string_agg(message, ',') FROM ap_migrate.revision WHERE id = '1a0000000005';
-- the owner argument; no message key = an empty message
CREATE ROLE load_owner;
SELECT ap_migrate_load(E'-- revision: 1a0000000006\n-- down_revision: 1a0000000005\n-- +upgrade\nSELECT 1;\n-- +downgrade',
                       'load_owner') AS id;
SELECT id, owner, message, downgrade_sql FROM ap_migrate.revision WHERE id = '1a0000000006';

------------------------------------------------------------------------
-- 3. CRLF line endings
------------------------------------------------------------------------
SELECT ap_migrate_load(E'-- revision: 1a0000000007\r\n-- down_revision: 1a0000000006\r\n'
                        '-- message: windows\r\n-- branch_labels: crlf\r\n\r\n-- +upgrade\r\n'
                        'INSERT INTO load_ledger VALUES (7, ''seven'');\r\n'
                        '-- +downgrade\r\nDELETE FROM load_ledger WHERE id = 7;\r\n') AS id;
SELECT id, down_revision, message, branch_labels,
       upgrade_sql = 'INSERT INTO load_ledger VALUES (7, ''seven'');' AS upgrade_trimmed,
       downgrade_sql = 'DELETE FROM load_ledger WHERE id = 7;' AS downgrade_trimmed
  FROM ap_migrate.revision WHERE id = '1a0000000007';

------------------------------------------------------------------------
-- 4. Loading then upgrading
------------------------------------------------------------------------
-- 1a0000000004 is not transactional and cannot be applied in a transaction;
-- go to the other head
SELECT ap_migrate_upgrade('1a0000000007');
SELECT * FROM load_ledger ORDER BY id;
SELECT ap_migrate_downgrade('1a0000000001');
SELECT * FROM load_ledger ORDER BY id;
SELECT revision FROM ap_migrate.applied ORDER BY revision;

------------------------------------------------------------------------
-- 5. Malformed scripts: 22P02 naming the line
------------------------------------------------------------------------
SELECT load_fp() AS fp \gset
-- no "-- +upgrade" line
SELECT ap_migrate_load(E'-- revision: 1b0000000001\n-- down_revision:\nSELECT 1;');
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_load(E'-- revision: 1b0000000001\n-- down_revision:\n');
\echo :LAST_ERROR_SQLSTATE
-- a marker twice
SELECT ap_migrate_load(E'-- revision: 1b0000000001\n-- down_revision:\n-- +upgrade\nSELECT 1;\n-- +upgrade\nSELECT 2;');
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_load(E'-- revision: 1b0000000001\n-- down_revision:\n-- +upgrade\nSELECT 1;\n-- +downgrade\n-- +downgrade\n');
\echo :LAST_ERROR_SQLSTATE
-- downgrade before upgrade
SELECT ap_migrate_load(E'-- revision: 1b0000000001\n-- down_revision:\n-- +downgrade\nSELECT 1;\n-- +upgrade\nSELECT 2;');
\echo :LAST_ERROR_SQLSTATE
-- a misspelt key is an error, not a silent base
SELECT ap_migrate_load(E'-- revision: 1b0000000001\n-- down_revison: 1a0000000001\n-- +upgrade\nSELECT 1;');
\echo :LAST_ERROR_SQLSTATE
-- a key twice
SELECT ap_migrate_load(E'-- revision: 1b0000000001\n-- down_revision:\n-- message: a\n-- message: b\n-- +upgrade\nSELECT 1;');
\echo :LAST_ERROR_SQLSTATE
-- missing keys
SELECT ap_migrate_load(E'-- down_revision:\n-- message: no id\n\n-- +upgrade\nSELECT 1;');
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_load(E'-- revision: 1b0000000001\n-- message: no parent\n-- +upgrade\nSELECT 1;');
\echo :LAST_ERROR_SQLSTATE
-- SQL before the upgrade marker
SELECT ap_migrate_load(E'-- revision: 1b0000000001\n-- down_revision:\nCREATE TABLE x (a int);\n-- +upgrade\nSELECT 1;');
\echo :LAST_ERROR_SQLSTATE
-- a bad transactional value
SELECT ap_migrate_load(E'-- revision: 1b0000000001\n-- down_revision:\n-- transactional: maybe\n-- +upgrade\nSELECT 1;');
\echo :LAST_ERROR_SQLSTATE
-- two ids, or none, in revision
SELECT ap_migrate_load(E'-- revision: 1b0000000001 1b0000000002\n-- down_revision:\n-- +upgrade\nSELECT 1;');
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_load(E'-- revision: 1b0000000001,1b0000000002\n-- down_revision:\n-- +upgrade\nSELECT 1;');
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_load(E'-- revision:\n-- down_revision:\n-- +upgrade\nSELECT 1;');
\echo :LAST_ERROR_SQLSTATE
-- with CRLF line endings the line numbers are the same
SELECT ap_migrate_load(E'-- revision: 1b0000000001\r\n-- down_revision:\r\n-- transactional: maybe\r\n-- +upgrade\r\nSELECT 1;');
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_load(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT load_fp() = :'fp' AS unchanged;

------------------------------------------------------------------------
-- 6. Well-formed scripts are then checked like ap_migrate_add() arguments
------------------------------------------------------------------------
SELECT ap_migrate_load(E'-- revision: 1B0000000001\n-- down_revision:\n-- +upgrade\nSELECT 1;');
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_load(E'-- revision: 1b0000000001\n-- down_revision: 1b0000000001\n-- +upgrade\nSELECT 1;');
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_load(E'-- revision: 1b0000000001\n-- down_revision:\n-- branch_labels: head\n-- +upgrade\nSELECT 1;');
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_load(E'-- revision: 1b0000000001\n-- down_revision:\n-- +upgrade\nCREATE TABLE x (a int);\nROLLBACK;');
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_load(E'-- revision: 1b0000000001\n-- down_revision:\n-- +upgrade\nSELECT 1;\n-- +downgrade\nDROP TABL x;');
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_load(E'-- revision: 1b0000000001\n-- down_revision:\n-- +upgrade\nCREATE INDEX CONCURRENTLY i ON t (a);');
\echo :LAST_ERROR_SQLSTATE
-- changed content of an applied revision is refused
SELECT ap_migrate_load(E'-- revision: 1a0000000001\n-- down_revision:\n-- message: Create the ledger\n-- +upgrade\nCREATE TABLE load_ledger (id bigint);');
\echo :LAST_ERROR_SQLSTATE
SELECT load_fp() = :'fp' AS unchanged;

------------------------------------------------------------------------
-- Markers may be indented; something that looks like a key but is not
-- written as one is an error, not a silently ignored comment.
SELECT ap_migrate_load(E'-- revision: 1c0000000001\n-- down_revision:\n  -- +upgrade\nSELECT 1;\n\t-- +downgrade  \nSELECT 2;');
SELECT upgrade_sql, downgrade_sql FROM ap_migrate.revision WHERE id = '1c0000000001';
SELECT ap_migrate_load(E'-- revision: 1c0000000002\n-- down_revision:\n-- Depends_on : 1c0000000001\n-- +upgrade\nSELECT 1;');
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_load(E'-- revision: 1c0000000002\n-- down_revision:\n-- branch-labels: x\n-- +upgrade\nSELECT 1;');
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_load('');
\echo :LAST_ERROR_SQLSTATE

------------------------------------------------------------------------
DROP VIEW load_rows;
DROP FUNCTION load_fp();
DROP EXTENSION ap_migrate;
DROP TABLE load_ledger;
DROP ROLE load_owner;
