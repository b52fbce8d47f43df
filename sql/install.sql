--
-- Installation: the objects the extension owns, where they live, and the
-- privileges they start with.
--

-- The settings, defined when the library is loaded (on PostgreSQL 15 and
-- older under stand-in names that keep the settings array sorted, then
-- renamed and moved into place: src/ap_migrate.c).  A value set before
-- the library is loaded is taken over; after it, every setting is found by
-- its name, none is left under a stand-in name, the array (listed in its
-- order by pg_show_all_settings) is still sorted, and a misspelt name is
-- refused.
SET ap_migrate.lock_timeout = '5s';
LOAD 'ap_migrate';
SHOW ap_migrate.lock_timeout;
SELECT name, setting, unit, context FROM pg_settings WHERE name LIKE 'ap\_migrate.%' ORDER BY name;
SELECT count(*) AS stand_ins FROM pg_settings WHERE name LIKE 'zzzz%';
SELECT bool_and(lower(name) < lower(next)) AS sorted
  FROM (SELECT name, lead(name) OVER (ORDER BY ordinality) AS next
          FROM pg_show_all_settings() WITH ORDINALITY) s;
SET ap_migrate.lock_timout = 1;
SET AP_MIGRATE.LOCK_RETRIES = 2;
SHOW ap_migrate.lock_retries;
RESET ap_migrate.lock_timeout;
RESET ap_migrate.lock_retries;

CREATE EXTENSION ap_migrate;

-- every member object (but the tables' row types and their array types,
-- which PostgreSQL 17 and later list as members too: they go with their table)
SELECT pg_describe_object(classid, objid, objsubid) AS member
  FROM pg_depend
 WHERE refclassid = 'pg_extension'::regclass
   AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'ap_migrate')
   AND deptype = 'e'
   AND NOT (classid = 'pg_type'::regclass AND objid IN
            (SELECT t.oid FROM pg_type t JOIN pg_class r ON r.reltype IN (t.oid, t.typelem)
              WHERE r.relkind <> 'c'))
 ORDER BY 1;

-- the functions are in pg_catalog, so they are found with any search_path
SET search_path = nowhere;
SELECT ap_migrate_upgrade();
SELECT count(*) AS revisions FROM ap_migrate_history();
RESET search_path;

-- PUBLIC may execute none of them
SELECT p.oid::regprocedure AS function
  FROM pg_proc p
 WHERE (p.proname LIKE 'ap\_migrate\_%' OR p.pronamespace = 'ap_migrate'::regnamespace)
   AND has_function_privilege('public', p.oid, 'EXECUTE')
 ORDER BY p.oid::regprocedure::text;

-- nobody but the owner may write the tables; the installer (here the
-- superuser, so the owner) holds SELECT with grant option, and INSERT and
-- UPDATE on the sequences for pg_restore (an owner's MAINTAIN, "m" since
-- PostgreSQL 17, is left out)
SELECT c.relname, regexp_replace(c.relacl::text, '(=[a-zA-Z*]*)m\*?', '\1', 'g') AS relacl
  FROM pg_class c
 WHERE c.relnamespace = 'ap_migrate'::regnamespace AND c.relkind IN ('r', 'S')
 ORDER BY 1;

-- the triggers: every row inserted passes catalog_guard (the owner's at
-- once, anyone else's only to restore), and the log refuses changes
SELECT t.tgrelid::regclass AS "table", t.tgname, t.tgfoid::regproc AS function,
       t.tgtype, t.tgenabled
  FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
 WHERE c.relnamespace = 'ap_migrate'::regnamespace AND NOT t.tgisinternal
 ORDER BY t.tgrelid::regclass::text, t.tgname;

-- the tables and sequences are dumped with the database
SELECT c::regclass AS dumped
  FROM pg_extension, unnest(extconfig) AS c
 WHERE extname = 'ap_migrate'
 ORDER BY c::regclass::text;

-- the control file: trusted, fixed schema; 0.1.0 updates to 0.2.0
SELECT name, version, superuser, trusted, relocatable, schema
  FROM pg_available_extension_versions WHERE name = 'ap_migrate';
SELECT * FROM pg_extension_update_paths('ap_migrate') ORDER BY 1, 2;

-- an existing schema named ap_migrate is not adopted
DROP EXTENSION ap_migrate;
CREATE SCHEMA ap_migrate;
-- (terse: PostgreSQL 18 adds the script's file and line as CONTEXT)
\set VERBOSITY terse
CREATE EXTENSION ap_migrate;
\set VERBOSITY default
DROP SCHEMA ap_migrate;

-- DROP EXTENSION (no CASCADE needed, no warning) takes the catalog with
-- it: registered revisions, the applied set and the history log.  What the
-- migrations created stays.  A new CREATE EXTENSION starts empty: upgrading
-- would run the migration again, so re-register and stamp instead.
CREATE EXTENSION ap_migrate;
SELECT ap_migrate_add('aaaaaaaaaaaa', NULL, 'CREATE TABLE public.install_kept (id int)',
                      'DROP TABLE public.install_kept', 'kept?');
SELECT ap_migrate_upgrade('head');
SELECT (SELECT count(*) FROM ap_migrate.revision) AS revisions, (SELECT count(*) FROM ap_migrate.applied) AS applied,
       (SELECT count(*) FROM ap_migrate.history) AS history;
DROP EXTENSION ap_migrate;
SELECT count(*) AS leftover_schemas FROM pg_namespace WHERE nspname = 'ap_migrate';
SELECT count(*) AS leftover_functions FROM pg_proc WHERE proname LIKE 'ap\_migrate%';
SELECT to_regclass('public.install_kept') IS NOT NULL AS migrated_table_kept;
CREATE EXTENSION ap_migrate;
SELECT count(*) AS revisions FROM ap_migrate_history();
SELECT ap_migrate_add('aaaaaaaaaaaa', NULL, 'CREATE TABLE public.install_kept (id int)',
                      'DROP TABLE public.install_kept', 'kept?');
\set VERBOSITY terse
SELECT ap_migrate_upgrade('head');
\set VERBOSITY default
SELECT ap_migrate_stamp('head');
SELECT revision FROM ap_migrate_current();
DROP EXTENSION ap_migrate;
DROP TABLE public.install_kept;

-- a catalog table removed behind the extension's back is a clear error
CREATE EXTENSION ap_migrate;
ALTER EXTENSION ap_migrate DROP TABLE ap_migrate.revision;
DROP TABLE ap_migrate.revision CASCADE;
SELECT ap_migrate_upgrade();
\echo :LAST_ERROR_SQLSTATE
DROP EXTENSION ap_migrate;
