/*-------------------------------------------------------------------------
 *
 * fingerprint.c
 *	  A fingerprint of the user-visible schema, and comparisons of two.
 *
 * A fingerprint is one (object, description) pair per schema object of
 * the database outside the system schemas, ap_migrate's own schema and
 * extension members: schemas, extensions, relations (with owner,
 * persistence, row-level security flags, options, comment; views with
 * their definition; sequences with their parameters), columns (position
 * among the live columns, type, NOT NULL, default, identity, generation,
 * collation, comment), constraints, indexes (definition, comment),
 * triggers (definition, enabled state, comment), policies, functions
 * (definition, owner, comment) and types (enum labels in order, domain
 * definitions, owner, comment).  Objects are named, never numbered, so a
 * table dropped and created again with the same definition has the same
 * fingerprint.  Descriptions come from the server's own deparsers
 * (pg_get_indexdef, pg_get_constraintdef, pg_get_expr, ...) with
 * search_path set to pg_catalog, pg_temp, so they are schema-qualified and
 * do not depend on the caller's session.  The query names every function,
 * operator, type and collation with its schema, and pg_temp comes last:
 * it may run inside an upgrade, as the caller, and nothing a caller
 * planted in pg_temp may be picked up.
 *
 * ap_migrate_verify() compares fingerprints taken before an upgrade and
 * after its downgrade; the drift check compares the live schema with the
 * fingerprint recorded after the last applied steps (catalog.c stores an
 * MD5 digest per object).
 *
 * Copyright (c) 2026, ap_migrate developers
 *
 * IDENTIFICATION
 *	  src/fingerprint.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/md5.h"
#include "executor/spi.h"
#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"

#include "ap_migrate.h"
#include "compat.h"

/*
 * The fingerprint query.  Every name is qualified and search_path is
 * pg_catalog while it runs.  Sorted by object name (C collation) so that
 * two fingerprints compare in one merge pass.
 */
