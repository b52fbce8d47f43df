--
-- security: the privilege model against the attacks of RELIABILITY.md S1-S8,
-- and bad-input cases #12, #14, #38, #39 and #40 of section 6.
--
--   sec_installer  LOGIN, CREATE on the database only: installs ap_migrate
--   sec_delegate   gets EXECUTE on ap_migrate_upgrade from the installer
--   sec_app        NOSUPERUSER role registering revisions
--   sec_other      unrelated role, no grant at all
--   sec_evil       plants trap functions, operators and types
--
\set VERBOSITY default
SELECT current_database() AS db \gset
CREATE ROLE sec_installer LOGIN;
CREATE ROLE sec_delegate;
CREATE ROLE sec_app;
CREATE ROLE sec_other;
CREATE ROLE sec_evil;
SELECT count(*) AS roles_before FROM pg_roles \gset
GRANT CREATE ON DATABASE :"db" TO sec_installer, sec_evil;
GRANT CREATE ON SCHEMA public TO sec_installer;
CREATE SCHEMA sec_app AUTHORIZATION sec_app;
CREATE TABLE public.sec_victim (id int);

-- run a statement, return 'ok' or its SQLSTATE
CREATE FUNCTION public.sec_try(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE sql;
  RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE;
END $$;
-- every trap calls sec_fired(): a row in sec_trap, a WARNING, and a step of
-- sec_trap_seq, which survives the rollback of a failed call
CREATE TABLE public.sec_trap (what text);
CREATE SEQUENCE public.sec_trap_seq;
GRANT INSERT ON public.sec_trap TO PUBLIC;
GRANT USAGE ON SEQUENCE public.sec_trap_seq TO PUBLIC;
CREATE FUNCTION public.sec_fired(what text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_catalog.nextval('public.sec_trap_seq'::pg_catalog.regclass);
  INSERT INTO public.sec_trap VALUES (what);
  RAISE WARNING 'trap % fired', what;
  RETURN true;
END $$;
CREATE VIEW public.sec_traps AS
  SELECT (SELECT count(*) FROM public.sec_trap) AS trap_rows,
         (SELECT is_called FROM public.sec_trap_seq) AS ever_fired;
------------------------------------------------------------------------
-- 1. S6 (CVE-2022-2625 class): a schema named like the extension's, made
-- beforehand by the installer, is not adopted; the installer cannot put
-- functions into pg_catalog; look-alike functions in public stay apart.
------------------------------------------------------------------------
SET ROLE sec_installer;
CREATE SCHEMA ap_migrate;
CREATE TABLE ap_migrate.revision (id text);
INSERT INTO ap_migrate.revision VALUES ('planted');
-- (terse: PostgreSQL 18 adds the script's file and line as CONTEXT)
\set VERBOSITY terse
CREATE EXTENSION ap_migrate;
\set VERBOSITY default
\echo :LAST_ERROR_SQLSTATE
CREATE FUNCTION pg_catalog.ap_migrate_check() RETURNS boolean LANGUAGE sql AS 'SELECT true';
\echo :LAST_ERROR_SQLSTATE
CREATE FUNCTION public.ap_migrate_upgrade(target text) RETURNS text LANGUAGE sql
  AS $$ SELECT 'trap: ' || public.sec_fired('public.ap_migrate_upgrade(text)') $$;
CREATE FUNCTION public.ap_migrate_upgrade() RETURNS text LANGUAGE sql
  AS $$ SELECT 'trap: ' || public.sec_fired('public.ap_migrate_upgrade()') $$;
RESET ROLE;
SELECT (SELECT count(*) FROM pg_extension WHERE extname = 'ap_migrate') AS extensions,
       nspowner::regrole AS schema_owner, (SELECT id FROM ap_migrate.revision) AS planted_row
  FROM pg_namespace WHERE nspname = 'ap_migrate';
SET ROLE sec_installer;
DROP TABLE ap_migrate.revision;
DROP SCHEMA ap_migrate;

------------------------------------------------------------------------
-- 2. S8: a trusted install by a role with CREATE on the database only.
-- Every member belongs to the bootstrap superuser; the installer owns the
-- extension, gets EXECUTE with grant option, SELECT, and no write access.
------------------------------------------------------------------------
CREATE EXTENSION ap_migrate;
RESET ROLE;
-- the whole catalog as one checksum, to show that refused calls change nothing
CREATE FUNCTION public.sec_fp() RETURNS text LANGUAGE sql AS $$
  SELECT md5(concat(
    (SELECT string_agg(r::text, '|' ORDER BY seq) FROM ap_migrate.revision r),
    (SELECT string_agg(e::text, '|' ORDER BY revision, kind, position) FROM ap_migrate.revision_edge e),
    (SELECT string_agg(a::text, '|' ORDER BY revision) FROM ap_migrate.applied a),
    (SELECT string_agg(h::text, '|' ORDER BY id) FROM ap_migrate.history h))) $$;

SELECT relowner AS bootstrap FROM pg_class WHERE oid = 'pg_class'::regclass \gset
SELECT extowner::regrole AS extension_owner, (SELECT count(*) FROM pg_roles) - :roles_before AS roles_created
  FROM pg_extension WHERE extname = 'ap_migrate';
SELECT count(*) AS members,
       count(*) FILTER (WHERE coalesce(p.proowner, c.relowner, n.nspowner) = :bootstrap) AS bootstrap_owned
  FROM pg_depend d
  LEFT JOIN pg_proc p ON d.classid = 'pg_proc'::regclass AND p.oid = d.objid
  LEFT JOIN pg_class c ON d.classid = 'pg_class'::regclass AND c.oid = d.objid
  LEFT JOIN pg_namespace n ON d.classid = 'pg_namespace'::regclass AND n.oid = d.objid
 WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
   AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'ap_migrate')
   -- tables' row types (members since PostgreSQL 17) are counted below
   AND NOT (d.classid = 'pg_type'::regclass AND d.objid IN
            (SELECT t.oid FROM pg_type t JOIN pg_class r ON r.reltype IN (t.oid, t.typelem)
              WHERE r.relkind <> 'c'));
-- indexes and row types too
SELECT (SELECT count(*) FROM pg_class WHERE relnamespace = 'ap_migrate'::regnamespace
           AND relowner <> :bootstrap) AS other_relations,
       (SELECT count(*) FROM pg_type WHERE typnamespace = 'ap_migrate'::regnamespace
           AND typowner <> :bootstrap) AS other_types;
-- what the installer owns here: the extension and its two look-alike functions
SELECT classid::regclass, count(*) FROM pg_shdepend
 WHERE refobjid = 'sec_installer'::regrole AND deptype = 'o'
   AND dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
 GROUP BY 1 ORDER BY classid::regclass::text;
-- the look-alikes were neither adopted nor replaced
SELECT p.oid::regprocedure, proowner::regrole, prosrc LIKE '%sec_fired%' AS trap_body,
       EXISTS (SELECT FROM pg_depend WHERE objid = p.oid AND deptype = 'e') AS member
  FROM pg_proc p WHERE pronamespace = 'public'::regnamespace AND proname = 'ap_migrate_upgrade'
 ORDER BY p.oid::regprocedure::text;
-- every SQL-callable function for the installer, none for anyone else (the
-- trigger function is nobody's to call)
SELECT p.oid::regprocedure AS function,
       has_function_privilege('sec_installer', p.oid, 'EXECUTE') AS installer,
       has_function_privilege('sec_installer', p.oid, 'EXECUTE WITH GRANT OPTION') AS grantable,
       has_function_privilege('sec_other', p.oid, 'EXECUTE') AS other,
       has_function_privilege('public', p.oid, 'EXECUTE') AS public
  FROM pg_depend d JOIN pg_proc p ON p.oid = d.objid
 WHERE d.classid = 'pg_proc'::regclass AND d.refclassid = 'pg_extension'::regclass
   AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'ap_migrate')
 ORDER BY p.oid::regprocedure::text;
-- the installer may insert (for pg_restore; the catalog_guard trigger
-- refuses it outside restore mode, section 3) but not pass that on, and
-- nobody may change or remove rows
SELECT c.relname, r.role,
       has_table_privilege(r.role, c.oid, 'SELECT') AS can_select,
       has_table_privilege(r.role, c.oid, 'INSERT') AS can_insert,
       has_table_privilege(r.role, c.oid, 'INSERT WITH GRANT OPTION') AS can_grant_insert,
       has_table_privilege(r.role, c.oid, 'UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER') AS can_change
  FROM pg_class c, (VALUES ('sec_installer'), ('sec_other')) r(role)
 WHERE c.relnamespace = 'ap_migrate'::regnamespace AND c.relkind = 'r'
 ORDER BY 1, 2;
-- UPDATE on the sequences is pg_restore's setval
SELECT c.relname, has_sequence_privilege('sec_installer', c.oid, 'SELECT') AS installer_select,
       has_sequence_privilege('sec_installer', c.oid, 'UPDATE') AS installer_update,
       has_sequence_privilege('sec_installer', c.oid, 'UPDATE WITH GRANT OPTION') AS installer_grant_update,
       has_sequence_privilege('sec_other', c.oid, 'SELECT, USAGE, UPDATE') AS other
  FROM pg_class c WHERE c.relnamespace = 'ap_migrate'::regnamespace AND c.relkind = 'S' ORDER BY 1;

-- the installer cannot loosen any of it: it owns the extension, not its members
SET ROLE sec_installer;
SELECT stmt, public.sec_try(stmt) AS result FROM (VALUES
  ('ALTER EXTENSION ap_migrate DROP TABLE ap_migrate.history'),
  ('ALTER TABLE ap_migrate.history DISABLE TRIGGER history_append_only'),
  ('ALTER TABLE ap_migrate.revision DISABLE TRIGGER catalog_guard'),
  ('DROP TRIGGER catalog_guard ON ap_migrate.applied'),
  ('ALTER SEQUENCE ap_migrate.history_seq RESTART'),
  ('CREATE TRIGGER sec_t BEFORE INSERT ON ap_migrate.revision FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger()'),
  ('CREATE TABLE ap_migrate.sec_planted (id int)'),
  ('ALTER FUNCTION ap_migrate_stamp(text) SECURITY DEFINER'),
  ('CREATE OR REPLACE FUNCTION pg_catalog.ap_migrate_check() RETURNS boolean LANGUAGE sql AS ''SELECT true''')) v(stmt)
 ORDER BY 1;

-- the grant option lets the installer delegate: sec_delegate applies a
-- revision of the installer's (which runs as the installer) and cannot pass
-- the privilege on
CREATE SCHEMA sec_inst;
SELECT ap_migrate_add('5ec000000001', NULL, 'CREATE TABLE sec_inst.t1 (id int)', 'DROP TABLE sec_inst.t1',
                      'by the installer');
GRANT EXECUTE ON FUNCTION ap_migrate_upgrade(text) TO sec_delegate;
SET ROLE sec_delegate;
SELECT ap_migrate_upgrade('head');
SELECT ap_migrate_downgrade('base');
\echo :LAST_ERROR_SQLSTATE
GRANT EXECUTE ON FUNCTION ap_migrate_upgrade(text) TO sec_other;
RESET ROLE;
SELECT tableowner FROM pg_tables WHERE schemaname = 'sec_inst';
SELECT revision, applied_by FROM ap_migrate.applied;
SELECT has_function_privilege('sec_other', 'ap_migrate_upgrade(text)', 'EXECUTE') AS other_can_upgrade;

-- S6 again: with search_path = public the extension's functions (in
-- pg_catalog, searched first) are called, never the look-alikes.  The
-- qualified call shows the trap works.
SET search_path = public;
SELECT ap_migrate_upgrade('head'), ap_migrate_upgrade();
SET ROLE sec_installer;
SELECT ap_migrate_upgrade('head'), ap_migrate_upgrade();
RESET ROLE;
RESET search_path;
SELECT * FROM public.sec_traps;
SELECT public.ap_migrate_upgrade('head') AS qualified;
TRUNCATE public.sec_trap;
ALTER SEQUENCE public.sec_trap_seq RESTART;

-- the same install in a second database
CREATE DATABASE sec_db2;
GRANT CREATE ON DATABASE sec_db2 TO sec_installer;
\c sec_db2
SET ROLE sec_installer;
CREATE EXTENSION ap_migrate;
SELECT ap_migrate_add('5ec0000000d2', NULL, 'SELECT 1', 'SELECT 1', 'second database');
SELECT ap_migrate_upgrade('head');
RESET ROLE;
SELECT extowner::regrole AS extension_owner,
       (SELECT count(*) FROM pg_class WHERE relnamespace = 'ap_migrate'::regnamespace
           AND relowner <> (SELECT relowner FROM pg_class WHERE oid = 'pg_class'::regclass)) AS other_owners,
       (SELECT count(*) FROM pg_proc WHERE proname LIKE 'ap\_migrate\_%'
           AND has_function_privilege('sec_installer', oid, 'EXECUTE')) AS installer_functions,
       (SELECT count(*) FROM pg_proc WHERE proname LIKE 'ap\_migrate\_%'
           AND has_function_privilege('public', oid, 'EXECUTE')) AS public_functions,
       (SELECT count(*) FROM ap_migrate.applied) AS applied
  FROM pg_extension WHERE extname = 'ap_migrate';
\c :db
DROP DATABASE sec_db2;
SELECT count(*) AS applied_here FROM ap_migrate.applied;

------------------------------------------------------------------------
-- 3. S3: no direct write on any catalog table, neither for the installer
-- (who may read them) nor for an unrelated role: 42501 everywhere.  The
-- installer holds INSERT, for pg_restore, and the catalog_guard trigger
-- refuses its rows; UPDATE, DELETE and TRUNCATE nobody holds.
------------------------------------------------------------------------
SELECT public.sec_fp() AS fp \gset
CREATE TEMP VIEW sec_writes AS
  SELECT t, format(CASE op
           WHEN 'INSERT' THEN 'INSERT INTO ap_migrate.%I DEFAULT VALUES'
           WHEN 'UPDATE' THEN 'UPDATE ap_migrate.%I SET %I = %I'
           WHEN 'DELETE' THEN 'DELETE FROM ap_migrate.%I'
           ELSE 'TRUNCATE ap_migrate.%I' END, t, CASE op WHEN 'UPDATE' THEN c ELSE t END, c) AS sql,
         op, opn
    FROM (VALUES ('revision', 'id'), ('revision_edge', 'target'), ('applied', 'revision'),
                 ('history', 'role')) v(t, c),
         unnest('{INSERT,UPDATE,DELETE,TRUNCATE}'::text[]) WITH ORDINALITY o(op, opn);
GRANT SELECT ON sec_writes TO sec_installer, sec_other;
SET ROLE sec_installer;
SELECT t, string_agg(op || ' ' || public.sec_try(sql), ', ' ORDER BY opn) AS installer
  FROM sec_writes GROUP BY t ORDER BY t;
SET ROLE sec_other;
SELECT t, string_agg(op || ' ' || public.sec_try(sql), ', ' ORDER BY opn) AS unrelated
  FROM sec_writes GROUP BY t ORDER BY t;
SELECT ap_migrate_stamp('base');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT public.sec_fp() = :'fp' AS catalog_unchanged;
-- the installer's direct insert, with its message
SET ROLE sec_installer;
INSERT INTO ap_migrate.applied VALUES ('5ec0ffffffff', 'x', now(), 'sec_installer');
RESET ROLE;

-- Restore mode (ap_migrate.restore, a user setting): the installer's rows
-- pass the trigger only as registration would take them.  A revision must
-- belong to a role the installer is a member of (42501) and carry the
-- checksum of its SQL (23514); otherwise the installer could plant a
-- revision "owned" by a superuser for a superuser to run.  Rows that pass
-- meet the table's constraints next (here NOT NULL, 23502).  UPDATE, DELETE
-- and TRUNCATE stay refused, and a role without INSERT gains nothing.
CREATE TEMP VIEW sec_forged AS
  SELECT n, what, format('INSERT INTO ap_migrate.revision (id, seq, down_revision, message, upgrade_sql, '
                         'downgrade_sql, branch_labels, depends_on, transactional, is_head, checksum, '
                         'checksum_algorithm, owner, registered_at, search_path, owner_name) '
                         'SELECT ''5ec3ffffff0%s'', seq + 1000, ''{}'', message, %s, downgrade_sql, ''{}'', ''{}'', '
                         'transactional, true, checksum, %s, owner, registered_at, search_path, %s '
                         'FROM ap_migrate.revision WHERE id = ''5ec000000001''', n, up, alg, owner) AS sql
    FROM (VALUES (1, 'owned by the installer', 'upgrade_sql', '1', 'owner_name'),
                 (2, 'owned by the bootstrap superuser', 'upgrade_sql', '1',
                  '(SELECT rolname FROM pg_roles WHERE oid = ' || :'bootstrap' || ')'),
                 (3, 'owned by an unrelated role', 'upgrade_sql', '1', '''sec_other'''),
                 (4, 'SQL changed, checksum kept', 'upgrade_sql || '' ''', '1', 'owner_name'),
                 (5, 'unknown checksum algorithm', 'upgrade_sql', '2', 'owner_name')) v(n, what, up, alg, owner);
GRANT SELECT ON sec_forged TO sec_installer, sec_other;
SELECT owner FROM ap_migrate.revision WHERE id = '5ec000000001';
SET ROLE sec_installer;
SET ap_migrate.restore = on;
BEGIN;
SELECT what, public.sec_try(sql) AS installer FROM sec_forged ORDER BY n;
SELECT id, owner, checksum_algorithm FROM ap_migrate.revision WHERE id LIKE '5ec3%';
ROLLBACK;
SELECT t, string_agg(op || ' ' || public.sec_try(sql), ', ' ORDER BY opn) AS installer_restoring
  FROM sec_writes GROUP BY t ORDER BY t;
-- the messages
INSERT INTO ap_migrate.revision (id, seq, down_revision, message, upgrade_sql, downgrade_sql, branch_labels,
                                 depends_on, transactional, is_head, checksum, checksum_algorithm, owner,
                                 registered_at, search_path, owner_name)
  SELECT '5ec3ffffff02', seq + 1000, '{}', message, upgrade_sql, downgrade_sql, '{}', '{}', transactional, true,
         checksum, 1, owner, registered_at, search_path, 'sec_other'
    FROM ap_migrate.revision WHERE id = '5ec000000001';
INSERT INTO ap_migrate.revision (id, seq, down_revision, message, upgrade_sql, downgrade_sql, branch_labels,
                                 depends_on, transactional, is_head, checksum, checksum_algorithm, owner,
                                 registered_at, search_path, owner_name)
  SELECT '5ec3ffffff04', seq + 1000, '{}', message, upgrade_sql || ' ', downgrade_sql, '{}', '{}', transactional,
         true, checksum, 1, owner, registered_at, search_path, owner_name
    FROM ap_migrate.revision WHERE id = '5ec000000001';
RESET ap_migrate.restore;
SET ROLE sec_other;
SET ap_migrate.restore = on;
SELECT what, public.sec_try(sql) AS unrelated_restoring FROM sec_forged ORDER BY n;
RESET ap_migrate.restore;
RESET ROLE;
SELECT public.sec_fp() = :'fp' AS catalog_unchanged;

------------------------------------------------------------------------
-- 4. S1: revisions registered by sec_app (NOSUPERUSER) run as sec_app even
-- when a superuser applies them: escalation fails with 42501 and leaves no
-- trace (each attempt in a transaction that is rolled back).
------------------------------------------------------------------------
SET ROLE sec_installer;
GRANT EXECUTE ON FUNCTION ap_migrate_add(text, text[], text, text, text, text[], text[], boolean, regrole),
                          ap_migrate_load(text, regrole), ap_migrate_upgrade(text) TO sec_app;
RESET ROLE;
BEGIN;
SET LOCAL ROLE sec_app;
SELECT ap_migrate_add('5ec0000000a1', NULL, 'ALTER ROLE sec_app SUPERUSER', NULL, 'become superuser');
RESET ROLE;
SELECT ap_migrate_upgrade('5ec0000000a1');
ROLLBACK;
\echo :LAST_ERROR_SQLSTATE
BEGIN;
SET LOCAL ROLE sec_app;
SELECT ap_migrate_add('5ec0000000a2', NULL, 'GRANT pg_write_server_files TO sec_app', NULL, 'join a predefined role');
RESET ROLE;
SELECT ap_migrate_upgrade('5ec0000000a2');
ROLLBACK;
\echo :LAST_ERROR_SQLSTATE
BEGIN;
SET LOCAL ROLE sec_app;
SELECT ap_migrate_add('5ec0000000a3', NULL, 'COPY (SELECT 1) TO PROGRAM ''touch sec_pwned''', NULL, 'run a program');
RESET ROLE;
SELECT ap_migrate_upgrade('5ec0000000a3');
ROLLBACK;
\echo :LAST_ERROR_SQLSTATE
-- code queued to run at the superuser's COMMIT, outside the step
BEGIN;
SET LOCAL ROLE sec_app;
SELECT ap_migrate_add('5ec0000000a4', NULL, $$
CREATE TABLE sec_app.d (id int);
CREATE FUNCTION sec_app.d_trg() RETURNS trigger LANGUAGE plpgsql
  AS 'BEGIN ALTER ROLE sec_app SUPERUSER; RETURN NULL; END';
CREATE CONSTRAINT TRIGGER d_trg AFTER INSERT ON sec_app.d DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION sec_app.d_trg();
INSERT INTO sec_app.d VALUES (1);
$$, NULL, 'deferred trigger');
RESET ROLE;
SELECT ap_migrate_upgrade('5ec0000000a4');
ROLLBACK;
\echo :LAST_ERROR_SQLSTATE
BEGIN;
SET LOCAL ROLE sec_app;
SELECT ap_migrate_add('5ec0000000a5', NULL, $$
CREATE FUNCTION sec_app.evt() RETURNS event_trigger LANGUAGE plpgsql
  AS 'BEGIN ALTER ROLE sec_app SUPERUSER; END';
CREATE EVENT TRIGGER sec_evt ON ddl_command_end EXECUTE FUNCTION sec_app.evt();
$$, NULL, 'event trigger');
RESET ROLE;
SELECT ap_migrate_upgrade('5ec0000000a5');
ROLLBACK;
\echo :LAST_ERROR_SQLSTATE
BEGIN;
SET LOCAL ROLE sec_app;
SELECT ap_migrate_add('5ec0000000a6', NULL, 'SET SESSION AUTHORIZATION DEFAULT', NULL, 'session authorization');
RESET ROLE;
SELECT ap_migrate_upgrade('5ec0000000a6');
ROLLBACK;
\echo :LAST_ERROR_SQLSTATE
BEGIN;
SET LOCAL ROLE sec_app;
SELECT ap_migrate_add('5ec0000000a7', NULL,
                      'SELECT set_config(''ap_migrate.allow_superuser_migrations'', ''on'', false)', NULL,
                      'lift the superuser guard');
RESET ROLE;
SELECT ap_migrate_upgrade('5ec0000000a7');
ROLLBACK;
\echo :LAST_ERROR_SQLSTATE
-- nothing happened: no superuser, no membership, no program run, no trigger
SELECT rolsuper, (SELECT count(*) FROM pg_auth_members WHERE member = 'sec_app'::regrole) AS memberships,
       pg_stat_file('sec_pwned', true) IS NULL AS no_marker_file,
       (SELECT count(*) FROM pg_event_trigger) AS event_triggers,
       to_regclass('sec_app.d') IS NULL AS no_table
  FROM pg_roles WHERE rolname = 'sec_app';
SELECT public.sec_fp() = :'fp' AS catalog_unchanged;

------------------------------------------------------------------------
-- 5. S2: sec_app may not register for a superuser, and a superuser-owned
-- revision in its plan is refused before any step runs; sec_app cannot
-- lift that guard, not even through a placeholder set before the library
-- is loaded.
------------------------------------------------------------------------
SET ROLE sec_app;
\set VERBOSITY sqlstate
SELECT ap_migrate_load(E'-- revision: 5ec000000002\n-- down_revision: 5ec000000001\n-- +upgrade\nSELECT 1',
                       :bootstrap::oid::regrole);
\set VERBOSITY default
SELECT ap_migrate_add('5ec000000002', '{5ec000000001}', 'CREATE TABLE sec_app.first (id int)',
                      'DROP TABLE sec_app.first', 'by sec_app');
RESET ROLE;
SELECT ap_migrate_add('5ec000000003', '{5ec000000002}', 'CREATE TABLE sec_app.su (id int)',
                      'DROP TABLE sec_app.su', 'by a superuser');
SELECT public.sec_fp() AS fp \gset
SET ROLE sec_app;
SELECT ap_migrate_upgrade('head');
\echo :LAST_ERROR_SQLSTATE
SET ap_migrate.allow_superuser_migrations = on;
\echo :LAST_ERROR_SQLSTATE
SELECT set_config('ap_migrate.allow_superuser_migrations', 'on', false);
\echo :LAST_ERROR_SQLSTATE
ALTER ROLE sec_app SET ap_migrate.allow_superuser_migrations = on;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
-- a new session: the library is not loaded yet, so SET makes a placeholder;
-- loading the library discards it
\c
SET ROLE sec_app;
SET ap_migrate.allow_superuser_migrations = on;
SELECT ap_migrate_upgrade('head');
\echo :LAST_ERROR_SQLSTATE
SHOW ap_migrate.allow_superuser_migrations;
RESET ROLE;
SELECT public.sec_fp() = :'fp' AS catalog_unchanged,
       to_regclass('sec_app.first') IS NULL AS no_first, to_regclass('sec_app.su') IS NULL AS no_su;
SELECT ap_migrate_upgrade('head');
SELECT tablename, tableowner = 'sec_app' AS owned_by_sec_app,
       (SELECT rolsuper FROM pg_roles WHERE rolname = tableowner) AS owned_by_superuser
  FROM pg_tables WHERE schemaname = 'sec_app' ORDER BY 1;

------------------------------------------------------------------------
-- 6. S4: sec_evil's look-alikes of what internal SQL could call, first on
-- the superuser's search_path, are never called by any ap_migrate function.
------------------------------------------------------------------------
SET ROLE sec_evil;
CREATE SCHEMA sec_evil;
CREATE FUNCTION sec_evil.now() RETURNS timestamptz LANGUAGE sql
  AS $$ SELECT public.sec_fired('now()'); SELECT pg_catalog.now() $$;
CREATE FUNCTION sec_evil.clock_timestamp() RETURNS timestamptz LANGUAGE sql
  AS $$ SELECT public.sec_fired('clock_timestamp()'); SELECT pg_catalog.clock_timestamp() $$;
CREATE FUNCTION sec_evil.nextval(regclass) RETURNS bigint LANGUAGE sql
  AS $$ SELECT public.sec_fired('nextval()'); SELECT pg_catalog.nextval($1) $$;
CREATE FUNCTION sec_evil.unnest(anyarray) RETURNS SETOF anyelement LANGUAGE sql
  AS $$ SELECT public.sec_fired('unnest()'); SELECT pg_catalog.unnest($1) $$;
CREATE FUNCTION sec_evil.array_position(anycompatiblearray, anycompatible) RETURNS int LANGUAGE sql
  AS $$ SELECT public.sec_fired('array_position()'); SELECT pg_catalog.array_position($1, $2) $$;
CREATE FUNCTION sec_evil.lower(text) RETURNS text LANGUAGE sql
  AS $$ SELECT public.sec_fired('lower()'); SELECT pg_catalog.lower($1) $$;
CREATE FUNCTION sec_evil.format(text) RETURNS text LANGUAGE sql
  AS $$ SELECT public.sec_fired('format()'); SELECT pg_catalog.format($1) $$;
CREATE FUNCTION sec_evil.quote_ident(text) RETURNS text LANGUAGE sql
  AS $$ SELECT public.sec_fired('quote_ident()'); SELECT pg_catalog.quote_ident($1) $$;
CREATE FUNCTION sec_evil.set_config(text, text, boolean) RETURNS text LANGUAGE sql
  AS $$ SELECT public.sec_fired('set_config()'); SELECT pg_catalog.set_config($1, $2, $3) $$;
CREATE FUNCTION sec_evil.pg_advisory_xact_lock(integer, integer) RETURNS void LANGUAGE sql
  AS $$ SELECT public.sec_fired('pg_advisory_xact_lock()'); SELECT pg_catalog.pg_advisory_xact_lock($1, $2) $$;
CREATE FUNCTION sec_evil.texteq(text, text) RETURNS boolean LANGUAGE sql
  AS $$ SELECT public.sec_fired('='); SELECT pg_catalog.texteq($1, $2) $$;
CREATE FUNCTION sec_evil.textne(text, text) RETURNS boolean LANGUAGE sql
  AS $$ SELECT public.sec_fired('<>'); SELECT pg_catalog.textne($1, $2) $$;
CREATE FUNCTION sec_evil.arraycontains(text[], text[]) RETURNS boolean LANGUAGE sql
  AS $$ SELECT public.sec_fired('@>'); SELECT pg_catalog.arraycontains($1, $2) $$;
CREATE FUNCTION sec_evil.textcat(text, text) RETURNS text LANGUAGE sql
  AS $$ SELECT public.sec_fired('||'); SELECT pg_catalog.textcat($1, $2) $$;
CREATE OPERATOR sec_evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = sec_evil.texteq);
CREATE OPERATOR sec_evil.<> (LEFTARG = text, RIGHTARG = text, FUNCTION = sec_evil.textne);
CREATE OPERATOR sec_evil.@> (LEFTARG = text[], RIGHTARG = text[], FUNCTION = sec_evil.arraycontains);
CREATE OPERATOR sec_evil.|| (LEFTARG = text, RIGHTARG = text, FUNCTION = sec_evil.textcat);
-- types are looked up on search_path too
CREATE DOMAIN sec_evil.text AS pg_catalog.text CHECK (public.sec_fired('type text'));
CREATE DOMAIN sec_evil.regclass AS pg_catalog.regclass CHECK (public.sec_fired('type regclass'));
RESET ROLE;
-- the traps work: the superuser's own unqualified SQL calls them
SET search_path = sec_evil, pg_catalog;
SELECT now() IS NOT NULL AS now, 'a'::pg_catalog.text = 'a' AS eq, unnest(ARRAY[1]) AS unnest;
RESET search_path;
SELECT DISTINCT what FROM public.sec_trap ORDER BY 1;
TRUNCATE public.sec_trap;
ALTER SEQUENCE public.sec_trap_seq RESTART;

