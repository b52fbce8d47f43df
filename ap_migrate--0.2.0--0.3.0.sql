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