static const char fingerprint_sql[] =
"WITH ns AS ("
"  SELECT n.oid, n.nspname, n.nspowner FROM pg_catalog.pg_namespace n"
"   WHERE n.nspname OPERATOR(pg_catalog.<>) ALL (ARRAY['pg_catalog', 'information_schema', 'ap_migrate'])"
"     AND n.nspname OPERATOR(pg_catalog.!~) '^pg_(toast|temp_|toast_temp_)'"
"     AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend d"
"                      WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_namespace'::pg_catalog.regclass"
"                        AND d.objid OPERATOR(pg_catalog.=) n.oid AND d.deptype OPERATOR(pg_catalog.=) 'e')),"
" rel AS ("
"  SELECT c.oid, c.relname, c.relkind, c.relowner, c.relpersistence, c.relrowsecurity,"
"         c.relforcerowsecurity, c.reloptions,"
"         pg_catalog.quote_ident(ns.nspname) OPERATOR(pg_catalog.||) '.' OPERATOR(pg_catalog.||)"
"         pg_catalog.quote_ident(c.relname) AS qname"
"    FROM pg_catalog.pg_class c JOIN ns ON ns.oid OPERATOR(pg_catalog.=) c.relnamespace"
"   WHERE @REL@ AND c.relkind OPERATOR(pg_catalog.=) ANY (ARRAY['r', 'p', 'v', 'm', 'S', 'f', 'i', 'I']::pg_catalog.\"char\"[])"
"     AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend d"
"                      WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass"
"                        AND d.objid OPERATOR(pg_catalog.=) c.oid AND d.deptype OPERATOR(pg_catalog.=) 'e'))"
"SELECT o, d, k, u FROM ("
" SELECT 'schema ' OPERATOR(pg_catalog.||) pg_catalog.quote_ident(ns.nspname) AS o,"
"        pg_catalog.concat_ws(' ', 'owner', pg_catalog.pg_get_userbyid(ns.nspowner),"
"          'comment', dd.description) AS d"
",        'n'::pg_catalog.\"char\" AS k, ns.oid AS u"
"   FROM ns"
"   LEFT JOIN pg_catalog.pg_description dd ON dd.objoid OPERATOR(pg_catalog.=) ns.oid"
"        AND dd.classoid OPERATOR(pg_catalog.=) 'pg_catalog.pg_namespace'::pg_catalog.regclass"
"        AND dd.objsubid OPERATOR(pg_catalog.=) 0"
"  WHERE @NS@"
" UNION ALL"
" SELECT 'extension ' OPERATOR(pg_catalog.||) pg_catalog.quote_ident(e.extname),"
"        pg_catalog.concat_ws(' ', 'version', e.extversion, 'schema', n.nspname)"
",        'e'::pg_catalog.\"char\", e.oid"
"   FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) e.extnamespace"
"  WHERE @EXT@ AND e.extname OPERATOR(pg_catalog.<>) ALL (ARRAY['plpgsql', 'ap_migrate'])"
" UNION ALL"
" SELECT CASE r.relkind WHEN 'r' THEN 'table ' WHEN 'p' THEN 'table ' WHEN 'v' THEN 'view '"
"          WHEN 'm' THEN 'materialized view ' WHEN 'S' THEN 'sequence ' WHEN 'f' THEN 'foreign table '"
"          ELSE 'index ' END OPERATOR(pg_catalog.||) r.qname,"
"        pg_catalog.concat_ws(' ', 'kind', r.relkind, 'owner', pg_catalog.pg_get_userbyid(r.relowner),"
"          'persistence', r.relpersistence, 'rls', r.relrowsecurity, 'force_rls', r.relforcerowsecurity,"
"          'options', r.reloptions::pg_catalog.text,"
"          CASE WHEN r.relkind OPERATOR(pg_catalog.=) ANY (ARRAY['i', 'I']::pg_catalog.\"char\"[])"
"               THEN pg_catalog.pg_get_indexdef(r.oid) END,"
"          CASE WHEN r.relkind OPERATOR(pg_catalog.=) ANY (ARRAY['v', 'm']::pg_catalog.\"char\"[])"
"               THEN pg_catalog.pg_get_viewdef(r.oid) END,"
"          (SELECT pg_catalog.concat_ws(' ', s.seqtypid::pg_catalog.regtype, s.seqstart, s.seqincrement,"
"                  s.seqmax, s.seqmin, s.seqcache, s.seqcycle)"
"             FROM pg_catalog.pg_sequence s WHERE s.seqrelid OPERATOR(pg_catalog.=) r.oid),"
"          'comment', dd.description)"
",        'r'::pg_catalog.\"char\", r.oid"
"   FROM rel r"
"   LEFT JOIN pg_catalog.pg_description dd ON dd.objoid OPERATOR(pg_catalog.=) r.oid"
"        AND dd.classoid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass"
"        AND dd.objsubid OPERATOR(pg_catalog.=) 0"
" UNION ALL"
" SELECT 'column ' OPERATOR(pg_catalog.||) r.qname OPERATOR(pg_catalog.||) '.' OPERATOR(pg_catalog.||)"
"          pg_catalog.quote_ident(a.attname),"
"        pg_catalog.concat_ws(' ', 'position',"
"          pg_catalog.row_number() OVER (PARTITION BY a.attrelid ORDER BY a.attnum),"
"          'type', pg_catalog.format_type(a.atttypid, a.atttypmod), 'not_null', a.attnotnull,"
"          'default', pg_catalog.pg_get_expr(ad.adbin, ad.adrelid), 'identity', a.attidentity,"
"          'generated', a.attgenerated, 'collation', a.attcollation::pg_catalog.regcollation,"
"          'comment', dd.description)"
",        'r'::pg_catalog.\"char\", r.oid"
"   FROM rel r JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) r.oid"
"   LEFT JOIN pg_catalog.pg_attrdef ad ON ad.adrelid OPERATOR(pg_catalog.=) a.attrelid"
"        AND ad.adnum OPERATOR(pg_catalog.=) a.attnum"
"   LEFT JOIN pg_catalog.pg_description dd ON dd.objoid OPERATOR(pg_catalog.=) a.attrelid"
"        AND dd.classoid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass"
"        AND dd.objsubid OPERATOR(pg_catalog.=) a.attnum"
"  WHERE a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped"
"    AND r.relkind OPERATOR(pg_catalog.<>) ALL (ARRAY['i', 'I', 'S']::pg_catalog.\"char\"[])"
" UNION ALL"
" SELECT 'constraint ' OPERATOR(pg_catalog.||) pg_catalog.quote_ident(k.conname) OPERATOR(pg_catalog.||)"
"          ' on ' OPERATOR(pg_catalog.||) r.qname,"
"        pg_catalog.concat_ws(' ', pg_catalog.pg_get_constraintdef(k.oid), 'validated', k.convalidated,"
"          'comment', dd.description)"
",        'r'::pg_catalog.\"char\", r.oid"
"   FROM rel r JOIN pg_catalog.pg_constraint k ON k.conrelid OPERATOR(pg_catalog.=) r.oid"
"   LEFT JOIN pg_catalog.pg_description dd ON dd.objoid OPERATOR(pg_catalog.=) k.oid"
"        AND dd.classoid OPERATOR(pg_catalog.=) 'pg_catalog.pg_constraint'::pg_catalog.regclass"
"        AND dd.objsubid OPERATOR(pg_catalog.=) 0"
" UNION ALL"
" SELECT 'trigger ' OPERATOR(pg_catalog.||) pg_catalog.quote_ident(t.tgname) OPERATOR(pg_catalog.||)"
"          ' on ' OPERATOR(pg_catalog.||) r.qname,"
"        pg_catalog.concat_ws(' ', pg_catalog.pg_get_triggerdef(t.oid), 'enabled', t.tgenabled,"
"          'comment', dd.description)"
",        'r'::pg_catalog.\"char\", r.oid"
"   FROM rel r JOIN pg_catalog.pg_trigger t ON t.tgrelid OPERATOR(pg_catalog.=) r.oid"
"   LEFT JOIN pg_catalog.pg_description dd ON dd.objoid OPERATOR(pg_catalog.=) t.oid"
"        AND dd.classoid OPERATOR(pg_catalog.=) 'pg_catalog.pg_trigger'::pg_catalog.regclass"
"        AND dd.objsubid OPERATOR(pg_catalog.=) 0"
"  WHERE NOT t.tgisinternal"
" UNION ALL"
" SELECT 'policy ' OPERATOR(pg_catalog.||) pg_catalog.quote_ident(p.polname) OPERATOR(pg_catalog.||)"
"          ' on ' OPERATOR(pg_catalog.||) r.qname,"
"        pg_catalog.concat_ws(' ', 'command', p.polcmd, 'permissive', p.polpermissive,"
"          'roles', p.polroles::pg_catalog.regrole[]::pg_catalog.text,"
"          'using', pg_catalog.pg_get_expr(p.polqual, p.polrelid),"
"          'check', pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid),"
"          'comment', dd.description)"
",        'r'::pg_catalog.\"char\", r.oid"
"   FROM rel r JOIN pg_catalog.pg_policy p ON p.polrelid OPERATOR(pg_catalog.=) r.oid"
"   LEFT JOIN pg_catalog.pg_description dd ON dd.objoid OPERATOR(pg_catalog.=) p.oid"
"        AND dd.classoid OPERATOR(pg_catalog.=) 'pg_catalog.pg_policy'::pg_catalog.regclass"
"        AND dd.objsubid OPERATOR(pg_catalog.=) 0"
" UNION ALL"
" SELECT CASE f.prokind WHEN 'p' THEN 'procedure ' WHEN 'a' THEN 'aggregate ' ELSE 'function ' END"
"          OPERATOR(pg_catalog.||) f.oid::pg_catalog.regprocedure::pg_catalog.text,"
"        pg_catalog.concat_ws(' ', 'owner', pg_catalog.pg_get_userbyid(f.proowner),"
"          CASE WHEN f.prokind OPERATOR(pg_catalog.<>) 'a' THEN pg_catalog.pg_get_functiondef(f.oid) END,"
"          'comment', dd.description)"
",        'f'::pg_catalog.\"char\", f.oid"
"   FROM pg_catalog.pg_proc f JOIN ns ON ns.oid OPERATOR(pg_catalog.=) f.pronamespace"
"   LEFT JOIN pg_catalog.pg_description dd ON dd.objoid OPERATOR(pg_catalog.=) f.oid"
"        AND dd.classoid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass"
"        AND dd.objsubid OPERATOR(pg_catalog.=) 0"
"  WHERE @FUNC@ AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend d"
"                     WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass"
"                       AND d.objid OPERATOR(pg_catalog.=) f.oid AND d.deptype OPERATOR(pg_catalog.=) 'e')"
" UNION ALL"
" SELECT 'type ' OPERATOR(pg_catalog.||) pg_catalog.format_type(t.oid, NULL),"
"        pg_catalog.concat_ws(' ', 'kind', t.typtype, 'owner', pg_catalog.pg_get_userbyid(t.typowner),"
"          (SELECT pg_catalog.string_agg(pg_catalog.quote_literal(e.enumlabel), ', ' ORDER BY e.enumsortorder)"
"             FROM pg_catalog.pg_enum e WHERE e.enumtypid OPERATOR(pg_catalog.=) t.oid),"
"          CASE WHEN t.typtype OPERATOR(pg_catalog.=) 'd' THEN pg_catalog.concat_ws(' ',"
"            pg_catalog.format_type(t.typbasetype, t.typtypmod), 'not_null', t.typnotnull,"
"            'default', t.typdefault,"
"            (SELECT pg_catalog.string_agg(k.conname OPERATOR(pg_catalog.||) ' '"
"                      OPERATOR(pg_catalog.||) pg_catalog.pg_get_constraintdef(k.oid), ', ' ORDER BY k.conname)"
"               FROM pg_catalog.pg_constraint k WHERE k.contypid OPERATOR(pg_catalog.=) t.oid)) END,"
"          CASE WHEN t.typtype OPERATOR(pg_catalog.=) 'c' THEN"
"            (SELECT pg_catalog.string_agg(a.attname OPERATOR(pg_catalog.||) ' ' OPERATOR(pg_catalog.||)"
"                      pg_catalog.format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum)"
"               FROM pg_catalog.pg_attribute a WHERE a.attrelid OPERATOR(pg_catalog.=) t.typrelid"
"                AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped) END,"
"          'comment', dd.description)"
",        't'::pg_catalog.\"char\", t.oid"
"   FROM pg_catalog.pg_type t JOIN ns ON ns.oid OPERATOR(pg_catalog.=) t.typnamespace"
"   LEFT JOIN pg_catalog.pg_description dd ON dd.objoid OPERATOR(pg_catalog.=) t.oid"
"        AND dd.classoid OPERATOR(pg_catalog.=) 'pg_catalog.pg_type'::pg_catalog.regclass"
"        AND dd.objsubid OPERATOR(pg_catalog.=) 0"
"  WHERE @TYPE@ AND t.typcategory OPERATOR(pg_catalog.<>) 'A'"
"    AND (t.typtype OPERATOR(pg_catalog.=) ANY (ARRAY['e', 'd', 'r', 'm', 'b']::pg_catalog.\"char\"[])"
"     OR (t.typtype OPERATOR(pg_catalog.=) 'c' AND (SELECT c.relkind FROM pg_catalog.pg_class c"
"          WHERE c.oid OPERATOR(pg_catalog.=) t.typrelid) OPERATOR(pg_catalog.=) 'c'))"
") f ORDER BY o COLLATE pg_catalog.\"C\"";

