#!/usr/bin/env bash
# verify_plain.sh - check the ap_intake example migrations with plain psql,
# without the ap_migrate extension.
#
# Connection: the usual libpq variables (PGHOST, PGPORT, PGUSER, PGPASSWORD,
# PGDATABASE).  PGDATABASE (default "postgres") is only used to create and
# drop a scratch database; everything else happens in the scratch database.
#
# What it does:
#   1. checks each file's header (revision, down_revision, chain order) and
#      extracts its "-- +upgrade" and "-- +downgrade" sections;
#   2. in a fresh scratch database (from template0) takes a catalog
#      fingerprint (fingerprint.sql), then applies the five upgrades in chain
#      order, each with psql -v ON_ERROR_STOP=1 -1, fingerprinting after each;
#   3. checks the expected tables, foreign keys, GIN / partial / expression
#      indexes and CHECK constraints exist;
#   4. inserts sample rows (uuid, jsonb, timestamptz values, defaults,
#      updated_at trigger), checks that CHECK constraints reject bad rows,
#      then deletes the sample rows;
#   5. applies the downgrades in reverse order and checks that after each one
#      the fingerprint equals the one taken before the matching upgrade;
#   6. runs the whole chain up and down a second time.
# Exit status 0 when everything passed, non-zero otherwise.
#
# Environment knobs: VERIFY_DB (scratch database name, default
# ap_intake_verify_<pid>; it must not exist), KEEP_DB=1 (keep it afterwards).

set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CHAIN=(ca4653c80b38 b1a2c3d4e5f6 797c75afebae e9428b9dd556 55a2502018a6)
MAINT_DB=${PGDATABASE:-postgres}
SCRATCH_DB=${VERIFY_DB:-ap_intake_verify_$$}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ap_intake_verify.XXXXXX")
CREATED_DB=0

export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"

