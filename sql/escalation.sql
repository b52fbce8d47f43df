--
-- A step runs with exactly its owner's rights, whatever the caller's
-- session is (SET ROLE, SET SESSION AUTHORIZATION, another login), and
-- what registration checks is what runs.
--
\set VERBOSITY default
CREATE EXTENSION ap_migrate;
CREATE ROLE apm_esc_owner NOLOGIN NOSUPERUSER;
CREATE ROLE apm_esc_other NOLOGIN NOSUPERUSER;
GRANT apm_esc_other TO apm_esc_owner;
CREATE SCHEMA esc AUTHORIZATION apm_esc_owner;
GRANT CREATE, USAGE ON SCHEMA esc TO apm_esc_other;
GRANT EXECUTE ON FUNCTION ap_migrate_add(text, text[], text, text, text, text[], text[], boolean, regrole),
      ap_migrate_upgrade(text) TO apm_esc_owner;
SET client_min_messages = warning;

-- 1. Role changes are refused at registration, whatever the statement form.
SET ROLE apm_esc_owner;
SELECT ap_migrate_add('e5c000000001', NULL, 'RESET ROLE; ALTER ROLE apm_esc_owner SUPERUSER', NULL, 'reset role');
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_add('e5c000000001', NULL, 'SET ROLE apm_esc_other', NULL, 'set role');
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_add('e5c000000001', NULL, 'SET LOCAL ROLE NONE', NULL, 'set local role');
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_add('e5c000000001', NULL, 'SET SESSION AUTHORIZATION DEFAULT', NULL, 'session authorization');
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_add('e5c000000001', NULL, 'SET standard_conforming_strings = off', NULL, 'lexing');
\echo :LAST_ERROR_SQLSTATE

-- ... and at run time when made with set_config(), by a superuser that did
-- SET ROLE to the owner: RESET ROLE would lead back to the superuser.
SELECT ap_migrate_add('e5c000000001', NULL,
  $$SELECT set_config('role', 'none', false); ALTER ROLE apm_esc_owner SUPERUSER$$,
  'SELECT 1', 'dynamic reset role');
SELECT ap_migrate_upgrade('e5c000000001');
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_add('e5c000000001', NULL,
  $$SELECT set_config('session_authorization', 'postgres', false)$$, 'SELECT 1', 'dynamic session authorization');
SELECT ap_migrate_upgrade('e5c000000001');
\echo :LAST_ERROR_SQLSTATE
SELECT ap_migrate_add('e5c000000001', NULL,
  $$SELECT set_config('role', 'apm_esc_other', false)$$, 'SELECT 1', 'dynamic member role');
SELECT ap_migrate_upgrade('e5c000000001');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT rolsuper FROM pg_roles WHERE rolname = 'apm_esc_owner';

-- The owner's SQL run from a session that is not the owner's own (here a
-- superuser after SET ROLE) is security-restricted: no temporary object
-- may outlive the step and run later with the session's rights.
SET ROLE apm_esc_owner;
SELECT ap_migrate_add('e5c000000001', NULL,
  $$CREATE TEMP TABLE esc_trap (x int)$$, 'SELECT 1', 'temp table');
SELECT ap_migrate_upgrade('e5c000000001');
\echo :LAST_ERROR_SQLSTATE
-- an ordinary step runs as the owner, not as the caller behind SET ROLE
SELECT ap_migrate_add('e5c000000001', NULL,
  $$CREATE TABLE esc.who AS SELECT current_user::text AS cu, session_user::text = 'apm_esc_owner' AS su_is_owner$$,
  'DROP TABLE esc.who', 'who');
SELECT ap_migrate_upgrade('e5c000000001');
RESET ROLE;
SELECT cu, su_is_owner FROM esc.who;
SELECT tableowner FROM pg_tables WHERE schemaname = 'esc' AND tablename = 'who';
SELECT current_user = session_user AS role_restored;

-- 3. Bodies are lexed with standard_conforming_strings on, whatever the
-- registering session says: this body is one harmless literal with the
-- setting off, and a literal, BEGIN and an unterminated string with it on.
SET standard_conforming_strings = off;
SELECT ap_migrate_add('e5c000000002', '{e5c000000001}', E'SELECT \'a\\\'; BEGIN; SELECT \'', NULL, 'hidden begin');
\echo :LAST_ERROR_SQLSTATE
RESET standard_conforming_strings;

