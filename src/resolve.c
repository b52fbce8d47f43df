/*-------------------------------------------------------------------------
 *
 * resolve.c
 *	  Targets and plans: what "head", "-1" or "ca46" means on a given graph
 *	  and state, and the ordered steps that get there.
 *
 * Target syntax follows Alembic, matched against the whole string (Alembic
 * matches a prefix, so it accepts "+1junk"; ap_migrate refuses it):
 *
 *	 head             the only head (an error naming them when there are several)
 *	 heads            every head
 *	 base             nothing applied
 *	 <id>             a full revision id or branch label, or a unique prefix
 *	                  of one (of an id or a label longer than three characters)
 *	 +N, -N           N steps up or down from the current revision
 *	 <rev>+N, <rev>-N N steps up or down from <rev> (an id, prefix, head or base)
 *	 <branch>@<spec>  any of the above (but a bare label) on one branch:
 *	                  <branch> is a branch label or else a revision (id or
 *	                  prefix), and the branch is its lineage (what descends
 *	                  from it and what it descends from).  "feat@head" is the
 *	                  head on that branch, "feat@+1" one step up along it,
 *	                  "feat@<id>" a revision that must be on it.
 *
 * A target resolves to a set of revisions; base is the empty set.
 *
 * Plans:
 *	 upgrade:   every revision the target needs (its ancestors and the
 *	            revisions they depend on) that is not applied, parents first.
 *	 downgrade: every applied revision that descends from (or depends on) the
 *	            target without being needed by it, children first; for base,
 *	            every applied revision.
 * The order is Alembic's (apm_graph_walk_order), with registration order in
 * the place of Alembic's directory order.
 *
 * Copyright (c) 2026, ap_migrate developers
 *
 * IDENTIFICATION
 *	  src/resolve.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <ctype.h>
#include <limits.h>

#include "lib/stringinfo.h"

#include "ap_migrate.h"
#include "compat.h"

/* how many candidates an ambiguity error lists */
#define APM_MAX_CANDIDATES 10

/*
 * The node that declares a branch label, or -1.
 */
static int
find_label(const ApmGraph *graph, const char *label)
{
	int			i,
				j;

	for (i = 0; i < graph->nnodes; i++)
		for (j = 0; j < graph->nodes[i].nlabels; j++)
			if (strcmp(graph->nodes[i].labels[j], label) == 0)
				return i;
	return -1;
}

/*
 * The ids and branch labels a partial identifier matches, as Alembic's
 * RevisionMap._revision_for_ident matches them: every id and every label
 * longer than three characters that starts with ref is one candidate, so
 * "fea" names the revision labelled "feat", and "f" is ambiguous when an id
 * also starts with "f" (a label and the id of the revision it labels are
 * two candidates as well).  Returns the number of candidates; *index gets
 * the node of the last one, candidates (if not NULL) lists the first few,
 * and *labels says whether any of them is a label.
 */
static int
prefix_candidates(const ApmGraph *graph, const char *ref, int *index,
				  StringInfo candidates, bool *labels)
{
	size_t		len = strlen(ref);
	int			nmatch = 0;
	int			i,
				j;

	*labels = false;
	for (i = 0; i < graph->nnodes; i++)
	{
		const ApmNode *node = &graph->nodes[i];

		for (j = -1; j < node->nlabels; j++)
		{
			const char *key = j < 0 ? node->id : node->labels[j];

			if (strlen(key) <= 3 || strncmp(key, ref, len) != 0)
				continue;
			if (candidates != NULL && nmatch < APM_MAX_CANDIDATES)
				appendStringInfo(candidates, "%s%s", nmatch > 0 ? ", " : "", key);
			*labels = *labels || j >= 0;
			*index = i;
			nmatch++;
		}
	}
	return nmatch;
}

/*
 * Look up a revision by full id, branch label or unique partial identifier
 * (prefix_candidates).  The partial match is linear in the graph size but
 * only happens when the exact lookups fail.
 */