log()  { printf '%s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

psql_maint() { psql -X -q -v ON_ERROR_STOP=1 -d "$MAINT_DB" "$@"; }
psql_db()    { psql -X -q -v ON_ERROR_STOP=1 -d "$SCRATCH_DB" "$@"; }

cleanup() {
    local rc=$?
    if [[ $CREATED_DB == 1 && ${KEEP_DB:-0} != 1 ]]; then
        psql_maint -c "DROP DATABASE IF EXISTS \"$SCRATCH_DB\"" >/dev/null 2>&1 ||
            printf 'warning: could not drop scratch database %s\n' "$SCRATCH_DB" >&2
    fi
    rm -rf "$WORK"
    if [[ $rc == 0 ]]; then
        log "PASS: ap_intake example verified (upgrade/downgrade round trip leaves the catalog unchanged)"
    fi
    exit "$rc"
}
trap cleanup EXIT

command -v psql >/dev/null || fail "psql not found in PATH"
[[ -f $HERE/fingerprint.sql ]] || fail "missing $HERE/fingerprint.sql"

# Listing variant of fingerprint.sql (same items, one per line) for diagnostics.
{
    sed '/^SELECT md5(coalesce(string_agg(item/,$d' "$HERE/fingerprint.sql"
    printf '%s\n' 'SELECT item FROM items ORDER BY item COLLATE "C";'
} >"$WORK/listing.sql"

# ---------------------------------------------------------------------------
# 1. Headers and sections
# ---------------------------------------------------------------------------
prev=""
for rev in "${CHAIN[@]}"; do
    shopt -s nullglob
    matches=("$HERE/${rev}_"*.sql)
    shopt -u nullglob
    [[ ${#matches[@]} == 1 ]] || fail "expected exactly one file ${rev}_*.sql in $HERE, found ${#matches[@]}"
    f=${matches[0]}
    name=$(basename "$f")

    # Header = everything before "-- +upgrade"; keys are "-- key: value".
    awk '
        /^-- \+upgrade[ \t\r]*$/ { exit }
        match($0, /^--[ \t]*[a-z_]+:/) {
            key = substr($0, 1, RLENGTH - 1); sub(/^--[ \t]*/, "", key)
            val = substr($0, RLENGTH + 1); gsub(/^[ \t]+|[ \t\r]+$/, "", val)
            print key "\t" val
        }
    ' "$f" >"$WORK/$rev.header"

    bad_keys=$(cut -f1 "$WORK/$rev.header" |
        grep -Ev '^(revision|down_revision|message|branch_labels|depends_on|transactional)$' || true)
    [[ -z $bad_keys ]] || fail "$name: unknown header key(s): $bad_keys"
    dups=$(cut -f1 "$WORK/$rev.header" | sort | uniq -d)
    [[ -z $dups ]] || fail "$name: duplicate header key(s): $dups"

    h_rev=$(awk -F'\t' '$1 == "revision" { print $2 }' "$WORK/$rev.header")
    h_down=$(awk -F'\t' '$1 == "down_revision" { print $2 }' "$WORK/$rev.header")
    h_msg=$(awk -F'\t' '$1 == "message" { print $2 }' "$WORK/$rev.header")
    grep -q $'^down_revision\t' "$WORK/$rev.header" || fail "$name: missing down_revision header"
    [[ $h_rev == "$rev" ]] || fail "$name: header revision '$h_rev' does not match file name"
    [[ $h_down == "$prev" ]] || fail "$name: down_revision '$h_down', expected '$prev'"
    [[ -n $h_msg ]] || fail "$name: missing message header"

    # Sections: exactly one "-- +upgrade" followed by exactly one "-- +downgrade".
    for section in upgrade downgrade; do
        awk -v want="$section" '
            /^-- \+upgrade[ \t\r]*$/   { nu++; sect = "upgrade"; next }
            /^-- \+downgrade[ \t\r]*$/ { if (nu == 0) bad = 1; nd++; sect = "downgrade"; next }
            sect == want { print }
            END { if (nu != 1 || nd != 1 || bad) exit 3 }
        ' "$f" >"$WORK/$rev.$section.sql" ||
            fail "$name: needs exactly one '-- +upgrade' line followed by one '-- +downgrade' line"
        grep -Evq '^[[:space:]]*(--.*)?$' "$WORK/$rev.$section.sql" ||
            fail "$name: empty $section section"
        # shellcheck disable=SC1003  # the trailing \\ is a regex backslash, not a quote escape
        if grep -Eiq '^[[:space:]]*(BEGIN[[:space:]]*(;|TRANSACTION\b|WORK\b)|COMMIT\b|ROLLBACK\b|START[[:space:]]+TRANSACTION\b|VACUUM\b)|CONCURRENTLY|^[[:space:]]*\\' \
            "$WORK/$rev.$section.sql"; then
            fail "$name: $section section contains transaction control, CONCURRENTLY, VACUUM or a psql meta-command"
        fi
    done
    log "ok   header and sections: $name (down_revision='${h_down}', message='${h_msg}')"
    prev=$rev
done

# ---------------------------------------------------------------------------
# 2. Scratch database, baseline fingerprint, upgrades
# ---------------------------------------------------------------------------
exists=$(psql_maint -At -c "SELECT count(*) FROM pg_database WHERE datname = '$SCRATCH_DB'")
[[ $exists == 0 ]] || fail "scratch database $SCRATCH_DB already exists"
psql_maint -c "CREATE DATABASE \"$SCRATCH_DB\" TEMPLATE template0"
CREATED_DB=1
log "ok   created scratch database $SCRATCH_DB"

fingerprint() { psql_db -At -f "$HERE/fingerprint.sql"; }
snapshot()    { psql_db -At -f "$WORK/listing.sql" >"$WORK/listing.$1"; }

# Compare the current catalog with the snapshot taken under label $1.
expect_fingerprint() {
    local want=$1 label=$2 what=$3 got
    got=$(fingerprint)
    if [[ $got != "${FP[$label]}" ]]; then
        snapshot current
        printf 'catalog difference (< expected %s, > actual):\n' "$label" >&2
        diff "$WORK/listing.$label" "$WORK/listing.current" >&2 || true
        fail "$what: fingerprint $got, expected $want"
    fi
}

declare -A FP
FP[base]=$(fingerprint)
snapshot base
log "ok   baseline fingerprint ${FP[base]}"

run_chain_up() {
    local prev_label=base rev
    for rev in "${CHAIN[@]}"; do
        psql_db -1 -f "$WORK/$rev.upgrade.sql" || fail "upgrade $rev failed"
        local fp
        fp=$(fingerprint)
        [[ $fp != "${FP[$prev_label]}" ]] || fail "upgrade $rev did not change the catalog"
        if [[ -n ${FP[$rev]:-} ]]; then
            expect_fingerprint "${FP[$rev]}" "$rev" "second upgrade $rev"
        else
            FP[$rev]=$fp
            snapshot "$rev"
        fi
        log "ok   upgrade   $rev  fingerprint $fp"
        prev_label=$rev
    done
}

run_chain_down() {
    local i rev want_label
    for ((i = ${#CHAIN[@]} - 1; i >= 0; i--)); do
        rev=${CHAIN[$i]}
        if ((i == 0)); then want_label=base; else want_label=${CHAIN[$((i - 1))]}; fi
        psql_db -1 -f "$WORK/$rev.downgrade.sql" || fail "downgrade $rev failed"
        expect_fingerprint "${FP[$want_label]}" "$want_label" "downgrade $rev"
        log "ok   downgrade $rev  fingerprint back to ${FP[$want_label]} ($want_label)"
    done
}

run_chain_up

# ---------------------------------------------------------------------------
# 3. Structure at head
# ---------------------------------------------------------------------------
psql_db -1 -f - <<'SQL' || fail "structure checks at head"
DO $$
DECLARE
    t text;
    n int;
    expected_tables text[] := ARRAY[
        'base_uuid_mixin', 'vendors', 'invoices', 'invoice_line_items',
        'invoice_extractions', 'processing_exceptions',
        'storage_audit_log', 'file_deduplication', 'invoice_duplicates',
        'quickbooks_connections', 'quickbooks_vendor_mappings',
        'quickbooks_invoice_syncs', 'quickbooks_sync_log'];
    gin_indexes text[] := ARRAY[
        'ix_processing_exceptions_details_gin', 'ix_storage_audit_log_details_gin'];
    partial_indexes text[] := ARRAY[
        'ix_quickbooks_invoice_syncs_pending', 'ix_quickbooks_connections_active_last_sync_at',
        'ix_quickbooks_sync_log_failures', 'ix_processing_exceptions_open_queue',
        'ix_invoices_unpaid_due_date', 'ix_invoice_extractions_low_confidence',
        'ix_invoice_duplicates_unreviewed', 'ix_invoice_line_items_gl_account_code'];
    expression_indexes text[] := ARRAY['ix_invoices_received_month_utc', 'ix_vendors_lower_name'];
    check_constraints text[] := ARRAY[
        'ck_processing_exceptions_severity', 'ck_processing_exceptions_status',
        'ck_processing_exceptions_resolved_at', 'ck_invoices_amounts_non_negative',
        'ck_invoices_due_date_after_invoice_date', 'ck_invoice_line_items_quantity_positive',
        'ck_invoice_line_items_line_number_positive',
        'ck_invoice_extractions_overall_confidence_range', 'ck_storage_audit_log_operation',
        'ck_storage_audit_log_file_hash_format', 'ck_file_deduplication_reference_count_positive',
        'ck_file_deduplication_file_hash_format', 'ck_invoice_duplicates_not_self',
        'ck_invoice_duplicates_similarity_score_range'];
BEGIN
    FOREACH t IN ARRAY expected_tables LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_class
                       WHERE oid = to_regclass(quote_ident(t)) AND relkind = 'r') THEN
            RAISE EXCEPTION 'table % missing', t;
        END IF;
        -- every table has a uuid primary key "id" defaulting to gen_random_uuid()
        IF NOT EXISTS (
            SELECT 1 FROM pg_attribute a
            JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
            JOIN pg_constraint c ON c.conrelid = a.attrelid AND c.contype = 'p'
                                AND c.conkey = ARRAY[a.attnum]
            WHERE a.attrelid = to_regclass(quote_ident(t)) AND a.attname = 'id'
              AND a.atttypid = 'uuid'::regtype
              AND pg_get_expr(d.adbin, d.adrelid) = 'gen_random_uuid()') THEN
            RAISE EXCEPTION 'table %: id is not a uuid primary key with gen_random_uuid() default', t;
        END IF;
    END LOOP;

    -- timezone support: no timestamp without time zone anywhere, timestamptz everywhere
    SELECT count(*) INTO n FROM pg_attribute a
    WHERE a.attrelid = ANY (SELECT to_regclass(quote_ident(x)) FROM unnest(expected_tables) x)
      AND a.atttypid = 'timestamp'::regtype AND NOT a.attisdropped;
    IF n <> 0 THEN RAISE EXCEPTION '% timestamp without time zone column(s)', n; END IF;

    SELECT count(*) INTO n FROM pg_attribute a
    WHERE a.attrelid = ANY (SELECT to_regclass(quote_ident(x)) FROM unnest(expected_tables) x)
      AND a.atttypid = 'jsonb'::regtype AND NOT a.attisdropped;
    IF n < 12 THEN RAISE EXCEPTION 'expected at least 12 jsonb columns, found %', n; END IF;

    -- foreign keys: 17 in total, 3 of them to base_uuid_mixin
    SELECT count(*) INTO n FROM pg_constraint
    WHERE contype = 'f'
      AND conrelid = ANY (SELECT to_regclass(quote_ident(x)) FROM unnest(expected_tables) x);
    IF n <> 17 THEN RAISE EXCEPTION 'expected 17 foreign keys, found %', n; END IF;
    SELECT count(*) INTO n FROM pg_constraint
    WHERE contype = 'f' AND confrelid = 'base_uuid_mixin'::regclass;
    IF n <> 3 THEN RAISE EXCEPTION 'expected 3 foreign keys to base_uuid_mixin, found %', n; END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_constraint
                   WHERE conname = 'fk_quickbooks_vendor_mappings_vendor_id'
                     AND conrelid = 'quickbooks_vendor_mappings'::regclass
                     AND confrelid = 'vendors'::regclass) THEN
        RAISE EXCEPTION 'fk_quickbooks_vendor_mappings_vendor_id missing or pointing elsewhere';
    END IF;

    FOREACH t IN ARRAY gin_indexes LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_class c JOIN pg_am am ON am.oid = c.relam
                       WHERE c.oid = to_regclass(quote_ident(t)) AND c.relkind = 'i'
                         AND am.amname = 'gin') THEN
            RAISE EXCEPTION 'GIN index % missing', t;
        END IF;
    END LOOP;
    FOREACH t IN ARRAY partial_indexes LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_index
                       WHERE indexrelid = to_regclass(quote_ident(t)) AND indpred IS NOT NULL) THEN
            RAISE EXCEPTION 'partial index % missing', t;
        END IF;
    END LOOP;
    FOREACH t IN ARRAY expression_indexes LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_index
                       WHERE indexrelid = to_regclass(quote_ident(t)) AND indexprs IS NOT NULL) THEN
            RAISE EXCEPTION 'expression index % missing', t;
        END IF;
    END LOOP;
    FOREACH t IN ARRAY check_constraints LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_constraint
                       WHERE conname = t AND contype = 'c' AND convalidated) THEN
            RAISE EXCEPTION 'check constraint % missing', t;
        END IF;
    END LOOP;
    IF (SELECT count(*) FROM pg_constraint
        WHERE contype = 'c'
          AND conrelid = ANY (SELECT to_regclass(quote_ident(x)) FROM unnest(expected_tables) x))
       <> cardinality(check_constraints) THEN
        RAISE EXCEPTION 'unexpected number of check constraints';
    END IF;
END
$$;
SQL
log "ok   structure at head: 13 tables, uuid keys, 17 FKs (3 to base_uuid_mixin), GIN, partial, expression indexes, 14 CHECK constraints"

# ---------------------------------------------------------------------------
# 4. Sample data
# ---------------------------------------------------------------------------
psql_db -1 -f - <<'SQL' || fail "sample data could not be inserted or read back"
SET LOCAL TIME ZONE 'America/New_York';

INSERT INTO base_uuid_mixin (id, entity_type) VALUES
    ('6f1c2b7e-0d4a-4c1e-9b1a-000000000001', 'vendor'),
    ('6f1c2b7e-0d4a-4c1e-9b1a-000000000002', 'invoice'),
    ('6f1c2b7e-0d4a-4c1e-9b1a-000000000003', 'processing_exception');

INSERT INTO vendors (id, base_id, name, tax_id, address) VALUES
    ('6f1c2b7e-0d4a-4c1e-9b1a-000000000011', '6f1c2b7e-0d4a-4c1e-9b1a-000000000001',
     'Acme Paper Co', '12-3456789',
     '{"line1": "1 Main St", "city": "Austin", "region": "TX", "country": "US"}');

INSERT INTO invoices (id, base_id, vendor_id, invoice_number, invoice_date, due_date,
                      subtotal, tax_amount, total_amount, metadata, received_at) VALUES
    ('6f1c2b7e-0d4a-4c1e-9b1a-000000000021', '6f1c2b7e-0d4a-4c1e-9b1a-000000000002',
     '6f1c2b7e-0d4a-4c1e-9b1a-000000000011', 'INV-1001', '2025-11-01', '2025-12-01',
     100.00, 8.25, 108.25, '{"po_number": "PO-77", "pages": 2, "tags": ["paper"]}',
     '2025-11-30 23:30:00-05');
INSERT INTO invoices (id, vendor_id, invoice_number, status) VALUES
    ('6f1c2b7e-0d4a-4c1e-9b1a-000000000022', '6f1c2b7e-0d4a-4c1e-9b1a-000000000011',
     'INV-1001-COPY', 'exception');

INSERT INTO invoice_line_items (invoice_id, line_number, description, quantity, unit_price,
                                amount, gl_account_code, attributes) VALUES
    ('6f1c2b7e-0d4a-4c1e-9b1a-000000000021', 1, 'A4 paper, 10 boxes', 10, 10.00, 100.00,
     '6100-OFFICE', '{"sku": "A4-500"}');

INSERT INTO invoice_extractions (invoice_id, raw_output, field_confidence, overall_confidence) VALUES
    ('6f1c2b7e-0d4a-4c1e-9b1a-000000000021',
     '{"invoice_number": "INV-1001", "total_amount": "108.25"}',
     '{"invoice_number": 0.99, "total_amount": 0.72}', 0.72);

INSERT INTO processing_exceptions (base_id, invoice_id, reason_code, severity, details) VALUES
    ('6f1c2b7e-0d4a-4c1e-9b1a-000000000003', '6f1c2b7e-0d4a-4c1e-9b1a-000000000022',
     'POSSIBLE_DUPLICATE', 'warning', '{"field": "invoice_number", "similarity": 0.98}');

INSERT INTO storage_audit_log (invoice_id, operation, object_key, file_hash, file_size_bytes,
                               content_type, details) VALUES
    ('6f1c2b7e-0d4a-4c1e-9b1a-000000000021', 'upload', 'invoices/2025/11/inv-1001.pdf',
     repeat('ab', 32), 48213, 'application/pdf', '{"bucket": "ap-intake", "attempt": 1}');

INSERT INTO file_deduplication (file_hash, canonical_invoice_id, object_key, file_size_bytes) VALUES
    (repeat('ab', 32), '6f1c2b7e-0d4a-4c1e-9b1a-000000000021', 'invoices/2025/11/inv-1001.pdf', 48213);

INSERT INTO invoice_duplicates (invoice_id, duplicate_of_invoice_id, similarity_score, match_details) VALUES
    ('6f1c2b7e-0d4a-4c1e-9b1a-000000000022', '6f1c2b7e-0d4a-4c1e-9b1a-000000000021', 0.98,
     '{"matched_fields": ["vendor_id", "total_amount"]}');

INSERT INTO quickbooks_connections (id, realm_id, company_name, scopes) VALUES
    ('6f1c2b7e-0d4a-4c1e-9b1a-000000000031', '9130357766', 'Acme Holdings',
     '["com.intuit.quickbooks.accounting"]');
INSERT INTO quickbooks_vendor_mappings (connection_id, vendor_id, qb_vendor_id, qb_display_name) VALUES
    ('6f1c2b7e-0d4a-4c1e-9b1a-000000000031', '6f1c2b7e-0d4a-4c1e-9b1a-000000000011', '56', 'Acme Paper');
INSERT INTO quickbooks_invoice_syncs (id, connection_id, invoice_id, request_payload) VALUES
    ('6f1c2b7e-0d4a-4c1e-9b1a-000000000041', '6f1c2b7e-0d4a-4c1e-9b1a-000000000031',
     '6f1c2b7e-0d4a-4c1e-9b1a-000000000021', '{"VendorRef": {"value": "56"}, "TotalAmt": 108.25}');
INSERT INTO quickbooks_sync_log (connection_id, invoice_sync_id, operation, entity_type,
                                 http_status, success, payload) VALUES
    ('6f1c2b7e-0d4a-4c1e-9b1a-000000000031', '6f1c2b7e-0d4a-4c1e-9b1a-000000000041',
     'create', 'Bill', 200, true, '{"Bill": {"Id": "145"}}');

-- The updated_at trigger overrides whatever the UPDATE sets.
UPDATE vendors SET name = 'Acme Paper Company', updated_at = '2000-01-01 00:00:00+00'
WHERE id = '6f1c2b7e-0d4a-4c1e-9b1a-000000000011';

DO $$
DECLARE
    r record;
BEGIN
    -- uuid keys: explicit values kept, defaults generated
    IF (SELECT count(*) FROM invoice_line_items WHERE id IS NOT NULL) <> 1
       OR (SELECT count(DISTINCT id) FROM quickbooks_sync_log) <> 1 THEN
        RAISE EXCEPTION 'uuid defaults not generated';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM vendors v JOIN base_uuid_mixin b ON b.id = v.base_id
                   WHERE v.id = '6f1c2b7e-0d4a-4c1e-9b1a-000000000011' AND b.entity_type = 'vendor') THEN
        RAISE EXCEPTION 'vendor -> base_uuid_mixin link lost';
    END IF;

    -- jsonb: operators, containment
    SELECT metadata ->> 'po_number' AS po, (metadata -> 'pages')::int AS pages,
           metadata -> 'tags' ->> 0 AS tag, status, currency, source_channel
      INTO r FROM invoices WHERE invoice_number = 'INV-1001';
    IF r.po IS DISTINCT FROM 'PO-77' OR r.pages IS DISTINCT FROM 2 OR r.tag IS DISTINCT FROM 'paper' THEN
        RAISE EXCEPTION 'jsonb round trip failed: %', r;
    END IF;
    IF r.status <> 'received' OR r.currency <> 'USD' OR r.source_channel <> 'email' THEN
        RAISE EXCEPTION 'invoice defaults wrong: %', r;
    END IF;
    IF (SELECT count(*) FROM processing_exceptions WHERE details @> '{"field": "invoice_number"}') <> 1
       OR (SELECT count(*) FROM storage_audit_log WHERE details ? 'bucket') <> 1 THEN
        RAISE EXCEPTION 'jsonb containment queries failed';
    END IF;

    -- timestamptz: same instant whatever the session time zone
    IF (SELECT received_at FROM invoices WHERE invoice_number = 'INV-1001')
       <> '2025-12-01 04:30:00+00'::timestamptz THEN
        RAISE EXCEPTION 'timestamptz value changed';
    END IF;
    -- the UTC-month expression index key puts it in December (UTC), not November (New York)
    IF (SELECT date_trunc('month', received_at AT TIME ZONE 'UTC') FROM invoices
        WHERE invoice_number = 'INV-1001') <> '2025-12-01 00:00:00'::timestamp THEN
        RAISE EXCEPTION 'UTC month bucket wrong';
    END IF;
    IF (SELECT created_at FROM invoices WHERE invoice_number = 'INV-1001') <> now() THEN
        RAISE EXCEPTION 'timestamptz default now() not applied';
    END IF;
    IF (SELECT updated_at FROM vendors WHERE name = 'Acme Paper Company') <> now() THEN
        RAISE EXCEPTION 'updated_at trigger did not fire';
    END IF;

    -- boolean and other defaults
    SELECT is_active, auto_sync_enabled, environment, scopes ->> 0 AS scope
      INTO r FROM quickbooks_connections;
    IF NOT r.is_active OR r.auto_sync_enabled OR r.environment <> 'sandbox'
       OR r.scope <> 'com.intuit.quickbooks.accounting' THEN
        RAISE EXCEPTION 'quickbooks_connections defaults wrong: %', r;
    END IF;
    SELECT sync_status, attempt_count, is_dry_run INTO r FROM quickbooks_invoice_syncs;
    IF r.sync_status <> 'pending' OR r.attempt_count <> 0 OR r.is_dry_run THEN
        RAISE EXCEPTION 'quickbooks_invoice_syncs defaults wrong: %', r;
    END IF;
    IF (SELECT reference_count FROM file_deduplication) <> 1
       OR (SELECT is_confirmed FROM invoice_duplicates)
       OR NOT (SELECT success FROM storage_audit_log) THEN
        RAISE EXCEPTION 'storage/dedup defaults wrong';
    END IF;
