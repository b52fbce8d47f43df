--
-- Session hygiene (RELIABILITY.md R9), execution identity and privileges
--
\set VERBOSITY default
CREATE EXTENSION ap_migrate;

-- Roles (cluster-wide, so prefixed and dropped at the end) and schemas.
CREATE ROLE apm_sess_stepper NOLOGIN;            -- a migration SETs ROLE to it
CREATE ROLE apm_sess_owner NOLOGIN NOSUPERUSER;  -- registers revisions
CREATE ROLE apm_sess_app NOLOGIN NOSUPERUSER;    -- applies, with EXECUTE only
CREATE ROLE apm_sess_nobody NOLOGIN NOSUPERUSER; -- no grant at all
CREATE SCHEMA sess_work;
CREATE SCHEMA sess_a;
CREATE SCHEMA sess_b;
CREATE SCHEMA sess_local;
GRANT USAGE, CREATE ON SCHEMA sess_work TO apm_sess_stepper, apm_sess_owner;

-- The settings R9 compares, as rows.
CREATE FUNCTION public.sess_settings(OUT name text, OUT value text) RETURNS SETOF record
LANGUAGE sql STABLE AS $$
  VALUES ('current_user', current_user::text), ('session_user', session_user::text),
         ('role', current_setting('role')), ('search_path', current_setting('search_path')),
         ('lock_timeout', current_setting('lock_timeout')),
         ('statement_timeout', current_setting('statement_timeout')),
         ('work_mem', current_setting('work_mem')),
         ('application_name', current_setting('application_name')) $$;

-- Deterministic session settings of our own.
SET application_name = 'apm_sess_test';
SET work_mem = '3MB';
SET lock_timeout = '5s';
SET statement_timeout = '10min';
SET search_path = sess_work, public;
CREATE TEMP TABLE sess_before AS SELECT * FROM public.sess_settings();
SELECT name, CASE WHEN name LIKE '%user' THEN '(caller)' ELSE value END AS value
  FROM sess_before ORDER BY name;

-- 1. A migration (owned by the caller) that changes every setting it can,
-- creates a table, then RESET ALL.  The table records what was in effect
-- during the step.  (Changing the role is refused: escalation.sql.)
SELECT ap_migrate_add('5e0000000001', NULL, $$
SET search_path = pg_catalog;
SET work_mem = '7MB';
SELECT set_config('application_name', 'evil', false);
SET lock_timeout = '1s';
CREATE TABLE sess_work.sess_hyg AS
  SELECT current_user::text AS who, current_setting('search_path') AS search_path,
         current_setting('work_mem') AS work_mem, current_setting('application_name') AS app,
         current_setting('lock_timeout') AS lock_timeout;
RESET ALL;
$$, 'DROP TABLE sess_work.sess_hyg', 'session hygiene');
SELECT ap_migrate_upgrade('head');

-- during the step: every change was in effect, and the table belongs to
-- the revision's owner, the caller
SELECT * FROM sess_work.sess_hyg;
SELECT tableowner FROM pg_tables WHERE schemaname = 'sess_work' AND tablename = 'sess_hyg';
-- after the call: zero differences
SELECT b.name, b.value = a.value AS unchanged,
       CASE WHEN b.name LIKE '%user' THEN '(caller)' ELSE a.value END AS value_after
  FROM sess_before b JOIN public.sess_settings() a USING (name) ORDER BY b.name;
-- the bookkeeping names the caller, not the role the step switched to
SELECT applied_by = session_user AS applied_by_caller FROM ap_migrate.applied WHERE revision = '5e0000000001';
SELECT role = session_user AS logged_as_caller FROM ap_migrate.history WHERE revision = '5e0000000001';
-- restore, whatever happened above, so that later sections start clean
RESET ROLE;
SET application_name = 'apm_sess_test';
SET work_mem = '3MB';
SET lock_timeout = '5s';
SET statement_timeout = '10min';
SET search_path = sess_work, public;

-- 2. SET LOCAL inside a migration is in effect for the step only, even
-- when the caller's transaction goes on after the call.
SELECT ap_migrate_add('5e0000000002', '{5e0000000001}', $$
SET LOCAL search_path = sess_local;
SET LOCAL work_mem = '9MB';
CREATE TABLE sess_local_t AS SELECT current_setting('work_mem') AS work_mem;
$$, 'DROP TABLE sess_local.sess_local_t', 'set local');
BEGIN;
SELECT ap_migrate_upgrade('head');
SELECT current_setting('search_path') AS search_path, current_setting('work_mem') AS work_mem;
COMMIT;
SELECT current_setting('search_path') AS search_path, current_setting('work_mem') AS work_mem;
SELECT schemaname, tablename, (SELECT work_mem FROM sess_local.sess_local_t) AS work_mem_in_step
  FROM pg_tables WHERE tablename = 'sess_local_t';
SET search_path = sess_work, public;

