--
-- Load the migrations into ap_migrate and bring the database to head, as
-- the application's deploy does.  pg_regress runs psql in the directory
-- make runs in and exports PG_ABS_SRCDIR (PostgreSQL 15 and later), so the
-- files are found wherever the suite is run from.
--
\getenv abs_srcdir PG_ABS_SRCDIR
\set migrations :abs_srcdir/../ap_intake
CREATE EXTENSION ap_migrate;

-- the files, in any order: parents are resolved when the graph is used
\set file :migrations/ca4653c80b38_initial_migration_for_ap_intake_database.sql
\set script `cat :file`
SELECT ap_migrate_load(:'script');
\set file :migrations/b1a2c3d4e5f6_add_storage_audit_tables.sql
\set script `cat :file`
SELECT ap_migrate_load(:'script');
\set file :migrations/797c75afebae_add_quickbooks_integration_tables.sql
\set script `cat :file`
SELECT ap_migrate_load(:'script');
\set file :migrations/e9428b9dd556_add_exception_management_indexes.sql
\set script `cat :file`
SELECT ap_migrate_load(:'script');
\set file :migrations/55a2502018a6_add_analytics_performance_indexes.sql
\set script `cat :file`
SELECT ap_migrate_load(:'script');

-- the chain is sound: no problem reported, one head, one base
SELECT severity, problem, revision FROM ap_migrate_validate();
SELECT revision FROM ap_migrate_heads();

-- upgrade to head, in one transaction; one NOTICE per step
SELECT ap_migrate_upgrade('head');
SELECT revision, is_head FROM ap_migrate_current();
SELECT ap_migrate_check() AS at_head_and_valid;

-- the deployment log: one upgrade row per revision, in order
SELECT operation, revision, from_revisions, to_revisions, success
  FROM ap_migrate.history ORDER BY id;
