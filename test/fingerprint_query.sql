-- The schema fingerprint as one catalog query: what ap_migrate used before
-- fingerprint.c read the catalogs directly, kept as the reference its
-- descriptions must equal byte for byte (sql/fingerprint.sql compares the
-- MD5 digests an upgrade records with md5() of this query's d column).
-- Run it with search_path = pg_catalog, pg_temp, as fingerprint.c does.
-- Columns: o the object, d its description, k and u its unit.
WITH ns AS (
  SELECT n.oid, n.nspname, n.nspowner FROM pg_catalog.pg_namespace n
   WHERE n.nspname OPERATOR(pg_catalog.<>) ALL (ARRAY['pg_catalog', 'information_schema', 'ap_migrate'])
     AND n.nspname OPERATOR(pg_catalog.!~) '^pg_(toast|temp_|toast_temp_)'
     AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend d
                      WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_namespace'::pg_catalog.regclass
                        AND d.objid OPERATOR(pg_catalog.=) n.oid AND d.deptype OPERATOR(pg_catalog.=) 'e')),
 rel AS (
  SELECT c.oid, c.relname, c.relkind, c.relowner, c.relpersistence, c.relrowsecurity,
         c.relforcerowsecurity, c.reloptions,
         pg_catalog.quote_ident(ns.nspname) OPERATOR(pg_catalog.||) '.' OPERATOR(pg_catalog.||)
         pg_catalog.quote_ident(c.relname) AS qname
    FROM pg_catalog.pg_class c JOIN ns ON ns.oid OPERATOR(pg_catalog.=) c.relnamespace
   WHERE true AND c.relkind OPERATOR(pg_catalog.=) ANY (ARRAY['r', 'p', 'v', 'm', 'S', 'f', 'i', 'I']::pg_catalog."char"[])
     AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend d
                      WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
                        AND d.objid OPERATOR(pg_catalog.=) c.oid AND d.deptype OPERATOR(pg_catalog.=) 'e'))
SELECT o, d, k, u FROM (
 SELECT 'schema ' OPERATOR(pg_catalog.||) pg_catalog.quote_ident(ns.nspname) AS o,
        pg_catalog.concat_ws(' ', 'owner', pg_catalog.pg_get_userbyid(ns.nspowner),
          'comment', dd.description) AS d
,        'n'::pg_catalog."char" AS k, ns.oid AS u
   FROM ns
   LEFT JOIN pg_catalog.pg_description dd ON dd.objoid OPERATOR(pg_catalog.=) ns.oid
        AND dd.classoid OPERATOR(pg_catalog.=) 'pg_catalog.pg_namespace'::pg_catalog.regclass
        AND dd.objsubid OPERATOR(pg_catalog.=) 0
  WHERE true
 UNION ALL
 SELECT 'extension ' OPERATOR(pg_catalog.||) pg_catalog.quote_ident(e.extname),
        pg_catalog.concat_ws(' ', 'version', e.extversion, 'schema', n.nspname)
,        'e'::pg_catalog."char", e.oid
   FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) e.extnamespace
  WHERE true AND e.extname OPERATOR(pg_catalog.<>) ALL (ARRAY['plpgsql', 'ap_migrate'])
 UNION ALL
 SELECT CASE r.relkind WHEN 'r' THEN 'table ' WHEN 'p' THEN 'table ' WHEN 'v' THEN 'view '
          WHEN 'm' THEN 'materialized view ' WHEN 'S' THEN 'sequence ' WHEN 'f' THEN 'foreign table '
          ELSE 'index ' END OPERATOR(pg_catalog.||) r.qname,
        pg_catalog.concat_ws(' ', 'kind', r.relkind, 'owner', pg_catalog.pg_get_userbyid(r.relowner),
          'persistence', r.relpersistence, 'rls', r.relrowsecurity, 'force_rls', r.relforcerowsecurity,
          'options', r.reloptions::pg_catalog.text,
          CASE WHEN r.relkind OPERATOR(pg_catalog.=) ANY (ARRAY['i', 'I']::pg_catalog."char"[])
               THEN pg_catalog.pg_get_indexdef(r.oid) END,
          CASE WHEN r.relkind OPERATOR(pg_catalog.=) ANY (ARRAY['v', 'm']::pg_catalog."char"[])
               THEN pg_catalog.pg_get_viewdef(r.oid) END,
          (SELECT pg_catalog.concat_ws(' ', s.seqtypid::pg_catalog.regtype, s.seqstart, s.seqincrement,
                  s.seqmax, s.seqmin, s.seqcache, s.seqcycle)
             FROM pg_catalog.pg_sequence s WHERE s.seqrelid OPERATOR(pg_catalog.=) r.oid),
          'comment', dd.description)
