/* ap_migrate--0.2.0--0.3.0.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION ap_migrate UPDATE TO '0.3.0'" to load this file. \quit

/*
 * 0.3.0: what changed since 0.2.0 is listed in CHANGELOG.md.  The result must
 * equal a fresh install of 0.3.0 (test/t/008_update.pl): same objects, same
 * privileges.  Like the install script, this one may run as the bootstrap
 * superuser for a non-superuser (trusted = true), and @extowner@ is then the
 * role running ALTER EXTENSION.
 */

-- Offline scripts check each step before running any of its statements.
CREATE FUNCTION pg_catalog.ap_migrate_expect(operation text, revision text, checksum text)
RETURNS void
AS 'MODULE_PATHNAME', 'ap_migrate_expect'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION pg_catalog.ap_migrate_expect(text, text, text)
	IS 'check, before an offline script runs a step, that the step fits the state (used by the scripts ap_migrate_sql writes)';
REVOKE ALL ON FUNCTION pg_catalog.ap_migrate_expect(text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pg_catalog.ap_migrate_expect(text, text, text) TO @extowner@ WITH GRANT OPTION;

-- Owners are dumped and restored by name (the catalog guard maps a restored
-- row's owner from owner_name, never from the OID a dump carries).
ALTER TABLE ap_migrate.revision ADD COLUMN owner_name name;
UPDATE ap_migrate.revision r
   SET owner_name = a.rolname
  FROM pg_catalog.pg_roles a
 WHERE a.oid OPERATOR(pg_catalog.=) r.owner::pg_catalog.oid;
COMMENT ON COLUMN ap_migrate.revision.owner_name IS 'name of the owner when it became the owner: a restore maps the owner by this name, never by OID (NULL: not known)';
/* Analysis (docs/analysis.md): drift fingerprint, lint, verify */

-- The schema as the applied revisions left it: one fingerprint (objects
-- and an MD5 digest of each one's description), replaced after every call
-- that applied or reverted steps (after every commit in the procedures).
-- ap_migrate_check() and ap_migrate_drift() compare the live schema with
-- it.  Not dumped: a restored database gets a new one with its next
-- migration.
CREATE TABLE ap_migrate.schema_fingerprint (
	id					integer NOT NULL,
	recorded_at			timestamptz NOT NULL,
	objects				text[] NOT NULL,
	digests				text[] NOT NULL,
	CONSTRAINT schema_fingerprint_pkey PRIMARY KEY (id),
	CONSTRAINT schema_fingerprint_id_check CHECK (id OPERATOR(pg_catalog.=) 1)
);
COMMENT ON TABLE ap_migrate.schema_fingerprint IS 'the schema fingerprint recorded after the last applied steps, for drift detection';

COMMENT ON FUNCTION pg_catalog.ap_migrate_check()
	IS 'true when every head is applied, ap_migrate_validate() reports no error and the schema has not drifted';

/* Analysis: lint, verification, drift (docs/analysis.md) */

CREATE FUNCTION pg_catalog.ap_migrate_lint(
	rev text DEFAULT NULL,
	OUT revision text,
	OUT statement integer,
	OUT line integer,
	OUT rule text,
	OUT severity text,
	OUT message text,
	OUT hint text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'ap_migrate_lint'
LANGUAGE C STABLE PARALLEL UNSAFE;
COMMENT ON FUNCTION pg_catalog.ap_migrate_lint(text)
	IS 'lock-aware lint of the pending revisions (rev NULL) or of the revisions rev names, against the live catalog';

CREATE FUNCTION pg_catalog.ap_migrate_lint_sql(
	sql text,
	transactional boolean DEFAULT true,
	name text DEFAULT 'sql',
	OUT revision text,
	OUT statement integer,
	OUT line integer,
	OUT rule text,
	OUT severity text,
	OUT message text,
	OUT hint text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'ap_migrate_lint_sql'
LANGUAGE C STABLE PARALLEL UNSAFE;
COMMENT ON FUNCTION pg_catalog.ap_migrate_lint_sql(text, boolean, text)
	IS 'lock-aware lint of migration SQL that is not registered';

CREATE FUNCTION pg_catalog.ap_migrate_verify(
	target text DEFAULT 'heads',
	OUT revision text,
	OUT status text,
	OUT detail text,
	OUT error text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'ap_migrate_verify'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION pg_catalog.ap_migrate_verify(text)
	IS 'apply, revert and re-apply every pending revision up to target in a subtransaction that is always rolled back; one row per revision';

CREATE FUNCTION pg_catalog.ap_migrate_drift(
	OUT object text,
	OUT change text,
	OUT recorded_at timestamptz)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'ap_migrate_drift'
LANGUAGE C STABLE PARALLEL UNSAFE;
COMMENT ON FUNCTION pg_catalog.ap_migrate_drift()
	IS 'schema objects that differ from the fingerprint recorded after the last applied steps';

REVOKE ALL ON FUNCTION pg_catalog.ap_migrate_lint(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION pg_catalog.ap_migrate_lint_sql(text, boolean, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION pg_catalog.ap_migrate_verify(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION pg_catalog.ap_migrate_drift() FROM PUBLIC;

GRANT EXECUTE ON FUNCTION pg_catalog.ap_migrate_lint(text) TO @extowner@ WITH GRANT OPTION;
GRANT EXECUTE ON FUNCTION pg_catalog.ap_migrate_lint_sql(text, boolean, text) TO @extowner@ WITH GRANT OPTION;
GRANT EXECUTE ON FUNCTION pg_catalog.ap_migrate_verify(text) TO @extowner@ WITH GRANT OPTION;
GRANT EXECUTE ON FUNCTION pg_catalog.ap_migrate_drift() TO @extowner@ WITH GRANT OPTION;
GRANT SELECT ON ap_migrate.schema_fingerprint TO @extowner@ WITH GRANT OPTION;
