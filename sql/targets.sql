--
-- targets: how upgrade, downgrade, plan and show resolve a target string
--
-- The graph:  a -> b -> c1 -> m -> e
--                   \-> c2 -/
-- b is a branch point, m a merge point; m and e are registered later, so
-- at first the graph has two heads (c1 and c2).  Most cases use the dry
-- run ap_migrate_plan(), summarised by p(); none of them changes anything.
--
CREATE EXTENSION ap_migrate;
CREATE TABLE ledger (rev text);

-- reg(id, parents, name): a revision whose message is name
CREATE FUNCTION reg(id text, parents text[], name text)
RETURNS boolean LANGUAGE sql AS $$
  SELECT ap_migrate_add(id, parents,
    format('INSERT INTO ledger VALUES (%L)', name),
    format('INSERT INTO ledger VALUES (%L)', '-' || name), name)
$$;

-- p(target): the plan as "operation: messages in order"
CREATE FUNCTION p(target text) RETURNS text LANGUAGE sql AS $$
  SELECT coalesce(min(operation) || ': ' || string_agg(message, ' ' ORDER BY step), '(no steps)')
    FROM ap_migrate_plan(target)
$$;

-- state(): applied revisions, ledger rows, history rows
CREATE FUNCTION state(OUT applied text, OUT ledger bigint, OUT history bigint)
LANGUAGE sql AS $$
  SELECT (SELECT string_agg(r.message, ' ' ORDER BY r.message)
            FROM ap_migrate.applied a JOIN ap_migrate.revision r ON r.id = a.revision),
         (SELECT count(*) FROM ledger),
         (SELECT count(*) FROM ap_migrate.history)
$$;

SELECT reg('a1b2c3d4e5f6', NULL, 'a'),
       reg('b00000000001', '{a1b2c3d4e5f6}', 'b'),
       reg('c10000000000', '{b00000000001}', 'c1'),
       reg('c20000000000', '{b00000000001}', 'c2');

--
-- 1. Nothing applied.  Symbolic, full, prefix and relative targets.
--
SELECT t AS target, p(t) FROM (VALUES
  ('heads'), ('base'),
  ('a1b2c3d4e5f6'), ('a1b2'), ('a'), ('b'), ('c1'), ('c2000'),
  ('+1'), ('+2'), ('+01'), ('base+1'), ('base+2'),
  ('a+1'), ('a1b2c3d4e5f6+1'), ('c2-2'), ('c1-1'), ('c1-2'), ('c1-3')) v(t);
-- ap_migrate_show accepts any target that names exactly one revision
SELECT t AS target, (ap_migrate_show(t)).revision FROM (VALUES
  ('a'), ('a1b2c3d4e5f6'), ('c2'), ('c1-1'), ('base+1'), ('a+1')) v(t);

-- 'head' with two heads: an error naming both, with a hint about 'heads'
SELECT p('head');
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_upgrade('head');
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_upgrade();
\echo :LAST_ERROR_SQLSTATE
SELECT p('head-1');
\echo :LAST_ERROR_SQLSTATE
SELECT revision FROM ap_migrate_show('head');
\echo :LAST_ERROR_SQLSTATE
SELECT revision FROM ap_migrate_show('heads');
\echo :LAST_ERROR_SQLSTATE
SELECT revision FROM ap_migrate_show('base');
\echo :LAST_ERROR_SQLSTATE
-- an ambiguous prefix lists the candidates
SELECT p('c');
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_upgrade('c');
\echo :LAST_ERROR_SQLSTATE
-- unknown revisions; ids are case-sensitive
SELECT p('f');
\echo :LAST_ERROR_SQLSTATE
SELECT p('ffffffffffff');
\echo :LAST_ERROR_SQLSTATE
SELECT p('a1b2c3d4e5f6a');
\echo :LAST_ERROR_SQLSTATE
SELECT p('A1B2');
\echo :LAST_ERROR_SQLSTATE
SELECT p('ffff+1');
\echo :LAST_ERROR_SQLSTATE
SELECT revision FROM ap_migrate_show('f');
\echo :LAST_ERROR_SQLSTATE
-- walking up across the branch point b is ambiguous: the error names its children
SELECT p('+3');
\echo :LAST_ERROR_SQLSTATE
SELECT p('base+3');
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_upgrade('a+2');
\echo :LAST_ERROR_SQLSTATE
-- beyond the heads, below base
SELECT p('c1+1');
\echo :LAST_ERROR_SQLSTATE
SELECT p('-1');
\echo :LAST_ERROR_SQLSTATE
SELECT p('base-1');
\echo :LAST_ERROR_SQLSTATE
SELECT p('c1-4');
\echo :LAST_ERROR_SQLSTATE
-- an upgrade cannot move down, a downgrade cannot move up
SELECT ap_migrate_upgrade('-1');
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_downgrade('+1');
\echo :LAST_ERROR_SQLSTATE
-- none of the above changed anything
SELECT * FROM state();

