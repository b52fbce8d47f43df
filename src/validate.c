/*-------------------------------------------------------------------------
 *
 * validate.c
 *	  The validation report: every problem of the revision graph and the
 *	  applied state, as rows a CI job can assert on.
 *
 * This covers what Alembic projects check with hand-written scripts (a
 * consistent id format, a well-formed chain or DAG, no dangling parent, no
 * cycle, a downgrade for every revision) and what only an in-database tool
 * can see: applied revisions that changed after they were applied, stored
 * SQL that no longer matches its checksum, an applied set that lost a
 * parent, applied revisions no longer registered.
 *
 * Problem codes (severity):
 *	 dangling_parent (error)       a parent is not registered
 *	 dangling_dependency (error)   a depends_on revision is not registered
 *	 duplicate_parent (error)      a parent listed twice
 *	 cycle (error)                 the revisions of one cycle
 *	 invalid_id (error)            an id the current id format refuses
 *	 checksum_mismatch (error)     stored SQL changed behind ap_migrate's back
 *	 drift (error)                 applied with a different checksum
 *	 applied_not_registered (error)
 *	 applied_parent_missing (error) applied, but a parent or dependency is not
 *	 mixed_id_format (warning)     hexadecimal and other ids side by side
 *	 duplicate_id (warning)        ids that differ only in case
 *	 multiple_heads (warning)
 *	 multiple_bases (warning)
 *	 missing_downgrade (warning)   an irreversible revision
 *
 * Copyright (c) 2026, ap_migrate developers
 *
 * IDENTIFICATION
 *	  src/validate.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/stringinfo.h"

#include "ap_migrate.h"
#include "compat.h"

static List *add_problem(List *problems, bool is_error, const char *code,
						 const char *revision, const char *fmt,...) pg_attribute_printf(5, 6);

/* Append one problem to the list */
static List *
add_problem(List *problems, bool is_error, const char *code,
			const char *revision, const char *fmt,...)
{
	ApmProblem *problem = palloc(sizeof(ApmProblem));
	StringInfoData buf;

	initStringInfo(&buf);
	for (;;)
	{
		va_list		args;
		int			needed;

		va_start(args, fmt);
		needed = appendStringInfoVA(&buf, fmt, args);
		va_end(args);
		if (needed == 0)
			break;
		enlargeStringInfo(&buf, needed);
	}
	problem->is_error = is_error;
	problem->code = code;
	problem->revision = revision;
	problem->detail = buf.data;
	return lappend(problems, problem);
}

/* An ASCII-lowercased copy (revision ids are ASCII) */
static char *
ascii_lower(const char *id)
{
	char	   *copy = pstrdup(id);
	char	   *p;

	for (p = copy; *p; p++)
		*p = pg_ascii_tolower((unsigned char) *p);
	return copy;
}

/* an id with its lowercased form, for finding ids that differ in case */
typedef struct FoldedId
{
	char	   *folded;
	const char *id;
} FoldedId;

static int
compare_folded(const void *a, const void *b)
{
	const FoldedId *fa = a;
	const FoldedId *fb = b;
	int			cmp = strcmp(fa->folded, fb->folded);

	return cmp != 0 ? cmp : strcmp(fa->id, fb->id);
}

/* Does the id have an ASCII uppercase letter? */
static bool
has_upper(const char *id)
{
	for (; *id; id++)
		if (*id >= 'A' && *id <= 'Z')
			return true;
	return false;
}

/*
 * Problems with the ids themselves.
 *
 * Ids equal but for case: two distinct ids cannot both be lowercase, so
 * every such group has a member with an uppercase letter.  Only those
 * (usually none) are folded and sorted; the lowercase member of a group,
 * if any, is found in the graph's id map and sorts last in it (uppercase
 * letters sort before lowercase).  Sorting all ids cost more than the rest
 * of validation at 100,000 revisions.
 */
static List *
check_ids(const ApmGraph *graph, List *problems)
{
	FoldedId   *folded = palloc(sizeof(FoldedId) * Max(graph->nnodes, 1));
	int			nfolded = 0;
	int			nhex = 0;
	int			i,
				j,
				k;

	for (i = 0; i < graph->nnodes; i++)
	{
		const char *id = graph->nodes[i].id;

		if (apm_is_hex12(id))
			nhex++;
		else
		{
			if (apm_revision_id_format == APM_ID_FORMAT_HEX12)
				problems = add_problem(problems, true, "invalid_id", id,
									   "Revision id \"%s\" is not 12 lowercase hexadecimal digits.", id);
			if (has_upper(id))
			{
				folded[nfolded].folded = ascii_lower(id);
				folded[nfolded].id = id;
				nfolded++;
			}
		}
	}
	if (nhex > 0 && nhex < graph->nnodes)
		problems = add_problem(problems, false, "mixed_id_format", NULL,
							   "%d of %d revision ids are 12-digit hexadecimal ids and the others are not.",
							   nhex, graph->nnodes);

	/* one row per group of ids equal but for case, naming them all */
	if (nfolded > 1)
		qsort(folded, nfolded, sizeof(FoldedId), compare_folded);
	for (i = 0; i < nfolded; i = j)
	{
		StringInfoData ids;
		int			lower;

		for (j = i + 1; j < nfolded; j++)
			if (strcmp(folded[i].folded, folded[j].folded) != 0)
				break;
		lower = apm_graph_lookup(graph, folded[i].folded);
		if (j - i + (lower >= 0 ? 1 : 0) < 2)
			continue;
		initStringInfo(&ids);
		for (k = i; k < j; k++)
			appendStringInfo(&ids, "%s\"%s\"", k > i ? ", " : "", folded[k].id);
		if (lower >= 0)
			appendStringInfo(&ids, ", \"%s\"", graph->nodes[lower].id);
		problems = add_problem(problems, false, "duplicate_id", folded[i].id,
							   "Revision ids %s differ only in case.", ids.data);
	}
	return problems;
}

