--
-- upgrade: ap_migrate_upgrade() and the upgrade plans of ap_migrate_plan()
--
-- Every revision's upgrade creates a table t_<name> and appends <name> to
-- the ledger, which has no constraints, so a step that ran twice, or ran
-- and was not rolled back, shows up there.
--
CREATE EXTENSION ap_migrate;
CREATE SEQUENCE ledger_seq;
CREATE TABLE ledger (n bigint DEFAULT nextval('ledger_seq'), rev text);

-- reg(id, parents, name): a revision whose message is name
CREATE FUNCTION reg(id text, parents text[], name text, deps text[] DEFAULT '{}')
RETURNS boolean LANGUAGE sql AS $$
  SELECT ap_migrate_add(id, parents,
    format('CREATE TABLE t_%s (i int); INSERT INTO ledger (rev) VALUES (%L);', name, name),
    format('DROP TABLE t_%s; INSERT INTO ledger (rev) VALUES (%L);', name, '-' || name),
    name, '{}', deps)
$$;

-- state(): applied revisions, ledger in execution order, history rows, t_* tables
CREATE FUNCTION state(OUT applied text, OUT ledger text, OUT history bigint, OUT tables text)
LANGUAGE sql AS $$
  SELECT (SELECT string_agg(r.message, ' ' ORDER BY r.message)
            FROM ap_migrate.applied a JOIN ap_migrate.revision r ON r.id = a.revision),
         (SELECT string_agg(rev, ' ' ORDER BY n) FROM ledger),
         (SELECT count(*) FROM ap_migrate.history),
         (SELECT string_agg(tablename, ' ' ORDER BY tablename)
            FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 't\_%')
$$;

--
-- 1. A linear chain of six, registered newest first: the order of the
-- steps follows the graph, not the order of registration.
--
SELECT reg('666666666666', '{555555555555}', 'r6'),
       reg('555555555555', '{444444444444}', 'r5'),
       reg('444444444444', '{333333333333}', 'r4'),
       reg('333333333333', '{222222222222}', 'r3'),
       reg('222222222222', '{111111111111}', 'r2'),
       reg('111111111111', NULL, 'r1');
SELECT * FROM ap_migrate_plan('head') ORDER BY step;

-- upgrade('head') applies all six in order, one NOTICE each, and returns
-- the head; here inside the caller's transaction, which is rolled back:
-- nothing of it remains, neither the tables nor the bookkeeping.
BEGIN;
SELECT ap_migrate_upgrade('head');
SELECT * FROM state();
ROLLBACK;
SELECT * FROM state();
SELECT count(*) AS applied_rows FROM ap_migrate.applied;

--
-- 2. Partial upgrades: by full id, by unique prefix, by +N.
--
SELECT ap_migrate_upgrade('222222222222');
SELECT * FROM state();
-- the plan to head now starts after r2
SELECT * FROM ap_migrate_plan('head') ORDER BY step;
SELECT ap_migrate_upgrade('33');
SELECT * FROM state();
SELECT ap_migrate_upgrade('+1');
SELECT * FROM state();
SELECT ap_migrate_upgrade('+2');
SELECT * FROM state();

--
-- 3. Nothing left to do: no NOTICE, the same result, no change at all
-- (not even a history row).  The default target is head.
--
SELECT ap_migrate_upgrade('head');
SELECT ap_migrate_upgrade();
SELECT ap_migrate_upgrade('heads');
-- an older, applied revision is not a reason to move, by id or by prefix
SELECT ap_migrate_upgrade('222222222222');
SELECT ap_migrate_upgrade('4');
SELECT * FROM state();
SELECT * FROM ap_migrate_plan('head') ORDER BY step;

--
-- 4. The bookkeeping: one history row per step, one applied row per
-- revision, both naming the calling role.
--
SELECT operation, revision, from_revisions, to_revisions,
       role = current_user AS role_ok, success, duration >= '0' AS duration_ok
  FROM ap_migrate.history ORDER BY id;
SELECT a.revision, a.applied_by = current_user AS applied_by_ok,
       a.checksum = r.checksum AS checksum_ok
  FROM ap_migrate.applied a JOIN ap_migrate.revision r ON r.id = a.revision
 ORDER BY a.revision;
SELECT * FROM ap_migrate_current();

-- start over with an empty catalog
DROP EXTENSION ap_migrate;
DROP TABLE t_r1, t_r2, t_r3, t_r4, t_r5, t_r6;
TRUNCATE ledger;
CREATE EXTENSION ap_migrate;

--
-- 5. All or nothing: a chain of ten whose seventh revision fails at its
-- third statement (line 3).  The error keeps its SQLSTATE, its context
-- names the revision, its message, the statement and the line, and none of
-- the six steps that ran before it remains.
--
SELECT bool_and(reg(id, parents, 'f' || n) ORDER BY n)
  FROM (SELECT n, 'fa00000000' || lpad(n::text, 2, '0') AS id,
               CASE WHEN n > 1 THEN ARRAY['fa00000000' || lpad((n - 1)::text, 2, '0')] END AS parents
          FROM generate_series(1, 10) n) s
 WHERE n <> 7;
