--
-- Introspection: current, heads, branches, history, show, validate, check
--
\set VERBOSITY default
CREATE EXTENSION ap_migrate;

-- An independent implementation of checksum algorithm 1: SHA-256 over the
-- upgrade SQL, the downgrade SQL (NULL = length -1) and 't'/'f', each
-- prefixed by its byte length as a little-endian int8.
CREATE FUNCTION intro_le8(n bigint) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
  SELECT decode(string_agg(substr(lpad(to_hex(n), 16, '0'), 15 - 2 * i, 2), '' ORDER BY i), 'hex')
    FROM generate_series(0, 7) AS i $$;
CREATE FUNCTION intro_checksum(up text, down text, tx boolean) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT encode(sha256(intro_le8(octet_length(up)) || convert_to(up, 'UTF8') ||
                       intro_le8(coalesce(octet_length(down), -1)) ||
                       coalesce(convert_to(down, 'UTF8'), '') ||
                       intro_le8(1) || convert_to(CASE WHEN tx THEN 't' ELSE 'f' END, 'UTF8')),
                'hex') $$;

-- 1. Empty catalog: every listing is empty, validate finds nothing, check
-- is vacuously true, and show has nothing to show.
SELECT * FROM ap_migrate_current();
SELECT * FROM ap_migrate_heads();
SELECT * FROM ap_migrate_branches();
SELECT * FROM ap_migrate_history();
SELECT * FROM ap_migrate_validate();
SELECT ap_migrate_check();
SELECT revision FROM ap_migrate_show('head');
\echo :LAST_ERROR_SQLSTATE
SELECT revision FROM ap_migrate_show('a1');
\echo :LAST_ERROR_SQLSTATE
SELECT revision FROM ap_migrate_show(NULL);
\echo :LAST_ERROR_SQLSTATE

-- 2. One base, a branch point (a2) with two children (a3, a4), a merge
-- point (a5).  a4 is irreversible.
SELECT ap_migrate_add('a10000000001', NULL, 'CREATE TABLE intro_a1 (id int)', 'DROP TABLE intro_a1', 'base one');
SELECT ap_migrate_add('a10000000002', '{a10000000001}', 'CREATE TABLE intro_a2 (id int)', 'DROP TABLE intro_a2', 'branch point');
SELECT ap_migrate_add('a10000000003', '{a10000000002}', 'CREATE TABLE intro_a3 (id int)', 'DROP TABLE intro_a3', 'left');
SELECT ap_migrate_add('a1f000000004', '{a10000000002}', 'CREATE TABLE intro_a4 (id int)', NULL, 'right, irreversible');
SELECT ap_migrate_add('a10000000005', '{a10000000003,a1f000000004}', 'CREATE TABLE intro_a5 (id int)',
                      'DROP TABLE intro_a5', 'merge', branch_labels => '{main}');

-- with a single head, 'head' names it
SELECT revision, down_revision, children, message, branch_labels FROM ap_migrate_show('head');
SELECT * FROM ap_migrate_branches();

-- 3. A second base with its own head, depending on the branch point.
SELECT ap_migrate_add('b20000000001', NULL, 'CREATE TABLE intro_b1 (id int)', 'DROP TABLE intro_b1', 'base two');
SELECT ap_migrate_add('b20000000002', '{b20000000001}', 'CREATE TABLE intro_b2 (id int)', 'DROP TABLE intro_b2',
                      'other head', branch_labels => '{other}', depends_on => '{a10000000002}');

-- nothing applied: no current revision, no head is current
SELECT * FROM ap_migrate_current();
SELECT * FROM ap_migrate_heads() ORDER BY revision;
SELECT * FROM ap_migrate_branches() ORDER BY revision;
-- history: newest first, in alembic history order (its walk down from the heads)
SELECT h.* FROM ap_migrate_history() WITH ORDINALITY AS h(revision, down_revision, message, is_head,
       is_branch_point, is_merge_point, is_current, applied, n) ORDER BY n;
SELECT ap_migrate_check();

-- partial upgrade along the left branch: a3 is current but not a head
SELECT ap_migrate_upgrade('a10000000003');
SELECT * FROM ap_migrate_current() ORDER BY revision;
SELECT revision, is_current FROM ap_migrate_heads() ORDER BY revision;
SELECT revision, is_current, applied FROM ap_migrate_history() ORDER BY revision;
SELECT ap_migrate_check();

-- the other base's head: two current revisions, one of them a head
SELECT ap_migrate_upgrade('b20000000002');
SELECT * FROM ap_migrate_current() ORDER BY revision;
SELECT revision, is_current FROM ap_migrate_heads() ORDER BY revision;
SELECT ap_migrate_check();

