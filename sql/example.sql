--
-- The accounts-payable example (examples/ap_intake), walked through the
-- seed project's testing checklist: the chain validates, every step
-- applies, foreign keys and indexes exist, uuid/jsonb/timestamptz columns
-- accept their values, downgrade('-1') reverts exactly one step, and
-- downgrade('base') leaves the schema exactly as it was before the first
-- upgrade.  "Exactly" is a catalog fingerprint (examples/ap_intake/
-- fingerprint.sql), compared after every step.
--
CREATE EXTENSION ap_migrate;
SET client_min_messages = notice;

-- the fingerprint query, usable as a subquery
\set fingerprint_sql `sed 's/;[[:space:]]*$//' examples/ap_intake/fingerprint.sql`
CREATE TEMP TABLE fp (label text PRIMARY KEY, fingerprint text NOT NULL);
INSERT INTO fp SELECT 'base', fingerprint FROM (:fingerprint_sql) f;

-- Register the five files, newest first: parents are resolved when the
-- graph is used, not when a revision is registered.
\set s `cat examples/ap_intake/55a2502018a6_add_analytics_performance_indexes.sql`
SELECT ap_migrate_load(:'s');
\set s `cat examples/ap_intake/e9428b9dd556_add_exception_management_indexes.sql`
SELECT ap_migrate_load(:'s');
\set s `cat examples/ap_intake/797c75afebae_add_quickbooks_integration_tables.sql`
SELECT ap_migrate_load(:'s');
\set s `cat examples/ap_intake/b1a2c3d4e5f6_add_storage_audit_tables.sql`
SELECT ap_migrate_load(:'s');
\set s `cat examples/ap_intake/ca4653c80b38_initial_migration_for_ap_intake_database.sql`
SELECT ap_migrate_load(:'s');

-- [x] the migration chain validates: no problem at all, one head, one base
SELECT * FROM ap_migrate_validate();
SELECT revision FROM ap_migrate_heads();
SELECT step, revision, from_revisions, to_revisions, message FROM ap_migrate_plan('head');

-- [x] every migration applies: one step at a time, fingerprint after each
SELECT ap_migrate_upgrade('+1');
INSERT INTO fp SELECT 'ca4653c80b38', fingerprint FROM (:fingerprint_sql) f;
SELECT ap_migrate_upgrade('+1');
INSERT INTO fp SELECT 'b1a2c3d4e5f6', fingerprint FROM (:fingerprint_sql) f;
SELECT ap_migrate_upgrade('+1');
INSERT INTO fp SELECT '797c75afebae', fingerprint FROM (:fingerprint_sql) f;
SELECT ap_migrate_upgrade('+1');
INSERT INTO fp SELECT 'e9428b9dd556', fingerprint FROM (:fingerprint_sql) f;
SELECT ap_migrate_upgrade('head');
INSERT INTO fp SELECT '55a2502018a6', fingerprint FROM (:fingerprint_sql) f;
-- every step changed the schema
SELECT count(DISTINCT fingerprint) AS distinct_schemas FROM fp;
SELECT * FROM ap_migrate_current();
SELECT ap_migrate_check() AS at_head_and_valid;

-- [x] foreign key constraints are created
SELECT conrelid::regclass AS "table", conname, confrelid::regclass AS "references"
  FROM pg_constraint
 WHERE contype = 'f' AND connamespace = 'public'::regnamespace
 ORDER BY conrelid::regclass::text, conname;

-- [x] indexes are created correctly: GIN, partial, expression
SELECT indexrelid::regclass AS index, am.amname,
       indpred IS NOT NULL AS partial, indexprs IS NOT NULL AS expression
  FROM pg_index i
  JOIN pg_class c ON c.oid = i.indexrelid
  JOIN pg_am am ON am.oid = c.relam
 WHERE c.relnamespace = 'public'::regnamespace
   AND (am.amname <> 'btree' OR indpred IS NOT NULL OR indexprs IS NOT NULL)
 ORDER BY indexrelid::regclass::text;
SELECT count(*) AS check_constraints
  FROM pg_constraint
 WHERE contype = 'c' AND connamespace = 'public'::regnamespace;

-- [x] UUID columns accept UUID values, JSON columns accept JSON data,
--     timezone-aware timestamps work
INSERT INTO base_uuid_mixin (id, entity_type)
VALUES ('6c8a3c2e-7f7e-4c53-9a3e-2f4f7f0a1b2c', 'vendor');
INSERT INTO vendors (id, base_id, name, tax_id, address)
VALUES ('0b7e1c52-5d4a-4c1e-8f43-5e2b8a7c9d10', '6c8a3c2e-7f7e-4c53-9a3e-2f4f7f0a1b2c',
        'Acme Supplies', 'US-12-3456789',
        '{"city": "Portland", "lines": ["1 Main St"], "zip": "97201"}');
INSERT INTO invoices (vendor_id, invoice_number, invoice_date, due_date,
                      total_amount, metadata, received_at)
VALUES ('0b7e1c52-5d4a-4c1e-8f43-5e2b8a7c9d10', 'INV-1001', '2026-11-01', '2026-12-01',
        1250.00, '{"source": "email", "pages": 2}', '2026-11-02 09:30:00+01');
SELECT pg_typeof(id) AS id_type, id IS NOT NULL AS id_generated,
       metadata->>'source' AS source, (metadata->'pages')::int AS pages,
       received_at = '2026-11-02 08:30:00+00'::timestamptz AS same_instant,
       pg_typeof(received_at) AS received_type
  FROM invoices;
SELECT name FROM vendors WHERE address @> '{"city": "Portland"}';
-- a check constraint rejects bad data
\set VERBOSITY terse
INSERT INTO invoices (vendor_id, invoice_number, invoice_date, due_date)
VALUES ('0b7e1c52-5d4a-4c1e-8f43-5e2b8a7c9d10', 'INV-1002', '2026-11-01', '2026-10-01');
\set VERBOSITY default
DELETE FROM invoices;
DELETE FROM vendors;
DELETE FROM base_uuid_mixin;

-- [x] rollback plan: downgrade('-1') reverts exactly one step
SELECT ap_migrate_downgrade('-1');
SELECT f.fingerprint = e.fingerprint AS same_as_after_e9428b9dd556
  FROM (:fingerprint_sql) f, fp e WHERE e.label = 'e9428b9dd556';
SELECT revision FROM ap_migrate.applied ORDER BY revision;

-- [x] downgrade('base') leaves the schema exactly as before the first upgrade
SELECT ap_migrate_downgrade('base');
SELECT f.fingerprint = b.fingerprint AS same_as_before_first_upgrade
  FROM (:fingerprint_sql) f, fp b WHERE b.label = 'base';
SELECT count(*) AS applied FROM ap_migrate.applied;

-- and back to head: the same schema as the first time
SELECT ap_migrate_upgrade('head');
SELECT f.fingerprint = h.fingerprint AS same_as_first_head
  FROM (:fingerprint_sql) f, fp h WHERE h.label = '55a2502018a6';

-- the deployment log: 5 up, 5 down, 5 up
SELECT operation, count(*), bool_and(success) AS all_succeeded,
       bool_and(duration >= '0') AS durations_recorded
  FROM ap_migrate.history GROUP BY operation ORDER BY operation;
SELECT operation, revision, from_revisions, to_revisions
  FROM ap_migrate.history ORDER BY id DESC LIMIT 6;

-- clean up
SELECT ap_migrate_downgrade('base');
DROP EXTENSION ap_migrate;