-- 4. Restore mode checks rows as registration does.  The installer (here a
-- superuser, who is checked the same way) cannot bring ids, labels or
-- bodies that ap_migrate_add() would refuse, and owners are mapped by name.
CREATE FUNCTION esc_restore(id text, parents text[], labels text[], up text, owner_name name)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO ap_migrate.revision (id, down_revision, message, upgrade_sql, downgrade_sql,
         branch_labels, depends_on, transactional, is_head, checksum, checksum_algorithm,
         owner, registered_at, search_path, owner_name)
  VALUES (id, parents, '', up, NULL, labels, '{}', true, true,
          encode(sha256(int8send(length(convert_to(up, 'UTF8')))::bytea), 'hex'), 1,
          'apm_esc_other', now(), 'public', owner_name);
END $$;
SET ap_migrate.restore = on;
SELECT esc_restore(E'e5c\n00000003', '{}', '{}', 'SELECT 1', 'apm_esc_owner');
\echo :LAST_ERROR_SQLSTATE
SELECT esc_restore('e5c000000003', E'{"a\\\\b"}', '{}', 'SELECT 1', 'apm_esc_owner');
\echo :LAST_ERROR_SQLSTATE
SELECT esc_restore('e5c000000003', '{}', E'{"x\ny"}', 'SELECT 1', 'apm_esc_owner');
\echo :LAST_ERROR_SQLSTATE
SELECT esc_restore('e5c000000003', '{e5c000000001,e5c000000001}', '{}', 'SELECT 1', 'apm_esc_owner');
\echo :LAST_ERROR_SQLSTATE
SELECT esc_restore('e5c000000003', '{}', '{}', 'ROLLBACK', 'apm_esc_owner');
\echo :LAST_ERROR_SQLSTATE
SELECT esc_restore('e5c000000003', '{}', '{}', E'\\! id', 'apm_esc_owner');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO ap_migrate.revision_edge VALUES ('e5c000000001', 'label', E'bad\nlabel', 1);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO ap_migrate.applied VALUES (E'e5c\\000000009', 'x', now(), 'postgres');
\echo :LAST_ERROR_SQLSTATE
RESET ap_migrate.restore;

-- 8. Owners come back by name, never by OID: a row naming no existing role
-- is restored without owner (whatever OID it carries: here another role's),
-- cannot run, and registering it again makes the registering role its owner.
SET ap_migrate.restore = on;
INSERT INTO ap_migrate.revision (id, down_revision, message, upgrade_sql, downgrade_sql,
       branch_labels, depends_on, transactional, is_head, checksum, checksum_algorithm,
       owner, registered_at, search_path, owner_name)
SELECT 'e5c000000004', '{e5c000000001}', 'restored', upgrade_sql, downgrade_sql, '{}', '{}',
       true, true, checksum, 1, 'apm_esc_other', now(), 'public', 'apm_esc_dropped'
  FROM ap_migrate.revision WHERE id = 'e5c000000001';
RESET ap_migrate.restore;
SELECT id, owner::oid = 0 AS ownerless, owner_name FROM ap_migrate.revision WHERE id = 'e5c000000004';
SELECT ap_migrate_upgrade('e5c000000004');
\echo :LAST_ERROR_SQLSTATE
-- the same row naming an existing role gets that role's OID
SET ap_migrate.restore = on;
INSERT INTO ap_migrate.revision (id, down_revision, message, upgrade_sql, downgrade_sql,
       branch_labels, depends_on, transactional, is_head, checksum, checksum_algorithm,
       owner, registered_at, search_path, owner_name)
SELECT 'e5c000000005', '{e5c000000001}', 'restored', upgrade_sql, downgrade_sql, '{}', '{}',
       true, true, checksum, 1, 'apm_esc_other', now(), 'public', 'apm_esc_owner'
  FROM ap_migrate.revision WHERE id = 'e5c000000001';
RESET ap_migrate.restore;
SELECT id, owner, owner_name FROM ap_migrate.revision WHERE id = 'e5c000000005' ORDER BY id;
-- registration records the owner's name next to its OID
SELECT id, owner, owner_name FROM ap_migrate.revision WHERE id = 'e5c000000001';

-- 9. A revision listing 20,000 parents: the duplicate at the end is found
-- (by sorting; test/t/016_escalation.pl bounds the time at 100,000).
RESET client_min_messages;
SELECT ap_migrate_add('e5c000000006',
       (SELECT array_agg(lpad(to_hex(i), 12, '0')) || '{000000000001}'::text[]
          FROM generate_series(1, 20000) i),
       'SELECT 1', NULL, 'many parents');

DROP EXTENSION ap_migrate;
DROP FUNCTION esc_restore(text, text[], text[], text, name);
DROP SCHEMA esc CASCADE;
DROP ROLE apm_esc_owner;
DROP ROLE apm_esc_other;
RESET client_min_messages;
