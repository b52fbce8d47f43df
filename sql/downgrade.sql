--
-- downgrade: ap_migrate_downgrade() and the downgrade plans of ap_migrate_plan()
--
-- Every revision's upgrade creates a table t_<name> and its downgrade drops
-- it and appends -<name> to the ledger, which has no constraints, so the
-- ledger shows exactly which downgrades ran, in which order, and how often.
--
CREATE EXTENSION ap_migrate;
CREATE SEQUENCE ledger_seq;
CREATE TABLE ledger (n bigint DEFAULT nextval('ledger_seq'), rev text);

-- reg(id, parents, name): a revision whose message is name
CREATE FUNCTION reg(id text, parents text[], name text)
RETURNS boolean LANGUAGE sql AS $$
  SELECT ap_migrate_add(id, parents,
    format('CREATE TABLE t_%s (i int); INSERT INTO ledger (rev) VALUES (%L);', name, name),
    format('DROP TABLE t_%s; INSERT INTO ledger (rev) VALUES (%L);', name, '-' || name),
    name)
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
-- 1. A linear chain of six, applied; the ledger is emptied so that it
-- shows the downgrades only.
--
SELECT reg('111111111111', NULL, 'r1'),
       reg('222222222222', '{111111111111}', 'r2'),
       reg('333333333333', '{222222222222}', 'r3'),
       reg('444444444444', '{333333333333}', 'r4'),
       reg('555555555555', '{444444444444}', 'r5'),
       reg('666666666666', '{555555555555}', 'r6');
SELECT ap_migrate_upgrade('head');
TRUNCATE ledger;
SELECT * FROM state();

-- plans: -1 is one step; base is every applied revision, children first
SELECT * FROM ap_migrate_plan('-1') ORDER BY step;
SELECT * FROM ap_migrate_plan('base') ORDER BY step;

--
-- 2. -1, -2, a full id, a prefix: each reverts exactly the revisions above
-- the target, newest first, and returns the new current revision.
--
SELECT ap_migrate_downgrade('-1');
SELECT * FROM state();
SELECT ap_migrate_downgrade('-2');
SELECT * FROM state();
SELECT ap_migrate_downgrade('222222222222');
SELECT * FROM state();
SELECT ap_migrate_downgrade('1');
SELECT * FROM state();
-- the current revision itself: nothing to do
SELECT ap_migrate_downgrade('111111111111');
SELECT * FROM state();

-- one history row per reverted revision, from it to its parent
SELECT operation, revision, from_revisions, to_revisions,
       role = current_user AS role_ok, success, duration >= '0' AS duration_ok
  FROM ap_migrate.history WHERE operation = 'downgrade' ORDER BY id;

--
-- 3. Targets a downgrade cannot take.  None of them changes anything.
--
-- a revision that is not applied
SELECT ap_migrate_downgrade('555555555555');
\echo :LAST_ERROR_SQLSTATE
-- a prefix that resolves to a revision that is not applied
SELECT ap_migrate_downgrade('55');
\echo :LAST_ERROR_SQLSTATE
-- moving up
SELECT ap_migrate_downgrade('+1');
\echo :LAST_ERROR_SQLSTATE
-- below base
SELECT ap_migrate_downgrade('-10');
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_downgrade('-2');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM state();

--
-- 4. base reverts everything and returns NULL; the schema objects are gone.
--
SELECT ap_migrate_upgrade('444444444444') IS NOT NULL AS upgraded;
TRUNCATE ledger;
SELECT * FROM ap_migrate_plan('base') ORDER BY step;
SELECT ap_migrate_downgrade('base') IS NULL AS returns_null;
SELECT * FROM state();
SELECT count(*) AS applied_rows FROM ap_migrate.applied;
SELECT * FROM ap_migrate_current();
-- at base: base again is a no-op, -1 is an error
SELECT ap_migrate_downgrade('base') IS NULL AS returns_null;
SELECT ap_migrate_downgrade('-1');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM ap_migrate_plan('base') ORDER BY step;
SELECT * FROM state();

-- start over with an empty catalog
DROP EXTENSION ap_migrate;
TRUNCATE ledger;
CREATE EXTENSION ap_migrate;

--
-- 5. A branch point: a -> b1 -> c1 and a -> b2.  Downgrading to a reverts
-- both branches, children before parents, and among revisions free to go
-- the most recently registered first.
--
SELECT reg('aaaaaaaaaaaa', NULL, 'a'),
       reg('b1b1b1b1b1b1', '{aaaaaaaaaaaa}', 'b1'),
       reg('b2b2b2b2b2b2', '{aaaaaaaaaaaa}', 'b2'),
       reg('c1c1c1c1c1c1', '{b1b1b1b1b1b1}', 'c1');