-- everything: both heads current; history flags at the end
SELECT ap_migrate_upgrade('heads');
SELECT * FROM ap_migrate_current() ORDER BY revision;
SELECT * FROM ap_migrate_heads() ORDER BY revision;
SELECT h.* FROM ap_migrate_history() WITH ORDINALITY AS h(revision, down_revision, message, is_head,
       is_branch_point, is_merge_point, is_current, applied, n) ORDER BY n;

-- 4. show: by full id, by unique prefix, by relative target; every column
-- (downgrade_sql is NULL for the irreversible a1f..04)
\x on
SELECT revision, down_revision, children, message, branch_labels, depends_on, transactional,
       applied, owner = current_user::regrole AS owner_is_caller, registered_at <= now() AS registered_at_ok,
       checksum ~ '^[0-9a-f]{64}$' AS checksum_is_sha256_hex, upgrade_sql, downgrade_sql
  FROM ap_migrate_show('a10000000002');
SELECT revision, children, depends_on, branch_labels FROM ap_migrate_show('b20000000002');
\x off
SELECT revision, message FROM ap_migrate_show('a1f000000004');
SELECT revision, downgrade_sql IS NULL AS irreversible FROM ap_migrate_show('a1f');
SELECT revision, downgrade_sql IS NULL AS irreversible FROM ap_migrate_show('a10000000003');
SELECT revision FROM ap_migrate_show('b20000000001+1');
-- the checksum is what the column comment documents, for every revision
SELECT s.revision, s.checksum = r.checksum AS same_as_catalog,
       s.checksum = intro_checksum(s.upgrade_sql, s.downgrade_sql, s.transactional) AS recomputed
  FROM ap_migrate.revision r, ap_migrate_show(r.id) s ORDER BY 1;

-- show errors: ambiguous prefix, several heads, a target naming no or
-- several revisions, unknown revision, relative target at a merge point
SELECT revision FROM ap_migrate_show('a1');
\echo :LAST_ERROR_SQLSTATE
SELECT revision FROM ap_migrate_show('head');
\echo :LAST_ERROR_SQLSTATE
SELECT revision FROM ap_migrate_show('heads');
\echo :LAST_ERROR_SQLSTATE
SELECT revision FROM ap_migrate_show('base');
\echo :LAST_ERROR_SQLSTATE
SELECT revision FROM ap_migrate_show('c30000000000');
\echo :LAST_ERROR_SQLSTATE
SELECT revision FROM ap_migrate_show('a10000000005-1');
\echo :LAST_ERROR_SQLSTATE

-- 5. validate on this clean graph: warnings only, and check() is true at
-- head in spite of them
SELECT * FROM ap_migrate_validate() ORDER BY problem, revision;
SELECT ap_migrate_check();

-- 6. Each problem code, provoked in a transaction that is rolled back.
-- dangling_parent and dangling_dependency: registration accepts unknown
-- parents (they may be registered later)
BEGIN;
SELECT ap_migrate_add('c30000000001', '{a10000000005,dddddddddddd}', 'SELECT 1', 'SELECT 1', 'dangling',
                      depends_on => '{eeeeeeeeeeee}');
SELECT * FROM ap_migrate_validate() WHERE severity = 'error' ORDER BY problem, revision;
SELECT ap_migrate_check();
ROLLBACK;

-- invalid_id and mixed_id_format: an id registered under the relaxed format
-- is an error once the setting is back to hex12
BEGIN;
SET LOCAL ap_migrate.revision_id_format = relaxed;
SELECT ap_migrate_add('feature_x', '{a10000000005}', 'SELECT 1', 'SELECT 1', 'relaxed id');
SELECT * FROM ap_migrate_validate() WHERE problem IN ('invalid_id', 'mixed_id_format') ORDER BY problem;
SET LOCAL ap_migrate.revision_id_format = hex12;
SELECT * FROM ap_migrate_validate() WHERE problem IN ('invalid_id', 'mixed_id_format') ORDER BY problem;
ROLLBACK;

