--
-- Branches, merges and branch labels: several bases, a branch point, a
-- merge, labels on both branches, and every kind of branch target.
--
--   a ── b1 (label "billing") ── c1 ──┐
--    └── b2 (label "reports") ── c2 ──┴── m ── n
--   z (a second base, label "audit") ── z2
--
CREATE EXTENSION ap_migrate;
CREATE TABLE br_ledger (n serial, step text);
CREATE FUNCTION br_add(id text, parents text[], msg text, labels text[] DEFAULT '{}')
RETURNS boolean LANGUAGE sql AS $$
  SELECT ap_migrate_add(id, parents,
         format('INSERT INTO br_ledger (step) VALUES (%L)', '+' || msg),
         format('INSERT INTO br_ledger (step) VALUES (%L)', '-' || msg),
         msg, labels)
$$;
-- the steps of the last call, in order
CREATE FUNCTION br_steps() RETURNS text LANGUAGE sql AS $$
  SELECT coalesce(string_agg(step, ' ' ORDER BY n), '(none)') FROM br_ledger
$$;

SELECT br_add('aaaaaaaaaaaa', NULL, 'a');
SELECT br_add('b1b1b1b1b1b1', '{aaaaaaaaaaaa}', 'b1', '{billing}');
SELECT br_add('c1c1c1c1c1c1', '{b1b1b1b1b1b1}', 'c1');
SELECT br_add('b2b2b2b2b2b2', '{aaaaaaaaaaaa}', 'b2', '{reports}');
SELECT br_add('c2c2c2c2c2c2', '{b2b2b2b2b2b2}', 'c2');
SELECT br_add('f0f0f0f0f0f0', '{c1c1c1c1c1c1,c2c2c2c2c2c2}', 'm');
SELECT br_add('f1f1f1f1f1f1', '{f0f0f0f0f0f0}', 'n');
SELECT br_add('dddddddddddd', NULL, 'z', '{audit}');
SELECT br_add('d2d2d2d2d2d2', '{dddddddddddd}', 'z2');

-- labels and ids share one namespace
SELECT br_add('e0e0e0e0e0e0', '{c2c2c2c2c2c2}', 'x', '{billing}');
\echo :LAST_ERROR_SQLSTATE
SELECT br_add('e0e0e0e0e0e0', '{c2c2c2c2c2c2}', 'x', '{aaaaaaaaaaaa}');
\echo :LAST_ERROR_SQLSTATE
SELECT br_add('e0e0e0e0e0e0', '{c2c2c2c2c2c2}', 'x', '{dup,dup}');
\echo :LAST_ERROR_SQLSTATE
SET ap_migrate.revision_id_format = relaxed;
SELECT br_add('billing', NULL, 'x');
\echo :LAST_ERROR_SQLSTATE
RESET ap_migrate.revision_id_format;

-- the shape of the graph
SELECT revision, message, branch_labels FROM ap_migrate_heads();
SELECT revision, children FROM ap_migrate_branches();
SELECT revision, down_revision, is_head, is_branch_point, is_merge_point
  FROM ap_migrate_history();
SELECT severity, problem, detail FROM ap_migrate_validate() ORDER BY problem;

-- 'head' is ambiguous with two heads; a label narrows it to one branch
SELECT ap_migrate_upgrade('head');
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_upgrade('audit@head');
SELECT br_steps();
TRUNCATE br_ledger;

-- billing@head is the head that descends from billing: n, after the
-- merge, so everything n needs comes in; the audit branch stays as it is
SELECT ap_migrate_upgrade('billing@head');
SELECT br_steps();
TRUNCATE br_ledger;
SELECT revision FROM ap_migrate_current() ORDER BY revision;

-- label@-N walks down the branch of the label
SELECT ap_migrate_downgrade('audit@-1');
SELECT br_steps();
TRUNCATE br_ledger;
-- label@+N from the current revision on that branch
SELECT ap_migrate_upgrade('audit@+1');
SELECT br_steps();
TRUNCATE br_ledger;
-- a bare label names the revision that declares it
SELECT revision FROM ap_migrate_show('reports');
-- label@<rev>: the revision must be on the branch
SELECT ap_migrate_plan('reports@c1c1c1c1c1c1');
\echo :LAST_ERROR_SQLSTATE
SELECT step, revision FROM ap_migrate_plan('reports@c2c2c2c2c2c2');
-- a revision id can stand for the branch it is on
SELECT step, revision FROM ap_migrate_plan('b2b2@head');
-- unknown branch
SELECT ap_migrate_plan('nosuch@head');
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_plan('billing@');
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_plan('a@b@head');
\echo :LAST_ERROR_SQLSTATE