/* Problems with the shape of the graph */
static List *
check_graph(const ApmGraph *graph, List *problems)
{
	List	   *heads = apm_graph_heads(graph);
	List	   *bases = apm_graph_bases(graph);
	List	   *cycle = apm_graph_find_cycle(graph);
	int			i,
				j,
				k;

	for (i = 0; i < graph->nnodes; i++)
	{
		const ApmNode *node = &graph->nodes[i];

		for (j = 0; j < node->nparents; j++)
		{
			if (node->parents[j] < 0)
				problems = add_problem(problems, true, "dangling_parent", node->id,
									   "Parent \"%s\" of revision \"%s\" is not registered.",
									   node->parent_ids[j], node->id);
			for (k = 0; k < j; k++)
				if (strcmp(node->parent_ids[k], node->parent_ids[j]) == 0)
					problems = add_problem(problems, true, "duplicate_parent", node->id,
										   "Revision \"%s\" lists parent \"%s\" twice.",
										   node->id, node->parent_ids[j]);
		}
		for (j = 0; j < node->ndeps; j++)
			if (node->deps[j] < 0)
				problems = add_problem(problems, true, "dangling_dependency", node->id,
									   "Revision \"%s\" depends on \"%s\", which is not registered.",
									   node->id, node->dep_ids[j]);
	}
	if (cycle != NIL)
	{
		List	   *closed = lappend_int(list_copy(cycle), linitial_int(cycle));

		problems = add_problem(problems, true, "cycle",
							   graph->nodes[linitial_int(cycle)].id,
							   "Cycle: %s.", apm_graph_join_ids(graph, closed, " -> "));
	}
	if (list_length(heads) > 1)
		problems = add_problem(problems, false, "multiple_heads", NULL,
							   "The graph has %d heads: %s.", list_length(heads),
							   apm_graph_join_ids(graph, heads, ", "));
	if (list_length(bases) > 1)
		problems = add_problem(problems, false, "multiple_bases", NULL,
							   "The graph has %d bases: %s.", list_length(bases),
							   apm_graph_join_ids(graph, bases, ", "));
	for (i = 0; i < graph->nnodes; i++)
		if (!graph->nodes[i].has_downgrade)
			problems = add_problem(problems, false, "missing_downgrade", graph->nodes[i].id,
								   "Revision \"%s\" has no downgrade.", graph->nodes[i].id);
	return problems;
}

/* Problems with the stored SQL and the applied state */
static List *
check_state(const ApmGraph *graph, List *problems)
{
	List	   *mismatches = apm_catalog_checksum_mismatches();
	ListCell   *lc;
	int			i,
				j;

	foreach(lc, mismatches)
	{
		problems = add_problem(problems, true, "checksum_mismatch", lfirst(lc),
							   "The stored SQL of revision \"%s\" does not match its checksum.",
							   (char *) lfirst(lc));
	}
	for (i = 0; i < graph->nnodes; i++)
	{
		const ApmNode *node = &graph->nodes[i];

		if (node->drifted)
			problems = add_problem(problems, true, "drift", node->id,
								   "Revision \"%s\" changed after it was applied.", node->id);
		if (!node->applied)
			continue;
		for (j = 0; j < node->nparents; j++)
			if (node->parents[j] >= 0 && !graph->nodes[node->parents[j]].applied)
				problems = add_problem(problems, true, "applied_parent_missing", node->id,
									   "Revision \"%s\" is applied but its parent \"%s\" is not.",
									   node->id, node->parent_ids[j]);
		for (j = 0; j < node->ndeps; j++)
			if (node->deps[j] >= 0 && !graph->nodes[node->deps[j]].applied)
				problems = add_problem(problems, true, "applied_parent_missing", node->id,
									   "Revision \"%s\" is applied but its dependency \"%s\" is not.",
									   node->id, node->dep_ids[j]);
	}
	foreach(lc, graph->orphans)
	{
		problems = add_problem(problems, true, "applied_not_registered", lfirst(lc),
							   "Revision \"%s\" is applied but not registered.",
							   (char *) lfirst(lc));
	}
	return problems;
}

/*
 * apm_validate returns every problem found, errors and warnings, as a List
 * of ApmProblem.
 */
List *
apm_validate(const ApmGraph *graph)
{
	List	   *problems = NIL;

	problems = check_ids(graph, problems);
	problems = check_graph(graph, problems);
	problems = check_state(graph, problems);
	return problems;
}