-- 3. Unqualified objects land in the caller's search_path at call time,
-- not at registration time.
SET search_path = sess_a;
SELECT ap_migrate_add('5e0000000003', '{5e0000000002}', 'CREATE TABLE sess_placed (id int)',
                      'DROP TABLE sess_placed', 'placement');
SET search_path = sess_b;
SELECT ap_migrate_upgrade('head');
SELECT schemaname, tablename FROM pg_tables WHERE tablename = 'sess_placed';
SET search_path = sess_work, public;

-- 4. A revision runs as its owner.  apm_sess_owner (NOSUPERUSER, CREATE on
-- sess_work) registers one; the superuser applies it; the SQL sees the
-- owner as current_user and cannot change the caller's settings.
GRANT EXECUTE ON FUNCTION ap_migrate_add(text, text[], text, text, text, text[], text[], boolean, regrole)
  TO apm_sess_owner;
SET ROLE apm_sess_owner;
SELECT ap_migrate_add('5e0000000004', '{5e0000000003}', $$
CREATE TABLE sess_work.sess_log (who name);
INSERT INTO sess_work.sess_log SELECT current_user;
SELECT set_config('search_path', 'sess_a', false);
$$, 'DROP TABLE sess_work.sess_log', 'owned by apm_sess_owner');
RESET ROLE;
SELECT owner FROM ap_migrate.revision WHERE id = '5e0000000004';
SELECT ap_migrate_upgrade('head');
SELECT who, (SELECT rolsuper FROM pg_roles WHERE rolname = who) AS is_superuser FROM sess_work.sess_log;
SELECT tableowner FROM pg_tables WHERE tablename = 'sess_log';
SELECT current_setting('search_path') AS search_path, current_user = session_user AS caller_restored;
SET search_path = sess_work, public;

-- The owner's SQL cannot escalate (42501, and the role stays NOSUPERUSER),
-- switch role or create temporary objects in the caller's session: it runs
-- in a security-restricted operation.  Each attempt rolls back the call.
BEGIN;
SET ROLE apm_sess_owner;
SELECT ap_migrate_add('5e0000000005', '{5e0000000004}', 'ALTER ROLE apm_sess_owner SUPERUSER', NULL, 'escalate');
RESET ROLE;
SELECT ap_migrate_upgrade('head');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
SELECT rolsuper FROM pg_roles WHERE rolname = 'apm_sess_owner';
BEGIN;
SET ROLE apm_sess_owner;
SELECT ap_migrate_add('5e0000000005', '{5e0000000004}', $$SELECT set_config('role', 'apm_sess_stepper', false)$$, NULL, 'set role');
RESET ROLE;
SELECT ap_migrate_upgrade('head');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN;
SET ROLE apm_sess_owner;
SELECT ap_migrate_add('5e0000000005', '{5e0000000004}', 'CREATE TEMP TABLE sess_tmp (id int)', NULL, 'temp table');
RESET ROLE;
SELECT ap_migrate_upgrade('head');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
SELECT count(*) AS revisions, (SELECT count(*) FROM ap_migrate.applied) AS applied FROM ap_migrate.revision;

-- 5. A superuser-owned revision and a non-superuser caller holding only
-- EXECUTE on ap_migrate_upgrade: the call is refused before any step
-- (42501; step 1, owned by apm_sess_owner, does not run either), and the
-- caller cannot lift the restriction itself (42501).
SET ROLE apm_sess_owner;
SELECT ap_migrate_add('5e0000000006', '{5e0000000004}', 'CREATE TABLE sess_work.sess_first (id int)',
                      'DROP TABLE sess_work.sess_first', 'owned by apm_sess_owner');
RESET ROLE;
SELECT ap_migrate_add('5e0000000007', '{5e0000000006}',
                      'CREATE TABLE sess_work.sess_su AS SELECT current_user::text AS who',
                      'DROP TABLE sess_work.sess_su', 'owned by a superuser');
GRANT EXECUTE ON FUNCTION ap_migrate_upgrade(text) TO apm_sess_app;
SET ROLE apm_sess_app;
SELECT ap_migrate_upgrade('head');
\echo :LAST_ERROR_SQLSTATE
SET ap_migrate.allow_superuser_migrations = on;
\echo :LAST_ERROR_SQLSTATE
SELECT set_config('ap_migrate.allow_superuser_migrations', 'on', true);
\echo :LAST_ERROR_SQLSTATE
SHOW ap_migrate.allow_superuser_migrations;
RESET ROLE;
SELECT count(*) AS applied, to_regclass('sess_work.sess_first') IS NULL AS no_first,
       to_regclass('sess_work.sess_su') IS NULL AS no_su
  FROM ap_migrate.applied;
-- once a superuser allows it, the caller can apply both; each runs as its
-- owner and the bookkeeping names the caller
SET ap_migrate.allow_superuser_migrations = on;
SET ROLE apm_sess_app;
SELECT ap_migrate_upgrade('head');
RESET ROLE;
RESET ap_migrate.allow_superuser_migrations;
SELECT tableowner FROM pg_tables WHERE tablename = 'sess_first';
SELECT (SELECT rolsuper FROM pg_roles WHERE rolname = who) AS ran_as_superuser FROM sess_work.sess_su;
SELECT revision, applied_by FROM ap_migrate.applied WHERE revision >= '5e0000000006' ORDER BY revision;

