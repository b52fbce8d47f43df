-- revision: 797c75afebae
-- down_revision: b1a2c3d4e5f6
-- message: Add QuickBooks integration tables
--
-- QuickBooks Online export of approved invoices (as QuickBooks Bills).
-- One connection per QuickBooks company (realm), vendor and invoice mappings
-- between ap_intake and QuickBooks ids, and an API call log.  Foreign keys
-- point at the right parents, ids are uuid, booleans have defaults, and every
-- index and constraint is explicitly named.

-- +upgrade
CREATE TABLE quickbooks_connections (
    id                       uuid         NOT NULL DEFAULT gen_random_uuid(),
    realm_id                 varchar(32)  NOT NULL,
    company_name             varchar(255),
    environment              varchar(16)  NOT NULL DEFAULT 'sandbox',
    access_token_encrypted   text,
    refresh_token_encrypted  text,
    token_expires_at         timestamptz,
    refresh_token_expires_at timestamptz,
    scopes                   jsonb        NOT NULL DEFAULT '[]'::jsonb,
    is_active                boolean      NOT NULL DEFAULT true,
    auto_sync_enabled        boolean      NOT NULL DEFAULT false,
    last_sync_at             timestamptz,
    created_at               timestamptz  NOT NULL DEFAULT now(),
    updated_at               timestamptz  NOT NULL DEFAULT now(),
    CONSTRAINT pk_quickbooks_connections PRIMARY KEY (id),
    CONSTRAINT uq_quickbooks_connections_realm_id UNIQUE (realm_id)
);

CREATE TABLE quickbooks_vendor_mappings (
    id              uuid         NOT NULL DEFAULT gen_random_uuid(),
    connection_id   uuid         NOT NULL,
    vendor_id       uuid         NOT NULL,
    qb_vendor_id    varchar(64)  NOT NULL,
    qb_display_name varchar(255),
    sync_token      varchar(32),
    is_active       boolean      NOT NULL DEFAULT true,
    last_synced_at  timestamptz,
    created_at      timestamptz  NOT NULL DEFAULT now(),
    CONSTRAINT pk_quickbooks_vendor_mappings PRIMARY KEY (id),
    CONSTRAINT uq_quickbooks_vendor_mappings_connection_vendor UNIQUE (connection_id, vendor_id),
    CONSTRAINT uq_quickbooks_vendor_mappings_connection_qb_vendor UNIQUE (connection_id, qb_vendor_id),
    CONSTRAINT fk_quickbooks_vendor_mappings_connection_id FOREIGN KEY (connection_id)
        REFERENCES quickbooks_connections (id) ON DELETE CASCADE,
    CONSTRAINT fk_quickbooks_vendor_mappings_vendor_id FOREIGN KEY (vendor_id)
        REFERENCES vendors (id) ON DELETE CASCADE
);
CREATE INDEX ix_quickbooks_vendor_mappings_vendor_id ON quickbooks_vendor_mappings (vendor_id);

CREATE TABLE quickbooks_invoice_syncs (
    id               uuid        NOT NULL DEFAULT gen_random_uuid(),
    connection_id    uuid        NOT NULL,
    invoice_id       uuid        NOT NULL,
    qb_bill_id       varchar(64),
    sync_status      varchar(16) NOT NULL DEFAULT 'pending',
    attempt_count    integer     NOT NULL DEFAULT 0,
    is_dry_run       boolean     NOT NULL DEFAULT false,
    last_error       text,
    request_payload  jsonb,
    response_payload jsonb,
    synced_at        timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_quickbooks_invoice_syncs PRIMARY KEY (id),
    CONSTRAINT uq_quickbooks_invoice_syncs_connection_invoice UNIQUE (connection_id, invoice_id),
    CONSTRAINT fk_quickbooks_invoice_syncs_connection_id FOREIGN KEY (connection_id)
        REFERENCES quickbooks_connections (id) ON DELETE CASCADE,
    CONSTRAINT fk_quickbooks_invoice_syncs_invoice_id FOREIGN KEY (invoice_id)
        REFERENCES invoices (id) ON DELETE CASCADE
);
CREATE INDEX ix_quickbooks_invoice_syncs_invoice_id ON quickbooks_invoice_syncs (invoice_id);

CREATE TABLE quickbooks_sync_log (
    id              uuid        NOT NULL DEFAULT gen_random_uuid(),
    connection_id   uuid        NOT NULL,
    invoice_sync_id uuid,
    operation       varchar(32) NOT NULL,
    entity_type     varchar(32) NOT NULL,
    http_status     integer,
    success         boolean     NOT NULL DEFAULT false,
    duration_ms     integer,
    intuit_tid      varchar(64),
    payload         jsonb       NOT NULL DEFAULT '{}'::jsonb,
    logged_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_quickbooks_sync_log PRIMARY KEY (id),
    CONSTRAINT fk_quickbooks_sync_log_connection_id FOREIGN KEY (connection_id)
        REFERENCES quickbooks_connections (id) ON DELETE CASCADE,
    CONSTRAINT fk_quickbooks_sync_log_invoice_sync_id FOREIGN KEY (invoice_sync_id)
        REFERENCES quickbooks_invoice_syncs (id) ON DELETE SET NULL
);
CREATE INDEX ix_quickbooks_sync_log_connection_id_logged_at
    ON quickbooks_sync_log (connection_id, logged_at);
CREATE INDEX ix_quickbooks_sync_log_invoice_sync_id ON quickbooks_sync_log (invoice_sync_id);

CREATE TRIGGER trg_quickbooks_connections_updated_at BEFORE UPDATE ON quickbooks_connections
    FOR EACH ROW EXECUTE FUNCTION ap_set_updated_at();
CREATE TRIGGER trg_quickbooks_invoice_syncs_updated_at BEFORE UPDATE ON quickbooks_invoice_syncs
    FOR EACH ROW EXECUTE FUNCTION ap_set_updated_at();

-- +downgrade
DROP TRIGGER trg_quickbooks_invoice_syncs_updated_at ON quickbooks_invoice_syncs;
DROP TRIGGER trg_quickbooks_connections_updated_at ON quickbooks_connections;
DROP INDEX ix_quickbooks_sync_log_invoice_sync_id;
DROP INDEX ix_quickbooks_sync_log_connection_id_logged_at;
DROP TABLE quickbooks_sync_log;
DROP INDEX ix_quickbooks_invoice_syncs_invoice_id;
DROP TABLE quickbooks_invoice_syncs;
DROP INDEX ix_quickbooks_vendor_mappings_vendor_id;
DROP TABLE quickbooks_vendor_mappings;
DROP TABLE quickbooks_connections;