/* The filters of the fingerprint query, whole or scoped ($1 .. $5) */
static const char *const filter_tokens[5] = {"@REL@", "@FUNC@", "@TYPE@", "@NS@", "@EXT@"};
static const char *const scoped_filters[5] = {
	"c.oid OPERATOR(pg_catalog.=) ANY ($1)",
	"f.oid OPERATOR(pg_catalog.=) ANY ($2)",
	"t.oid OPERATOR(pg_catalog.=) ANY ($3)",
	"ns.oid OPERATOR(pg_catalog.=) ANY ($4)",
	"e.oid OPERATOR(pg_catalog.=) ANY ($5)"
};

/* The fingerprint query with its filters filled in */
static char *
build_query(bool scoped)
{
	StringInfoData buf;
	const char *p = fingerprint_sql;

	initStringInfo(&buf);
	while (*p)
	{
		int			k;
		bool		matched = false;

		for (k = 0; k < 5 && *p == '@'; k++)
			if (strncmp(p, filter_tokens[k], strlen(filter_tokens[k])) == 0)
			{
				appendStringInfoString(&buf, scoped ? scoped_filters[k] : "true");
				p += strlen(filter_tokens[k]);
				matched = true;
				break;
			}
		if (!matched)
			appendStringInfoChar(&buf, *p++);
	}
	return buf.data;
}