-- Every ap_migrate function, called with every name qualified, on the
-- revisions 5ec4<p>0000001..5 (a branch point, a dependency, a merge).
-- The driver and the revisions' own SQL call nothing unqualified
-- (declared types included: plpgsql resolves them on the search_path).
CREATE TABLE public.sec_s4 (step text);
CREATE FUNCTION public.sec_every_call(p text, parent text) RETURNS void LANGUAGE plpgsql AS $f$
DECLARE
  r1 pg_catalog.text := pg_catalog.concat('5ec4', p, '0000001');
  r2 pg_catalog.text := pg_catalog.concat('5ec4', p, '0000002');
  r3 pg_catalog.text := pg_catalog.concat('5ec4', p, '0000003');
  r4 pg_catalog.text := pg_catalog.concat('5ec4', p, '0000004');
  r5 pg_catalog.text := pg_catalog.concat('5ec4', p, '0000005');
  up pg_catalog.text := 'INSERT INTO public.sec_s4 VALUES (''up'')';
  down pg_catalog.text := 'INSERT INTO public.sec_s4 VALUES (''down'')';
  cs pg_catalog.text;
BEGIN
  PERFORM pg_catalog.ap_migrate_add(r1, ARRAY[parent], up, down, 'one',
                                    ARRAY[pg_catalog.concat('sec', p)]);
  PERFORM pg_catalog.ap_migrate_add(r2, ARRAY[r1], up, down, 'two');
  PERFORM pg_catalog.ap_migrate_add(r3, ARRAY[r1], up, down, 'three', depends_on => ARRAY[r2]);
  -- a child before its parent, then the parent (the cycle check loads the graph)
  PERFORM pg_catalog.ap_migrate_add(r5, ARRAY[r4], up, down, 'five');
  PERFORM pg_catalog.ap_migrate_load(pg_catalog.concat(
    '-- revision: ', r4, pg_catalog.chr(10), '-- down_revision: ', r2, ' ', r3, pg_catalog.chr(10),
    '-- message: four', pg_catalog.chr(10), '-- +upgrade', pg_catalog.chr(10), up, pg_catalog.chr(10),
    '-- +downgrade', pg_catalog.chr(10), down));
  -- replacing a pending revision
  PERFORM pg_catalog.ap_migrate_add(r5, ARRAY[r4], up, down, 'five, replaced');
  PERFORM pg_catalog.ap_migrate_add(r5, ARRAY[r4], up, down, 'five, replaced');
  PERFORM * FROM pg_catalog.ap_migrate_plan('heads');
  PERFORM pg_catalog.ap_migrate_sql('heads');
  PERFORM pg_catalog.ap_migrate_upgrade(r2);
  PERFORM pg_catalog.ap_migrate_upgrade(pg_catalog.concat('sec', p, '@+1'));
  PERFORM pg_catalog.ap_migrate_upgrade('head');
  PERFORM pg_catalog.ap_migrate_upgrade('head');
  PERFORM pg_catalog.ap_migrate_upgrade('heads');
  PERFORM * FROM pg_catalog.ap_migrate_current();
  PERFORM * FROM pg_catalog.ap_migrate_heads();
  PERFORM * FROM pg_catalog.ap_migrate_branches();
  PERFORM * FROM pg_catalog.ap_migrate_history();
  PERFORM * FROM pg_catalog.ap_migrate_history(pg_catalog.concat(r1, ':head'));
  PERFORM * FROM pg_catalog.ap_migrate_show(r4);
  PERFORM * FROM pg_catalog.ap_migrate_show(pg_catalog.concat('sec', p));
  PERFORM * FROM pg_catalog.ap_migrate_validate();
  PERFORM pg_catalog.ap_migrate_check();
  PERFORM pg_catalog.ap_migrate_downgrade('-1');
  PERFORM pg_catalog.ap_migrate_downgrade(r2);
  PERFORM * FROM pg_catalog.ap_migrate_plan(r1);
  PERFORM pg_catalog.ap_migrate_sql(r1);
  PERFORM pg_catalog.ap_migrate_stamp(r4);
  PERFORM pg_catalog.ap_migrate_stamp(r2);
  -- what an offline script records
  SELECT checksum INTO cs FROM ap_migrate.revision WHERE id OPERATOR(pg_catalog.=) r3;
  PERFORM pg_catalog.ap_migrate_mark('upgrade', r3, cs);
  PERFORM pg_catalog.ap_migrate_mark('downgrade', r3, cs);
  -- error paths
  BEGIN
    PERFORM pg_catalog.ap_migrate_upgrade('5ec4ffffffff');
  EXCEPTION WHEN undefined_object THEN NULL;
  END;
  BEGIN
    PERFORM pg_catalog.ap_migrate_add(r1, '{}', up, down);
  EXCEPTION WHEN OTHERS THEN NULL;
  END;
  PERFORM pg_catalog.ap_migrate_upgrade('heads');
