-- revision: b1a2c3d4e5f6
-- down_revision: ca4653c80b38
-- message: Add storage audit and deduplication tables
--
-- Audit trail of every object-storage operation on invoice documents, a
-- content-hash registry used to store each uploaded file only once, and the
-- duplicate-invoice candidates found by the dedup pass.  Timestamps are
-- timezone aware and defaulted; lookup indexes are created with the tables.

-- +upgrade
CREATE TABLE storage_audit_log (
    id              uuid         NOT NULL DEFAULT gen_random_uuid(),
    invoice_id      uuid,
    operation       varchar(32)  NOT NULL,
    storage_backend varchar(32)  NOT NULL DEFAULT 'local',
    object_key      text         NOT NULL,
    file_hash       char(64),
    file_size_bytes bigint,
    content_type    varchar(128),
    actor           varchar(255) NOT NULL DEFAULT 'system',
    success         boolean      NOT NULL DEFAULT true,
    error_message   text,
    details         jsonb        NOT NULL DEFAULT '{}'::jsonb,
    occurred_at     timestamptz  NOT NULL DEFAULT now(),
    CONSTRAINT pk_storage_audit_log PRIMARY KEY (id),
    CONSTRAINT fk_storage_audit_log_invoice_id_invoices FOREIGN KEY (invoice_id)
        REFERENCES invoices (id) ON DELETE SET NULL
);
CREATE INDEX ix_storage_audit_log_invoice_id ON storage_audit_log (invoice_id);
CREATE INDEX ix_storage_audit_log_occurred_at ON storage_audit_log (occurred_at);

CREATE TABLE file_deduplication (
    id                   uuid        NOT NULL DEFAULT gen_random_uuid(),
    file_hash            char(64)    NOT NULL,
    canonical_invoice_id uuid,
    storage_backend      varchar(32) NOT NULL DEFAULT 'local',
    object_key           text        NOT NULL,
    file_size_bytes      bigint      NOT NULL,
    content_type         varchar(128),
    reference_count      integer     NOT NULL DEFAULT 1,
    first_seen_at        timestamptz NOT NULL DEFAULT now(),
    last_seen_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_file_deduplication PRIMARY KEY (id),
    CONSTRAINT uq_file_deduplication_file_hash UNIQUE (file_hash),
    CONSTRAINT fk_file_deduplication_canonical_invoice_id_invoices FOREIGN KEY (canonical_invoice_id)
        REFERENCES invoices (id) ON DELETE SET NULL
);
CREATE INDEX ix_file_deduplication_canonical_invoice_id ON file_deduplication (canonical_invoice_id);

CREATE TABLE invoice_duplicates (
    id                      uuid         NOT NULL DEFAULT gen_random_uuid(),
    invoice_id              uuid         NOT NULL,
    duplicate_of_invoice_id uuid         NOT NULL,
    match_type              varchar(32)  NOT NULL DEFAULT 'file_hash',
    similarity_score        numeric(5,4) NOT NULL DEFAULT 1,
    match_details           jsonb        NOT NULL DEFAULT '{}'::jsonb,
    is_confirmed            boolean      NOT NULL DEFAULT false,
    detected_at             timestamptz  NOT NULL DEFAULT now(),
    reviewed_at             timestamptz,
    reviewed_by             varchar(255),
    CONSTRAINT pk_invoice_duplicates PRIMARY KEY (id),
    CONSTRAINT uq_invoice_duplicates_pair UNIQUE (invoice_id, duplicate_of_invoice_id),
    CONSTRAINT fk_invoice_duplicates_invoice_id_invoices FOREIGN KEY (invoice_id)
        REFERENCES invoices (id) ON DELETE CASCADE,
    CONSTRAINT fk_invoice_duplicates_duplicate_of_invoice_id_invoices FOREIGN KEY (duplicate_of_invoice_id)
        REFERENCES invoices (id) ON DELETE CASCADE
);
CREATE INDEX ix_invoice_duplicates_duplicate_of_invoice_id ON invoice_duplicates (duplicate_of_invoice_id);

-- +downgrade
DROP INDEX ix_invoice_duplicates_duplicate_of_invoice_id;
DROP TABLE invoice_duplicates;
DROP INDEX ix_file_deduplication_canonical_invoice_id;
DROP TABLE file_deduplication;
DROP INDEX ix_storage_audit_log_occurred_at;
DROP INDEX ix_storage_audit_log_invoice_id;
DROP TABLE storage_audit_log;