SELECT ap_migrate_add('fa0000000007', '{fa0000000006}',
  E'CREATE TABLE t_f7 (i int);\nINSERT INTO ledger (rev) VALUES (''f7'');\nSELECT 1 / 0;',
  'DROP TABLE t_f7', 'f7');
SELECT count(*) AS registered FROM ap_migrate.revision;
SELECT ap_migrate_upgrade('head');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM state();
SELECT count(*) AS applied_rows FROM ap_migrate.applied;
SELECT count(*) AS advisory_locks FROM pg_locks WHERE locktype = 'advisory';

-- The same inside a savepoint: after ROLLBACK TO, nothing remains and the
-- same transaction can upgrade again (the flag that refuses nested calls
-- was reset by the error).  An upgrade that succeeded inside a savepoint
-- is undone by ROLLBACK TO as well.
BEGIN;
SAVEPOINT s;
SELECT ap_migrate_upgrade('fa0000000009');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK TO s;
SELECT * FROM state();
SELECT ap_migrate_upgrade('+6');
SELECT * FROM state();
ROLLBACK TO s;
SELECT * FROM state();
COMMIT;
SELECT * FROM state();

-- Fix revision f7 by registering it again: it is pending, so its new
-- content replaces the old one, and the whole chain applies.
SELECT ap_migrate_add('fa0000000007', '{fa0000000006}',
  E'CREATE TABLE t_f7 (i int);\nINSERT INTO ledger (rev) VALUES (''f7'');',
  'DROP TABLE t_f7', 'f7');
SELECT ap_migrate_upgrade('head');
SELECT * FROM state();
SELECT count(*) AS history_upgrades, count(DISTINCT revision) AS distinct_revisions
  FROM ap_migrate.history WHERE operation = 'upgrade';

-- A failing step keeps a custom SQLSTATE too; the applied chain is left
-- as it was.
SELECT ap_migrate_add('fa0000000011', '{fa0000000010}',
  $q$DO $d$ BEGIN RAISE EXCEPTION 'refused by f11' USING ERRCODE = 'AB123'; END $d$$q$,
  NULL, 'f11');
SELECT ap_migrate_upgrade('head');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM ap_migrate_current();
SELECT count(*) AS history_rows FROM ap_migrate.history;

-- start over with an empty catalog
DROP EXTENSION ap_migrate;
DROP TABLE t_f1, t_f2, t_f3, t_f4, t_f5, t_f6, t_f7, t_f8, t_f9, t_f10;
TRUNCATE ledger;
CREATE EXTENSION ap_migrate;

--
-- 6. depends_on and an empty merge.  Two bases: x1 -> x2 and y1 -> y2;
-- x2 depends on y1; m merges x2 and y2 and runs nothing.
--
SELECT reg('0a0000000001', NULL, 'x1'),
       reg('0a0000000002', '{0a0000000001}', 'x2', '{0b0000000001}'),
       reg('0b0000000001', NULL, 'y1'),
       reg('0b0000000002', '{0b0000000001}', 'y2');
SELECT ap_migrate_add('0c0000000000', '{0a0000000002,0b0000000002}',
  '-- a merge: nothing to do', '-- nothing to undo', 'm');
SELECT revision, message, is_current FROM ap_migrate_heads();
SELECT * FROM ap_migrate_plan('head') ORDER BY step;
-- with two bases, +1 from nothing applied is ambiguous
SELECT ap_migrate_upgrade('+1');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM state();
-- upgrading to x2 applies y1 too, before x2, and leaves y1 current beside x2
SELECT * FROM ap_migrate_plan('0a0000000002') ORDER BY step;
SELECT ap_migrate_upgrade('0a0000000002');
SELECT * FROM state();
SELECT revision, message FROM ap_migrate_current() ORDER BY revision;
-- the merge is a step of its own, from both parents, that runs nothing
SELECT * FROM ap_migrate_plan('head') ORDER BY step;
SELECT ap_migrate_upgrade('head');
SELECT * FROM state();
SELECT operation, revision, from_revisions, to_revisions
  FROM ap_migrate.history ORDER BY id;
SELECT revision, message FROM ap_migrate_current();
SELECT ap_migrate_check();

-- The failing statement's line skips comments before it, and the
-- statement shown is the statement, without them.
SELECT ap_migrate_add('fb0000000001', NULL,
       E'CREATE TABLE t_fb (i int);\n-- now fail\n\n/* block /* nested */ */ SELECT 1/0;', NULL, 'line numbers');
SELECT ap_migrate_upgrade('fb0000000001');
\echo :LAST_ERROR_SQLSTATE

DROP EXTENSION ap_migrate;
DROP TABLE t_x1, t_x2, t_y1, t_y2;
DROP FUNCTION reg(text, text[], text, text[]);
DROP FUNCTION state();
DROP TABLE ledger;
DROP SEQUENCE ledger_seq;
