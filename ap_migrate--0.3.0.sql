/* ap_migrate--0.3.0.sql */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION ap_migrate" to load this file. \quit

/*
 * The control file fixes the extension's schema to pg_catalog, so the
 * SQL-callable functions are found with any search_path and cannot be
 * shadowed by objects in a schema the installer controls.  The catalog
 * tables live in their own schema, created (and owned) by this script, so
 * an existing schema of that name makes the install fail instead of being
 * adopted.  Every name below is schema-qualified and every operator in a
 * constraint is written as OPERATOR(pg_catalog.x): this script may run as
 * the bootstrap superuser on behalf of a non-superuser (trusted = true).
 */
CREATE SCHEMA ap_migrate;
COMMENT ON SCHEMA ap_migrate IS 'ap_migrate catalog: registered revisions, applied set and history log';

-- Registration order, the tie-break wherever the revision graph leaves
-- the order of steps open.
CREATE SEQUENCE ap_migrate.revision_seq;

CREATE TABLE ap_migrate.revision (
	id					text NOT NULL,
	seq					bigint NOT NULL
		DEFAULT pg_catalog.nextval('ap_migrate.revision_seq'::pg_catalog.regclass),
	down_revision		text[] NOT NULL,
	message				text NOT NULL,
	upgrade_sql			text NOT NULL,
	downgrade_sql		text,
	branch_labels		text[] NOT NULL,
	depends_on			text[] NOT NULL,
	transactional		boolean NOT NULL,
	is_head				boolean NOT NULL,
	checksum			text NOT NULL,
	checksum_algorithm	smallint NOT NULL,
	owner				regrole NOT NULL,
	registered_at		timestamptz NOT NULL,
	search_path			text NOT NULL,
	owner_name			name,
	CONSTRAINT revision_pkey PRIMARY KEY (id),
	CONSTRAINT revision_seq_key UNIQUE (seq),
	CONSTRAINT revision_checksum_algorithm_check
		CHECK (checksum_algorithm OPERATOR(pg_catalog.=) 1)
);
COMMENT ON TABLE ap_migrate.revision IS 'registered revisions (one row per revision id)';
COMMENT ON COLUMN ap_migrate.revision.down_revision IS 'parent revision ids in declared order; empty for a base, several for a merge';
COMMENT ON COLUMN ap_migrate.revision.downgrade_sql IS 'NULL when the revision is irreversible';
COMMENT ON COLUMN ap_migrate.revision.is_head IS 'true while no registered revision names this one as a parent';
COMMENT ON COLUMN ap_migrate.revision.checksum IS 'SHA-256 over the upgrade and downgrade SQL and the transactional flag';
COMMENT ON COLUMN ap_migrate.revision.owner_name IS 'name of the owner when it became the owner: a restore maps the owner by this name, never by OID (NULL: not known)';
COMMENT ON COLUMN ap_migrate.revision.search_path IS 'the registering session''s search_path, used when the revision runs for a caller other than its owner';

-- The heads, which is all a no-op "upgrade head" has to look at.
CREATE INDEX revision_head_idx ON ap_migrate.revision (id) WHERE is_head;

-- The graph's edges as rows, indexed by target: down_revision (kind
-- 'parent'), depends_on (kind 'dependency') and branch_labels (kind
-- 'label', the target being the label).  Registration uses them to find
-- what refers to a revision (a revision registered after a child that
-- names it, a re-registration that changes parents, a possible cycle) and
-- who holds a label, with a btree lookup; the no-op upgrade uses them to
-- tell which applied heads are current.  Registration keeps them equal to
-- the arrays above.
CREATE TABLE ap_migrate.revision_edge (
	revision			text NOT NULL,
	kind				text NOT NULL,
	target				text NOT NULL,
	position			integer NOT NULL,
	CONSTRAINT revision_edge_pkey PRIMARY KEY (revision, kind, position),
	CONSTRAINT revision_edge_revision_fkey FOREIGN KEY (revision)
		REFERENCES ap_migrate.revision (id) ON DELETE CASCADE,
	CONSTRAINT revision_edge_kind_check
		CHECK (kind OPERATOR(pg_catalog.=) ANY (ARRAY['parent', 'dependency', 'label']::text[]))
);
COMMENT ON TABLE ap_migrate.revision_edge IS 'down_revision, depends_on and branch_labels as rows indexed by target, maintained by registration';
CREATE INDEX revision_edge_target_idx ON ap_migrate.revision_edge (target, kind);