,        'r'::pg_catalog."char", r.oid
   FROM rel r
   LEFT JOIN pg_catalog.pg_description dd ON dd.objoid OPERATOR(pg_catalog.=) r.oid
        AND dd.classoid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
        AND dd.objsubid OPERATOR(pg_catalog.=) 0
 UNION ALL
 SELECT 'column ' OPERATOR(pg_catalog.||) r.qname OPERATOR(pg_catalog.||) '.' OPERATOR(pg_catalog.||)
          pg_catalog.quote_ident(a.attname),
        pg_catalog.concat_ws(' ', 'position',
          pg_catalog.row_number() OVER (PARTITION BY a.attrelid ORDER BY a.attnum),
          'type', pg_catalog.format_type(a.atttypid, a.atttypmod), 'not_null', a.attnotnull,
          'default', pg_catalog.pg_get_expr(ad.adbin, ad.adrelid), 'identity', a.attidentity,
          'generated', a.attgenerated, 'collation', a.attcollation::pg_catalog.regcollation,
          'comment', dd.description)
,        'r'::pg_catalog."char", r.oid
   FROM rel r JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) r.oid
   LEFT JOIN pg_catalog.pg_attrdef ad ON ad.adrelid OPERATOR(pg_catalog.=) a.attrelid
        AND ad.adnum OPERATOR(pg_catalog.=) a.attnum
   LEFT JOIN pg_catalog.pg_description dd ON dd.objoid OPERATOR(pg_catalog.=) a.attrelid
        AND dd.classoid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
        AND dd.objsubid OPERATOR(pg_catalog.=) a.attnum
  WHERE a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped
    AND r.relkind OPERATOR(pg_catalog.<>) ALL (ARRAY['i', 'I', 'S']::pg_catalog."char"[])
 UNION ALL
 SELECT 'constraint ' OPERATOR(pg_catalog.||) pg_catalog.quote_ident(k.conname) OPERATOR(pg_catalog.||)
          ' on ' OPERATOR(pg_catalog.||) r.qname,
        pg_catalog.concat_ws(' ', pg_catalog.pg_get_constraintdef(k.oid), 'validated', k.convalidated,
          'comment', dd.description)
,        'r'::pg_catalog."char", r.oid
   FROM rel r JOIN pg_catalog.pg_constraint k ON k.conrelid OPERATOR(pg_catalog.=) r.oid
   LEFT JOIN pg_catalog.pg_description dd ON dd.objoid OPERATOR(pg_catalog.=) k.oid
        AND dd.classoid OPERATOR(pg_catalog.=) 'pg_catalog.pg_constraint'::pg_catalog.regclass
        AND dd.objsubid OPERATOR(pg_catalog.=) 0
 UNION ALL
 SELECT 'trigger ' OPERATOR(pg_catalog.||) pg_catalog.quote_ident(t.tgname) OPERATOR(pg_catalog.||)
          ' on ' OPERATOR(pg_catalog.||) r.qname,
        pg_catalog.concat_ws(' ', pg_catalog.pg_get_triggerdef(t.oid), 'enabled', t.tgenabled,
          'comment', dd.description)
,        'r'::pg_catalog."char", r.oid
   FROM rel r JOIN pg_catalog.pg_trigger t ON t.tgrelid OPERATOR(pg_catalog.=) r.oid
   LEFT JOIN pg_catalog.pg_description dd ON dd.objoid OPERATOR(pg_catalog.=) t.oid
        AND dd.classoid OPERATOR(pg_catalog.=) 'pg_catalog.pg_trigger'::pg_catalog.regclass
        AND dd.objsubid OPERATOR(pg_catalog.=) 0
  WHERE NOT t.tgisinternal
 UNION ALL
 SELECT 'policy ' OPERATOR(pg_catalog.||) pg_catalog.quote_ident(p.polname) OPERATOR(pg_catalog.||)
          ' on ' OPERATOR(pg_catalog.||) r.qname,
        pg_catalog.concat_ws(' ', 'command', p.polcmd, 'permissive', p.polpermissive,
          'roles', p.polroles::pg_catalog.regrole[]::pg_catalog.text,
          'using', pg_catalog.pg_get_expr(p.polqual, p.polrelid),
          'check', pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid),
          'comment', dd.description)