END $f$;

SET client_min_messages = warning;
SET search_path = sec_evil, pg_catalog;
SELECT public.sec_every_call('a', '5ec000000003');
SET search_path = sec_evil, public;
SELECT public.sec_every_call('b', '5ec4a0000005');
RESET search_path;
RESET client_min_messages;
SELECT * FROM public.sec_traps;
-- all of it ran: applied revisions and history rows of both runs
SELECT count(*) AS applied FROM ap_migrate.applied WHERE revision LIKE '5ec4%';
SELECT operation, count(*) FROM ap_migrate.history WHERE revision LIKE '5ec4%' GROUP BY 1 ORDER BY 1;

-- pg_temp shadows, in the superuser's own session: functions there are
-- never looked up, but types are when pg_temp is put first
CREATE FUNCTION pg_temp.now() RETURNS timestamptz LANGUAGE sql
  AS $$ SELECT public.sec_fired('pg_temp.now()'); SELECT pg_catalog.now() $$;
CREATE FUNCTION pg_temp.clock_timestamp() RETURNS timestamptz LANGUAGE sql
  AS $$ SELECT public.sec_fired('pg_temp.clock_timestamp()'); SELECT pg_catalog.clock_timestamp() $$;
CREATE FUNCTION pg_temp.nextval(regclass) RETURNS bigint LANGUAGE sql
  AS $$ SELECT public.sec_fired('pg_temp.nextval()'); SELECT pg_catalog.nextval($1) $$;
