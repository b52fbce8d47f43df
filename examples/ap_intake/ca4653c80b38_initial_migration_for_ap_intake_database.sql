-- revision: ca4653c80b38
-- down_revision:
-- message: Initial migration for ap_intake database
--
-- Base revision of the ap_intake (accounts-payable intake) schema.
-- Creates the base_uuid_mixin registry table and the core tables (vendors,
-- invoices, invoice line items, extraction results, processing exceptions).
-- All keys are uuid with gen_random_uuid() defaults (core since PostgreSQL 13,
-- no pgcrypto or uuid-ossp needed), documents are jsonb, timestamps are
-- timestamptz with now() defaults.

-- +upgrade
CREATE TYPE invoice_status AS ENUM (
    'received', 'extracting', 'extracted', 'validated',
    'exception', 'approved', 'exported', 'rejected'
);

CREATE FUNCTION ap_set_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;

-- One row per domain entity; core tables point at it through base_id.
CREATE TABLE base_uuid_mixin (
    id          uuid        NOT NULL DEFAULT gen_random_uuid(),
    entity_type varchar(64) NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_base_uuid_mixin PRIMARY KEY (id)
);
CREATE INDEX ix_base_uuid_mixin_entity_type ON base_uuid_mixin (entity_type);

CREATE TABLE vendors (
    id                 uuid         NOT NULL DEFAULT gen_random_uuid(),
    base_id            uuid,
    name               varchar(255) NOT NULL,
    tax_id             varchar(32),
    currency           char(3)      NOT NULL DEFAULT 'USD',
    payment_terms_days integer      NOT NULL DEFAULT 30,
    address            jsonb        NOT NULL DEFAULT '{}'::jsonb,
    is_active          boolean      NOT NULL DEFAULT true,
    created_at         timestamptz  NOT NULL DEFAULT now(),
    updated_at         timestamptz  NOT NULL DEFAULT now(),
    CONSTRAINT pk_vendors PRIMARY KEY (id),
    CONSTRAINT uq_vendors_tax_id UNIQUE (tax_id),
    CONSTRAINT fk_vendors_base_id_base_uuid_mixin FOREIGN KEY (base_id)
        REFERENCES base_uuid_mixin (id) ON DELETE SET NULL
);

CREATE TABLE invoices (
    id             uuid           NOT NULL DEFAULT gen_random_uuid(),
    base_id        uuid,
    vendor_id      uuid           NOT NULL,
    invoice_number varchar(64)    NOT NULL,
    invoice_date   date,
    due_date       date,
    currency       char(3)        NOT NULL DEFAULT 'USD',
    subtotal       numeric(14,2),
    tax_amount     numeric(14,2),
    total_amount   numeric(14,2),
    status         invoice_status NOT NULL DEFAULT 'received',
    source_channel varchar(32)    NOT NULL DEFAULT 'email',
    storage_key    text,
    metadata       jsonb          NOT NULL DEFAULT '{}'::jsonb,
    received_at    timestamptz    NOT NULL DEFAULT now(),
    created_at     timestamptz    NOT NULL DEFAULT now(),
    updated_at     timestamptz    NOT NULL DEFAULT now(),
    CONSTRAINT pk_invoices PRIMARY KEY (id),
    CONSTRAINT uq_invoices_vendor_id_invoice_number UNIQUE (vendor_id, invoice_number),
    CONSTRAINT fk_invoices_base_id_base_uuid_mixin FOREIGN KEY (base_id)
        REFERENCES base_uuid_mixin (id) ON DELETE SET NULL,
    CONSTRAINT fk_invoices_vendor_id_vendors FOREIGN KEY (vendor_id)
        REFERENCES vendors (id) ON DELETE RESTRICT
);
CREATE INDEX ix_invoices_status ON invoices (status);

