--
-- CALL ap_migrate_run(target) and ap_migrate_run_downgrade(target): the
-- same steps as the functions, each committed as soon as it ran.  An error
-- at step k leaves exactly the k - 1 steps before it applied and recorded,
-- and the serializing lock (held at session level across the steps) is
-- released.
--
CREATE EXTENSION ap_migrate;
CREATE TABLE proc_ledger (rev text);
SET client_min_messages = warning;
SELECT ap_migrate_add('bbbbbbbbbbb1', NULL, $$INSERT INTO proc_ledger VALUES ('1')$$,
       $$DELETE FROM proc_ledger WHERE rev = '1'$$, 'one');
SELECT ap_migrate_add('bbbbbbbbbbb2', '{bbbbbbbbbbb1}', $$INSERT INTO proc_ledger VALUES ('2')$$,
       $$DELETE FROM proc_ledger WHERE rev = '2'$$, 'two');
SELECT ap_migrate_add('bbbbbbbbbbb3', '{bbbbbbbbbbb2}', $$INSERT INTO proc_ledger VALUES ('3'); SELECT 1/0$$,
       NULL, 'three fails');
SELECT ap_migrate_add('bbbbbbbbbbb4', '{bbbbbbbbbbb3}', $$INSERT INTO proc_ledger VALUES ('4')$$,
       NULL, 'four');
RESET client_min_messages;

-- step 3 of 4 fails: steps 1 and 2 stay applied and recorded
CALL ap_migrate_run('head');
\echo :LAST_ERROR_SQLSTATE
SELECT rev FROM proc_ledger ORDER BY rev;
SELECT revision FROM ap_migrate.applied ORDER BY revision;
SELECT operation, revision FROM ap_migrate.history ORDER BY id;
SELECT count(*) AS advisory_locks FROM pg_locks WHERE locktype = 'advisory';

-- it commits, so it cannot run inside a transaction block or a function
BEGIN;
CALL ap_migrate_run('head');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
CREATE FUNCTION proc_call() RETURNS void LANGUAGE plpgsql AS $$ BEGIN CALL ap_migrate_run('head'); END $$;
SELECT proc_call();
\echo :LAST_ERROR_SQLSTATE
DROP FUNCTION proc_call();
SELECT revision FROM ap_migrate.applied ORDER BY revision;

-- fixed, the rest runs
SET client_min_messages = warning;
SELECT ap_migrate_add('bbbbbbbbbbb3', '{bbbbbbbbbbb2}', $$INSERT INTO proc_ledger VALUES ('3')$$,
       $$DELETE FROM proc_ledger WHERE rev = '3'$$, 'three');
SELECT ap_migrate_add('bbbbbbbbbbb4', '{bbbbbbbbbbb3}', $$INSERT INTO proc_ledger VALUES ('4')$$,
       $$DELETE FROM proc_ledger WHERE rev = '4'$$, 'four');
RESET client_min_messages;
CALL ap_migrate_run();
SELECT * FROM ap_migrate_current();
-- and back down two steps, one commit each
CALL ap_migrate_run_downgrade('-2');
SELECT rev FROM proc_ledger ORDER BY rev;
SELECT operation, revision FROM ap_migrate.history ORDER BY id;
SELECT count(*) AS advisory_locks FROM pg_locks WHERE locktype = 'advisory';

-- the same up-front refusals as the functions: an irreversible revision
-- in the way stops a downgrade before any step
SELECT ap_migrate_add('bbbbbbbbbbb9', NULL, 'SELECT 9', NULL, 'irreversible base');
CALL ap_migrate_run('bbbbbbbbbbb9');
CALL ap_migrate_run_downgrade('base');
\echo :LAST_ERROR_SQLSTATE
SELECT revision FROM ap_migrate.applied ORDER BY revision;
CALL ap_migrate_run(NULL);
\echo :LAST_ERROR_SQLSTATE
CALL ap_migrate_run('nosuch');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS advisory_locks FROM pg_locks WHERE locktype = 'advisory';

-- migration SQL cannot release the session-level ap_migrate lock: it is
-- not an advisory lock, so pg_advisory_unlock_all() leaves it held (the
-- step records what it saw), and the procedure releases it at its end
SELECT ap_migrate_add('bbbbbbbbbbba', '{bbbbbbbbbbb9}', $$SELECT pg_advisory_unlock_all();
INSERT INTO proc_ledger SELECT 'ap_migrate locks held: ' || count(*) FROM pg_locks
 WHERE locktype = 'object' AND classid = 'pg_extension'::regclass AND objid = 1634758247
   AND objsubid = 1 AND pid = pg_backend_pid() AND granted$$, NULL, 'unlocks');
CALL ap_migrate_run('bbbbbbbbbbba');
SELECT rev FROM proc_ledger WHERE rev LIKE 'ap_migrate locks%';
SELECT count(*) AS unlocker_applied FROM ap_migrate.applied WHERE revision = 'bbbbbbbbbbba';
SELECT count(*) AS ap_migrate_locks FROM pg_locks
 WHERE locktype = 'object' AND objid = 1634758247 AND objsubid = 1;

