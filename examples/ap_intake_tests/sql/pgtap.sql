--
-- The same kind of assertions with pgTAP, for teams whose suites use it:
-- one TAP line per assertion, compared by pg_regress like any output.
--
BEGIN;
CREATE EXTENSION pgtap;
SET LOCAL client_min_messages = warning;
\pset format unaligned
\pset tuples_only on
\pset pager off

SELECT plan(12);

-- the migrations: registered, valid, at head
SELECT is((SELECT count(*)::int FROM ap_migrate_history()), 5, 'five revisions are registered');
SELECT is_empty('SELECT * FROM ap_migrate_validate()', 'the chain validates');
SELECT ok((SELECT bool_and(is_current) FROM ap_migrate_heads()), 'the database is at head');
SELECT results_eq('SELECT revision FROM ap_migrate_current()', ARRAY['55a2502018a6'],
                  'the current revision is 55a2502018a6');

-- the schema the application relies on
SELECT has_table('public', 'invoices', 'invoices exists');
SELECT col_type_is('public', 'invoices', 'metadata', 'jsonb', 'invoices.metadata is jsonb');
SELECT col_has_default('public', 'invoices', 'status', 'a new invoice gets a status');
SELECT fk_ok('public', 'invoices', 'vendor_id', 'public', 'vendors', 'id', 'invoices reference vendors');
SELECT has_index('public', 'invoices', 'ix_invoices_unpaid_due_date', 'the unpaid-invoices index exists');
SELECT throws_ok($$INSERT INTO invoice_line_items (invoice_id, line_number, quantity)
                   VALUES (gen_random_uuid(), 1, 0)$$, '23514', NULL, 'a line item needs a positive quantity');

-- one step down, inside the test's transaction (rolled back below)
SELECT lives_ok($$SELECT ap_migrate_downgrade('-1')$$, 'downgrade -1');
SELECT hasnt_index('public', 'invoices', 'ix_invoices_unpaid_due_date', 'the downgrade dropped the index');

SELECT * FROM finish();
ROLLBACK;
