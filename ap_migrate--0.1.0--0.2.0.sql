/* ap_migrate--0.1.0--0.2.0.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION ap_migrate UPDATE TO '0.2.0'" to load this file. \quit

/*
 * 0.2.0 lets the installing role restore a dump of its database: it gets
 * INSERT on the catalog tables and UPDATE on their sequences, and the
 * catalog_guard trigger admits such inserts only with ap_migrate.restore on
 * and only for revision rows that registration would accept from it (its
 * owner is a role the inserter is a member of, its checksum matches its
 * SQL).  The result must equal a fresh install of 0.2.0 (test/t/008_update.pl):
 * same objects, same privileges.  Like the install script, this one may run
 * as the bootstrap superuser for a non-superuser (trusted = true), and
 * @extowner@ is then the role running ALTER EXTENSION.
 */
CREATE FUNCTION ap_migrate.catalog_guard()
RETURNS trigger
AS 'MODULE_PATHNAME', 'ap_migrate_catalog_guard'
LANGUAGE C;
COMMENT ON FUNCTION ap_migrate.catalog_guard() IS 'trigger refusing direct inserts into the catalog tables except checked rows of a restore (ap_migrate.restore)';

CREATE TRIGGER catalog_guard
	BEFORE INSERT ON ap_migrate.revision
	FOR EACH ROW EXECUTE FUNCTION ap_migrate.catalog_guard();
CREATE TRIGGER catalog_guard
	BEFORE INSERT ON ap_migrate.revision_edge
	FOR EACH ROW EXECUTE FUNCTION ap_migrate.catalog_guard();
CREATE TRIGGER catalog_guard
	BEFORE INSERT ON ap_migrate.applied
	FOR EACH ROW EXECUTE FUNCTION ap_migrate.catalog_guard();
CREATE TRIGGER catalog_guard
	BEFORE INSERT ON ap_migrate.history
	FOR EACH ROW EXECUTE FUNCTION ap_migrate.catalog_guard();

REVOKE ALL ON FUNCTION ap_migrate.catalog_guard() FROM PUBLIC;

GRANT INSERT ON ap_migrate.revision TO @extowner@;
GRANT INSERT ON ap_migrate.revision_edge TO @extowner@;
GRANT INSERT ON ap_migrate.applied TO @extowner@;
GRANT INSERT ON ap_migrate.history TO @extowner@;
GRANT UPDATE ON ap_migrate.revision_seq TO @extowner@;
GRANT UPDATE ON ap_migrate.history_seq TO @extowner@;
