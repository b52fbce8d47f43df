--
-- The schema fingerprint (src/fingerprint.c) reads the catalogs directly.
-- Its descriptions must be, byte for byte, the ones of the catalog query
-- it replaced (test/fingerprint_query.sql): a fingerprint recorded by one
-- is read back by the other after an update.  The digests an upgrade
-- records are compared with md5() of the query's descriptions on a schema
-- with an object of every kind, first with a few objects (comments and
-- extension memberships looked up one by one), then with many (read once
-- into hash tables).  Then the lookups meet catalog rows that rolled-back
-- DDL left dead, as ap_migrate_verify() leaves them.
--
CREATE DATABASE apm_fingerprint;
\c apm_fingerprint
CREATE EXTENSION ap_migrate;
SET client_min_messages = warning;
\set fingerprint_query `sed -e '/^--/d' -e 's/;[[:space:]]*$//' test/fingerprint_query.sql`

-- the query as a view (the names in it are qualified; what the deparsers
-- print depends on the search_path it is read with), and every object it
-- names that the recorded digests do not, or the other way round, or with
-- another digest (temporary objects are in no fingerprint)
CREATE TEMP VIEW fingerprint_query AS :fingerprint_query;
CREATE TEMP VIEW mismatches AS
SELECT coalesce(f.o, q.o) AS object, f.o IS NOT NULL AS recorded, q.o IS NOT NULL AS queried
  FROM (SELECT pg_catalog.unnest(objects) AS o, pg_catalog.unnest(digests) AS d
          FROM ap_migrate.schema_fingerprint) f
  FULL JOIN pg_temp.fingerprint_query q ON q.o = f.o
 WHERE f.o IS NULL OR q.o IS NULL OR f.d <> pg_catalog.md5(q.d);
\set mismatches 'SET search_path = pg_catalog, pg_temp; SELECT * FROM pg_temp.mismatches ORDER BY object COLLATE "C"; RESET search_path;'