CREATE TABLE ap_migrate.applied (
	revision			text NOT NULL,
	checksum			text NOT NULL,
	applied_at			timestamptz NOT NULL,
	applied_by			name NOT NULL,
	CONSTRAINT applied_pkey PRIMARY KEY (revision)
);
COMMENT ON TABLE ap_migrate.applied IS 'the set of applied revisions (closed under parents and depends_on)';
COMMENT ON COLUMN ap_migrate.applied.checksum IS 'checksum of the revision when it was applied, to detect drift';

CREATE SEQUENCE ap_migrate.history_seq;

CREATE TABLE ap_migrate.history (
	id					bigint NOT NULL
		DEFAULT pg_catalog.nextval('ap_migrate.history_seq'::pg_catalog.regclass),
	operation			text NOT NULL,
	revision			text,
	from_revisions		text[] NOT NULL,
	to_revisions		text[] NOT NULL,
	role				name NOT NULL,
	started_at			timestamptz NOT NULL,
	duration			interval NOT NULL,
	success				boolean NOT NULL,
	CONSTRAINT history_pkey PRIMARY KEY (id),
	CONSTRAINT history_operation_check
		CHECK (operation OPERATOR(pg_catalog.=) ANY (ARRAY['upgrade', 'downgrade', 'stamp']::text[]))
);
COMMENT ON TABLE ap_migrate.history IS 'append-only log: one row per applied or reverted revision and per stamp';
CREATE INDEX history_revision_idx ON ap_migrate.history (revision);
CREATE INDEX history_started_at_idx ON ap_migrate.history (started_at);

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

-- The log is append-only, even for the tables' owner.
CREATE FUNCTION ap_migrate.history_append_only()
RETURNS trigger
AS 'MODULE_PATHNAME', 'ap_migrate_history_append_only'
LANGUAGE C;
COMMENT ON FUNCTION ap_migrate.history_append_only() IS 'trigger refusing UPDATE, DELETE and TRUNCATE on ap_migrate.history';

CREATE TRIGGER history_append_only
	BEFORE UPDATE OR DELETE OR TRUNCATE ON ap_migrate.history
	FOR EACH STATEMENT EXECUTE FUNCTION ap_migrate.history_append_only();

-- Direct inserts into the catalog: the tables' owner (ap_migrate's own
-- catalog layer) passes; anyone else holding INSERT, which is only the
-- installing role, is refused unless ap_migrate.restore is on, and then each
-- revision row must belong to a role the inserter is a member of and carry
-- the checksum of its SQL.  This is what lets a non-superuser database owner
-- restore a dump of its database without being able to forge a revision.
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

-- Keep registered revisions, state and history across pg_dump/pg_restore.
SELECT pg_catalog.pg_extension_config_dump('ap_migrate.revision', '');
SELECT pg_catalog.pg_extension_config_dump('ap_migrate.revision_seq', '');
SELECT pg_catalog.pg_extension_config_dump('ap_migrate.revision_edge', '');
SELECT pg_catalog.pg_extension_config_dump('ap_migrate.applied', '');
SELECT pg_catalog.pg_extension_config_dump('ap_migrate.history', '');
SELECT pg_catalog.pg_extension_config_dump('ap_migrate.history_seq', '');

/* Registration */

CREATE FUNCTION pg_catalog.ap_migrate_add(
	revision text,
	down_revision text[],
	upgrade text,
	downgrade text,
	message text DEFAULT '',
	branch_labels text[] DEFAULT '{}',
	depends_on text[] DEFAULT '{}',
	transactional boolean DEFAULT true,
	owner regrole DEFAULT NULL)
RETURNS boolean
AS 'MODULE_PATHNAME', 'ap_migrate_add'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION pg_catalog.ap_migrate_add(text, text[], text, text, text, text[], text[], boolean, regrole)
	IS 'register a revision; returns false when identical content was already registered';

CREATE FUNCTION pg_catalog.ap_migrate_load(script text, owner regrole DEFAULT NULL)
RETURNS text
AS 'MODULE_PATHNAME', 'ap_migrate_load'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION pg_catalog.ap_migrate_load(text, regrole)
	IS 'register a revision from the text of a migration file; returns its id';

/* Applying */

CREATE FUNCTION pg_catalog.ap_migrate_upgrade(target text DEFAULT 'head')
RETURNS text
AS 'MODULE_PATHNAME', 'ap_migrate_upgrade'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION pg_catalog.ap_migrate_upgrade(text)
	IS 'apply pending revisions up to target in the caller''s transaction; returns the current revisions';