static int
lookup_revision(const ApmGraph *graph, const char *ref, const char *target)
{
	int			index = apm_graph_lookup(graph, ref);
	int			nmatch;
	bool		labels;
	StringInfoData candidates;

	if (index >= 0)
		return index;
	if (strlen(ref) > APM_MAX_ID_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("target is too long"),
				 errdetail("Revision ids and branch labels are at most %d bytes.", APM_MAX_ID_LEN)));
	index = find_label(graph, ref);
	if (index >= 0)
		return index;

	initStringInfo(&candidates);
	nmatch = prefix_candidates(graph, ref, &index, &candidates, &labels);
	if (nmatch == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("revision \"%s\" does not exist", ref),
				 strcmp(ref, target) != 0 ?
				 errdetail("Target \"%s\" refers to it.", target) : 0));
	if (nmatch > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("revision prefix \"%s\" is ambiguous", ref),
				 errdetail("It matches %d %s: %s%s.", nmatch,
						   labels ? "revision ids and branch labels" : "revisions",
						   candidates.data,
						   nmatch > APM_MAX_CANDIDATES ? ", ..." : ""),
				 errhint("Use more characters of the revision id.")));
	return index;
}

/* Node indexes of a C array, as a List */
static List *
index_list(const int *indexes, int n)
{
	List	   *list = NIL;
	int			i;

	for (i = 0; i < n; i++)
		if (indexes[i] >= 0)
			list = lappend_int(list, indexes[i]);
	return list;
}

/* The members of a list that lie on a lineage (all of them without one) */
static List *
on_lineage(List *nodes, const bool *lineage)
{
	List	   *result = NIL;
	ListCell   *lc;

	if (lineage == NULL)
		return nodes;
	foreach(lc, nodes)
	{
		if (lineage[lfirst_int(lc)])
			result = lappend_int(result, lfirst_int(lc));
	}
	return result;
}

/*
 * The only head (on the lineage, if one is given), or an error naming them
 * all; NIL when there is none.
 */
static List *
single_head(const ApmGraph *graph, const bool *lineage, const char *target)
{
	List	   *heads = on_lineage(apm_graph_heads(graph), lineage);

	if (list_length(heads) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_CARDINALITY_VIOLATION),
				 errmsg("target \"%s\" is ambiguous: %d heads match it",
						target, list_length(heads)),
				 errdetail("Heads: %s.", apm_graph_join_ids(graph, heads, ", ")),
				 errhint("Name one of the heads, or use \"heads\" for all of them.")));
	return heads;
}

/*
 * The revision a bare relative target starts from: the single current
 * revision (on the lineage, if one is given).  On a lineage none of the
 * current revisions lies on, the walk starts from the tips of the applied
 * revisions that do, or from base, as in Alembic.  NIL means base.
 */
static List *
relative_start(const ApmGraph *graph, const bool *lineage, const char *target)
{
	List	   *current = on_lineage(apm_graph_current(graph), lineage);

	if (current == NIL && lineage != NULL)
	{
		int			i,
					j;

		/* tips of the applied part of the lineage */
		for (i = 0; i < graph->nnodes; i++)
		{
			const ApmNode *node = &graph->nodes[i];
			bool		tip = node->applied && lineage[i];

			for (j = 0; j < node->nchildren && tip; j++)
				tip = !(graph->nodes[node->children[j]].applied &&
						lineage[node->children[j]]);
			if (tip)
				current = lappend_int(current, i);
		}
	}
	if (list_length(current) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_CARDINALITY_VIOLATION),
				 errmsg("relative target \"%s\" is ambiguous: %d revisions are current",
						target, list_length(current)),
				 errdetail("Current revisions: %s.", apm_graph_join_ids(graph, current, ", ")),
				 errhint("Start from a named revision, as in \"<revision>%s\", or name a branch, as in \"<label>@%s\".",
						 target, target)));
	return current;
}

/*
 * Walk steps from start (an empty list = base) towards the heads
 * (steps > 0) or the bases (steps < 0).  Each step must be unambiguous:
 * one child going up (one on the lineage, if one is given), one parent
 * going down.  Going down from a base reaches base, which must be the last
 * step.
 */
