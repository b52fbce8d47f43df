--
-- ap_migrate_lint(): every rule with a case that fires and one that does
-- not, against a live table with rows (big), an empty one (empty) and
-- tables created earlier in the same revision.  Rule codes are stable;
-- docs/analysis.md has one row per code with its safe rewrite.
--
CREATE DATABASE apm_lint;
\c apm_lint
CREATE EXTENSION ap_migrate;
SET client_min_messages = warning;
CREATE TABLE big (id int PRIMARY KEY, name text, status text, price numeric(10,2), code varchar(10));
INSERT INTO big SELECT g, 'n' || g, 'a', g, 'c' FROM generate_series(1, 500) g;
ANALYZE big;
CREATE TABLE empty (id int PRIMARY KEY, name text);
CREATE TABLE parent (id int PRIMARY KEY);
INSERT INTO parent VALUES (1);
CREATE TYPE mood AS ENUM ('sad');
-- a validated CHECK (name IS NOT NULL) lets SET NOT NULL skip its scan
CREATE TABLE checked (id int, name text, CONSTRAINT checked_name_nn CHECK (name IS NOT NULL));
INSERT INTO checked VALUES (1, 'x');

-- lint ad-hoc SQL, warnings and errors only unless asked
CREATE FUNCTION lint(sql text, transactional boolean DEFAULT true)
RETURNS TABLE (stmt integer, line integer, rule text, severity text, message text)
LANGUAGE sql AS $$
	SELECT statement, line, rule, severity, message FROM ap_migrate_lint_sql(sql, transactional)
$$;
SET ap_migrate.lint_min_severity = warning;

-- lock-level (info): the lock each statement takes, on what, how big
SELECT * FROM ap_migrate_lint_sql('ALTER TABLE big ADD COLUMN note text') WHERE rule = 'lock-level';
SELECT rule, message FROM ap_migrate_lint_sql('ALTER TABLE big ADD COLUMN note text');
SET ap_migrate.lint_min_severity = info;
SELECT rule, message FROM ap_migrate_lint_sql('ALTER TABLE big ADD COLUMN note text');
SELECT rule, message FROM ap_migrate_lint_sql('CREATE TABLE fresh (id int); ALTER TABLE fresh ADD COLUMN note text');
SET ap_migrate.lint_min_severity = warning;

-- index-without-concurrently
SELECT * FROM lint('CREATE INDEX big_name_idx ON big (name)');
SELECT * FROM lint('CREATE INDEX empty_name_idx ON empty (name)');
SELECT * FROM lint('CREATE INDEX CONCURRENTLY big_name_idx ON big (name)', false);
SELECT * FROM lint('CREATE TABLE t2 (id int); INSERT INTO t2 VALUES (1); CREATE INDEX ON t2 (id)');

-- add-column-not-null
SELECT * FROM lint('ALTER TABLE big ADD COLUMN flag boolean NOT NULL');
SELECT * FROM lint('ALTER TABLE big ADD COLUMN flag boolean NOT NULL DEFAULT false');
SELECT * FROM lint('ALTER TABLE empty ADD COLUMN flag boolean NOT NULL');

