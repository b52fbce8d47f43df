-- revision: e9428b9dd556
-- down_revision: 797c75afebae
-- message: Add exception management indexes
--
-- Indexes behind the exception work queue and the storage audit screens,
-- GIN indexes for containment queries on the jsonb details documents
-- (the @> operator), and CHECK constraints that
-- keep statuses, amounts and hashes valid.  Everything here is plain
-- CREATE INDEX / ALTER TABLE, so it runs inside the migration transaction.

-- +upgrade
-- Exception management
CREATE INDEX ix_processing_exceptions_status_severity
    ON processing_exceptions (status, severity);
CREATE INDEX ix_processing_exceptions_reason_code_created_at
    ON processing_exceptions (reason_code, created_at);
CREATE INDEX ix_processing_exceptions_details_gin
    ON processing_exceptions USING gin (details jsonb_path_ops);

-- Storage audit performance
CREATE INDEX ix_storage_audit_log_file_hash ON storage_audit_log (file_hash);
CREATE INDEX ix_storage_audit_log_operation_occurred_at
    ON storage_audit_log (operation, occurred_at DESC);
CREATE INDEX ix_storage_audit_log_details_gin
    ON storage_audit_log USING gin (details);

-- Data integrity
ALTER TABLE processing_exceptions
    ADD CONSTRAINT ck_processing_exceptions_severity
        CHECK (severity IN ('info', 'warning', 'error', 'critical')),
    ADD CONSTRAINT ck_processing_exceptions_status
        CHECK (status IN ('open', 'in_review', 'resolved', 'dismissed')),
    ADD CONSTRAINT ck_processing_exceptions_resolved_at
        CHECK (status NOT IN ('resolved', 'dismissed') OR resolved_at IS NOT NULL);

ALTER TABLE invoices
    ADD CONSTRAINT ck_invoices_amounts_non_negative
        CHECK (coalesce(subtotal, 0) >= 0 AND coalesce(tax_amount, 0) >= 0
               AND coalesce(total_amount, 0) >= 0),
    ADD CONSTRAINT ck_invoices_due_date_after_invoice_date
        CHECK (due_date IS NULL OR invoice_date IS NULL OR due_date >= invoice_date);

ALTER TABLE invoice_line_items
    ADD CONSTRAINT ck_invoice_line_items_quantity_positive CHECK (quantity > 0),
    ADD CONSTRAINT ck_invoice_line_items_line_number_positive CHECK (line_number > 0);

ALTER TABLE invoice_extractions
    ADD CONSTRAINT ck_invoice_extractions_overall_confidence_range
        CHECK (overall_confidence IS NULL OR overall_confidence BETWEEN 0 AND 1);

ALTER TABLE storage_audit_log
    ADD CONSTRAINT ck_storage_audit_log_operation
        CHECK (operation IN ('upload', 'download', 'delete', 'move', 'verify')),
    ADD CONSTRAINT ck_storage_audit_log_file_hash_format
        CHECK (file_hash IS NULL OR file_hash ~ '^[0-9a-f]{64}$');

ALTER TABLE file_deduplication
    ADD CONSTRAINT ck_file_deduplication_reference_count_positive CHECK (reference_count > 0),
    ADD CONSTRAINT ck_file_deduplication_file_hash_format CHECK (file_hash ~ '^[0-9a-f]{64}$');

ALTER TABLE invoice_duplicates
    ADD CONSTRAINT ck_invoice_duplicates_not_self
        CHECK (invoice_id <> duplicate_of_invoice_id),
    ADD CONSTRAINT ck_invoice_duplicates_similarity_score_range
        CHECK (similarity_score BETWEEN 0 AND 1);

-- +downgrade
ALTER TABLE invoice_duplicates
    DROP CONSTRAINT ck_invoice_duplicates_similarity_score_range,
    DROP CONSTRAINT ck_invoice_duplicates_not_self;

ALTER TABLE file_deduplication
    DROP CONSTRAINT ck_file_deduplication_file_hash_format,
    DROP CONSTRAINT ck_file_deduplication_reference_count_positive;

ALTER TABLE storage_audit_log
    DROP CONSTRAINT ck_storage_audit_log_file_hash_format,
    DROP CONSTRAINT ck_storage_audit_log_operation;

ALTER TABLE invoice_extractions
    DROP CONSTRAINT ck_invoice_extractions_overall_confidence_range;

ALTER TABLE invoice_line_items
    DROP CONSTRAINT ck_invoice_line_items_line_number_positive,
    DROP CONSTRAINT ck_invoice_line_items_quantity_positive;

ALTER TABLE invoices
    DROP CONSTRAINT ck_invoices_due_date_after_invoice_date,
    DROP CONSTRAINT ck_invoices_amounts_non_negative;

ALTER TABLE processing_exceptions
    DROP CONSTRAINT ck_processing_exceptions_resolved_at,
    DROP CONSTRAINT ck_processing_exceptions_status,
    DROP CONSTRAINT ck_processing_exceptions_severity;

DROP INDEX ix_storage_audit_log_details_gin;
DROP INDEX ix_storage_audit_log_operation_occurred_at;
DROP INDEX ix_storage_audit_log_file_hash;
DROP INDEX ix_processing_exceptions_details_gin;
DROP INDEX ix_processing_exceptions_reason_code_created_at;
DROP INDEX ix_processing_exceptions_status_severity;