CREATE FUNCTION pg_catalog.ap_migrate_downgrade(target text)
RETURNS text
AS 'MODULE_PATHNAME', 'ap_migrate_downgrade'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION pg_catalog.ap_migrate_downgrade(text)
	IS 'revert applied revisions down to target in the caller''s transaction; returns the current revisions';

CREATE FUNCTION pg_catalog.ap_migrate_stamp(target text)
RETURNS text
AS 'MODULE_PATHNAME', 'ap_migrate_stamp'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION pg_catalog.ap_migrate_stamp(text)
	IS 'set the applied set to target without running any SQL; returns the current revisions';

CREATE PROCEDURE pg_catalog.ap_migrate_run(target text DEFAULT 'head')
AS 'MODULE_PATHNAME', 'ap_migrate_run'
LANGUAGE C;
COMMENT ON PROCEDURE pg_catalog.ap_migrate_run(text)
	IS 'apply pending revisions up to target, committing after each revision (CALL outside a transaction block)';

CREATE PROCEDURE pg_catalog.ap_migrate_run_downgrade(target text)
AS 'MODULE_PATHNAME', 'ap_migrate_run_downgrade'
LANGUAGE C;
COMMENT ON PROCEDURE pg_catalog.ap_migrate_run_downgrade(text)
	IS 'revert applied revisions down to target, committing after each revision (CALL outside a transaction block)';

CREATE FUNCTION pg_catalog.ap_migrate_plan(
	target text DEFAULT 'head',
	OUT step integer,
	OUT operation text,
	OUT revision text,
	OUT from_revisions text[],
	OUT to_revisions text[],
	OUT message text,
	OUT transactional boolean)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'ap_migrate_plan'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION pg_catalog.ap_migrate_plan(text)
	IS 'dry run: the ordered steps an upgrade or downgrade to target would take';

CREATE FUNCTION pg_catalog.ap_migrate_sql(target text DEFAULT 'head')
RETURNS text
AS 'MODULE_PATHNAME', 'ap_migrate_sql'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION pg_catalog.ap_migrate_sql(text)
	IS 'offline mode: the psql script an upgrade or downgrade to target would run, bookkeeping included';

CREATE FUNCTION pg_catalog.ap_migrate_mark(operation text, revision text, checksum text)
RETURNS text
AS 'MODULE_PATHNAME', 'ap_migrate_mark'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION pg_catalog.ap_migrate_mark(text, text, text)
	IS 'record one step an offline script ran (used by the scripts ap_migrate_sql writes)';

CREATE FUNCTION pg_catalog.ap_migrate_expect(operation text, revision text, checksum text)
RETURNS void
AS 'MODULE_PATHNAME', 'ap_migrate_expect'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION pg_catalog.ap_migrate_expect(text, text, text)
	IS 'check, before an offline script runs a step, that the step fits the state (used by the scripts ap_migrate_sql writes)';

/* Introspection */