/* An oid[] Datum of a List of OIDs */
static Datum
oid_array(List *oids)
{
	Datum	   *elems = palloc(sizeof(Datum) * Max(list_length(oids), 1));
	ListCell   *lc;
	int			i = 0;

	foreach(lc, oids)
		elems[i++] = ObjectIdGetDatum(lfirst_oid(lc));
	return PointerGetDatum(construct_array(elems, i, OIDOID, sizeof(Oid), true, TYPALIGN_INT));
}

/*
 * apm_fingerprint_take fingerprints the schema as it is now: all of it
 * (scope NULL), or only the units of scope (touched.c) that exist.  The
 * caller is connected to SPI; the result is allocated in the caller's
 * memory context.
 */
ApmFingerprint *
apm_fingerprint_take(const ApmScope *scope)
{
	static SPIPlanPtr plans[2] = {NULL, NULL};
	MemoryContext cxt = CurrentMemoryContext;
	ApmFingerprint *fp;
	Oid			types[5] = {OIDARRAYOID, OIDARRAYOID, OIDARRAYOID, OIDARRAYOID, OIDARRAYOID};
	Datum		values[5];
	int			k = scope != NULL;
	int			nestlevel;
	int			ret;
	uint64		i;

	if (scope != NULL)
	{
		values[0] = oid_array(scope->relations);
		values[1] = oid_array(scope->functions);
		values[2] = oid_array(scope->types);
		values[3] = oid_array(scope->namespaces);
		values[4] = oid_array(scope->extensions);
	}
	nestlevel = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	if (plans[k] == NULL)
	{
		/*
		 * A generic plan: the query is large and cheap to run on a few
		 * objects; planning it anew for each call would cost ten times more.
		 */
		SPIPlanPtr	p = SPI_prepare_cursor(build_query(k), k ? 5 : 0, types,
										   CURSOR_OPT_GENERIC_PLAN);

		if (p == NULL)
			elog(ERROR, "could not prepare the schema fingerprint query: %s",
				 SPI_result_code_string(SPI_result));
		if (SPI_keepplan(p) != 0)
			elog(ERROR, "could not keep the schema fingerprint query");
		plans[k] = p;
	}
	ret = SPI_execute_plan(plans[k], k ? values : NULL, NULL, false, 0);
	AtEOXact_GUC(false, nestlevel);
	MemoryContextSwitchTo(cxt);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "schema fingerprint query failed: %s", SPI_result_code_string(ret));

	fp = palloc(sizeof(ApmFingerprint));
	fp->n = (int) SPI_processed;
	fp->objects = palloc(sizeof(char *) * Max(fp->n, 1));
	fp->descriptions = palloc(sizeof(char *) * Max(fp->n, 1));
	fp->unit_kinds = palloc(sizeof(char) * Max(fp->n, 1));
	fp->units = palloc(sizeof(Oid) * Max(fp->n, 1));
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tuple = SPI_tuptable->vals[i];
		bool		isnull;
		Datum		d;

		d = SPI_getbinval(tuple, SPI_tuptable->tupdesc, 1, &isnull);
		fp->objects[i] = TextDatumGetCString(d);
		d = SPI_getbinval(tuple, SPI_tuptable->tupdesc, 2, &isnull);
		fp->descriptions[i] = isnull ? pstrdup("") : TextDatumGetCString(d);
		fp->unit_kinds[i] = DatumGetChar(SPI_getbinval(tuple, SPI_tuptable->tupdesc, 3, &isnull));
		fp->units[i] = DatumGetObjectId(SPI_getbinval(tuple, SPI_tuptable->tupdesc, 4, &isnull));
	}
	SPI_freetuptable(SPI_tuptable);
	return fp;
}

