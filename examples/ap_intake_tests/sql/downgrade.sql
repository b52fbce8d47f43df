--
-- Every downgrade works: walking down one step at a time, each downgrade
-- leaves the schema exactly as it was before the matching upgrade; base
-- leaves nothing of the application; and head can be reached again.
--
-- "Exactly" is a fingerprint of everything in the public schema (columns,
-- types, constraints, indexes, functions, triggers), kept in a schema of
-- the test's own.
CREATE SCHEMA qa;
CREATE FUNCTION qa.fingerprint() RETURNS text LANGUAGE sql AS $$
  SELECT md5(coalesce(string_agg(item, E'\n' ORDER BY item), ''))
    FROM (SELECT format('%s.%s %s %s', c.relname, a.attname, format_type(a.atttypid, a.atttypmod),
                        pg_get_expr(d.adbin, d.adrelid))
            FROM pg_class c
            JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
            LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
           WHERE c.relnamespace = 'public'::regnamespace
          UNION ALL
          SELECT pg_get_indexdef(i.indexrelid)
            FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
           WHERE c.relnamespace = 'public'::regnamespace
          UNION ALL
          SELECT conname || ' ' || pg_get_constraintdef(oid)
            FROM pg_constraint WHERE connamespace = 'public'::regnamespace
          UNION ALL
          SELECT format('type %s %s', typname, typtype)
            FROM pg_type WHERE typnamespace = 'public'::regnamespace
          UNION ALL
          SELECT pg_get_functiondef(oid)
            FROM pg_proc WHERE pronamespace = 'public'::regnamespace
          UNION ALL
          SELECT pg_get_triggerdef(t.oid)
            FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
           WHERE c.relnamespace = 'public'::regnamespace AND NOT t.tgisinternal) s(item)
$$;
CREATE TABLE qa.seen (revision text PRIMARY KEY, fingerprint text NOT NULL);
SET client_min_messages = warning;

-- the schema at every revision on the way up, from base
SELECT ap_migrate_downgrade('base') IS NULL AS at_base;
INSERT INTO qa.seen VALUES ('base', qa.fingerprint());
SELECT ap_migrate_upgrade('+1');
INSERT INTO qa.seen SELECT revision, qa.fingerprint() FROM ap_migrate_current();
SELECT ap_migrate_upgrade('+1');
INSERT INTO qa.seen SELECT revision, qa.fingerprint() FROM ap_migrate_current();
SELECT ap_migrate_upgrade('+1');
INSERT INTO qa.seen SELECT revision, qa.fingerprint() FROM ap_migrate_current();
SELECT ap_migrate_upgrade('+1');
INSERT INTO qa.seen SELECT revision, qa.fingerprint() FROM ap_migrate_current();
SELECT ap_migrate_upgrade('+1');
INSERT INTO qa.seen SELECT revision, qa.fingerprint() FROM ap_migrate_current();
SELECT count(DISTINCT fingerprint) AS distinct_schemas FROM qa.seen;

-- down one step at a time: each downgrade restores the schema of the
-- revision below
SELECT ap_migrate_downgrade('-1') AS now_at,
       qa.fingerprint() = (SELECT fingerprint FROM qa.seen WHERE revision = 'e9428b9dd556') AS restored;
SELECT ap_migrate_downgrade('-1') AS now_at,
       qa.fingerprint() = (SELECT fingerprint FROM qa.seen WHERE revision = '797c75afebae') AS restored;
SELECT ap_migrate_downgrade('-1') AS now_at,
       qa.fingerprint() = (SELECT fingerprint FROM qa.seen WHERE revision = 'b1a2c3d4e5f6') AS restored;
SELECT ap_migrate_downgrade('-1') AS now_at,
       qa.fingerprint() = (SELECT fingerprint FROM qa.seen WHERE revision = 'ca4653c80b38') AS restored;
SELECT ap_migrate_downgrade('-1') AS now_at,
       qa.fingerprint() = (SELECT fingerprint FROM qa.seen WHERE revision = 'base') AS restored;

-- nothing of the application is left at base
SELECT count(*) AS objects_left FROM pg_class WHERE relnamespace = 'public'::regnamespace;

-- head again, in one call, and the same schema as on the way up
SELECT ap_migrate_upgrade('head');
SELECT qa.fingerprint() = (SELECT fingerprint FROM qa.seen WHERE revision = '55a2502018a6') AS same_head;

-- every step, up and down, is in the deployment log
SELECT operation, count(*) FROM ap_migrate.history GROUP BY 1 ORDER BY 1;
DROP SCHEMA qa CASCADE;