END
$$;
SQL
log "ok   sample rows: uuid, jsonb, timestamptz values and defaults accepted and read back"

psql_db -1 -f - <<'SQL' || fail "constraint rejection checks"
DO $$
DECLARE
    c record;
    got_state text;
    got_constraint text;
BEGIN
    FOR c IN
        SELECT * FROM (VALUES
            ('ck_processing_exceptions_severity', '23514',
             $q$INSERT INTO processing_exceptions (invoice_id, reason_code, severity)
                VALUES ('6f1c2b7e-0d4a-4c1e-9b1a-000000000021', 'TOTAL_MISMATCH', 'urgent')$q$),
            ('ck_processing_exceptions_resolved_at', '23514',
             $q$INSERT INTO processing_exceptions (invoice_id, reason_code, status)
                VALUES ('6f1c2b7e-0d4a-4c1e-9b1a-000000000021', 'TOTAL_MISMATCH', 'resolved')$q$),
            ('ck_invoices_amounts_non_negative', '23514',
             $q$INSERT INTO invoices (vendor_id, invoice_number, total_amount)
                VALUES ('6f1c2b7e-0d4a-4c1e-9b1a-000000000011', 'INV-NEG', -5)$q$),
            ('ck_invoices_due_date_after_invoice_date', '23514',
             $q$UPDATE invoices SET due_date = '2025-10-01' WHERE invoice_number = 'INV-1001'$q$),
            ('ck_invoice_line_items_quantity_positive', '23514',
             $q$INSERT INTO invoice_line_items (invoice_id, line_number, quantity)
                VALUES ('6f1c2b7e-0d4a-4c1e-9b1a-000000000021', 2, 0)$q$),
            ('ck_storage_audit_log_file_hash_format', '23514',
             $q$INSERT INTO storage_audit_log (operation, object_key, file_hash)
                VALUES ('upload', 'x.pdf', repeat('Z', 64))$q$),
            ('ck_invoice_duplicates_not_self', '23514',
             $q$INSERT INTO invoice_duplicates (invoice_id, duplicate_of_invoice_id)
                VALUES ('6f1c2b7e-0d4a-4c1e-9b1a-000000000021', '6f1c2b7e-0d4a-4c1e-9b1a-000000000021')$q$),
            ('fk_invoices_vendor_id_vendors', '23503',
             $q$INSERT INTO invoices (vendor_id, invoice_number)
                VALUES ('6f1c2b7e-0d4a-4c1e-9b1a-0000000000ff', 'INV-ORPHAN')$q$),
            ('uq_invoices_vendor_id_invoice_number', '23505',
             $q$INSERT INTO invoices (vendor_id, invoice_number)
                VALUES ('6f1c2b7e-0d4a-4c1e-9b1a-000000000011', 'INV-1001')$q$)
        ) AS t(constraint_name, sqlstate, stmt)
    LOOP
        got_state := NULL;
        BEGIN
            EXECUTE c.stmt;
        EXCEPTION WHEN integrity_constraint_violation THEN
            GET STACKED DIAGNOSTICS got_state = RETURNED_SQLSTATE,
                                    got_constraint = CONSTRAINT_NAME;
        END;
        IF got_state IS NULL THEN
            RAISE EXCEPTION 'bad row was accepted (expected % to reject it): %', c.constraint_name, c.stmt;
        END IF;
        IF got_state <> c.sqlstate OR got_constraint <> c.constraint_name THEN
            RAISE EXCEPTION 'expected % from %, got % from %',
                c.sqlstate, c.constraint_name, got_state, got_constraint;
        END IF;
    END LOOP;
