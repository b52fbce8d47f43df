--
-- The team's assertions on the schema at head: what the application
-- relies on.
--

-- the tables
SELECT c.relname
  FROM pg_class c
 WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'
 ORDER BY 1;

-- invoices reference vendors and cannot outlive them
SELECT conname, pg_get_constraintdef(oid) AS definition
  FROM pg_constraint
 WHERE conrelid = 'public.invoices'::regclass AND contype IN ('f', 'u')
 ORDER BY 1;

-- the status enum, in its order
SELECT enum_range(NULL::invoice_status);

-- a vendor and an invoice: uuid keys, jsonb and timestamptz defaults
INSERT INTO vendors (name, tax_id) VALUES ('Acme Paper', 'US-12-3456789');
INSERT INTO invoices (vendor_id, invoice_number, invoice_date, due_date, subtotal, tax_amount, total_amount)
SELECT id, 'INV-1001', date '2026-11-01', date '2026-12-01', 100.00, 8.25, 108.25
  FROM vendors WHERE tax_id = 'US-12-3456789';
SELECT invoice_number, status, metadata, received_at <= now() AS received_in_the_past
  FROM invoices;

-- the CHECK constraints of e9428b9dd556 refuse bad rows (terse: the
-- rows' uuids and timestamps differ from run to run)
\set VERBOSITY terse
\set ON_ERROR_STOP 0
INSERT INTO invoices (vendor_id, invoice_number, invoice_date, due_date)
SELECT id, 'INV-1002', date '2026-12-01', date '2026-11-01' FROM vendors;
INSERT INTO invoice_line_items (invoice_id, line_number, description, quantity)
SELECT id, 1, 'paper', 0 FROM invoices;
\set ON_ERROR_STOP 1
\set VERBOSITY default

-- the reporting indexes of 55a2502018a6: partial, covering, expression
SELECT indexname, indexdef
  FROM pg_indexes
 WHERE schemaname = 'public' AND tablename = 'invoices'
 ORDER BY 1;

-- leave no rows behind for the downgrade test
DELETE FROM invoices;
DELETE FROM vendors;
