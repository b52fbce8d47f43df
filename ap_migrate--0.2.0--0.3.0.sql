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