END
$$;
SQL
log "ok   bad rows rejected by CHECK, FOREIGN KEY and UNIQUE constraints"

psql_db -1 -f - <<'SQL' || fail "sample rows could not be deleted"
DELETE FROM quickbooks_connections;      -- cascades to mappings, invoice syncs, sync log
DELETE FROM storage_audit_log;
DELETE FROM file_deduplication;
DELETE FROM invoices;                    -- cascades to line items, extractions, exceptions, duplicates
DELETE FROM vendors;
DELETE FROM base_uuid_mixin;
DO $$
DECLARE
    t text;
    n bigint;
BEGIN
    FOREACH t IN ARRAY ARRAY[
        'base_uuid_mixin', 'vendors', 'invoices', 'invoice_line_items',
        'invoice_extractions', 'processing_exceptions',
        'storage_audit_log', 'file_deduplication', 'invoice_duplicates',
        'quickbooks_connections', 'quickbooks_vendor_mappings',
        'quickbooks_invoice_syncs', 'quickbooks_sync_log'] LOOP
        EXECUTE format('SELECT count(*) FROM %I', t) INTO n;
        IF n <> 0 THEN RAISE EXCEPTION '% still has % row(s)', t, n; END IF;
    END LOOP;
END
$$;
SQL
log "ok   sample rows deleted"

# ---------------------------------------------------------------------------
# 5. Downgrades, then one more full round trip
# ---------------------------------------------------------------------------
run_chain_down
log "ok   first round trip: catalog identical to the baseline"

run_chain_up
run_chain_down
log "ok   second round trip: upgrades re-apply cleanly, downgrades restore the baseline"
