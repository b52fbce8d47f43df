--
-- ap_migrate_stamp(): set the applied set to a target without running SQL
--
\set VERBOSITY default
CREATE EXTENSION ap_migrate;

-- A linear chain of three revisions; each upgrade creates one table.
SELECT ap_migrate_add('5a0000000001', NULL, 'CREATE TABLE stamp_t1 (id int)',
                      'DROP TABLE stamp_t1', 'create t1');
SELECT ap_migrate_add('5a0000000002', '{5a0000000001}', 'CREATE TABLE stamp_t2 (id int)',
                      'DROP TABLE stamp_t2', 'create t2');
SELECT ap_migrate_add('5a0000000003', '{5a0000000002}', 'CREATE TABLE stamp_t3 (id int)',
                      'DROP TABLE stamp_t3', 'create t3');

-- What a stamp changes: the applied set (with the checksum it was stamped
-- with) and the history log; nothing else.
CREATE VIEW stamp_state AS
  SELECT (SELECT coalesce(string_agg(revision, ', ' ORDER BY revision), '-')
            FROM ap_migrate.applied) AS applied,
         (SELECT count(*) FROM ap_migrate.history) AS history_rows,
         (SELECT coalesce(string_agg(tablename, ', ' ORDER BY tablename), '-')
            FROM pg_tables WHERE tablename LIKE 'stamp_t%') AS tables;

SELECT * FROM stamp_state;

-- stamp('head') marks every revision applied and returns the head, emitting
-- no "running upgrade" notice and creating no table.
SELECT ap_migrate_stamp('head');
SELECT * FROM stamp_state;
SELECT a.revision, a.checksum = r.checksum AS checksum_matches,
       a.applied_by = current_user AS applied_by_caller
  FROM ap_migrate.applied a JOIN ap_migrate.revision r ON r.id = a.revision
 ORDER BY a.revision;

-- exactly one history row for the whole stamp, with no single revision,
-- from the old current revisions (none) to the new ones
SELECT operation, revision, from_revisions, to_revisions, role = current_user AS by_caller,
       success, duration >= '0' AS duration_ok
  FROM ap_migrate.history ORDER BY id;
SELECT * FROM ap_migrate_current();
SELECT ap_migrate_check();

-- upgrade('head') now has nothing to do: no step runs
SELECT ap_migrate_upgrade('head');
SELECT * FROM stamp_state;

-- stamp('base') empties the applied set and returns NULL
SELECT ap_migrate_stamp('base') IS NULL AS returns_null;
SELECT * FROM stamp_state;

-- stamp then upgrade: only what is not stamped runs (t2 and t3, never t1)
SELECT ap_migrate_stamp('5a0000000001');
SELECT ap_migrate_upgrade('head');
SELECT * FROM stamp_state;

-- Stamping down from head to a middle revision removes the later revisions
-- from the applied set without running their downgrades: t2 and t3 stay.
SELECT ap_migrate_stamp('5a0000000001');
SELECT * FROM stamp_state;
SELECT operation, revision, from_revisions, to_revisions
  FROM ap_migrate.history ORDER BY id DESC LIMIT 1;

-- A prefix and relative targets work as for upgrade/downgrade, in both
-- directions: +1 from 5a..01 is 5a..02, -1 goes back down.
SELECT ap_migrate_stamp('+1');
SELECT ap_migrate_stamp('5a0000000003');
SELECT ap_migrate_stamp('-1');
SELECT ap_migrate_stamp('5a0000000003-2');
SELECT * FROM stamp_state;
SELECT operation, from_revisions, to_revisions
  FROM ap_migrate.history WHERE operation = 'stamp' ORDER BY id;

-- Stamp back to head (no SQL), then downgrade for real: the downgrades of
-- the stamped revisions do run (t3 and t2 are dropped; t1 never existed,
-- so stamping is how a database whose t1 came from elsewhere is adopted).
SELECT ap_migrate_stamp('head');
SELECT ap_migrate_downgrade('5a0000000001');
SELECT * FROM stamp_state;

-- Errors: nothing is changed by a rejected stamp.
SELECT ap_migrate_stamp('5a0000000002');
CREATE TEMP TABLE stamp_before AS
  SELECT (SELECT md5(string_agg(revision || checksum, ',' ORDER BY revision)) FROM ap_migrate.applied) AS applied,
         (SELECT count(*) FROM ap_migrate.history) AS history_rows;

-- unknown revision
SELECT ap_migrate_stamp('ffffffffffff');
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_stamp('5a0000000003+1');
\echo :LAST_ERROR_SQLSTATE

-- read-only transaction
BEGIN TRANSACTION READ ONLY;
SELECT ap_migrate_stamp('head');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;

-- NULL and empty target
SELECT ap_migrate_stamp(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_stamp('');
\echo :LAST_ERROR_SQLSTATE

SELECT b.applied = (SELECT md5(string_agg(revision || checksum, ',' ORDER BY revision)) FROM ap_migrate.applied) AS applied_unchanged,
       b.history_rows = (SELECT count(*) FROM ap_migrate.history) AS history_unchanged
  FROM stamp_before b;
SELECT * FROM stamp_state;

-- a stamp rolled back with its transaction leaves no trace
BEGIN;
SELECT ap_migrate_stamp('head');
ROLLBACK;
SELECT b.history_rows = (SELECT count(*) FROM ap_migrate.history) AS history_unchanged
  FROM stamp_before b;
SELECT * FROM stamp_state;


-- A revision that cannot run in a transaction: upgrade refuses it before
-- any step, and stamp is the documented way to record it once its SQL was
-- run by hand.
SELECT ap_migrate_add('5a0000000004', '{5a0000000003}',
                      'CREATE INDEX CONCURRENTLY stamp_i ON stamp_t3 (id)',
                      'DROP INDEX CONCURRENTLY stamp_i', 'concurrent index',
                      transactional => false);
SELECT ap_migrate_upgrade('head');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM stamp_state;
SELECT ap_migrate_stamp('head');
SELECT * FROM stamp_state;

-- With two heads, 'head' is ambiguous (21000, nothing changed) and 'heads'
-- stamps both branches.
SELECT ap_migrate_add('5a0000000005', '{5a0000000002}', 'CREATE TABLE stamp_t5 (id int)',
                      'DROP TABLE stamp_t5', 'branch t5');
SELECT count(*) AS history_rows FROM ap_migrate.history;
SELECT ap_migrate_stamp('head');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS history_rows FROM ap_migrate.history;
SELECT ap_migrate_stamp('heads');
SELECT * FROM stamp_state;
SELECT operation, from_revisions, to_revisions
  FROM ap_migrate.history ORDER BY id DESC LIMIT 1;
-- stamping their common ancestor removes both branches above it
SELECT ap_migrate_stamp('5a0000000002');
SELECT * FROM stamp_state;

DROP TABLE stamp_before;
DROP VIEW stamp_state;
DROP EXTENSION ap_migrate;