CREATE TEMP TABLE revision (id text);
CREATE TEMP TABLE applied (revision text);
CREATE DOMAIN pg_temp.text AS pg_catalog.text CHECK (public.sec_fired('type pg_temp.text'));
SET search_path = pg_temp, pg_catalog;
SELECT 'x'::text AS control;
RESET search_path;
TRUNCATE public.sec_trap;
ALTER SEQUENCE public.sec_trap_seq RESTART;
SET client_min_messages = warning;
SET search_path = pg_temp, pg_catalog;
SELECT public.sec_every_call('c', '5ec4b0000005');
RESET client_min_messages;
RESET search_path;
DROP DOMAIN pg_temp.text;
DROP FUNCTION pg_temp.now(), pg_temp.clock_timestamp(), pg_temp.nextval(regclass);
DROP TABLE pg_temp.revision, pg_temp.applied;
-- an offline script, run by psql with the hijacked search_path
SET search_path = sec_evil, pg_catalog;
SELECT pg_catalog.ap_migrate_add('5ec4d0000001', ARRAY['5ec4c0000005'], 'INSERT INTO public.sec_s4 VALUES (''offline'')',
                                 'SELECT 1', 'offline');
\pset format unaligned
\pset tuples_only on
SELECT pg_catalog.ap_migrate_sql('head') \g results/security_offline.sql
\pset format aligned
\pset tuples_only off
\o /dev/null
\i results/security_offline.sql
\o
\unset ON_ERROR_STOP
RESET search_path;
SELECT * FROM public.sec_traps;
SELECT revision FROM ap_migrate_current();
SELECT count(*) AS applied FROM ap_migrate.applied WHERE revision LIKE '5ec4%';
SELECT step, count(*) FROM public.sec_s4 GROUP BY 1 ORDER BY 1;