-- set-not-null
SELECT * FROM lint('ALTER TABLE big ALTER COLUMN name SET NOT NULL');
SELECT * FROM lint('ALTER TABLE checked ALTER COLUMN name SET NOT NULL');
SELECT * FROM lint('ALTER TABLE big ADD CONSTRAINT big_name_nn CHECK (name IS NOT NULL) NOT VALID;
ALTER TABLE big VALIDATE CONSTRAINT big_name_nn;
ALTER TABLE big ALTER COLUMN name SET NOT NULL');

-- constraint-without-not-valid
SELECT * FROM lint('ALTER TABLE big ADD CONSTRAINT big_id_check CHECK (id > 0)');
SELECT * FROM lint('ALTER TABLE big ADD CONSTRAINT big_parent_fkey FOREIGN KEY (id) REFERENCES parent');
SELECT * FROM lint('ALTER TABLE big ADD CONSTRAINT big_id_check CHECK (id > 0) NOT VALID');
SELECT * FROM lint('ALTER TABLE big ADD CONSTRAINT big_parent_fkey FOREIGN KEY (id) REFERENCES parent NOT VALID');

-- column-type-rewrite
SELECT * FROM lint('ALTER TABLE big ALTER COLUMN status TYPE integer USING 1');
SELECT * FROM lint('ALTER TABLE big ALTER COLUMN price TYPE numeric(8,2)');
SELECT * FROM lint('ALTER TABLE big ALTER COLUMN price TYPE numeric(12,2)');
SELECT * FROM lint('ALTER TABLE big ALTER COLUMN code TYPE varchar(20)');
SELECT * FROM lint('ALTER TABLE big ALTER COLUMN code TYPE text');

-- rename-in-use
SELECT * FROM lint('ALTER TABLE big RENAME COLUMN status TO state');
SELECT * FROM lint('ALTER TABLE big RENAME TO huge');
SELECT * FROM lint('CREATE TABLE t3 (a int); ALTER TABLE t3 RENAME COLUMN a TO b');

-- drop-column, drop-table
SELECT * FROM lint('ALTER TABLE big DROP COLUMN status');
SELECT * FROM lint('DROP TABLE big');
SELECT * FROM lint('DROP TABLE IF EXISTS no_such_table');
SELECT * FROM lint('CREATE TABLE t4 (a int, b int); ALTER TABLE t4 DROP COLUMN b');

-- volatile-default
SELECT * FROM lint('ALTER TABLE big ADD COLUMN r float8 DEFAULT random()');
SELECT * FROM lint('ALTER TABLE big ADD COLUMN s bigserial');
SELECT * FROM lint('ALTER TABLE big ADD COLUMN at timestamptz DEFAULT now()');
SELECT * FROM lint('ALTER TABLE empty ADD COLUMN r float8 DEFAULT random()');

-- missing-lock-timeout: only when ap_migrate.lock_timeout is off
SELECT * FROM lint('ALTER TABLE big DROP COLUMN status') WHERE rule = 'missing-lock-timeout';
SET ap_migrate.lock_timeout = 0;
SELECT * FROM lint('ALTER TABLE big DROP COLUMN status') WHERE rule = 'missing-lock-timeout';
SELECT * FROM lint('SET lock_timeout = ''2s''; ALTER TABLE big DROP COLUMN status') WHERE rule = 'missing-lock-timeout';
SELECT * FROM lint('ALTER TABLE empty DROP COLUMN name') WHERE rule = 'missing-lock-timeout';
RESET ap_migrate.lock_timeout;

-- concurrently-in-transaction
SELECT * FROM lint('CREATE INDEX CONCURRENTLY big_name_idx ON big (name)');
SELECT * FROM lint('DROP INDEX CONCURRENTLY big_name_idx');
SELECT * FROM lint('DROP INDEX CONCURRENTLY big_name_idx', false);

-- enum-value-used
SELECT * FROM lint('ALTER TYPE mood ADD VALUE ''happy''; UPDATE big SET status = ''happy''');
SELECT * FROM lint('ALTER TYPE mood ADD VALUE ''happy''');

-- configuration: disable per rule, per revision, severity threshold
SET ap_migrate.lint_disable = 'index-without-concurrently, drop-column';
SELECT * FROM lint('CREATE INDEX ON big (name); ALTER TABLE big DROP COLUMN status');
RESET ap_migrate.lint_disable;
SELECT * FROM lint('-- ap_migrate:lint-disable index-without-concurrently
CREATE INDEX ON big (name); ALTER TABLE big DROP COLUMN status');
SET ap_migrate.lint_min_severity = error;
SELECT * FROM lint('CREATE INDEX ON big (name); ALTER TABLE big ADD COLUMN flag boolean NOT NULL');
SET ap_migrate.lint_min_severity = warning;
SET ap_migrate.lint_min_severity = loud;

-- registered revisions: the pending ones by default, or the ones named
SELECT ap_migrate_add('a00000000001', NULL, 'CREATE TABLE orders (id int PRIMARY KEY); CREATE INDEX ON orders (id)', 'DROP TABLE orders');
SELECT ap_migrate_add('a00000000002', '{a00000000001}', E'ALTER TABLE big ADD COLUMN flag boolean NOT NULL;\n\nCREATE INDEX ON big (name)', 'ALTER TABLE big DROP COLUMN flag');
SELECT revision, statement, line, rule, severity FROM ap_migrate_lint();
SELECT revision, statement, line, rule, severity FROM ap_migrate_lint('a00000000001');
SELECT revision, rule, hint FROM ap_migrate_lint('a000000000');

-- lint at registration: off (default), warn, refuse
SET ap_migrate.lint_on_register = warn;
SELECT ap_migrate_add('a00000000003', '{a00000000002}', 'CREATE INDEX big_code_idx ON big (code)', 'DROP INDEX big_code_idx');
SET ap_migrate.lint_on_register = refuse;
SELECT ap_migrate_add('a00000000004', '{a00000000003}', 'ALTER TABLE big DROP COLUMN code', 'SELECT 1');
SELECT ap_migrate_add('a00000000004', '{a00000000003}', E'-- ap_migrate:lint-disable drop-column\nALTER TABLE big DROP COLUMN code', 'SELECT 1');
RESET ap_migrate.lint_on_register;

-- privileges: not for PUBLIC
CREATE ROLE apm_lint_nobody;
SET ROLE apm_lint_nobody;
SELECT * FROM ap_migrate_lint();
RESET ROLE;
DROP ROLE apm_lint_nobody;

\c contrib_regression
DROP DATABASE apm_lint;