/*
 * digest_descriptions replaces each description of fp with its MD5
 * digest (hex), the form in which a fingerprint is recorded.
 */
static void
digest_descriptions(ApmFingerprint *fp)
{
	int			i;

	for (i = 0; i < fp->n; i++)
	{
		char	   *hex = palloc(33);
		const char *errstr = NULL;

		if (!pg_md5_hash(fp->descriptions[i], strlen(fp->descriptions[i]), hex, &errstr))
			elog(ERROR, "could not compute an MD5 digest: %s", errstr);
		pfree(fp->descriptions[i]);
		fp->descriptions[i] = hex;
	}
}

/*
 * apm_fingerprint_diff compares two fingerprints (both sorted by object)
 * and returns one ApmSchemaChange per object that differs: present only
 * in after ("added"), only in before ("removed"), or in both with another
 * description ("changed").
 */
List *
apm_fingerprint_diff(const ApmFingerprint *before, const ApmFingerprint *after)
{
	List	   *changes = NIL;
	int			i = 0;
	int			j = 0;

	while (i < before->n || j < after->n)
	{
		int			cmp;
		ApmSchemaChange *change;

		if (i >= before->n)
			cmp = 1;
		else if (j >= after->n)
			cmp = -1;
		else
			cmp = strcmp(before->objects[i], after->objects[j]);

		if (cmp == 0)
		{
			if (strcmp(before->descriptions[i], after->descriptions[j]) != 0)
			{
				change = palloc(sizeof(ApmSchemaChange));
				change->object = pstrdup(after->objects[j]);
				change->change = "changed";
				changes = lappend(changes, change);
			}
			i++;
			j++;
			continue;
		}
		change = palloc(sizeof(ApmSchemaChange));
		if (cmp < 0)
		{
			change->object = pstrdup(before->objects[i++]);
			change->change = "removed";
		}
		else
		{
			change->object = pstrdup(after->objects[j++]);
			change->change = "added";
		}
		changes = lappend(changes, change);
	}
	return changes;
}