static List *
walk_relative(const ApmGraph *graph, List *start, int steps,
			  const bool *lineage, const char *target)
{
	int			v = start != NIL ? linitial_int(start) : -1;
	int			remaining = steps > 0 ? steps : -steps;

	Assert(list_length(start) <= 1);

	while (remaining > 0)
	{
		if (steps > 0)
		{
			List	   *up;

			if (v < 0)
				up = on_lineage(apm_graph_bases(graph), lineage);
			else
				up = on_lineage(index_list(graph->nodes[v].children,
										   graph->nodes[v].nchildren), lineage);
			if (up == NIL)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("relative target \"%s\" goes beyond the heads", target),
						 v >= 0 ?
						 errdetail("Revision \"%s\" is a head, %d step(s) short.",
								   graph->nodes[v].id, remaining) :
						 errdetail("No revision is registered.")));
			if (list_length(up) > 1)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 v >= 0 ?
						 errmsg("relative target \"%s\" is ambiguous at branch point \"%s\"",
								target, graph->nodes[v].id) :
						 errmsg("relative target \"%s\" is ambiguous at base", target),
						 errdetail("The next revisions are: %s.",
								   apm_graph_join_ids(graph, up, ", ")),
						 errhint("Name the revision to upgrade to, or a branch, as in \"<label>@%s\".",
								 target)));
			v = linitial_int(up);
		}
		else
		{
			const ApmNode *node;

			if (v < 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("relative target \"%s\" goes below base", target),
						 errdetail("Base is reached %d step(s) early.", remaining)));
			node = &graph->nodes[v];
			if (node->nparents > 1)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("relative target \"%s\" is ambiguous at merge point \"%s\"",
								target, node->id),
						 errdetail("Its parents are: %s.",
								   apm_graph_join_ids(graph, index_list(node->parents,
																		node->nparents), ", ")),
						 errhint("Name the revision to downgrade to.")));
			if (node->nparents > 0 && node->parents[0] < 0)
				ereport(ERROR,
						(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
						 errmsg("relative target \"%s\" needs revisions that are not registered", target),
						 errdetail("Missing: %s.", node->parent_ids[0]),
						 errhint("Register it first, or correct the down_revision of \"%s\".", node->id)));
			v = node->nparents == 0 ? -1 : node->parents[0];
		}
		remaining--;
	}
	return v < 0 ? NIL : list_make1_int(v);
}

/*
 * Parse the relative part of a target: a '+' or '-' followed by decimal
 * digits, at the end of the string.  Returns the offset of the sign, or -1
 * when the target is not relative.  *steps gets the signed step count.
 */
static int
parse_relative(const char *target, int *steps)
{
	int			len = strlen(target);
	int			digits_at = len;
	int64		n = 0;
	int			i;

	while (digits_at > 0 && isdigit((unsigned char) target[digits_at - 1]))
		digits_at--;
	if (digits_at == len || digits_at == 0 ||
		(target[digits_at - 1] != '+' && target[digits_at - 1] != '-'))
		return -1;

	/* nine digits always fit in an int */
	if (len - digits_at > 9)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("relative step count in target \"%s\" is out of range", target)));
	for (i = digits_at; i < len; i++)
		n = n * 10 + (target[i] - '0');
	if (n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("relative step count in target \"%s\" must be at least 1", target)));
	*steps = target[digits_at - 1] == '+' ? (int) n : (int) -n;
	return digits_at - 1;
}

/* What a target string resolves to */
typedef struct Target
{
	List	   *revs;			/* the revisions named; NIL = base */
	bool		base;			/* "base" or "<label>@base" */
	int			anchor;			/* the revision a "<label>@" or "<rev>@"
								 * names, or -1 */
	const bool *lineage;		/* its ancestors and descendants, or NULL */
} Target;

/* Report a malformed target */
#define invalid_target(target, ...) \
	ereport(ERROR, \
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE), \
			 errmsg("invalid target \"%s\"", (target)), \
			 errdetail(__VA_ARGS__)))

/*
 * Resolve spec, the part of target after any "<label>@", within the
 * lineage in out (if any).
 */