CREATE FUNCTION pg_catalog.ap_migrate_current(
	OUT revision text,
	OUT is_head boolean,
	OUT message text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'ap_migrate_current'
LANGUAGE C STABLE PARALLEL UNSAFE;
COMMENT ON FUNCTION pg_catalog.ap_migrate_current()
	IS 'the current revisions: applied revisions none of whose children is applied';

CREATE FUNCTION pg_catalog.ap_migrate_heads(
	OUT revision text,
	OUT is_current boolean,
	OUT branch_labels text[],
	OUT message text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'ap_migrate_heads'
LANGUAGE C STABLE PARALLEL UNSAFE;
COMMENT ON FUNCTION pg_catalog.ap_migrate_heads()
	IS 'the heads of the revision graph, in registration order';

CREATE FUNCTION pg_catalog.ap_migrate_branches(
	OUT revision text,
	OUT children text[],
	OUT message text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'ap_migrate_branches'
LANGUAGE C STABLE PARALLEL UNSAFE;
COMMENT ON FUNCTION pg_catalog.ap_migrate_branches()
	IS 'branch points: revisions with more than one child';

CREATE FUNCTION pg_catalog.ap_migrate_history(
	range text DEFAULT NULL,
	OUT revision text,
	OUT down_revision text[],
	OUT message text,
	OUT is_head boolean,
	OUT is_branch_point boolean,
	OUT is_merge_point boolean,
	OUT is_current boolean,
	OUT applied boolean)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'ap_migrate_history'
LANGUAGE C STABLE PARALLEL UNSAFE;
COMMENT ON FUNCTION pg_catalog.ap_migrate_history(text)
	IS 'revisions newest first, as alembic history lists them; range is alembic''s start:end';

CREATE FUNCTION pg_catalog.ap_migrate_show(
	rev text,
	OUT revision text,
	OUT down_revision text[],
	OUT children text[],
	OUT message text,
	OUT branch_labels text[],
	OUT depends_on text[],
	OUT transactional boolean,
	OUT applied boolean,
	OUT owner regrole,
	OUT registered_at timestamptz,
	OUT checksum text,
	OUT upgrade_sql text,
	OUT downgrade_sql text)
RETURNS record
AS 'MODULE_PATHNAME', 'ap_migrate_show'
LANGUAGE C STABLE PARALLEL UNSAFE;
COMMENT ON FUNCTION pg_catalog.ap_migrate_show(text)
	IS 'everything known about one revision, named by id, prefix or symbolic target';

CREATE FUNCTION pg_catalog.ap_migrate_validate(
	OUT severity text,
	OUT problem text,
	OUT revision text,
	OUT detail text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'ap_migrate_validate'
LANGUAGE C STABLE PARALLEL UNSAFE;
COMMENT ON FUNCTION pg_catalog.ap_migrate_validate()
	IS 'one row per problem of the revision graph or the applied state';

CREATE FUNCTION pg_catalog.ap_migrate_check()
RETURNS boolean
AS 'MODULE_PATHNAME', 'ap_migrate_check'
LANGUAGE C STABLE PARALLEL UNSAFE;
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

/*
 * Privileges.  New functions are executable by PUBLIC and new tables grant
 * nothing; undo the former.  The installing role gets every function and
 * read access to the catalog with grant option, so it can delegate.  The
 * functions write the catalog as the tables' owner.  The installing role
 * also gets INSERT on the tables and UPDATE on the sequences (setval), and
 * no grant option for either, so that pg_restore run by it can put the
 * catalog back; the catalog_guard trigger admits those inserts only in
 * restore mode and only after registration's checks.  No role gets UPDATE,
 * DELETE or TRUNCATE on the tables.
 */
REVOKE ALL ON FUNCTION pg_catalog.ap_migrate_add(text, text[], text, text, text, text[], text[], boolean, regrole) FROM PUBLIC;
REVOKE ALL ON FUNCTION pg_catalog.ap_migrate_load(text, regrole) FROM PUBLIC;
REVOKE ALL ON FUNCTION pg_catalog.ap_migrate_upgrade(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION pg_catalog.ap_migrate_downgrade(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION pg_catalog.ap_migrate_stamp(text) FROM PUBLIC;
REVOKE ALL ON PROCEDURE pg_catalog.ap_migrate_run(text) FROM PUBLIC;
REVOKE ALL ON PROCEDURE pg_catalog.ap_migrate_run_downgrade(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION pg_catalog.ap_migrate_plan(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION pg_catalog.ap_migrate_sql(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION pg_catalog.ap_migrate_mark(text, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION pg_catalog.ap_migrate_expect(text, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION pg_catalog.ap_migrate_current() FROM PUBLIC;
REVOKE ALL ON FUNCTION pg_catalog.ap_migrate_heads() FROM PUBLIC;
REVOKE ALL ON FUNCTION pg_catalog.ap_migrate_branches() FROM PUBLIC;
REVOKE ALL ON FUNCTION pg_catalog.ap_migrate_history(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION pg_catalog.ap_migrate_show(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION pg_catalog.ap_migrate_validate() FROM PUBLIC;
REVOKE ALL ON FUNCTION pg_catalog.ap_migrate_check() FROM PUBLIC;
REVOKE ALL ON FUNCTION pg_catalog.ap_migrate_lint(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION pg_catalog.ap_migrate_lint_sql(text, boolean, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION pg_catalog.ap_migrate_verify(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION pg_catalog.ap_migrate_drift() FROM PUBLIC;
REVOKE ALL ON FUNCTION ap_migrate.history_append_only() FROM PUBLIC;
REVOKE ALL ON FUNCTION ap_migrate.catalog_guard() FROM PUBLIC;

GRANT EXECUTE ON FUNCTION pg_catalog.ap_migrate_add(text, text[], text, text, text, text[], text[], boolean, regrole) TO @extowner@ WITH GRANT OPTION;
GRANT EXECUTE ON FUNCTION pg_catalog.ap_migrate_load(text, regrole) TO @extowner@ WITH GRANT OPTION;
GRANT EXECUTE ON FUNCTION pg_catalog.ap_migrate_upgrade(text) TO @extowner@ WITH GRANT OPTION;
GRANT EXECUTE ON FUNCTION pg_catalog.ap_migrate_downgrade(text) TO @extowner@ WITH GRANT OPTION;
GRANT EXECUTE ON FUNCTION pg_catalog.ap_migrate_stamp(text) TO @extowner@ WITH GRANT OPTION;
GRANT EXECUTE ON PROCEDURE pg_catalog.ap_migrate_run(text) TO @extowner@ WITH GRANT OPTION;
GRANT EXECUTE ON PROCEDURE pg_catalog.ap_migrate_run_downgrade(text) TO @extowner@ WITH GRANT OPTION;
GRANT EXECUTE ON FUNCTION pg_catalog.ap_migrate_plan(text) TO @extowner@ WITH GRANT OPTION;
GRANT EXECUTE ON FUNCTION pg_catalog.ap_migrate_sql(text) TO @extowner@ WITH GRANT OPTION;
GRANT EXECUTE ON FUNCTION pg_catalog.ap_migrate_mark(text, text, text) TO @extowner@ WITH GRANT OPTION;
GRANT EXECUTE ON FUNCTION pg_catalog.ap_migrate_expect(text, text, text) TO @extowner@ WITH GRANT OPTION;
GRANT EXECUTE ON FUNCTION pg_catalog.ap_migrate_current() TO @extowner@ WITH GRANT OPTION;
GRANT EXECUTE ON FUNCTION pg_catalog.ap_migrate_heads() TO @extowner@ WITH GRANT OPTION;
GRANT EXECUTE ON FUNCTION pg_catalog.ap_migrate_branches() TO @extowner@ WITH GRANT OPTION;
GRANT EXECUTE ON FUNCTION pg_catalog.ap_migrate_history(text) TO @extowner@ WITH GRANT OPTION;
GRANT EXECUTE ON FUNCTION pg_catalog.ap_migrate_show(text) TO @extowner@ WITH GRANT OPTION;
GRANT EXECUTE ON FUNCTION pg_catalog.ap_migrate_validate() TO @extowner@ WITH GRANT OPTION;
GRANT EXECUTE ON FUNCTION pg_catalog.ap_migrate_check() TO @extowner@ WITH GRANT OPTION;
GRANT EXECUTE ON FUNCTION pg_catalog.ap_migrate_lint(text) TO @extowner@ WITH GRANT OPTION;
GRANT EXECUTE ON FUNCTION pg_catalog.ap_migrate_lint_sql(text, boolean, text) TO @extowner@ WITH GRANT OPTION;
GRANT EXECUTE ON FUNCTION pg_catalog.ap_migrate_verify(text) TO @extowner@ WITH GRANT OPTION;
GRANT EXECUTE ON FUNCTION pg_catalog.ap_migrate_drift() TO @extowner@ WITH GRANT OPTION;

GRANT USAGE ON SCHEMA ap_migrate TO @extowner@ WITH GRANT OPTION;
GRANT SELECT ON ap_migrate.revision TO @extowner@ WITH GRANT OPTION;
GRANT SELECT ON ap_migrate.revision_edge TO @extowner@ WITH GRANT OPTION;
GRANT SELECT ON ap_migrate.applied TO @extowner@ WITH GRANT OPTION;
GRANT SELECT ON ap_migrate.history TO @extowner@ WITH GRANT OPTION;
GRANT SELECT ON ap_migrate.schema_fingerprint TO @extowner@ WITH GRANT OPTION;
GRANT SELECT ON ap_migrate.revision_seq TO @extowner@ WITH GRANT OPTION;
GRANT SELECT ON ap_migrate.history_seq TO @extowner@ WITH GRANT OPTION;

GRANT INSERT ON ap_migrate.revision TO @extowner@;
GRANT INSERT ON ap_migrate.revision_edge TO @extowner@;
GRANT INSERT ON ap_migrate.applied TO @extowner@;
GRANT INSERT ON ap_migrate.history TO @extowner@;
GRANT UPDATE ON ap_migrate.revision_seq TO @extowner@;
GRANT UPDATE ON ap_migrate.history_seq TO @extowner@;