-- a non-transactional revision: the function refuses it up front, the
-- procedure runs its statements at top level in a background worker (a
-- concurrent index, an enum value added and used, VACUUM); a failing
-- statement reports its own error, its invalid index is dropped, and the
-- statement before it stays committed
CREATE TABLE proc_t (v int);
INSERT INTO proc_t SELECT g % 10 FROM generate_series(1, 1000) g;
SELECT ap_migrate_add('bbbbbbbbbbbc', '{bbbbbbbbbbba}',
       $$CREATE INDEX CONCURRENTLY proc_t_v ON proc_t (v);
CREATE TYPE proc_mood AS ENUM ('calm');
ALTER TYPE proc_mood ADD VALUE 'busy';
CREATE TABLE proc_m (m proc_mood DEFAULT 'busy');
INSERT INTO proc_m DEFAULT VALUES;
VACUUM proc_t;$$,
       $$DROP INDEX CONCURRENTLY proc_t_v; DROP TABLE proc_m; DROP TYPE proc_mood;$$,
       'concurrent', transactional => false);
SELECT ap_migrate_upgrade('bbbbbbbbbbbc');
\echo :LAST_ERROR_SQLSTATE
CALL ap_migrate_run('bbbbbbbbbbbc');
SELECT indisvalid FROM pg_index WHERE indexrelid = 'proc_t_v'::regclass;
SELECT m FROM proc_m;
SELECT ap_migrate_add('bbbbbbbbbbbd', '{bbbbbbbbbbbc}',
       $$INSERT INTO proc_ledger VALUES ('d');
CREATE UNIQUE INDEX CONCURRENTLY proc_t_uv ON proc_t (v);$$,
       'DROP INDEX CONCURRENTLY proc_t_uv', 'unique', transactional => false);
CALL ap_migrate_run('bbbbbbbbbbbd');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS invalid_indexes FROM pg_index WHERE indrelid = 'proc_t'::regclass AND NOT indisvalid;
SELECT rev FROM proc_ledger WHERE rev = 'd';
SELECT * FROM ap_migrate_current();
CALL ap_migrate_run_downgrade('bbbbbbbbbbba');
SELECT to_regclass('proc_t_v') AS index_after_downgrade, to_regtype('proc_mood') AS type_after_downgrade;
SELECT count(*) AS advisory_locks FROM pg_locks WHERE locktype = 'advisory';

-- a revision with nothing to run (empty or comment-only) is recorded in
-- the commit of the step before it, which saves a WAL flush: what an error
-- leaves recorded is still a prefix of whole steps.  e1 runs, e2 and e3
-- have nothing to run, e4 fails: e1 to e3 are applied, each with its
-- history row.  A blank first step (f1) is committed before the step after
-- it fails.  A blank step whose checksum fails (c2) is refused without
-- rolling back the step before it.
SET client_min_messages = warning;
SELECT ap_migrate_add('eeeeeeeeeee1', NULL, $$INSERT INTO proc_ledger VALUES ('e1')$$, '', 'e one');
SELECT ap_migrate_add('eeeeeeeeeee2', '{eeeeeeeeeee1}', '', '', 'e two, empty');
SELECT ap_migrate_add('eeeeeeeeeee3', '{eeeeeeeeeee2}', '-- kept for the record', '', 'e three, a comment');
SELECT ap_migrate_add('eeeeeeeeeee4', '{eeeeeeeeeee3}', 'SELECT 1/0', '', 'e four fails');
SELECT ap_migrate_add('fffffffffff1', NULL, '/* nothing */', '', 'f one, a comment');
SELECT ap_migrate_add('fffffffffff2', '{fffffffffff1}', 'SELECT 1/0', '', 'f two fails');
SELECT ap_migrate_add('ccccccccccc1', NULL, $$INSERT INTO proc_ledger VALUES ('c1')$$, '', 'c one');
SELECT ap_migrate_add('ccccccccccc2', '{ccccccccccc1}', '', '', 'c two, empty');
RESET client_min_messages;
CALL ap_migrate_run('eeeeeeeeeee4');
\echo :LAST_ERROR_SQLSTATE
SELECT revision FROM ap_migrate.applied WHERE revision LIKE 'e%' ORDER BY revision;
SELECT revision, operation FROM ap_migrate.history WHERE revision LIKE 'e%' ORDER BY id;
SELECT rev FROM proc_ledger WHERE rev = 'e1';
CALL ap_migrate_run('fffffffffff2');
\echo :LAST_ERROR_SQLSTATE
SELECT revision FROM ap_migrate.applied WHERE revision LIKE 'f%' ORDER BY revision;
UPDATE ap_migrate.revision SET upgrade_sql = '-- changed' WHERE id = 'ccccccccccc2';
CALL ap_migrate_run('ccccccccccc2');
\echo :LAST_ERROR_SQLSTATE
SELECT revision FROM ap_migrate.applied WHERE revision LIKE 'c%' ORDER BY revision;
SELECT rev FROM proc_ledger WHERE rev = 'c1';

DROP EXTENSION ap_migrate;
DROP TABLE proc_ledger, proc_t;