static void
resolve_spec(const ApmGraph *graph, const char *spec, const char *target,
			 ApmOperation operation, Target *out)
{
	const bool *lineage = out->lineage;
	int			steps = 0;
	int			sign_at;
	int			v;

	if (spec[0] == '\0')
		invalid_target(target, "Nothing follows \"@\".");
	if (strcmp(spec, "head") == 0)
	{
		out->revs = single_head(graph, lineage, target);
		return;
	}
	if (strcmp(spec, "heads") == 0)
	{
		List	   *heads = apm_graph_heads(graph);
		List	   *real = NIL;
		ListCell   *lc;

		/* without a branch, Alembic leaves out heads others depend on */
		if (lineage != NULL)
			real = on_lineage(heads, lineage);
		else
		{
			foreach(lc, heads)
			{
				if (graph->nodes[lfirst_int(lc)].ndependents == 0)
					real = lappend_int(real, lfirst_int(lc));
			}
		}
		out->revs = real;
		return;
	}
	if (strcmp(spec, "base") == 0)
	{
		out->base = true;
		return;
	}

	sign_at = parse_relative(spec, &steps);
	if (sign_at < 0)
	{
		if (strchr(spec, '+') || strchr(spec, '-'))
			invalid_target(target, "A relative target is \"+N\", \"-N\", \"<revision>+N\" or \"<revision>-N\" with N a positive integer.");
		v = lookup_revision(graph, spec, target);
		if (lineage != NULL && !lineage[v])
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("revision \"%s\" is not on the branch of \"%s\"",
							graph->nodes[v].id, graph->nodes[out->anchor].id),
					 errdetail("Target \"%s\" names a revision that neither descends from nor leads to it.",
							   target)));
		out->revs = list_make1_int(v);
		return;
	}

	if (sign_at == 0)
	{
		/* bare +N / -N: relative to the current revision */
		List	   *start;

		if (steps < 0 && operation == APM_UPGRADE)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("relative target \"%s\" moves down and cannot be upgraded to", target),
					 errhint("Use ap_migrate_downgrade('%s').", target)));
		if (steps > 0 && operation == APM_DOWNGRADE)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("relative target \"%s\" moves up and cannot be downgraded to", target),
					 errhint("Use ap_migrate_upgrade('%s').", target)));
		start = relative_start(graph, lineage, target);
		if (steps < 0 && start == NIL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("relative target \"%s\" goes below base", target),
					 errdetail("No revision is applied.")));
		/* a walk down from one revision stays on its branch */
		if (steps < 0 && out->anchor < 0)
			out->anchor = linitial_int(start);
		out->revs = walk_relative(graph, start, steps, lineage, target);
	}
	else
	{
		/* <rev>+N / <rev>-N: relative to a named revision */
		char	   *ref = pnstrdup(spec, sign_at);
		List	   *start;

		if (strchr(ref, '+') || strchr(ref, '-'))
			invalid_target(target, "A relative target is \"+N\", \"-N\", \"<revision>+N\" or \"<revision>-N\" with N a positive integer.");
		if (strcmp(ref, "base") == 0)
			start = NIL;
		else if (strcmp(ref, "head") == 0)
			start = single_head(graph, lineage, target);
		else if (strcmp(ref, "heads") == 0 || strcmp(ref, "current") == 0)
			invalid_target(target, "A relative target starts from a revision, \"head\" or \"base\".");
		else
			start = list_make1_int(lookup_revision(graph, ref, target));
		if (start == NIL && steps < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("relative target \"%s\" goes below base", target)));
		out->revs = walk_relative(graph, start, steps, lineage, target);
	}
}

/*
 * Resolve a target string.  "<label>@<spec>" resolves spec on the branch
 * of the revision that declares label (or of the revision label names):
 * its ancestors and descendants, as Alembic's branch lineage.  A bare
 * branch label names the revision that declares it.
 */