,        'r'::pg_catalog."char", r.oid
   FROM rel r JOIN pg_catalog.pg_policy p ON p.polrelid OPERATOR(pg_catalog.=) r.oid
   LEFT JOIN pg_catalog.pg_description dd ON dd.objoid OPERATOR(pg_catalog.=) p.oid
        AND dd.classoid OPERATOR(pg_catalog.=) 'pg_catalog.pg_policy'::pg_catalog.regclass
        AND dd.objsubid OPERATOR(pg_catalog.=) 0
 UNION ALL
 SELECT CASE f.prokind WHEN 'p' THEN 'procedure ' WHEN 'a' THEN 'aggregate ' ELSE 'function ' END
          OPERATOR(pg_catalog.||) f.oid::pg_catalog.regprocedure::pg_catalog.text,
        pg_catalog.concat_ws(' ', 'owner', pg_catalog.pg_get_userbyid(f.proowner),
          CASE WHEN f.prokind OPERATOR(pg_catalog.<>) 'a' THEN pg_catalog.pg_get_functiondef(f.oid) END,
          'comment', dd.description)
,        'f'::pg_catalog."char", f.oid
   FROM pg_catalog.pg_proc f JOIN ns ON ns.oid OPERATOR(pg_catalog.=) f.pronamespace
   LEFT JOIN pg_catalog.pg_description dd ON dd.objoid OPERATOR(pg_catalog.=) f.oid
        AND dd.classoid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass
        AND dd.objsubid OPERATOR(pg_catalog.=) 0
  WHERE true AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend d
                     WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass
                       AND d.objid OPERATOR(pg_catalog.=) f.oid AND d.deptype OPERATOR(pg_catalog.=) 'e')
 UNION ALL
 SELECT 'type ' OPERATOR(pg_catalog.||) pg_catalog.format_type(t.oid, NULL),
        pg_catalog.concat_ws(' ', 'kind', t.typtype, 'owner', pg_catalog.pg_get_userbyid(t.typowner),
          (SELECT pg_catalog.string_agg(pg_catalog.quote_literal(e.enumlabel), ', ' ORDER BY e.enumsortorder)
             FROM pg_catalog.pg_enum e WHERE e.enumtypid OPERATOR(pg_catalog.=) t.oid),
          CASE WHEN t.typtype OPERATOR(pg_catalog.=) 'd' THEN pg_catalog.concat_ws(' ',
            pg_catalog.format_type(t.typbasetype, t.typtypmod), 'not_null', t.typnotnull,
            'default', t.typdefault,
            (SELECT pg_catalog.string_agg(k.conname OPERATOR(pg_catalog.||) ' '
                      OPERATOR(pg_catalog.||) pg_catalog.pg_get_constraintdef(k.oid), ', ' ORDER BY k.conname)
               FROM pg_catalog.pg_constraint k WHERE k.contypid OPERATOR(pg_catalog.=) t.oid)) END,
          CASE WHEN t.typtype OPERATOR(pg_catalog.=) 'c' THEN
            (SELECT pg_catalog.string_agg(a.attname OPERATOR(pg_catalog.||) ' ' OPERATOR(pg_catalog.||)
                      pg_catalog.format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum)
               FROM pg_catalog.pg_attribute a WHERE a.attrelid OPERATOR(pg_catalog.=) t.typrelid
                AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped) END,
          'comment', dd.description)
,        't'::pg_catalog."char", t.oid
   FROM pg_catalog.pg_type t JOIN ns ON ns.oid OPERATOR(pg_catalog.=) t.typnamespace
   LEFT JOIN pg_catalog.pg_description dd ON dd.objoid OPERATOR(pg_catalog.=) t.oid
        AND dd.classoid OPERATOR(pg_catalog.=) 'pg_catalog.pg_type'::pg_catalog.regclass
        AND dd.objsubid OPERATOR(pg_catalog.=) 0
  WHERE true AND t.typcategory OPERATOR(pg_catalog.<>) 'A'
    AND (t.typtype OPERATOR(pg_catalog.=) ANY (ARRAY['e', 'd', 'r', 'm', 'b']::pg_catalog."char"[])
     OR (t.typtype OPERATOR(pg_catalog.=) 'c' AND (SELECT c.relkind FROM pg_catalog.pg_class c
          WHERE c.oid OPERATOR(pg_catalog.=) t.typrelid) OPERATOR(pg_catalog.=) 'c'))
) f ORDER BY o COLLATE pg_catalog."C"
