--
-- ap_migrate_verify(): each pending revision applied, reverted, compared
-- with the schema before it, and applied again, in a subtransaction that
-- is always rolled back.  Fixtures with a deliberately imperfect downgrade
-- of each kind, a revision that uses a table before the revision that
-- creates it, a non-transactional revision; then the accounts-payable
-- example, which must verify clean.
--
CREATE DATABASE apm_verify;
\c apm_verify
CREATE EXTENSION ap_migrate;
SET client_min_messages = warning;

-- the catalog fingerprint of examples/ap_intake, to prove nothing changed
\set fingerprint_sql `sed 's/;[[:space:]]*$//' examples/ap_intake/fingerprint.sql`

SELECT ap_migrate_add('f00000000001', NULL, $$
CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL);
ALTER TABLE customers ENABLE ROW LEVEL SECURITY;
CREATE POLICY customers_all ON customers USING (true);
CREATE TABLE orders (id int PRIMARY KEY,
	customer_id int CONSTRAINT orders_customer_fkey REFERENCES customers);
CREATE INDEX orders_customer_idx ON orders (customer_id);
COMMENT ON INDEX orders_customer_idx IS 'orders by customer';
$$, 'DROP TABLE orders; DROP TABLE customers;', 'base schema');
-- a function kept: the downgrade forgets it
SELECT ap_migrate_add('f00000000002', '{f00000000001}',
	'CREATE FUNCTION order_total(int) RETURNS numeric LANGUAGE sql AS ''SELECT 0::numeric''',
	'SELECT 1', 'function kept');
-- an index comment lost: the downgrade re-creates the index without it
SELECT ap_migrate_add('f00000000003', '{f00000000002}',
	'DROP INDEX orders_customer_idx; CREATE INDEX orders_customer_idx ON orders (customer_id, id)',
	'DROP INDEX orders_customer_idx; CREATE INDEX orders_customer_idx ON orders (customer_id)',
	'index comment lost');
-- a foreign key not re-created
SELECT ap_migrate_add('f00000000004', '{f00000000003}',
	'ALTER TABLE orders DROP CONSTRAINT orders_customer_fkey; ALTER TABLE orders ALTER COLUMN customer_id TYPE bigint',
	'ALTER TABLE orders ALTER COLUMN customer_id TYPE int',
	'foreign key not re-created');
-- row-level security switched off
SELECT ap_migrate_add('f00000000005', '{f00000000004}',
	'DROP POLICY customers_all ON customers; ALTER TABLE customers DISABLE ROW LEVEL SECURITY',
	'CREATE POLICY customers_all ON customers USING (true)',
	'row-level security switched off');
-- a good one
SELECT ap_migrate_add('f00000000006', '{f00000000005}',
	'ALTER TABLE orders ADD COLUMN note text DEFAULT ''''; COMMENT ON COLUMN orders.note IS ''free text''',
	'ALTER TABLE orders DROP COLUMN note', 'a good one');
-- two branches from here: one uses a table the other one creates
SELECT ap_migrate_add('f00000000007', '{f00000000006}',
	'INSERT INTO audit_log VALUES (1)', 'DELETE FROM audit_log', 'uses audit_log');
SELECT ap_migrate_add('f00000000008', '{f00000000006}',
	'CREATE TABLE audit_log (id int)', 'DROP TABLE audit_log', 'creates audit_log');
-- a non-transactional revision, and one that depends on it
SELECT ap_migrate_add('f00000000009', '{f00000000008}',
	'CREATE INDEX CONCURRENTLY audit_log_id_idx ON audit_log (id)',
	'DROP INDEX CONCURRENTLY audit_log_id_idx', 'concurrent index', transactional => false);
SELECT ap_migrate_add('f00000000010', '{f00000000009}', 'SELECT 1', 'SELECT 1', 'after it');
-- an irreversible one
SELECT ap_migrate_add('f00000000011', '{f00000000007}', 'CREATE TABLE archive (id int)', NULL, 'irreversible');

CREATE TEMP TABLE fp AS SELECT fingerprint FROM (:fingerprint_sql) f;
SELECT count(*) AS history_rows FROM ap_migrate.history \gset

SELECT revision, status, detail, error FROM ap_migrate_verify();

-- nothing changed: same catalog fingerprint, nothing applied, no history
SELECT fingerprint = (SELECT fingerprint FROM fp) AS schema_unchanged FROM (:fingerprint_sql) f;
SELECT count(*) AS applied FROM ap_migrate.applied;
SELECT count(*) = :history_rows AS history_unchanged FROM ap_migrate.history;
SELECT count(*) AS tables FROM pg_tables WHERE schemaname = 'public';

-- up to a target, and from the applied state: only the pending steps
SELECT revision, status FROM ap_migrate_verify('f00000000001');
SELECT ap_migrate_upgrade('f00000000001') IS NOT NULL AS upgraded;
SELECT revision, status FROM ap_migrate_verify('f00000000002');
SELECT revision, status FROM ap_migrate_verify('f0000000000');
SELECT revision, status FROM ap_migrate_verify(NULL);

-- verify runs revisions' SQL: like upgrade, not for PUBLIC
CREATE ROLE apm_verify_nobody;
SET ROLE apm_verify_nobody;
SELECT * FROM ap_migrate_verify();
RESET ROLE;
DROP ROLE apm_verify_nobody;

-- and not in a read-only transaction
BEGIN READ ONLY;
SELECT * FROM ap_migrate_verify();
ROLLBACK;

\c contrib_regression
DROP DATABASE apm_verify;

-- the accounts-payable example verifies clean
CREATE DATABASE apm_verify_example;
\c apm_verify_example
CREATE EXTENSION ap_migrate;
SET client_min_messages = warning;
\set s `cat examples/ap_intake/ca4653c80b38_initial_migration_for_ap_intake_database.sql`
SELECT ap_migrate_load(:'s');
\set s `cat examples/ap_intake/b1a2c3d4e5f6_add_storage_audit_tables.sql`
SELECT ap_migrate_load(:'s');
\set s `cat examples/ap_intake/797c75afebae_add_quickbooks_integration_tables.sql`
SELECT ap_migrate_load(:'s');
\set s `cat examples/ap_intake/e9428b9dd556_add_exception_management_indexes.sql`
SELECT ap_migrate_load(:'s');
\set s `cat examples/ap_intake/55a2502018a6_add_analytics_performance_indexes.sql`
SELECT ap_migrate_load(:'s');
SELECT revision, status, detail, error FROM ap_migrate_verify();
SELECT count(*) AS tables FROM pg_tables WHERE schemaname = 'public';
\c contrib_regression
DROP DATABASE apm_verify_example;