-- downgrading below the merge point, on one branch
SELECT ap_migrate_downgrade('b1b1b1b1b1b1');
SELECT br_steps();
TRUNCATE br_ledger;
SELECT revision FROM ap_migrate_current() ORDER BY revision;

-- label@base reverts that branch only (the graph has two bases)
SELECT ap_migrate_downgrade('audit@base');
SELECT br_steps();
TRUNCATE br_ledger;
SELECT revision FROM ap_migrate_current() ORDER BY revision;

-- heads upgrades every branch; stamping several heads at once
SELECT ap_migrate_upgrade('heads');
SELECT br_steps();
TRUNCATE br_ledger;
SELECT ap_migrate_stamp('base');
SELECT ap_migrate_stamp('heads');
SELECT revision FROM ap_migrate_current() ORDER BY revision;
SELECT br_steps();

-- history ranges, as alembic history -r start:end
SELECT string_agg(revision, ' ') AS billing_and_up FROM ap_migrate_history('billing:');
SELECT string_agg(revision, ' ') AS up_to_c2 FROM ap_migrate_history(':c2c2');
SELECT string_agg(revision, ' ') AS b2_to_head FROM ap_migrate_history('b2b2:f1f1');
SELECT ap_migrate_stamp('b1b1b1b1b1b1');
SELECT string_agg(revision, ' ') AS from_current FROM ap_migrate_history('current:');
SELECT revision FROM ap_migrate_history('c1c1:c2c2');
\echo :LAST_ERROR_SQLSTATE
SELECT revision FROM ap_migrate_history('c1c1');
\echo :LAST_ERROR_SQLSTATE

-- Alembic's order for history and branches when a head is reached only
-- through depends_on: the walk starts from the heads nothing depends on
-- (alembic history lists 18d9 f549 d81c 5957), and branch points are
-- listed in that order too
DROP EXTENSION ap_migrate;
CREATE EXTENSION ap_migrate;
SELECT count(*) FROM (VALUES
    (ap_migrate_add('5957161e911d', NULL, '', '')),
    (ap_migrate_add('d81c8d560fe5', '{5957161e911d}', '', '')),
    (ap_migrate_add('f5490793eff8', '{5957161e911d}', '', '')),
    (ap_migrate_add('18d9978c6938', '{5957161e911d}', '', '', depends_on => '{d81c8d560fe5}'))) v(x);
SELECT string_agg(revision, ' ') AS history FROM ap_migrate_history();
SELECT string_agg(revision, ' ') AS history_range FROM ap_migrate_history(':');
SELECT ap_migrate_add('0a0a0a0a0a0a', '{f5490793eff8}', '', ''), ap_migrate_add('0b0b0b0b0b0b', '{f5490793eff8}', '', '');
SELECT string_agg(revision, ' ') AS branch_points FROM ap_migrate_branches();

-- partial identifiers match branch labels longer than three characters, as
-- in Alembic: "fea" names the revision labelled "feat", "f" is ambiguous
-- between the label and the id f5490793eff8
SELECT ap_migrate_add('aaaaaaaaaaaa', '{0a0a0a0a0a0a}', '', '', branch_labels => '{feat}');
SELECT revision FROM ap_migrate_plan('fea') ORDER BY step DESC LIMIT 1;
SELECT revision FROM ap_migrate_plan('fea@head') ORDER BY step DESC LIMIT 1;
SELECT revision FROM ap_migrate_plan('feat-1') ORDER BY step DESC LIMIT 1;
SELECT * FROM ap_migrate_plan('f');
SELECT * FROM ap_migrate_plan('f@head');

DROP EXTENSION ap_migrate;
DROP FUNCTION br_add(text, text[], text, text[]);
DROP FUNCTION br_steps();
DROP TABLE br_ledger;
