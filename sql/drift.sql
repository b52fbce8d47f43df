--
-- Live-schema drift: a fingerprint of the schema is recorded whenever
-- steps are applied or reverted; ap_migrate_drift() and ap_migrate_check()
-- name every object that no longer matches it (a hotfix made by hand).
--
CREATE DATABASE apm_drift;
\c apm_drift
CREATE EXTENSION ap_migrate;
SET client_min_messages = warning;
SELECT ap_migrate_add('d00000000001', NULL, $$
CREATE TABLE invoices (id int PRIMARY KEY, amount numeric NOT NULL, vendor text);
COMMENT ON TABLE invoices IS 'supplier invoices';
ALTER TABLE invoices ENABLE ROW LEVEL SECURITY;
CREATE POLICY invoices_all ON invoices USING (true);
$$, 'DROP TABLE invoices');

-- nothing recorded before the first migration: nothing to report
SELECT * FROM ap_migrate_drift();
SELECT ap_migrate_upgrade();
SELECT object, change FROM ap_migrate_drift();
SELECT ap_migrate_check();
SELECT pg_catalog.array_length(objects, 1) > 0 AS recorded FROM ap_migrate.schema_fingerprint;

-- hotfixes made by hand
ALTER TABLE invoices ADD COLUMN hotfix boolean;
SELECT object, change FROM ap_migrate_drift();
CREATE INDEX invoices_vendor_idx ON invoices (vendor);
DROP POLICY invoices_all ON invoices;
COMMENT ON TABLE invoices IS 'changed by hand';
SELECT object, change FROM ap_migrate_drift();
SELECT ap_migrate_check();

-- undoing them by hand clears the report
ALTER TABLE invoices DROP COLUMN hotfix;
DROP INDEX invoices_vendor_idx;
CREATE POLICY invoices_all ON invoices USING (true);
COMMENT ON TABLE invoices IS 'supplier invoices';
SELECT object, change FROM ap_migrate_drift();
SELECT ap_migrate_check();

-- a change of column type or default is a changed column
ALTER TABLE invoices ALTER COLUMN vendor SET DEFAULT 'unknown';
SELECT object, change FROM ap_migrate_drift();
ALTER TABLE invoices ALTER COLUMN vendor DROP DEFAULT;

-- a migration records the schema it leaves: written as a revision, the
-- change is no drift
SELECT ap_migrate_add('d00000000002', '{d00000000001}',
	'CREATE INDEX invoices_vendor_idx ON invoices (vendor)', 'DROP INDEX invoices_vendor_idx');
SELECT ap_migrate_upgrade();
SELECT object, change FROM ap_migrate_drift();
SELECT ap_migrate_downgrade('base');
SELECT object, change FROM ap_migrate_drift();
CREATE TABLE stray (id int);
SELECT object, change FROM ap_migrate_drift();

-- with ap_migrate.record_fingerprint off a call records none: the drift
-- check says nothing while the fingerprint is older than the last step,
-- until a call records one again
SELECT recorded_at AS fingerprint_at FROM ap_migrate.schema_fingerprint \gset
SET ap_migrate.record_fingerprint = off;
SELECT ap_migrate_upgrade();
SELECT recorded_at = :'fingerprint_at' AS fingerprint_kept FROM ap_migrate.schema_fingerprint;
SELECT object, change FROM ap_migrate_drift();
SELECT ap_migrate_check();
RESET ap_migrate.record_fingerprint;
SELECT ap_migrate_downgrade('base');
SELECT recorded_at > :'fingerprint_at' AS fingerprint_recorded FROM ap_migrate.schema_fingerprint;
ALTER TABLE stray ADD COLUMN note text;
SELECT object, change FROM ap_migrate_drift();

-- not for PUBLIC
CREATE ROLE apm_drift_nobody;
SET ROLE apm_drift_nobody;
SELECT * FROM ap_migrate_drift();
RESET ROLE;
DROP ROLE apm_drift_nobody;

\c contrib_regression
DROP DATABASE apm_drift;