-- one object of each kind, in two schemas (one needs quoting), with
-- comments; an extension (contrib's citext, where it is installed: the
-- memory check's server has no contrib); members of an extension, which
-- are left out (made members of plpgsql, which every server has)
CREATE SCHEMA "Sales Ops";
COMMENT ON SCHEMA "Sales Ops" IS 'sales; operations';
CREATE SCHEMA ext;
SELECT pg_catalog.count(*) > 0 AS has_citext FROM pg_catalog.pg_available_extensions
 WHERE name = 'citext' \gset
\if :has_citext
CREATE EXTENSION citext SCHEMA ext;
\endif
CREATE SCHEMA member_ns;
CREATE TABLE member_ns.member_t (id int);
CREATE FUNCTION member_fn() RETURNS int LANGUAGE sql AS 'SELECT 1';
CREATE TABLE member_t (id int CHECK (id > 0));
ALTER EXTENSION plpgsql ADD SCHEMA member_ns;
ALTER EXTENSION plpgsql ADD FUNCTION member_fn();
ALTER EXTENSION plpgsql ADD TABLE member_t;
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
ALTER TYPE mood ADD VALUE 'meh' BEFORE 'ok';
COMMENT ON TYPE mood IS 'how it went';
CREATE DOMAIN posint AS int NOT NULL DEFAULT 1
	CONSTRAINT posint_positive CHECK (VALUE > 0) CONSTRAINT posint_small CHECK (VALUE < 1000000);
CREATE TYPE pair AS (a int, "B c" text COLLATE "C");
CREATE TYPE floatrange AS RANGE (subtype = float8);
CREATE SEQUENCE "Sales Ops".ticket_seq AS int START 10 INCREMENT 5 MAXVALUE 100000 CACHE 3 CYCLE;
CREATE TABLE accounts (
	id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	name text COLLATE "C" NOT NULL DEFAULT 'none' CHECK (name <> ''),
	email text UNIQUE,
	state mood,
	amount numeric(12, 2) DEFAULT 0,
	doubled numeric GENERATED ALWAYS AS (amount * 2) STORED,
	ticket int DEFAULT nextval('"Sales Ops".ticket_seq'),
	period floatrange,
	dropped int
) WITH (fillfactor = 80);
ALTER TABLE accounts DROP COLUMN dropped;
COMMENT ON TABLE accounts IS 'the accounts';
COMMENT ON COLUMN accounts.name IS 'the name, "quoted"';
COMMENT ON CONSTRAINT accounts_name_check ON accounts IS 'not empty';
CREATE INDEX accounts_lower_idx ON accounts (lower(name)) WHERE amount > 0;
COMMENT ON INDEX accounts_lower_idx IS 'by name';
ALTER TABLE accounts ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY accounts_read ON accounts FOR SELECT TO PUBLIC USING (amount >= 0);
CREATE POLICY accounts_write ON accounts AS RESTRICTIVE FOR UPDATE
	USING (state IS DISTINCT FROM 'sad') WITH CHECK (amount < 1000);
COMMENT ON POLICY accounts_read ON accounts IS 'everyone reads';
CREATE TABLE "Sales Ops"."Orders" (
	id bigint PRIMARY KEY,
	account_id int REFERENCES accounts ON DELETE CASCADE,
	qty posint,
	tags text[] DEFAULT '{}'
);
ALTER TABLE "Sales Ops"."Orders" ADD CONSTRAINT orders_qty CHECK (qty < 500) NOT VALID;
CREATE UNLOGGED TABLE scratch (v pair);
CREATE TABLE measurements (at date NOT NULL, v int) PARTITION BY RANGE (at);
CREATE TABLE measurements_2026 PARTITION OF measurements FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
CREATE INDEX measurements_at_idx ON measurements (at);
CREATE TABLE parent_t (a int);
CREATE TABLE child_t (b int) INHERITS (parent_t);
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
COMMENT ON FUNCTION touch() IS 'a trigger function';
CREATE TRIGGER accounts_touch BEFORE UPDATE ON accounts FOR EACH ROW
	WHEN (OLD.amount IS DISTINCT FROM NEW.amount) EXECUTE FUNCTION touch();
ALTER TABLE accounts DISABLE TRIGGER accounts_touch;
COMMENT ON TRIGGER accounts_touch ON accounts IS 'touches';
CREATE FUNCTION "Sales Ops".total(a int, b int DEFAULT 2) RETURNS int
	LANGUAGE sql IMMUTABLE STRICT AS 'SELECT a + b';
CREATE PROCEDURE reset_amounts(to_value numeric) LANGUAGE sql
	AS 'UPDATE accounts SET amount = to_value';
CREATE AGGREGATE sum_of(int) (sfunc = int4pl, stype = int, initcond = '0');
CREATE VIEW rich AS SELECT id, name FROM accounts WHERE amount > 100 WITH CHECK OPTION;
COMMENT ON VIEW rich IS 'the rich';
CREATE MATERIALIZED VIEW totals AS SELECT state, sum(amount) AS total FROM accounts GROUP BY state;
CREATE FOREIGN DATA WRAPPER apm_fingerprint_fdw;
CREATE SERVER apm_fingerprint_server FOREIGN DATA WRAPPER apm_fingerprint_fdw;
CREATE FOREIGN TABLE remote_things (id int, label text) SERVER apm_fingerprint_server;

-- an upgrade records the fingerprint
SELECT ap_migrate_add('e00000000001', NULL, 'CREATE TABLE first_step (id int)', 'DROP TABLE first_step');
SELECT ap_migrate_upgrade();
SELECT pg_catalog.array_length(objects, 1) > 50 AS many_objects,
	pg_catalog.array_to_string(objects, ',') LIKE '%function "Sales Ops".total(integer,integer)%' AS quoted,
	pg_catalog.array_to_string(objects, ',') NOT LIKE '%member%' AS no_members
  FROM ap_migrate.schema_fingerprint;
:mismatches
SELECT object, change FROM ap_migrate_drift();

-- catalog rows left dead by rolled-back DDL: the lookups of comments,
-- columns and defaults meet index entries whose rows are dead to everyone
-- (the index scans mark them dead, in memory that must last as long as
-- they do)
BEGIN;
COMMENT ON TABLE accounts IS 'rolled back';
COMMENT ON COLUMN accounts.amount IS 'rolled back';
ALTER TABLE parent_t ADD COLUMN c int DEFAULT 4;
CREATE INDEX parent_t_a_idx ON parent_t (a);
COMMENT ON INDEX parent_t_a_idx IS 'rolled back';
ROLLBACK;
SELECT object, change FROM ap_migrate_drift();
:mismatches

-- verify: a downgrade that forgets a comment (its row dies with the
-- rolled-back subtransaction), then one that does not
SELECT ap_migrate_add('e00000000002', '{e00000000001}',
	'CREATE INDEX accounts_amount_idx ON accounts (amount); COMMENT ON TABLE accounts IS ''audited''',
	'DROP INDEX accounts_amount_idx');
SELECT revision, status, detail FROM ap_migrate_verify();
SELECT revision, status, detail FROM ap_migrate_verify();
SELECT ap_migrate_add('e00000000003', '{e00000000002}',
	'CREATE INDEX parent_t_a_idx ON parent_t (a); COMMENT ON TABLE parent_t IS ''audited''',
	'DROP INDEX parent_t_a_idx; COMMENT ON TABLE parent_t IS NULL');
SELECT revision, status, detail FROM ap_migrate_verify();
SELECT object, change FROM ap_migrate_drift();

-- many objects: past 256 lookups, comments and memberships come from hash
-- tables
DO $$
BEGIN
	FOR i IN 1..150 LOOP
		EXECUTE format('CREATE TABLE many_%s (id int PRIMARY KEY, v text DEFAULT %L)', i, 'v' || i);
		IF i % 3 = 0 THEN
			EXECUTE format('COMMENT ON TABLE many_%s IS %L', i, 'table ' || i);
			EXECUTE format('COMMENT ON COLUMN many_%s.v IS %L', i, 'column ' || i);
		END IF;
	END LOOP;
END
$$;
SELECT ap_migrate_add('e00000000004', '{e00000000003}', 'CREATE TABLE second_step (id int)',
	'DROP TABLE second_step');
SELECT ap_migrate_upgrade();
SELECT pg_catalog.array_length(objects, 1) > 500 AS many_objects FROM ap_migrate.schema_fingerprint;
:mismatches
SELECT object, change FROM ap_migrate_drift();
BEGIN;
COMMENT ON TABLE many_3 IS 'rolled back';
COMMENT ON COLUMN many_4.v IS 'rolled back';
ALTER TABLE many_5 ADD COLUMN w int DEFAULT 4;
ROLLBACK;
SELECT object, change FROM ap_migrate_drift();
SELECT ap_migrate_add('e00000000005', '{e00000000004}',
	'CREATE INDEX many_6_v_idx ON many_6 (v); COMMENT ON TABLE many_6 IS ''audited''',
	'DROP INDEX many_6_v_idx');
SELECT revision, status, detail FROM ap_migrate_verify();

-- a procedure: after its last commit the fingerprint is the first thing
-- its transaction does, and takes the transaction snapshot (which
-- pg_get_constraintdef reads with) before its lookups register theirs
SELECT ap_migrate_add('e00000000006', '{e00000000005}', 'CREATE TABLE third_step (id int CHECK (id > 0))',
	'DROP TABLE third_step');
CALL ap_migrate_run('head');
:mismatches
SELECT object, change FROM ap_migrate_drift();

-- the same few objects after a downgrade
SELECT ap_migrate_downgrade('e00000000001');
:mismatches

\c contrib_regression
DROP DATABASE apm_fingerprint;
