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
 *	 <id>             a full revision id, or a unique prefix of one
 *	 +N, -N           N steps up or down from the current revision
 *	 <rev>+N, <rev>-N N steps up or down from <rev> (an id, prefix, head or base)
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
 * Look up a revision by full id or unique prefix.  A prefix is matched
 * against every id, which is linear in the graph size but only happens when
 * the exact lookup fails.
 */
static int
lookup_revision(const ApmGraph *graph, const char *ref, const char *target)
{
	int			index = apm_graph_lookup(graph, ref);
	size_t		len = strlen(ref);
	int			nmatch = 0;
	StringInfoData candidates;
	int			i;

	if (index >= 0)
		return index;

	initStringInfo(&candidates);
	for (i = 0; i < graph->nnodes; i++)
	{
		if (strncmp(graph->nodes[i].id, ref, len) != 0)
			continue;
		if (nmatch < APM_MAX_CANDIDATES)
			appendStringInfo(&candidates, "%s%s", nmatch > 0 ? ", " : "",
							 graph->nodes[i].id);
		index = i;
		nmatch++;
	}

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
				 errdetail("It matches %d revisions: %s%s.", nmatch, candidates.data,
						   nmatch > APM_MAX_CANDIDATES ? ", ..." : ""),
				 errhint("Use more characters of the revision id.")));
	return index;
}

/*
 * The only head, or an error naming them all.
 */
static List *
single_head(const ApmGraph *graph, const char *target)
{
	List	   *heads = apm_graph_heads(graph);

	if (list_length(heads) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_CARDINALITY_VIOLATION),
				 errmsg("target \"%s\" is ambiguous: the revision graph has %d heads",
						target, list_length(heads)),
				 errdetail("Heads: %s.", apm_graph_join_ids(graph, heads, ", ")),
				 errhint("Name one of the heads, or use \"heads\" for all of them.")));
	return heads;
}

/*
 * The single current revision that a bare relative target starts from.
 * An empty result means nothing is applied.
 */
static List *
single_current(const ApmGraph *graph, const char *target)
{
	List	   *current = apm_graph_current(graph);

	if (list_length(current) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_CARDINALITY_VIOLATION),
				 errmsg("relative target \"%s\" is ambiguous: %d revisions are current",
						target, list_length(current)),
				 errdetail("Current revisions: %s.", apm_graph_join_ids(graph, current, ", ")),
				 errhint("Start from a named revision, as in \"<revision>%s\".", target)));
	return current;
}

/*
 * Walk steps from start (an empty list = base) towards the heads
 * (steps > 0) or the bases (steps < 0).  Each step must be unambiguous:
 * one child going up, one parent going down.  Going down from a base
 * reaches base, which must be the last step.
 */
static List *
walk_relative(const ApmGraph *graph, List *start, int steps, const char *target)
{
	int			v = start != NIL ? linitial_int(start) : -1;
	int			remaining = steps > 0 ? steps : -steps;

	Assert(list_length(start) <= 1);

	while (remaining > 0)
	{
		if (steps > 0)
		{
			if (v < 0)
			{
				List	   *bases = apm_graph_bases(graph);

				if (bases == NIL)
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("relative target \"%s\" goes beyond the heads", target),
							 errdetail("No revision is registered.")));
				if (list_length(bases) > 1)
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("relative target \"%s\" is ambiguous at base", target),
							 errdetail("Bases: %s.", apm_graph_join_ids(graph, bases, ", ")),
							 errhint("Name the revision to upgrade to.")));
				v = linitial_int(bases);
			}
			else
			{
				const ApmNode *node = &graph->nodes[v];

				if (node->nchildren == 0)
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("relative target \"%s\" goes beyond the heads", target),
							 errdetail("Revision \"%s\" is a head, %d step(s) short.",
									   node->id, remaining)));
				if (node->nchildren > 1)
				{
					List	   *children = NIL;
					int			j;

					for (j = 0; j < node->nchildren; j++)
						children = lappend_int(children, node->children[j]);
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("relative target \"%s\" is ambiguous at branch point \"%s\"",
									target, node->id),
							 errdetail("Its children are: %s.",
									   apm_graph_join_ids(graph, children, ", ")),
							 errhint("Name the revision to upgrade to.")));
				}
				v = node->children[0];
			}
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
			{
				List	   *parents = NIL;
				int			j;

				for (j = 0; j < node->nparents; j++)
					parents = lappend_int(parents, node->parents[j]);
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("relative target \"%s\" is ambiguous at merge point \"%s\"",
								target, node->id),
						 errdetail("Its parents are: %s.",
								   apm_graph_join_ids(graph, parents, ", ")),
						 errhint("Name the revision to downgrade to.")));
			}
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

/*
 * apm_resolve_target resolves a target string to the set of revisions it
 * names (NIL = base).  operation decides which relative targets make
 * sense: a bare "-N" moves down and is a downgrade target, "+N" an upgrade
 * target.
 */