--
-- 2. 'heads' applies both branches; then a bare relative target is
-- ambiguous, because two revisions are current.
--
SELECT ap_migrate_upgrade('heads');
SELECT * FROM state();
SELECT p('+1');
\echo :LAST_ERROR_SQLSTATE
SELECT p('-1');
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_upgrade('+1');
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_downgrade('-1');
\echo :LAST_ERROR_SQLSTATE
-- relative to a named revision is fine: c1-1 is b, and going down to b
-- reverts both of its children; upgrading to an applied revision is a no-op
SELECT t AS target, p(t) FROM (VALUES
  ('heads'), ('c1-1'), ('c2-1'), ('a'), ('base'), ('base+2')) v(t);
SELECT ap_migrate_upgrade('c1-1');
SELECT ap_migrate_upgrade('heads');
SELECT * FROM state();

--
-- 3. A merge point: m merges c1 and c2, e follows m.  head is e again.
--
SELECT reg('d00000000000', '{c10000000000,c20000000000}', 'm'),
       reg('e00000000000', '{d00000000000}', 'e');
SELECT revision, message FROM ap_migrate_heads();
SELECT t AS target, p(t) FROM (VALUES
  ('head'), ('heads'), ('head-1'), ('e-1'), ('d'), ('c1+1'), ('c2+1'), ('c1+2')) v(t);
-- walking down across m is ambiguous: the error names its parents
SELECT p('head-2');
\echo :LAST_ERROR_SQLSTATE
SELECT p('e00000000000-3');
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_upgrade('d');
SELECT ap_migrate_downgrade('-1');
\echo :LAST_ERROR_SQLSTATE
-- at m, one revision is current: +1 is e, +2 goes beyond the heads
SELECT t AS target, p(t) FROM (VALUES ('+1'), ('head'), ('head-1'), ('c1')) v(t);
SELECT p('+2');
\echo :LAST_ERROR_SQLSTATE
SELECT p('head+1');
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_upgrade('+1');
SELECT ap_migrate_downgrade('head-1');
-- downgrading to one parent of the merge keeps the other parent
SELECT ap_migrate_downgrade('c1');
SELECT * FROM state();
SELECT ap_migrate_upgrade('head');

--
-- 4. Bad syntax: 22023 (22004 for NULL), whatever the function, and no
-- change.
--
SELECT * FROM state();
SELECT p('');
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_upgrade('');
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_downgrade('');
\echo :LAST_ERROR_SQLSTATE
SELECT p('-0');
\echo :LAST_ERROR_SQLSTATE
SELECT p('+0');
\echo :LAST_ERROR_SQLSTATE
SELECT p('head-0');
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_upgrade('+1junk');
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_upgrade('head ');
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_upgrade(' head');
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_upgrade(E'head\n');
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_upgrade('label@head');
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_downgrade('label@-1');
\echo :LAST_ERROR_SQLSTATE
SELECT p('a:b');
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_downgrade('-999999999999');
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_downgrade('-1000000000');
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_downgrade('-1.5');
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_downgrade('-');
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_upgrade('head+');
\echo :LAST_ERROR_SQLSTATE
SELECT p('heads+1');
\echo :LAST_ERROR_SQLSTATE
SELECT p('current-1');
\echo :LAST_ERROR_SQLSTATE
SELECT p(repeat('a', 145));
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_upgrade(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_downgrade(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT p(NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT revision FROM ap_migrate_show(NULL);
\echo :LAST_ERROR_SQLSTATE
-- a sign inside the revision part is a malformed target, not an unknown id
SELECT p('+-1');
\echo :LAST_ERROR_SQLSTATE
SELECT p('a--1');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM state();

DROP EXTENSION ap_migrate;
DROP FUNCTION reg(text, text[], text);
DROP FUNCTION p(text);
DROP FUNCTION state();
DROP TABLE ledger;