------------------------------------------------------------------------
-- 7. S5: injection.  Ids, parents, labels and dependencies with quotes,
-- semicolons, comment or dollar markers, backslashes or format directives
-- are refused (22023); messages are stored and shown verbatim; targets are
-- looked up, never executed.
------------------------------------------------------------------------
SELECT public.sec_fp() AS fp \gset
SET ap_migrate.revision_id_format = relaxed;
SELECT id,
       public.sec_try(format('SELECT ap_migrate_add(%L, NULL, ''SELECT 1'', NULL)', id)) AS id,
       public.sec_try(format('SELECT ap_migrate_add(''sec_ok'', %L, ''SELECT 1'', NULL)', ARRAY[id])) AS parent,
       public.sec_try(format('SELECT ap_migrate_add(''sec_ok'', NULL, ''SELECT 1'', NULL, '''', %L)', ARRAY[id])) AS label,
       public.sec_try(format('SELECT ap_migrate_add(''sec_ok'', NULL, ''SELECT 1'', NULL, '''', NULL, %L)', ARRAY[id])) AS dependency,
       public.sec_try(format('SELECT ap_migrate_load(%L)', E'-- revision: ' || id || E'\n-- down_revision:\n-- +upgrade\nSELECT 1')) AS load
  FROM unnest(ARRAY[$$x'); DROP TABLE public.sec_victim; --$$, '"v"', 'v;', 'v--x', '$$v$$', E'v\\', 'v%s', '%I',
                    '%n%n%n', 'v''', repeat('v', 129)]) AS id
 ORDER BY 1;