-- duplicate_id: ids that differ only in case (relaxed format)
BEGIN;
SET LOCAL ap_migrate.revision_id_format = relaxed;
SELECT ap_migrate_add('Feature.Y', '{a10000000005}', 'SELECT 1', 'SELECT 1', 'upper');
SELECT ap_migrate_add('feature.y', '{b20000000002}', 'SELECT 1', 'SELECT 1', 'lower');
-- a group without a lowercase member, and an uppercase id alone in its group
SELECT ap_migrate_add('OTHER.z', '{feature.y}', 'SELECT 1', 'SELECT 1', 'upper 2');
SELECT ap_migrate_add('Other.Z', '{OTHER.z}', 'SELECT 1', 'SELECT 1', 'mixed');
SELECT ap_migrate_add('Alone.A', '{Other.Z}', 'SELECT 1', 'SELECT 1', 'alone');
SELECT * FROM ap_migrate_validate() WHERE problem = 'duplicate_id';
ROLLBACK;

-- checksum_mismatch: stored SQL changed behind ap_migrate's back; check()
-- is false although every head is applied
BEGIN;
UPDATE ap_migrate.revision SET upgrade_sql = 'DROP TABLE intro_a1' WHERE id = 'a10000000003';
SELECT * FROM ap_migrate_validate() WHERE severity = 'error' ORDER BY problem, revision;
SELECT ap_migrate_check();
ROLLBACK;

-- drift (1): the checksum recorded when applying differs
BEGIN;
UPDATE ap_migrate.applied SET checksum = repeat('0', 64) WHERE revision = 'a10000000003';
SELECT * FROM ap_migrate_validate() WHERE severity = 'error' ORDER BY problem, revision;
SELECT ap_migrate_check();
ROLLBACK;

-- drift (2): SQL and checksum of an applied revision both replaced, so the
-- row is self-consistent (no checksum_mismatch) but not what was applied
BEGIN;
UPDATE ap_migrate.revision
   SET upgrade_sql = 'CREATE TABLE intro_other (id int)',
       checksum = intro_checksum('CREATE TABLE intro_other (id int)', downgrade_sql, transactional)
 WHERE id = 'a10000000003';
SELECT * FROM ap_migrate_validate() WHERE severity = 'error' ORDER BY problem, revision;
ROLLBACK;

-- applied_not_registered: an applied head's revision row is deleted
BEGIN;
DELETE FROM ap_migrate.revision WHERE id = 'b20000000002';
SELECT * FROM ap_migrate_validate() WHERE severity = 'error' ORDER BY problem, revision;
SELECT ap_migrate_check();
ROLLBACK;

-- applied_parent_missing: the branch point leaves the applied set while its
-- children and its dependent stay
BEGIN;
DELETE FROM ap_migrate.applied WHERE revision = 'a10000000002';
SELECT * FROM ap_migrate_validate() WHERE severity = 'error' ORDER BY problem, revision, detail;
SELECT ap_migrate_check();
ROLLBACK;

-- cycle: only tampering can close one (registration refuses it); the row
-- names every revision of the cycle, and history still lists everything,
-- the revisions it cannot order last
BEGIN;
UPDATE ap_migrate.revision SET down_revision = '{a10000000005}' WHERE id = 'a10000000001';
SELECT * FROM ap_migrate_validate() WHERE severity = 'error' ORDER BY problem, revision;
SELECT ap_migrate_check();
SELECT n, h.revision, h.down_revision FROM ap_migrate_history() WITH ORDINALITY AS h(revision, down_revision,
       message, is_head, is_branch_point, is_merge_point, is_current, applied, n) ORDER BY n;
ROLLBACK;

-- a parent listed twice (possible only by tampering) is reported
BEGIN;
UPDATE ap_migrate.revision SET down_revision = down_revision || down_revision
 WHERE id = (SELECT min(id) FROM ap_migrate.revision WHERE cardinality(down_revision) = 1);
SELECT severity, problem FROM ap_migrate_validate() WHERE problem = 'duplicate_parent';
ROLLBACK;

-- show accepts "current" when one revision is current, as alembic show current
SELECT count(*) AS current_revisions FROM ap_migrate_current();
SELECT revision FROM ap_migrate_show('current');
BEGIN;
SELECT ap_migrate_stamp('base') IS NULL AS at_base;
SELECT ap_migrate_stamp((SELECT id FROM ap_migrate.revision ORDER BY seq LIMIT 1)) AS stamped;
SELECT revision, applied FROM ap_migrate_show('current');
ROLLBACK;

-- after all the rollbacks the graph is clean again
SELECT severity, problem, revision FROM ap_migrate_validate() ORDER BY problem, revision;
SELECT ap_migrate_check();

DROP EXTENSION ap_migrate;
DROP TABLE intro_a1, intro_a2, intro_a3, intro_a4, intro_a5, intro_b1, intro_b2;
DROP FUNCTION intro_checksum(text, text, boolean);
DROP FUNCTION intro_le8(bigint);