-- 6. Privileges.  A role without grants can call none of the functions
-- (EXECUTE is revoked from PUBLIC) and write none of the tables.
CREATE FUNCTION public.sess_try(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE sql;
  RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
CREATE TEMP TABLE sess_catalog AS
  SELECT (SELECT count(*) FROM ap_migrate.revision) AS revisions,
         (SELECT count(*) FROM ap_migrate.applied) AS applied,
         (SELECT count(*) FROM ap_migrate.history) AS history;
GRANT SELECT ON sess_catalog TO apm_sess_nobody;
CREATE TEMP VIEW sess_writes AS
  SELECT t, op, format(CASE op
           WHEN 'INSERT' THEN 'INSERT INTO ap_migrate.%I SELECT * FROM ap_migrate.%I'
           WHEN 'UPDATE' THEN 'UPDATE ap_migrate.%I SET %I = %I'
           WHEN 'DELETE' THEN 'DELETE FROM ap_migrate.%I'
           ELSE 'TRUNCATE ap_migrate.%I' END,
         t, CASE WHEN op = 'UPDATE' THEN c ELSE t END, c) AS sql
    FROM unnest('{revision,applied,history}'::text[], '{id,revision,role}'::text[])
           WITH ORDINALITY AS u(t, c, tn),
         unnest('{INSERT,UPDATE,DELETE,TRUNCATE}'::text[]) WITH ORDINALITY AS o(op, opn)
   ORDER BY tn, opn;
GRANT SELECT ON sess_writes TO apm_sess_nobody;

SET ROLE apm_sess_nobody;
SELECT ap_migrate_upgrade('head');
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_add('5e0000000008', '{5e0000000007}', 'SELECT 1', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM ap_migrate_current();
\echo :LAST_ERROR_SQLSTATE
SELECT t, op, public.sess_try(sql) FROM sess_writes;
RESET ROLE;

-- with USAGE on the schema and SELECT on the tables (a read-only
-- reporter), every write is refused by the table privileges
GRANT USAGE ON SCHEMA ap_migrate TO apm_sess_nobody;
GRANT SELECT ON ap_migrate.revision, ap_migrate.applied, ap_migrate.history TO apm_sess_nobody;
SET ROLE apm_sess_nobody;
SELECT t, op, public.sess_try(sql) FROM sess_writes;
SELECT count(*) AS revisions FROM ap_migrate.revision;
RESET ROLE;
REVOKE SELECT ON ap_migrate.revision, ap_migrate.applied, ap_migrate.history FROM apm_sess_nobody;
REVOKE USAGE ON SCHEMA ap_migrate FROM apm_sess_nobody;
SELECT c.revisions = (SELECT count(*) FROM ap_migrate.revision) AS revisions_unchanged,
       c.applied = (SELECT count(*) FROM ap_migrate.applied) AS applied_unchanged,
       c.history = (SELECT count(*) FROM ap_migrate.history) AS history_unchanged
  FROM sess_catalog c;

-- EXECUTE on ap_migrate_add alone is enough to register: the function
-- writes the catalog although the role has no table privilege at all.
GRANT EXECUTE ON FUNCTION ap_migrate_add(text, text[], text, text, text, text[], text[], boolean, regrole)
  TO apm_sess_nobody;
SET ROLE apm_sess_nobody;
SELECT ap_migrate_add('5e0000000008', '{5e0000000007}', 'SELECT 1', NULL, 'by nobody');
-- but not on behalf of a role it is not a member of
SELECT ap_migrate_add('5e0000000009', '{5e0000000008}', 'SELECT 1', NULL, 'for another', owner => 'apm_sess_owner');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT id, owner, message FROM ap_migrate.revision WHERE id >= '5e0000000008' ORDER BY id;
SELECT has_table_privilege('apm_sess_nobody', 'ap_migrate.revision', 'INSERT') AS can_insert,
       has_schema_privilege('apm_sess_nobody', 'ap_migrate', 'USAGE') AS has_usage;

-- Cleanup.
RESET search_path;
DROP EXTENSION ap_migrate;
SET client_min_messages = warning;
DROP SCHEMA sess_work, sess_a, sess_b, sess_local CASCADE;
RESET client_min_messages;
DROP FUNCTION public.sess_try(text);
DROP FUNCTION public.sess_settings();
DROP VIEW sess_writes;
DROP TABLE sess_catalog, sess_before;
DROP OWNED BY apm_sess_stepper, apm_sess_owner, apm_sess_app, apm_sess_nobody;
DROP ROLE apm_sess_stepper, apm_sess_owner, apm_sess_app, apm_sess_nobody;
RESET ALL;