List *
apm_resolve_target(const ApmGraph *graph, const char *target,
				   ApmOperation operation)
{
	int			steps = 0;
	int			sign_at;
	const char *p;

	if (target[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("target must not be empty"),
				 errhint("Use \"head\", \"base\", a revision id or a relative target such as \"-1\".")));
	if (strlen(target) > APM_MAX_ID_LEN + 16)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("target is too long"),
				 errdetail("Targets are at most %d bytes.", APM_MAX_ID_LEN + 16)));
	for (p = target; *p; p++)
		if (isspace((unsigned char) *p) || *p == '@' || *p == ':')
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid target \"%s\"", target),
					 errdetail("Targets contain no white space, \"@\" or \":\".")));

	if (strcmp(target, "head") == 0)
		return single_head(graph, target);
	if (strcmp(target, "heads") == 0)
		return apm_graph_heads(graph);
	if (strcmp(target, "base") == 0)
		return NIL;

	sign_at = parse_relative(target, &steps);
	if (sign_at < 0)
	{
		if (strchr(target, '+') || strchr(target, '-'))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid target \"%s\"", target),
					 errdetail("A relative target is \"+N\", \"-N\", \"<revision>+N\" or \"<revision>-N\" with N a positive integer.")));
		return list_make1_int(lookup_revision(graph, target, target));
	}

	if (sign_at == 0)
	{
		/* bare +N / -N: relative to the current revision */
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
		if (steps < 0 && apm_graph_current(graph) == NIL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("relative target \"%s\" goes below base", target),
					 errdetail("No revision is applied.")));
		return walk_relative(graph, single_current(graph, target), steps, target);
	}
	else
	{
		/* <rev>+N / <rev>-N: relative to a named revision */
		char	   *ref = pnstrdup(target, sign_at);
		List	   *start;

		if (strchr(ref, '+') || strchr(ref, '-'))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid target \"%s\"", target),
					 errdetail("A relative target is \"+N\", \"-N\", \"<revision>+N\" or \"<revision>-N\" with N a positive integer.")));
		if (strcmp(ref, "base") == 0)
			start = NIL;
		else if (strcmp(ref, "head") == 0)
			start = single_head(graph, target);
		else if (strcmp(ref, "heads") == 0 || strcmp(ref, "current") == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid target \"%s\"", target),
					 errdetail("A relative target starts from a revision, \"head\" or \"base\".")));
		else
			start = list_make1_int(lookup_revision(graph, ref, target));
		if (start == NIL && steps < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("relative target \"%s\" goes below base", target)));
		return walk_relative(graph, start, steps, target);
	}
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
	walk = apm_graph_walk_order(graph, needed, target, &plan->nsteps);
	plan->steps = palloc(sizeof(int) * Max(plan->nsteps, 1));
	for (i = 0; i < plan->nsteps; i++)
		plan->steps[i] = walk[plan->nsteps - 1 - i];
	pfree(walk);
	pfree(needed);
	return plan;
}

/*
 * Downgrade steps: the applied revisions that descend from (or depend on)
 * a child of the target, children first; for base, every applied revision.
 * A revision that depends on the target itself but does not descend from
 * it stays, as in Alembic: its dependency is still there.  The target must
 * be applied: a downgrade never moves up.
 */
static ApmPlan *
downgrade_plan(const ApmGraph *graph, List *target, const char *target_str)
{
	ApmPlan    *plan = palloc0(sizeof(ApmPlan));
	bool	   *remove;
	List	   *children = NIL;
	ListCell   *lc;
	int			i;

	foreach(lc, target)
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
	}

	if (target == NIL)
	{
		remove = palloc0(sizeof(bool) * Max(graph->nnodes, 1));
		for (i = 0; i < graph->nnodes; i++)
			remove[i] = graph->nodes[i].applied;
	}
	else
	{
		foreach(lc, target)
		{
			const ApmNode *node = &graph->nodes[lfirst_int(lc)];

			for (i = 0; i < node->nchildren; i++)
				children = lappend_int(children, node->children[i]);
		}
		remove = apm_graph_descendants(graph, children);
		for (i = 0; i < graph->nnodes; i++)
			remove[i] = remove[i] && graph->nodes[i].applied;
	}

	/* Alembic's walk down from the current revisions */
	plan->operation = APM_DOWNGRADE;
	plan->steps = apm_graph_walk_order(graph, remove, apm_graph_current(graph),
									   &plan->nsteps);
	pfree(remove);
	return plan;
}

/*
 * apm_resolve_plan computes the ordered steps of an upgrade or downgrade to
 * target.  For APM_STAMP it returns the upgrade or downgrade plan whose
 * bookkeeping a stamp performs: the upgrade plan when the target is not
 * fully applied, otherwise the downgrade plan.
 */
ApmPlan *
apm_resolve_plan(const ApmGraph *graph, const char *target,
				 ApmOperation operation)
{
	List	   *set = apm_resolve_target(graph, target, operation);
	ListCell   *lc;

	if (operation == APM_UPGRADE)
		return upgrade_plan(graph, set);
	if (operation == APM_DOWNGRADE)
		return downgrade_plan(graph, set, target);

	foreach(lc, set)
		if (!graph->nodes[lfirst_int(lc)].applied)
			return upgrade_plan(graph, set);
	return downgrade_plan(graph, set, target);
}