static void
resolve(const ApmGraph *graph, const char *target, ApmOperation operation,
		Target *out)
{
	const char *at;
	const char *p;

	out->revs = NIL;
	out->base = false;
	out->anchor = -1;
	out->lineage = NULL;

	if (target[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("target must not be empty"),
				 errhint("Use \"head\", \"base\", a revision id or a relative target such as \"-1\".")));
	if (strlen(target) > 2 * APM_MAX_ID_LEN + 16)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("target is too long"),
				 errdetail("Targets are at most %d bytes.", 2 * APM_MAX_ID_LEN + 16)));
	for (p = target; *p; p++)
		if (isspace((unsigned char) *p) || *p == ':')
			invalid_target(target, "Targets contain no white space or \":\".");

	at = strchr(target, '@');
	if (at != NULL)
	{
		char	   *branch = pnstrdup(target, at - target);

		if (branch[0] == '\0' || strchr(at + 1, '@') != NULL)
			invalid_target(target, "A branch target is \"<label>@<target>\".");
		/* a branch label, or else a revision (id or prefix) */
		out->anchor = find_label(graph, branch);
		if (out->anchor < 0)
		{
			int			ignored;
			bool		labels;

			if (apm_graph_lookup(graph, branch) < 0 &&
				prefix_candidates(graph, branch, &ignored, NULL, &labels) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_UNDEFINED_OBJECT),
						 errmsg("branch label or revision \"%s\" does not exist", branch),
						 errdetail("Target \"%s\" refers to it.", target)));
			out->anchor = lookup_revision(graph, branch, target);
		}
		out->lineage = apm_graph_lineage(graph, out->anchor);
		resolve_spec(graph, at + 1, target, operation, out);
		return;
	}

	/* a bare branch label names the revision that declares it */
	if (apm_graph_lookup(graph, target) < 0 && find_label(graph, target) >= 0)
	{
		out->revs = list_make1_int(find_label(graph, target));
		return;
	}
	resolve_spec(graph, target, target, operation, out);
}

/*
 * apm_resolve_target resolves a target string to the set of revisions it
 * names (NIL = base).  operation decides which relative targets make
 * sense: a bare "-N" moves down and is a downgrade target, "+N" an upgrade
 * target; APM_STAMP accepts both.
 */
List *
apm_resolve_target(const ApmGraph *graph, const char *target,
				   ApmOperation operation)
{
	Target		t;

	resolve(graph, target, operation, &t);
	return t.revs;
}

/*
 * Upgrade steps: what the target needs and is not applied, parents first.
 */
static ApmPlan *
upgrade_plan(const ApmGraph *graph, List *target)
{
	ApmPlan    *plan = palloc0(sizeof(ApmPlan));
	bool	   *needed = apm_graph_ancestors(graph, target, true);
	int		   *walk;
	int			i;

	/* Alembic's walk down from the targets, run backwards */
	plan->operation = APM_UPGRADE;
	walk = apm_graph_walk_order(graph, needed, target, &plan->nsteps, NULL);
	plan->steps = palloc(sizeof(int) * Max(plan->nsteps, 1));
	for (i = 0; i < plan->nsteps; i++)
		plan->steps[i] = walk[plan->nsteps - 1 - i];
	pfree(walk);
	pfree(needed);
	return plan;
}

/*
 * Downgrade steps, as Alembic computes them: take the roots to remove (the
 * children of the target, or for base the bases), keep only those on the
 * target's branch when it names one and there are several, and remove the
 * applied revisions that descend from (or depend on) a root, children
 * first.  A revision that depends on the target itself but does not
 * descend from it stays: its dependency is still there.  The target must
 * be applied: a downgrade never moves up.
 */