/*
 * apm_fingerprint_describe_changes renders changes as one line of text:
 * "changed index public.x, removed trigger t on public.y".
 */
char *
apm_fingerprint_describe_changes(List *changes)
{
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	foreach(lc, changes)
	{
		ApmSchemaChange *change = lfirst(lc);

		appendStringInfo(&buf, "%s%s %s", buf.len > 0 ? ", " : "",
						 change->change, change->object);
	}
	return buf.data;
}

/*
 * apm_fingerprint_record records the fingerprint of the schema as it is
 * now, after steps were applied or reverted: what the drift check compares
 * the live schema with.  See docs/analysis.md for when it is taken.
 */
void
apm_fingerprint_record(void)
{
	ApmFingerprint *fp = apm_fingerprint_take(NULL);

	digest_descriptions(fp);
	apm_catalog_save_fingerprint(fp);
}

/*
 * apm_fingerprint_drift compares the live schema with the recorded
 * fingerprint and returns the objects that differ (ApmSchemaChange), or
 * NIL.  *recorded tells whether a fingerprint was recorded at all; without
 * one nothing can be said and NIL is returned.
 */
List *
apm_fingerprint_drift(bool *recorded, TimestampTz *recorded_at)
{
	ApmFingerprint *stored = apm_catalog_load_fingerprint(recorded_at);
	ApmFingerprint *live;

	*recorded = stored != NULL;
	if (stored == NULL)
		return NIL;

	/*
	 * A step recorded after the fingerprint (a procedure that failed after
	 * some commits, an offline script) changed the schema since: the
	 * fingerprint cannot tell drift from migrations, so say nothing.
	 */
	if (apm_catalog_last_step_end() > *recorded_at)
	{
		*recorded = false;
		return NIL;
	}
	live = apm_fingerprint_take(NULL);
	digest_descriptions(live);
	return apm_fingerprint_diff(stored, live);
}