RESET ap_migrate.revision_id_format;
SELECT public.sec_fp() = :'fp' AS catalog_unchanged;

-- a message full of them
SELECT $m$x'); DROP TABLE public.sec_victim; -- "q" $$ \ %s %I %n %999999999s$m$ AS msg \gset
SELECT ap_migrate_add('5ec500000001', '{5ec4d0000001}', 'SELECT 1', 'SELECT 1', :'msg');
SELECT ap_migrate_add('5ec500000002', '{5ec500000001}', 'SELECT 1/0', 'SELECT 1', :'msg');
SELECT ap_migrate_upgrade('5ec500000001');
SELECT ap_migrate_upgrade('5ec500000002');
\echo :LAST_ERROR_SQLSTATE
SELECT revision, message = :'msg' AS verbatim FROM ap_migrate_history() WHERE revision LIKE '5ec5%' ORDER BY 1;
SELECT message = :'msg' AS verbatim FROM ap_migrate_plan('5ec500000002');
SELECT message = :'msg' AS verbatim FROM ap_migrate_show('5ec500000001');
SELECT public.sec_fp() AS fp \gset

-- targets: refused (22023), unknown (42704) or not applied (22023); a
-- target that ever ran its payload would advance the sequence sec_trace
CREATE SEQUENCE public.sec_trace;
SELECT tn, replace(t, E'\n', '\n') AS target,
       string_agg(f || ' ' || public.sec_try(format(sql, t)), ', ' ORDER BY fn) AS results
  FROM unnest(ARRAY[$$x'); DROP TABLE public.sec_victim; --$$, '"; SELECT nextval(''public.sec_trace''); --',
                    $$head'; SELECT nextval('public.sec_trace'); --$$, '$$; DROP TABLE public.sec_victim; $$',
                    E'head\nDROP TABLE public.sec_victim', E'5ec5\\', '%s%n%I', 'sec@%n',
                    $$sec'@head$$, '5ec500000001; DROP TABLE public.sec_victim', '+1; --',
                    repeat('x', 64), repeat('y', 129)]) WITH ORDINALITY AS u(t, tn),
       (VALUES (1, 'upgrade', 'SELECT ap_migrate_upgrade(%L)'), (2, 'downgrade', 'SELECT ap_migrate_downgrade(%L)'),
               (3, 'stamp', 'SELECT ap_migrate_stamp(%L)'), (4, 'plan', 'SELECT * FROM ap_migrate_plan(%L)'),
               (5, 'sql', 'SELECT ap_migrate_sql(%L)'), (6, 'show', 'SELECT * FROM ap_migrate_show(%L)'),
               (7, 'history', 'SELECT * FROM ap_migrate_history(%L)'),
               (8, 'mark', 'SELECT ap_migrate_mark(''upgrade'', %1$L, %1$L)'),
               (9, 'mark_op', 'SELECT ap_migrate_mark(%1$L, ''5ec500000002'', %1$L)')) AS c(fn, f, sql)
 GROUP BY tn, t ORDER BY tn;