CREATE TABLE invoice_line_items (
    id              uuid          NOT NULL DEFAULT gen_random_uuid(),
    invoice_id      uuid          NOT NULL,
    line_number     integer       NOT NULL,
    description     text,
    quantity        numeric(12,4) NOT NULL DEFAULT 1,
    unit_price      numeric(14,4),
    amount          numeric(14,2),
    gl_account_code varchar(32),
    attributes      jsonb         NOT NULL DEFAULT '{}'::jsonb,
    created_at      timestamptz   NOT NULL DEFAULT now(),
    CONSTRAINT pk_invoice_line_items PRIMARY KEY (id),
    CONSTRAINT uq_invoice_line_items_invoice_id_line_number UNIQUE (invoice_id, line_number),
    CONSTRAINT fk_invoice_line_items_invoice_id_invoices FOREIGN KEY (invoice_id)
        REFERENCES invoices (id) ON DELETE CASCADE
);

CREATE TABLE invoice_extractions (
    id                 uuid         NOT NULL DEFAULT gen_random_uuid(),
    invoice_id         uuid         NOT NULL,
    extractor          varchar(64)  NOT NULL DEFAULT 'docling',
    extractor_version  varchar(32),
    raw_output         jsonb        NOT NULL,
    field_confidence   jsonb        NOT NULL DEFAULT '{}'::jsonb,
    overall_confidence numeric(5,4),
    extracted_at       timestamptz  NOT NULL DEFAULT now(),
    CONSTRAINT pk_invoice_extractions PRIMARY KEY (id),
    CONSTRAINT fk_invoice_extractions_invoice_id_invoices FOREIGN KEY (invoice_id)
        REFERENCES invoices (id) ON DELETE CASCADE
);
CREATE INDEX ix_invoice_extractions_invoice_id ON invoice_extractions (invoice_id);

CREATE TABLE processing_exceptions (
    id               uuid         NOT NULL DEFAULT gen_random_uuid(),
    base_id          uuid,
    invoice_id       uuid         NOT NULL,
    reason_code      varchar(64)  NOT NULL,
    severity         varchar(16)  NOT NULL DEFAULT 'error',
    status           varchar(16)  NOT NULL DEFAULT 'open',
    details          jsonb        NOT NULL DEFAULT '{}'::jsonb,
    assigned_to      varchar(255),
    resolved_at      timestamptz,
    resolution_notes text,
    created_at       timestamptz  NOT NULL DEFAULT now(),
    updated_at       timestamptz  NOT NULL DEFAULT now(),
    CONSTRAINT pk_processing_exceptions PRIMARY KEY (id),
    CONSTRAINT fk_processing_exceptions_base_id_base_uuid_mixin FOREIGN KEY (base_id)
        REFERENCES base_uuid_mixin (id) ON DELETE SET NULL,
    CONSTRAINT fk_processing_exceptions_invoice_id_invoices FOREIGN KEY (invoice_id)
        REFERENCES invoices (id) ON DELETE CASCADE
);
CREATE INDEX ix_processing_exceptions_invoice_id ON processing_exceptions (invoice_id);

CREATE TRIGGER trg_vendors_updated_at BEFORE UPDATE ON vendors
    FOR EACH ROW EXECUTE FUNCTION ap_set_updated_at();
CREATE TRIGGER trg_invoices_updated_at BEFORE UPDATE ON invoices
    FOR EACH ROW EXECUTE FUNCTION ap_set_updated_at();
CREATE TRIGGER trg_processing_exceptions_updated_at BEFORE UPDATE ON processing_exceptions
    FOR EACH ROW EXECUTE FUNCTION ap_set_updated_at();

-- +downgrade
DROP TRIGGER trg_processing_exceptions_updated_at ON processing_exceptions;
DROP TRIGGER trg_invoices_updated_at ON invoices;
DROP TRIGGER trg_vendors_updated_at ON vendors;
DROP INDEX ix_processing_exceptions_invoice_id;
DROP TABLE processing_exceptions;
DROP INDEX ix_invoice_extractions_invoice_id;
DROP TABLE invoice_extractions;
DROP TABLE invoice_line_items;
DROP INDEX ix_invoices_status;
DROP TABLE invoices;
DROP TABLE vendors;
DROP INDEX ix_base_uuid_mixin_entity_type;
DROP TABLE base_uuid_mixin;
DROP FUNCTION ap_set_updated_at();
DROP TYPE invoice_status;