static ApmPlan *
downgrade_plan(const ApmGraph *graph, const Target *target,
			   const char *target_str)
{
	ApmPlan    *plan = palloc0(sizeof(ApmPlan));
	bool	   *remove;
	List	   *roots = NIL;
	ListCell   *lc;
	int			i;

	/* as in Alembic, a downgrade goes to one revision (or base) */
	if (list_length(target->revs) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_CARDINALITY_VIOLATION),
				 errmsg("downgrade target \"%s\" names %d revisions", target_str,
						list_length(target->revs)),
				 errdetail("Revisions: %s.", apm_graph_join_ids(graph, target->revs, ", ")),
				 errhint("Name one revision, or a branch, as in \"<label>@heads\".")));

	foreach(lc, target->revs)
	{
		const ApmNode *node = &graph->nodes[lfirst_int(lc)];

		if (!node->applied)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("revision \"%s\" is not applied and cannot be downgraded to",
							node->id),
					 strcmp(node->id, target_str) != 0 ?
					 errdetail("Target \"%s\" resolves to revision \"%s\".", target_str, node->id) : 0,
					 errhint("Use ap_migrate_upgrade() to move up.")));
		roots = list_concat(roots, index_list(node->children, node->nchildren));
	}
	if (target->revs == NIL)
		roots = apm_graph_bases(graph);

	if (target->anchor >= 0 && list_length(roots) > 1)
	{
		bool	   *branch = apm_graph_ancestors_by_parents(graph, target->anchor);
		List	   *kept = NIL;

		foreach(lc, roots)
		{
			if (branch[lfirst_int(lc)])
				kept = lappend_int(kept, lfirst_int(lc));
		}
		if (kept == NIL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("target \"%s\" is not a valid downgrade target from the current revisions",
							target_str)));
		roots = kept;
	}

	remove = apm_graph_descendants(graph, roots);
	for (i = 0; i < graph->nnodes; i++)
		remove[i] = remove[i] && graph->nodes[i].applied;

	/* Alembic's walk down from the current revisions */
	plan->operation = APM_DOWNGRADE;
	plan->steps = apm_graph_walk_order(graph, remove, apm_graph_current(graph),
									   &plan->nsteps, NULL);
	pfree(remove);

	/*
	 * Nothing to revert although the target is not a current revision: it is
	 * applied only as a dependency, with nothing above it along parents.
	 * Alembic refuses that; so does ap_migrate, rather than do nothing.
	 */
	if (plan->nsteps == 0 && target->revs != NIL)
	{
		List	   *current = apm_graph_current(graph);

		foreach(lc, target->revs)
		{
			if (!list_member_int(current, lfirst_int(lc)))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("revision \"%s\" is not a valid downgrade target from the current revisions",
								graph->nodes[lfirst_int(lc)].id),
						 errdetail("No applied revision descends from it; it is applied as a dependency of another revision."),
						 errhint("Downgrade the revision that depends on it.")));
		}
	}
	return plan;
}

/*
 * apm_resolve_plan computes the ordered steps of an upgrade or downgrade to
 * target.  For APM_STAMP it returns the upgrade or downgrade plan whose
 * bookkeeping a stamp performs: the upgrade plan when the target is not
 * fully applied, otherwise the downgrade plan.
 */
static ApmPlan *
plan_for(const ApmGraph *graph, const char *target, ApmOperation operation)
{
	Target		t;
	ListCell   *lc;

	resolve(graph, target, operation, &t);
	if (operation == APM_UPGRADE)
		return upgrade_plan(graph, t.revs);
	if (operation == APM_DOWNGRADE)
		return downgrade_plan(graph, &t, target);

	foreach(lc, t.revs)
	{
		if (!graph->nodes[lfirst_int(lc)].applied)
			return upgrade_plan(graph, t.revs);
	}
	/* several applied revisions: nothing to upgrade, and no downgrade target */
	if (list_length(t.revs) > 1)
		return upgrade_plan(graph, t.revs);
	return downgrade_plan(graph, &t, target);
}

/*
 * Refuse a plan some step of which names a revision that is not registered:
 * such a step could run before what it needs, or its downgrade leave a
 * state nobody can name.  Targets whose whole ancestry is registered work
 * in a partial graph; the error names every missing revision once.
 */
static void
check_known(const ApmGraph *graph, const ApmPlan *plan, const char *target)
{
	bool	   *member = palloc0(sizeof(bool) * Max(graph->nnodes, 1));
	int			i;

	for (i = 0; i < plan->nsteps; i++)
		member[plan->steps[i]] = true;
	apm_graph_require_known(graph, member, target);
	pfree(member);
}

/*
 * apm_resolve_plan resolves target for an operation and returns the ordered
 * steps; APM_STAMP picks upgrade or downgrade from where target lies.
 */
ApmPlan *
apm_resolve_plan(const ApmGraph *graph, const char *target,
				 ApmOperation operation)
{
	ApmPlan    *plan = plan_for(graph, target, operation);

	check_known(graph, plan, target);
	return plan;
}