SELECT NOT (SELECT is_called FROM public.sec_trace) AS payload_never_ran, to_regclass('public.sec_victim') IS NOT NULL AS victim_intact,
       public.sec_fp() = :'fp' AS catalog_unchanged;

------------------------------------------------------------------------
-- 8. Bad inputs of RELIABILITY.md section 6 not covered elsewhere
------------------------------------------------------------------------
SELECT ap_migrate_add('5ec500000002', '{5ec500000001}', 'SELECT 1', 'SELECT 1', 'fixed');
-- #12: no limit of ap_migrate's own: a 10 MB body (1,000 statements of
-- 10 kB) registers and applies
CREATE TABLE public.sec_big (v text);
SELECT ap_migrate_add('5ec600000001', '{5ec500000002}',
         repeat('INSERT INTO public.sec_big VALUES (''' || repeat('x', 10000) || ''');' || E'\n', 1000),
         'TRUNCATE public.sec_big', 'ten megabytes');
SELECT length(upgrade_sql) AS upgrade_bytes FROM ap_migrate.revision WHERE id = '5ec600000001';
SELECT ap_migrate_upgrade('5ec600000001');
SELECT count(*) AS statements_run, sum(length(v)) AS bytes FROM public.sec_big;

-- #14: NUL characters never reach ap_migrate (54000, or 22021 for
-- invalid text)
SELECT public.sec_fp() AS fp \gset
SELECT ap_migrate_add('5ec600000002', '{5ec600000001}', 'SELECT 1' || chr(0), NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_add('5ec600000002', '{5ec600000001}', 'SELECT 1', NULL, 'nul' || chr(0));
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_upgrade('5ec6' || chr(0));
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_add('5ec600000002', '{5ec600000001}', convert_from('\x53454c45435400'::bytea, 'UTF8'), NULL);
\echo :LAST_ERROR_SQLSTATE

-- #38: 10,000 nested parentheses exhaust PostgreSQL's parser stack at
-- registration (42601); an expression of 100,000 terms registers and
-- exceeds the stack depth when it runs (54001): no crash, nothing applied
\set VERBOSITY terse
SELECT ap_migrate_add('5ec600000002', '{5ec600000001}', 'SELECT ' || repeat('(', 10000) || '1' || repeat(')', 10000), NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT public.sec_fp() = :'fp' AS catalog_unchanged;
SELECT ap_migrate_add('5ec600000002', '{5ec600000001}', 'SELECT 1' || repeat(' + 1', 100000), NULL, 'deep');
SELECT public.sec_fp() AS fp \gset
SELECT ap_migrate_upgrade('5ec600000002');
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
SELECT public.sec_fp() = :'fp' AS catalog_unchanged;
SELECT ap_migrate_add('5ec600000002', '{5ec600000001}', 'SELECT 1', 'SELECT 1', 'shallow');

-- #39: a migration that drops the extension, its schema or a table fails
-- cleanly, and the call is rolled back
SELECT ap_migrate_add('5ec600000003', '{5ec600000002}', 'DROP SCHEMA ap_migrate CASCADE', NULL, 'drop the schema');
SELECT ap_migrate_add('5ec600000004', '{5ec600000002}', 'DROP TABLE ap_migrate.history', NULL, 'drop a table');
SELECT ap_migrate_add('5ec600000005', '{5ec600000002}', 'DROP EXTENSION ap_migrate', NULL, 'drop the extension');
SELECT public.sec_fp() AS fp \gset
SELECT ap_migrate_upgrade('5ec600000003');
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_upgrade('5ec600000004');
\echo :LAST_ERROR_SQLSTATE
SET client_min_messages = error;
\set VERBOSITY sqlstate
SELECT ap_migrate_upgrade('5ec600000005');
\set VERBOSITY default
RESET client_min_messages;
SELECT public.sec_fp() = :'fp' AS catalog_unchanged, (SELECT count(*) FROM pg_extension WHERE extname = 'ap_migrate') AS extension,
       (SELECT revision FROM ap_migrate_current()) AS current;

-- #40: a migration locking the history log in ACCESS EXCLUSIVE mode: the
-- lock is the caller's own, so the step's bookkeeping goes on; run as a
-- role without write access it is refused (42501)
SELECT ap_migrate_add('5ec600000006', '{5ec600000002}', 'LOCK TABLE ap_migrate.history IN ACCESS EXCLUSIVE MODE',
                      'LOCK TABLE ap_migrate.history IN ACCESS EXCLUSIVE MODE', 'lock the log');
SELECT ap_migrate_upgrade('5ec600000006');
SELECT ap_migrate_downgrade('5ec600000002');
SELECT operation, revision FROM ap_migrate.history WHERE id > (SELECT max(id) - 2 FROM ap_migrate.history) ORDER BY id;
SET ROLE sec_installer;
SELECT ap_migrate_add('5ec600000007', '{5ec600000002}', 'LOCK TABLE ap_migrate.history IN ACCESS EXCLUSIVE MODE',
                      NULL, 'lock the log as the installer');
RESET ROLE;
SELECT ap_migrate_upgrade('5ec600000007');
\echo :LAST_ERROR_SQLSTATE
SELECT revision FROM ap_migrate_current();

------------------------------------------------------------------------
-- A caller who may apply another role's revisions must not get that
-- role's rights by planting look-alikes on its own search_path or in its
-- temporary schema: the step runs with the search_path recorded at
-- registration, with pg_temp last.
------------------------------------------------------------------------
CREATE ROLE sec_owner;
CREATE ROLE sec_low;
CREATE SCHEMA sec_own AUTHORIZATION sec_owner;
CREATE SCHEMA sec_low AUTHORIZATION sec_low;
GRANT USAGE ON SCHEMA sec_own TO sec_low;
CREATE TABLE sec_own.secret (s text);
ALTER TABLE sec_own.secret OWNER TO sec_owner;
CREATE TABLE sec_own.audit (what text);
ALTER TABLE sec_own.audit OWNER TO sec_owner;
GRANT EXECUTE ON FUNCTION ap_migrate_upgrade(text) TO sec_low;
GRANT EXECUTE ON FUNCTION ap_migrate_add(text, text[], text, text, text, text[], text[], boolean, regrole) TO sec_owner;
SET ROLE sec_owner;
SET search_path = sec_own, pg_catalog;
SELECT ap_migrate_add('5ec700000001', NULL,
       $$INSERT INTO audit VALUES (lower('MIGRATED'))$$, NULL, 'owner migration');
RESET search_path;
RESET ROLE;
SELECT search_path FROM ap_migrate.revision WHERE id = '5ec700000001';
-- the caller plants a lower(text) first on its path and a temp "audit"
SET ROLE sec_low;
CREATE FUNCTION sec_low.lower(text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  GRANT SELECT ON sec_own.secret TO sec_low;
  RETURN 'trapped';
END $$;
CREATE TEMP TABLE audit (what text);
SET search_path = sec_low, pg_catalog;
SELECT ap_migrate_upgrade('5ec700000001');
RESET search_path;
SELECT count(*) AS temp_rows FROM pg_temp.audit;
RESET ROLE;
-- the owner's table got the row, through the real lower(); no grant leaked
SELECT what FROM sec_own.audit;
SELECT has_table_privilege('sec_low', 'sec_own.secret', 'SELECT') AS low_reads_secret;

------------------------------------------------------------------------
-- A message is one line: control characters could end the comment it is
-- shown in by an offline script and run psql commands there.
------------------------------------------------------------------------
SELECT ap_migrate_add('5ec700000002', '{5ec700000001}', 'SELECT 1', 'SELECT 1', E'harmless\n\\! touch /tmp/pwned');
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_load(E'-- revision: 5ec700000002\n-- down_revision: 5ec700000001\n-- message: x\r\\! touch /tmp/pwned\n-- +upgrade\nSELECT 1;');
\echo :LAST_ERROR_SQLSTATE
-- a message edited into the catalog by hand is flattened in the script
SELECT ap_migrate_add('5ec700000002', '{5ec700000001}', 'SELECT 1', 'SELECT 1', 'clean');
UPDATE ap_migrate.revision SET message = E'evil\n\\! touch /tmp/pwned' WHERE id = '5ec700000002';
SELECT position(E'\n\\!' IN ap_migrate_sql('5ec700000002')) = 0 AS no_command_line;

------------------------------------------------------------------------
-- Migration SQL that removes its own revision (or drops the extension)
-- cannot get it recorded as applied.
------------------------------------------------------------------------
SELECT ap_migrate_add('5ec700000003', '{5ec700000002}',
       $$DELETE FROM ap_migrate.revision WHERE id = '5ec700000003'$$, NULL, 'self-deleting');
SELECT ap_migrate_upgrade('5ec700000003');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS registered FROM ap_migrate.revision WHERE id = '5ec700000003';
DROP SCHEMA sec_own, sec_low CASCADE;
REVOKE EXECUTE ON FUNCTION ap_migrate_upgrade(text) FROM sec_low;
REVOKE EXECUTE ON FUNCTION ap_migrate_add(text, text[], text, text, text, text[], text[], boolean, regrole) FROM sec_owner;

------------------------------------------------------------------------
-- Cleanup
------------------------------------------------------------------------
DROP EXTENSION ap_migrate;
SET client_min_messages = warning;
DROP SCHEMA sec_app, sec_inst, sec_evil CASCADE;
RESET client_min_messages;
DROP VIEW public.sec_traps;
DROP TABLE public.sec_victim, public.sec_trap, public.sec_s4, public.sec_big;
DROP SEQUENCE public.sec_trap_seq, public.sec_trace;
DROP FUNCTION public.sec_try(text), public.sec_fired(text), public.sec_fp(),
              public.sec_every_call(text, text), public.ap_migrate_upgrade(text), public.ap_migrate_upgrade();
DROP OWNED BY sec_installer, sec_delegate, sec_app, sec_other, sec_evil, sec_owner, sec_low;
DROP ROLE sec_installer, sec_delegate, sec_app, sec_other, sec_evil, sec_owner, sec_low;
SELECT count(*) AS leftover_roles FROM pg_roles WHERE rolname LIKE 'sec\_%';
