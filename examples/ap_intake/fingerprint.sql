-- Catalog fingerprint of the current database: one md5 over a sorted text
-- listing of everything in non-system schemas (schemas, relations, columns,
-- constraints, indexes, triggers, view definitions, types, functions) plus
-- the names of installed extensions.  OIDs never enter the text, so two
-- databases (or one database at two moments) with the same user-visible
-- schema give the same value.  Names in pg_get_*def output are qualified
-- according to search_path, so compare fingerprints taken with the same
-- search_path.  Used by examples/ap_intake/verify_plain.sh and reusable by
-- the regression suite (psql -At -f fingerprint.sql).
WITH nsp AS (
    SELECT n.oid, n.nspname
    FROM pg_namespace n
    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname !~ '^pg_(toast|temp_)'
),
rel AS (
    SELECT c.oid, n.nspname, c.relname, c.relkind
    FROM pg_class c
    JOIN nsp n ON n.oid = c.relnamespace
),
items(item) AS (
    SELECT format('schema %I', nspname) FROM nsp
  UNION ALL
    SELECT format('extension %I', extname) FROM pg_extension
  UNION ALL
    SELECT format('relation %I.%I kind=%s persistence=%s', r.nspname, r.relname, r.relkind, c.relpersistence)
    FROM rel r JOIN pg_class c ON c.oid = r.oid
  UNION ALL
    SELECT format('column %I.%I #%s %I %s notnull=%s default=%s identity=%s generated=%s collation=%s',
                  r.nspname, r.relname, a.attnum, a.attname,
                  format_type(a.atttypid, a.atttypmod), a.attnotnull,
                  pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated,
                  CASE WHEN a.attcollation <> 0 THEN a.attcollation::regcollation::text END)
    FROM rel r
    JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE r.relkind IN ('r', 'p', 'v', 'm', 'f', 'c')
  UNION ALL
    SELECT format('constraint %I.%I %I type=%s deferrable=%s validated=%s %s',
                  r.nspname, r.relname, con.conname, con.contype, con.condeferrable,
                  con.convalidated, pg_get_constraintdef(con.oid))
    FROM pg_constraint con
    JOIN rel r ON r.oid = con.conrelid
  UNION ALL
    SELECT format('domain constraint %I.%I %I %s',
                  n.nspname, t.typname, con.conname, pg_get_constraintdef(con.oid))
    FROM pg_constraint con
    JOIN pg_type t ON t.oid = con.contypid
    JOIN nsp n ON n.oid = t.typnamespace
  UNION ALL
    SELECT format('index %s', pg_get_indexdef(i.indexrelid))
    FROM pg_index i
    JOIN rel r ON r.oid = i.indrelid
  UNION ALL
    SELECT format('trigger %s', pg_get_triggerdef(tg.oid))
    FROM pg_trigger tg
    JOIN rel r ON r.oid = tg.tgrelid
    WHERE NOT tg.tgisinternal
  UNION ALL
    SELECT format('view %I.%I %s', r.nspname, r.relname, md5(pg_get_viewdef(r.oid)))
    FROM rel r
    WHERE r.relkind IN ('v', 'm')
  UNION ALL
    SELECT format('type %I.%I typtype=%s base=%s notnull=%s default=%s labels=%s',
                  n.nspname, t.typname, t.typtype,
                  CASE WHEN t.typbasetype <> 0 THEN format_type(t.typbasetype, t.typtypmod) END,
                  t.typnotnull, t.typdefault,
                  (SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder)
                   FROM pg_enum e WHERE e.enumtypid = t.oid))
    FROM pg_type t
    JOIN nsp n ON n.oid = t.typnamespace
  UNION ALL
    SELECT format('function %I.%I(%s) returns %s kind=%s lang=%s volatile=%s strict=%s secdef=%s src=%s',
                  n.nspname, p.proname, pg_get_function_identity_arguments(p.oid),
                  pg_get_function_result(p.oid), p.prokind, l.lanname, p.provolatile,
                  p.proisstrict, p.prosecdef, md5(p.prosrc))
    FROM pg_proc p
    JOIN nsp n ON n.oid = p.pronamespace
    JOIN pg_language l ON l.oid = p.prolang
)
SELECT md5(coalesce(string_agg(item, E'\n' ORDER BY item COLLATE "C"), '')) AS fingerprint
FROM items;