SELECT ap_migrate_upgrade('heads');
TRUNCATE ledger;
SELECT revision, message FROM ap_migrate_current() ORDER BY revision;
-- with two current revisions, -1 is ambiguous
SELECT ap_migrate_downgrade('-1');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM ap_migrate_plan('aaaaaaaaaaaa') ORDER BY step;
SELECT ap_migrate_downgrade('aaaaaaaaaaaa');
SELECT * FROM state();
SELECT operation, revision, from_revisions, to_revisions
  FROM ap_migrate.history WHERE operation = 'downgrade' ORDER BY id;

-- downgrading one branch leaves the other alone
SELECT ap_migrate_upgrade('heads');
TRUNCATE ledger;
SELECT ap_migrate_downgrade('b1b1b1b1b1b1');
SELECT * FROM state();

-- start over with an empty catalog
DROP EXTENSION ap_migrate;
DROP TABLE t_a, t_b1, t_b2;
TRUNCATE ledger;
CREATE EXTENSION ap_migrate;

--
-- 6. An irreversible revision (no downgrade) in the way refuses the whole
-- downgrade before any step: no NOTICE, no change.  Downgrades that stay
-- above it still work.
--
SELECT reg('111111111111', NULL, 'r1');
SELECT ap_migrate_add('222222222222', '{111111111111}',
  'CREATE TABLE t_r2 (i int)', NULL, 'r2 (irreversible)');
SELECT reg('333333333333', '{222222222222}', 'r3'),
       reg('444444444444', '{333333333333}', 'r4');
SELECT ap_migrate_upgrade('head');
TRUNCATE ledger;
SELECT ap_migrate_downgrade('base');
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_downgrade('111111111111');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM state();
-- the plan shows the step; only running it is refused
SELECT step, revision, message FROM ap_migrate_plan('base') ORDER BY step;
SELECT ap_migrate_downgrade('222222222222');
SELECT * FROM state();
SELECT ap_migrate_downgrade('-1');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM state();

-- start over with an empty catalog
DROP EXTENSION ap_migrate;
DROP TABLE t_r1, t_r2;
TRUNCATE ledger;
CREATE EXTENSION ap_migrate;

--
-- 7. A downgrade that fails at its third step rolls back the two steps
-- before it: every table is still there and every revision still applied.
-- The error keeps its SQLSTATE and names the revision and the statement.
--
SELECT ap_migrate_add('111111111111', NULL,
  'CREATE TABLE t_r1 (i int)',
  E'INSERT INTO ledger (rev) VALUES (''-r1'');\nDROP TABLE t_missing;', 'r1');
SELECT reg('222222222222', '{111111111111}', 'r2'),
       reg('333333333333', '{222222222222}', 'r3');
SELECT ap_migrate_upgrade('head');
TRUNCATE ledger;
SELECT * FROM state();
SELECT ap_migrate_downgrade('base');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM state();
SELECT * FROM ap_migrate_current();
-- inside a savepoint: ROLLBACK TO undoes a successful downgrade, and the
-- failed one leaves the transaction able to downgrade again
BEGIN;
SAVEPOINT s;
SELECT ap_migrate_downgrade('base');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK TO s;
SELECT ap_migrate_downgrade('-2');
SELECT * FROM state();
ROLLBACK TO s;
COMMIT;
SELECT * FROM state();

-- start over with an empty catalog
DROP EXTENSION ap_migrate;
DROP TABLE t_r1, t_r2, t_r3;
TRUNCATE ledger;
CREATE EXTENSION ap_migrate;

--
-- 8. depends_on: y0 -> y1 and x1 -> x2, x2 depending on y1.  Going down
-- to y0 reverts y1, and first x2, which depends on it.
--
SELECT reg('0b0000000000', NULL, 'y0'),
       reg('0b0000000001', '{0b0000000000}', 'y1'),
       reg('0a0000000001', NULL, 'x1'),
       ap_migrate_add('0a0000000002', '{0a0000000001}',
         'CREATE TABLE t_x2 (i int)',
         'DROP TABLE t_x2; INSERT INTO ledger (rev) VALUES (''-x2'')',
         'x2', '{}', '{0b0000000001}');
SELECT ap_migrate_upgrade('heads');
TRUNCATE ledger;
SELECT * FROM ap_migrate_plan('0b0000000000') ORDER BY step;
SELECT ap_migrate_downgrade('0b0000000000');
SELECT * FROM state();

DROP EXTENSION ap_migrate;
DROP TABLE t_x1, t_y0;
DROP FUNCTION reg(text, text[], text);
DROP FUNCTION state();
DROP TABLE ledger;
DROP SEQUENCE ledger_seq;