/* Resolve one side of a history range: a target, or "current" */
static List *
range_side(const ApmGraph *graph, const char *side, const char *dflt)
{
	Target		t;

	if (side[0] == '\0')
		side = dflt;
	if (strcmp(side, "current") == 0)
		return apm_graph_current(graph);
	resolve(graph, side, APM_STAMP, &t);
	return t.revs;
}

/*
 * apm_resolve_range resolves alembic history's "start:end": the revisions
 * from start (included) up to end, that is end and its ancestors that
 * descend from start along parents, as in Alembic.  start defaults to base and end to heads.  *top gets
 * the end revisions, where a walk down the range starts.
 */
bool *
apm_resolve_range(const ApmGraph *graph, const char *range, List **top)
{
	const char *colon = strchr(range, ':');
	char	   *start_str;
	List	   *start;
	bool	   *members;
	ListCell   *lc;
	int			i;

	if (colon == NULL || strchr(colon + 1, ':') != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid history range \"%s\"", range),
				 errdetail("A range is \"<start>:<end>\"; either side may be empty.")));
	start_str = pnstrdup(range, colon - range);
	start = range_side(graph, start_str, "base");
	*top = range_side(graph, colon + 1, "heads");

	members = apm_graph_ancestors(graph, *top, false);
	foreach(lc, start)
	{
		if (!members[lfirst_int(lc)])
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("revision \"%s\" is not an ancestor of the end of range \"%s\"",
							graph->nodes[lfirst_int(lc)].id, range)));
	}

	/* keep what descends from start (along parents), start included */
	if (start != NIL)
	{
		bool	   *above = apm_graph_descendants_by_parents(graph, start);

		for (i = 0; i < graph->nnodes; i++)
			members[i] = members[i] && above[i];
		pfree(above);
	}
	return members;
}

/* Does head share a lineage (dependencies included) with any of targets? */
static bool
shares_lineage(const ApmGraph *graph, int head, List *targets)
{
	bool	   *up = apm_graph_ancestors(graph, list_make1_int(head), false);
	bool	   *down = apm_graph_descendants(graph, list_make1_int(head));
	bool		shares = false;
	ListCell   *lc;

	foreach(lc, targets)
		shares = shares || up[lfirst_int(lc)] || down[lfirst_int(lc)];
	pfree(up);
	pfree(down);
	return shares;
}

/*
 * apm_resolve_stamp returns the current revisions a stamp to target leaves,
 * as Alembic's stamp computes its version table: the current revisions
 * that lie above or below the target are replaced by it; a target on a
 * branch none of them is on is added beside them; base removes the ones on
 * the branch named (all of them for plain base).  With several targets
 * ("heads") each replaces only the revisions above or below itself, where
 * Alembic lets the first target replace every current revision related to
 * any of them and so forgets applied heads.
 */
List *
apm_resolve_stamp(const ApmGraph *graph, const char *target)
{
	Target		t;
	List	   *current = apm_graph_current(graph);
	List	   *filtered = NIL;
	List	   *result;
	ListCell   *lc;
	ListCell   *lc2;

	resolve(graph, target, APM_STAMP, &t);
	if (t.revs == NIL)
	{
		if (t.anchor < 0)
			return NIL;
		/* <label>@base: forget the branch of the label */
		result = NIL;
		foreach(lc, current)
		{
			if (!shares_lineage(graph, lfirst_int(lc), list_make1_int(t.anchor)))
				result = lappend_int(result, lfirst_int(lc));
		}
		return result;
	}

	result = list_copy(current);
	foreach(lc, t.revs)
	{
		int			dest = lfirst_int(lc);
		bool	   *up;
		bool	   *down;

		if (list_member_int(current, dest))
			continue;			/* already current */

		/* the current revisions above or below this destination */
		up = apm_graph_ancestors(graph, list_make1_int(dest), false);
		down = apm_graph_descendants(graph, list_make1_int(dest));
		filtered = NIL;
		foreach(lc2, current)
		{
			if (up[lfirst_int(lc2)] || down[lfirst_int(lc2)])
				filtered = lappend_int(filtered, lfirst_int(lc2));
		}
		result = list_difference_int(result, filtered);
		result = list_append_unique_int(result, dest);
		pfree(up);
		pfree(down);
	}
	return result;
}
