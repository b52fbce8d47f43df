-- revision: 55a2502018a6
-- down_revision: e9428b9dd556
-- message: Add analytics performance indexes
--
-- Head of the ap_intake chain.  QuickBooks work-queue indexes, partial
-- indexes (WHERE ...) that cover only the rows the hot queries touch, and
-- composite / expression indexes for the AP analytics dashboards (spend per
-- vendor, monthly intake volume, ageing of open invoices).

-- +upgrade
-- QuickBooks integration
CREATE INDEX ix_quickbooks_invoice_syncs_pending
    ON quickbooks_invoice_syncs (connection_id, created_at)
    WHERE sync_status IN ('pending', 'failed');
CREATE INDEX ix_quickbooks_connections_active_last_sync_at
    ON quickbooks_connections (last_sync_at)
    WHERE is_active;
CREATE INDEX ix_quickbooks_sync_log_failures
    ON quickbooks_sync_log (connection_id, logged_at DESC)
    WHERE NOT success;
CREATE INDEX ix_quickbooks_vendor_mappings_qb_vendor_id
    ON quickbooks_vendor_mappings (qb_vendor_id);

-- Work queues
CREATE INDEX ix_processing_exceptions_open_queue
    ON processing_exceptions (severity, created_at)
    WHERE status IN ('open', 'in_review');
CREATE INDEX ix_invoices_unpaid_due_date
    ON invoices (due_date)
    WHERE status NOT IN ('exported', 'rejected');
CREATE INDEX ix_invoice_extractions_low_confidence
    ON invoice_extractions (extracted_at)
    WHERE overall_confidence < 0.80;
CREATE INDEX ix_invoice_duplicates_unreviewed
    ON invoice_duplicates (detected_at)
    WHERE reviewed_at IS NULL;

-- Analytics
CREATE INDEX ix_invoices_vendor_id_invoice_date
    ON invoices (vendor_id, invoice_date DESC)
    INCLUDE (total_amount, currency);
CREATE INDEX ix_invoices_received_month_utc
    ON invoices ((date_trunc('month', received_at AT TIME ZONE 'UTC')));
CREATE INDEX ix_invoices_status_received_at
    ON invoices (status, received_at);
CREATE INDEX ix_vendors_lower_name
    ON vendors (lower(name));
CREATE INDEX ix_invoice_line_items_gl_account_code
    ON invoice_line_items (gl_account_code)
    WHERE gl_account_code IS NOT NULL;

-- +downgrade
DROP INDEX ix_invoice_line_items_gl_account_code;
DROP INDEX ix_vendors_lower_name;
DROP INDEX ix_invoices_status_received_at;
DROP INDEX ix_invoices_received_month_utc;
DROP INDEX ix_invoices_vendor_id_invoice_date;
DROP INDEX ix_invoice_duplicates_unreviewed;
DROP INDEX ix_invoice_extractions_low_confidence;
DROP INDEX ix_invoices_unpaid_due_date;
DROP INDEX ix_processing_exceptions_open_queue;
DROP INDEX ix_quickbooks_vendor_mappings_qb_vendor_id;
DROP INDEX ix_quickbooks_sync_log_failures;
DROP INDEX ix_quickbooks_connections_active_last_sync_at;
DROP INDEX ix_quickbooks_invoice_syncs_pending;
