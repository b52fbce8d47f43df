/*-------------------------------------------------------------------------
 *
 * graph.c
 *	  The revision graph in memory: building it, and the questions every
 *	  operation asks of it (heads, current revisions, closures, order,
 *	  cycles).
 *
 * Nodes are kept in registration order, so a node's index doubles as its
 * rank in the tie-break: wherever the graph leaves the order of two steps
 * open, the one registered first comes first (upgrade) or last (downgrade).
 * Ids map to indexes through one hash table; every algorithm here is a
 * single pass over nodes and edges, O(N + E), or O((N + E) log N) where a
 * priority queue keeps the order deterministic.
 *
 * Nothing here touches the database.
 *
 * Copyright (c) 2026, ap_migrate developers
 *
 * IDENTIFICATION
 *	  src/graph.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/hashfn.h"
#include "lib/binaryheap.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/memutils.h"

#include "ap_migrate.h"
#include "compat.h"

/* id -> node index map */
typedef struct ApmIdEntry
{
	const char *key;
	int			index;
	uint32		hash;
	char		status;
} ApmIdEntry;

#define SH_PREFIX		apm_idmap
#define SH_ELEMENT_TYPE	ApmIdEntry
#define SH_KEY_TYPE		const char *
#define SH_KEY			key
#define SH_HASH_KEY(tb, k)	hash_bytes((const unsigned char *) (k), strlen(k))
#define SH_EQUAL(tb, a, b)	(strcmp((a), (b)) == 0)
#define SH_STORE_HASH
#define SH_GET_HASH(tb, a)	((a)->hash)
#define SH_SCOPE		static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

/*
 * apm_graph_create makes an empty graph sized for about capacity nodes.
 */
ApmGraph *
apm_graph_create(int capacity)
{
	ApmGraph   *graph = palloc0(sizeof(ApmGraph));

	if (capacity < 16)
		capacity = 16;
	graph->nodes = palloc0(sizeof(ApmNode) * capacity);
	graph->capacity = capacity;
	graph->idmap = apm_idmap_create(CurrentMemoryContext, capacity, NULL);
	return graph;
}

/*
 * apm_graph_add_node appends a node; nodes must be added in registration
 * order.  The returned pointer is valid until the next call.  The caller
 * fills in the edges by id; apm_graph_link resolves them.
 */
ApmNode *
apm_graph_add_node(ApmGraph *graph, const char *id)
{
	ApmNode    *node;
	ApmIdEntry *entry;
	bool		found;

	if (graph->nnodes == graph->capacity)
	{
		int			newcap = graph->capacity * 2;

		graph->nodes = repalloc(graph->nodes, sizeof(ApmNode) * newcap);
		memset(graph->nodes + graph->capacity, 0,
			   sizeof(ApmNode) * (newcap - graph->capacity));
		graph->capacity = newcap;
	}
	node = &graph->nodes[graph->nnodes];
	node->id = pstrdup(id);
	node->seq = graph->nnodes;

	entry = apm_idmap_insert(graph->idmap, node->id, &found);
	if (found)
		elog(ERROR, "duplicate revision id \"%s\" in graph", id);
	entry->index = graph->nnodes;
	graph->nnodes++;
	return node;
}

/*
 * apm_graph_lookup returns the index of a revision id, or -1.
 */
int
apm_graph_lookup(const ApmGraph *graph, const char *id)
{
	ApmIdEntry *entry = apm_idmap_lookup(graph->idmap, id);

	return entry ? entry->index : -1;
}

/*
 * apm_graph_link resolves parent and dependency ids to indexes and builds
 * the reverse edges (children, dependents), each list in registration order.
 */
void
apm_graph_link(ApmGraph *graph)
{
	int			i,
				j;

	/* count reverse edges */
	for (i = 0; i < graph->nnodes; i++)
	{
		ApmNode    *node = &graph->nodes[i];

		node->parents = palloc(sizeof(int) * Max(node->nparents, 1));
		for (j = 0; j < node->nparents; j++)
		{
			int			p = apm_graph_lookup(graph, node->parent_ids[j]);

			node->parents[j] = p;
			if (p >= 0)
				graph->nodes[p].nchildren++;
		}
		node->deps = palloc(sizeof(int) * Max(node->ndeps, 1));
		for (j = 0; j < node->ndeps; j++)
		{
			int			d = apm_graph_lookup(graph, node->dep_ids[j]);

			node->deps[j] = d;
			if (d >= 0)
				graph->nodes[d].ndependents++;
		}
	}

	/* fill them; visiting children in index order keeps each list sorted */
	for (i = 0; i < graph->nnodes; i++)
	{
		ApmNode    *node = &graph->nodes[i];

		node->children = palloc(sizeof(int) * Max(node->nchildren, 1));
		node->dependents = palloc(sizeof(int) * Max(node->ndependents, 1));
		node->nchildren = 0;
		node->ndependents = 0;
	}
	for (i = 0; i < graph->nnodes; i++)
	{
		ApmNode    *node = &graph->nodes[i];

		for (j = 0; j < node->nparents; j++)
		{
			int			p = node->parents[j];

			if (p >= 0)
				graph->nodes[p].children[graph->nodes[p].nchildren++] = i;
		}
		for (j = 0; j < node->ndeps; j++)
		{
			int			d = node->deps[j];

			if (d >= 0)
				graph->nodes[d].dependents[graph->nodes[d].ndependents++] = i;
		}
	}
}

/*
 * apm_graph_heads lists the revisions no revision names as a parent, in
 * registration order.  Dependencies do not count: like Alembic, a revision
 * that others only depend on is still a head of its own branch.
 */
List *
apm_graph_heads(const ApmGraph *graph)
{
	List	   *heads = NIL;
	int			i;

	for (i = 0; i < graph->nnodes; i++)
		if (graph->nodes[i].nchildren == 0)
			heads = lappend_int(heads, i);
	return heads;
}

/*
 * apm_graph_bases lists the revisions without parents.
 */
List *
apm_graph_bases(const ApmGraph *graph)
{
	List	   *bases = NIL;
	int			i;

	for (i = 0; i < graph->nnodes; i++)
		if (graph->nodes[i].nparents == 0)
			bases = lappend_int(bases, i);
	return bases;
}

/*
 * apm_graph_current lists the current revisions: applied revisions that no
 * applied revision descends from or depends on.  This is what Alembic keeps
 * in its version table (a dependency, once a dependent is applied, is no
 * longer listed there); ap_migrate derives it from the applied set.
 */
List *
apm_graph_current(const ApmGraph *graph)
{
	List	   *current = NIL;
	int			i,
				j;

	for (i = 0; i < graph->nnodes; i++)
	{
		const ApmNode *node = &graph->nodes[i];
		bool		child_applied = false;

		if (!node->applied)
			continue;
		for (j = 0; j < node->nchildren && !child_applied; j++)
			child_applied = graph->nodes[node->children[j]].applied;
		for (j = 0; j < node->ndependents && !child_applied; j++)
			child_applied = graph->nodes[node->dependents[j]].applied;
		if (!child_applied)
			current = lappend_int(current, i);
	}
	return current;
}

/* binaryheap comparators: lowest index first, or highest index first */
static int
lowest_index_first(Datum a, Datum b, void *arg)
{
	return DatumGetInt32(b) - DatumGetInt32(a);
}

static int
highest_index_first(Datum a, Datum b, void *arg)
{
	return DatumGetInt32(a) - DatumGetInt32(b);
}

/*
 * Kahn's algorithm over the nodes flagged in member (all nodes when member
 * is NULL).  A node must come after its parents and the revisions it
 * depends on; with reverse, before them instead.  Ties go to the lowest
 * index (highest with reverse).  Returns the order; *count is less than the
 * number of members when the members contain a cycle, and then done[]
 * (if given) tells which nodes were placed.
 */
static int *
topological_order(const ApmGraph *graph, const bool *member, bool reverse,
				  int *count, bool **done_out)
{
	int		   *pending = palloc0(sizeof(int) * Max(graph->nnodes, 1));
	int		   *order = palloc(sizeof(int) * Max(graph->nnodes, 1));
	bool	   *done = palloc0(sizeof(bool) * Max(graph->nnodes, 1));
	binaryheap *heap;
	int			n = 0;
	int			i,
				j;

	heap = binaryheap_allocate(Max(graph->nnodes, 1),
							   reverse ? highest_index_first : lowest_index_first,
							   NULL);

	/* count, for each member, the member edges that must be placed first */
	for (i = 0; i < graph->nnodes; i++)
	{
		const ApmNode *node = &graph->nodes[i];

		if (member && !member[i])
			continue;
		if (!reverse)
		{
			for (j = 0; j < node->nparents; j++)
				if (node->parents[j] >= 0 && (!member || member[node->parents[j]]))
					pending[i]++;
			for (j = 0; j < node->ndeps; j++)
				if (node->deps[j] >= 0 && (!member || member[node->deps[j]]))
					pending[i]++;
		}
		else
		{
			for (j = 0; j < node->nchildren; j++)
				if (!member || member[node->children[j]])
					pending[i]++;
			for (j = 0; j < node->ndependents; j++)
				if (!member || member[node->dependents[j]])
					pending[i]++;
		}
		if (pending[i] == 0)
			binaryheap_add_unordered(heap, Int32GetDatum(i));
	}
	binaryheap_build(heap);

	while (!binaryheap_empty(heap))
	{
		int			v = DatumGetInt32(binaryheap_remove_first(heap));
		const ApmNode *node = &graph->nodes[v];
		int			nnext;
		int		   *next;
		int			k;

		order[n++] = v;
		done[v] = true;

		/* release the nodes waiting on v, along both kinds of edge */
		for (k = 0; k < 2; k++)
		{
			if (!reverse)
			{
				nnext = k == 0 ? node->nchildren : node->ndependents;
				next = k == 0 ? node->children : node->dependents;
			}
			else
			{
				nnext = k == 0 ? node->nparents : node->ndeps;
				next = k == 0 ? node->parents : node->deps;
			}
			for (j = 0; j < nnext; j++)
			{
				int			w = next[j];

				if (w < 0 || (member && !member[w]))
					continue;
				if (--pending[w] == 0)
					binaryheap_add(heap, Int32GetDatum(w));
			}
		}
	}

	binaryheap_free(heap);
	pfree(pending);
	*count = n;
	if (done_out)
		*done_out = done;
	else
		pfree(done);
	return order;
}

/*
 * apm_graph_order returns the members in execution order: parents and
 * dependencies first (or last, with reverse), ties by registration order.
 * The caller has made sure the graph has no cycle.
 */
int *
apm_graph_order(const ApmGraph *graph, const bool *member, bool reverse,
				int *count)
{
	return topological_order(graph, member, reverse, count, NULL);
}

/*
 * apm_graph_find_cycle returns the node indexes of one cycle, each a parent
 * (or dependency) of the next and the last one of the first, or NIL when
 * the graph is acyclic.  The cycle is found by walking back from a node
 * Kahn's algorithm could not place: every such node has an unplaced
 * predecessor, so the walk must revisit a node, and the part of the walk
 * from that node on is a cycle.
 */
List *
apm_graph_find_cycle(const ApmGraph *graph)
{
	bool	   *done;
	int		   *order;
	int		   *visit_pos;
	int		   *walk;
	int			count;
	int			nwalk = 0;
	int			v = -1;
	int			i;
	List	   *cycle = NIL;

	order = topological_order(graph, NULL, false, &count, &done);
	pfree(order);
	if (count == graph->nnodes)
	{
		pfree(done);
		return NIL;
	}

	for (i = 0; i < graph->nnodes && v < 0; i++)
		if (!done[i])
			v = i;

	visit_pos = palloc(sizeof(int) * graph->nnodes);
	walk = palloc(sizeof(int) * (graph->nnodes + 1));
	for (i = 0; i < graph->nnodes; i++)
		visit_pos[i] = -1;

	while (visit_pos[v] < 0)
	{
		const ApmNode *node = &graph->nodes[v];
		int			next = -1;
		int			j;

		visit_pos[v] = nwalk;
		walk[nwalk++] = v;
		for (j = 0; j < node->nparents && next < 0; j++)
			if (node->parents[j] >= 0 && !done[node->parents[j]])
				next = node->parents[j];
		for (j = 0; j < node->ndeps && next < 0; j++)
			if (node->deps[j] >= 0 && !done[node->deps[j]])
				next = node->deps[j];
		Assert(next >= 0);
		v = next;
	}

	/* the walk went child -> parent; report parent -> child */
	for (i = nwalk - 1; i >= visit_pos[v]; i--)
		cycle = lappend_int(cycle, walk[i]);

	pfree(visit_pos);
	pfree(walk);
	pfree(done);
	return cycle;
}

/*
 * apm_graph_check_usable raises an error unless the graph can be navigated
 * (every parent and dependency is registered, there is no cycle) and, with
 * check_state, the applied state is trustworthy (no applied revision has
 * changed since it was applied, every applied revision is still
 * registered).  The first problem found is reported;
 * ap_migrate_validate() lists them all.
 */
void
apm_graph_check_usable(const ApmGraph *graph, bool check_state)
{
	List	   *cycle;
	int			i,
				j;

	for (i = 0; i < graph->nnodes; i++)
	{
		const ApmNode *node = &graph->nodes[i];

		for (j = 0; j < node->nparents; j++)
			if (node->parents[j] < 0)
				ereport(ERROR,
						(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
						 errmsg("revision \"%s\" has unknown parent \"%s\"",
								node->id, node->parent_ids[j]),
						 errhint("Register revision \"%s\" first, or correct the down_revision of \"%s\".",
								 node->parent_ids[j], node->id)));
		for (j = 0; j < node->ndeps; j++)
			if (node->deps[j] < 0)
				ereport(ERROR,
						(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
						 errmsg("revision \"%s\" depends on unknown revision \"%s\"",
								node->id, node->dep_ids[j])));
	}

	cycle = apm_graph_find_cycle(graph);
	if (cycle != NIL)
	{
		List	   *closed = lappend_int(list_copy(cycle), linitial_int(cycle));

		ereport(ERROR,
				(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
				 errmsg("revision graph contains a cycle"),
				 errdetail("Cycle: %s.", apm_graph_join_ids(graph, closed, " -> "))));
	}

	if (!check_state)
		return;

	if (graph->orphans != NIL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("applied revision \"%s\" is not registered",
						(char *) linitial(graph->orphans)),
				 errhint("Register the revision again, or remove it from the applied set with ap_migrate_stamp().")));

	for (i = 0; i < graph->nnodes; i++)
		if (graph->nodes[i].drifted)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("applied revision \"%s\" has changed since it was applied",
							graph->nodes[i].id),
					 errdetail("The checksum recorded when it was applied differs from its current checksum."),
					 errhint("Run ap_migrate_validate() to see every problem; ap_migrate_stamp() accepts the revision as it is now.")));
}

/*
 * Depth-first closure from the given nodes, along parents and dependencies
 * (up) or children and dependents (down); with parents_only, along parents
 * only.  With stop_at_applied, applied nodes are neither marked nor walked
 * through: the applied set is closed under parents and dependencies, so
 * what lies behind them is applied too.
 */
static bool *
closure(const ApmGraph *graph, List *from, bool up, bool stop_at_applied,
		bool parents_only)
{
	bool	   *mark = palloc0(sizeof(bool) * Max(graph->nnodes, 1));
	int		   *stack = palloc(sizeof(int) * Max(graph->nnodes, 1));
	int			top = 0;
	ListCell   *lc;

	foreach(lc, from)
	{
		int			v = lfirst_int(lc);

		if (!mark[v] && !(stop_at_applied && graph->nodes[v].applied))
		{
			mark[v] = true;
			stack[top++] = v;
		}
	}

	while (top > 0)
	{
		const ApmNode *node = &graph->nodes[stack[--top]];
		int			k,
					j;

		for (k = 0; k < (parents_only ? 1 : 2); k++)
		{
			int			nnext;
			int		   *next;

			if (up)
			{
				nnext = k == 0 ? node->nparents : node->ndeps;
				next = k == 0 ? node->parents : node->deps;
			}
			else
			{
				nnext = k == 0 ? node->nchildren : node->ndependents;
				next = k == 0 ? node->children : node->dependents;
			}
			for (j = 0; j < nnext; j++)
			{
				int			w = next[j];

				if (w < 0 || mark[w])
					continue;
				if (stop_at_applied && graph->nodes[w].applied)
					continue;
				mark[w] = true;
				stack[top++] = w;
			}
		}
	}
	pfree(stack);
	return mark;
}

/*
 * apm_graph_ancestors marks the given nodes and everything they descend
 * from or depend on.
 */
bool *
apm_graph_ancestors(const ApmGraph *graph, List *from, bool stop_at_applied)
{
	return closure(graph, from, true, stop_at_applied, false);
}

/*
 * apm_graph_ancestors_by_parents marks a node and its ancestors along
 * parents only.
 */
bool *
apm_graph_ancestors_by_parents(const ApmGraph *graph, int node)
{
	return closure(graph, list_make1_int(node), true, false, true);
}

/*
 * apm_graph_descendants_by_parents marks the given nodes and their
 * descendants along parents only.
 */
bool *
apm_graph_descendants_by_parents(const ApmGraph *graph, List *from)
{
	return closure(graph, from, false, false, true);
}

/*
 * apm_graph_lineage marks what shares a branch with a node, as Alembic's
 * branch lineage: the node, its ancestors and its descendants, along
 * parents and children only.
 */
bool *
apm_graph_lineage(const ApmGraph *graph, int node)
{
	bool	   *up = closure(graph, list_make1_int(node), true, false, true);
	bool	   *down = closure(graph, list_make1_int(node), false, false, true);
	int			i;

	for (i = 0; i < graph->nnodes; i++)
		up[i] = up[i] || down[i];
	pfree(down);
	return up;
}

/*
 * apm_graph_descendants marks the given nodes and everything that descends
 * from or depends on them.
 */
bool *
apm_graph_descendants(const ApmGraph *graph, List *from)
{
	return closure(graph, from, false, false, false);
}

/*
 * The dependencies of a node that none of its ancestors (along parents)
 * already depends on: Alembic's _normalized_resolved_dependencies, in
 * declared order (Alembic builds it from a set, so its order is not
 * defined when there are several).
 */
static List *
normalized_deps(const ApmGraph *graph, int v)
{
	const ApmNode *node = &graph->nodes[v];
	List	   *deps = NIL;
	bool	   *ancestors;
	bool	   *inherited;
	int			i,
				j;

	if (node->ndeps == 0)
		return NIL;
	ancestors = closure(graph, list_make1_int(v), true, false, true);
	inherited = palloc0(sizeof(bool) * graph->nnodes);
	for (i = 0; i < graph->nnodes; i++)
	{
		if (!ancestors[i] || i == v)
			continue;
		for (j = 0; j < graph->nodes[i].ndeps; j++)
			if (graph->nodes[i].deps[j] >= 0)
				inherited[graph->nodes[i].deps[j]] = true;
	}
	for (j = 0; j < node->ndeps; j++)
		if (node->deps[j] >= 0 && !inherited[node->deps[j]])
			deps = lappend_int(deps, node->deps[j]);
	pfree(ancestors);
	pfree(inherited);
	return deps;
}

/* qsort comparator for node indexes */
static int
compare_index(const void *a, const void *b)
{
	return *(const int *) a - *(const int *) b;
}

/*
 * apm_graph_walk_order orders the members the way Alembic 1.8's
 * RevisionMap._topological_sort does, children before parents, so that
 * ap_migrate takes Alembic's steps in Alembic's order.  Registration order
 * stands in for the order of Alembic's revision map, which Alembic takes
 * from the directory listing.
 *
 * It walks down from the heads (the given nodes that are members, lowest
 * index first), emitting each member it passes, and keeps walking down the
 * same branch as long as no other head still needs the current node as an
 * ancestor; when one does, it switches to that head first.  A node's next
 * nodes down are its parents in declared order, then its normalized
 * dependencies.  An upgrade runs this order reversed; a downgrade runs it
 * as is, from the current revisions.
 */
int *
apm_graph_walk_order(const ApmGraph *graph, const bool *member, List *heads,
					 int *count, int *unreached)
{
	int			n = Max(graph->nnodes, 1);
	bool	   *todo = palloc(sizeof(bool) * n);
	int		   *order = palloc(sizeof(int) * n);
	int		   *current = palloc(sizeof(int) * n);
	bool	  **ancestors = palloc(sizeof(bool *) * n);
	int			ncurrent = 0;
	int			norder = 0;
	int			idx = 0;
	int			i;
	ListCell   *lc;

	memcpy(todo, member, sizeof(bool) * graph->nnodes);

	foreach(lc, heads)
	{
		int			h = lfirst_int(lc);
		bool		seen = false;

		for (i = 0; i < ncurrent; i++)
			seen = seen || current[i] == h;
		if (todo[h] && !seen)
			current[ncurrent++] = h;
	}
	qsort(current, ncurrent, sizeof(int), compare_index);
	for (i = 0; i < ncurrent; i++)
		ancestors[i] = closure(graph, list_make1_int(current[i]), true, false, false);

	while (ncurrent > 0)
	{
		int			candidate = current[idx];
		const ApmNode *node = &graph->nodes[candidate];
		List	   *down = NIL;
		List	   *add = NIL;
		List	   *deps;
		int			k;

		CHECK_FOR_INTERRUPTS();

		/* another head that still needs the candidate goes first */
		for (k = 0; k < ncurrent; k++)
			if (k != idx && ancestors[k][candidate])
				break;
		if (k < ncurrent)
		{
			idx = k;
			continue;
		}

		if (todo[candidate])
		{
			order[norder++] = candidate;
			todo[candidate] = false;
		}

		/* the next heads: parents, then normalized dependencies */
		deps = normalized_deps(graph, candidate);
		for (k = 0; k < node->nparents; k++)
			if (node->parents[k] >= 0)
				down = lappend_int(down, node->parents[k]);
		down = list_concat(down, deps);
		foreach(lc, down)
		{
			int			r = lfirst_int(lc);
			bool		is_current = false;

			for (k = 0; k < ncurrent; k++)
				is_current = is_current || current[k] == r;
			if (todo[r] && !is_current && !list_member_int(add, r))
				add = lappend_int(add, r);
		}

		if (add == NIL)
		{
			/* this branch is done */
			pfree(ancestors[idx]);
			for (k = idx; k < ncurrent - 1; k++)
			{
				current[k] = current[k + 1];
				ancestors[k] = ancestors[k + 1];
			}
			ncurrent--;
			idx = Max(idx - 1, 0);
		}
		else if (deps == NIL && node->nparents == 1)
		{
			/* plain movement down a line */
			current[idx] = linitial_int(add);
			ancestors[idx][candidate] = false;
		}
		else
		{
			/* a merge point or dependencies: the walk forks */
			pfree(ancestors[idx]);
			current[idx] = linitial_int(add);
			ancestors[idx] = closure(graph, list_make1_int(current[idx]), true, false, false);
			for_each_from(lc, add, 1)
			{
				current[ncurrent] = lfirst_int(lc);
				ancestors[ncurrent] = closure(graph, list_make1_int(current[ncurrent]),
											  true, false, false);
				ncurrent++;
			}
		}
	}

	/* members no head leads to (none, for the sets plans ask about) */
	if (unreached)
		*unreached = 0;
	for (i = 0; i < graph->nnodes; i++)
		if (todo[i])
		{
			order[norder++] = i;
			if (unreached)
				(*unreached)++;
		}

	pfree(todo);
	pfree(current);
	pfree(ancestors);
	*count = norder;
	return order;
}

/*
 * apm_join_strings renders a List of C strings joined by sep.
 */
char *
apm_join_strings(List *strings, const char *sep)
{
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	foreach(lc, strings)
	{
		if (lc != list_head(strings))
			appendStringInfoString(&buf, sep);
		appendStringInfoString(&buf, (char *) lfirst(lc));
	}
	return buf.data;
}

/*
 * apm_graph_ids maps a List of node indexes to a List of their ids.
 */
List *
apm_graph_ids(const ApmGraph *graph, List *indexes)
{
	List	   *ids = NIL;
	ListCell   *lc;

	foreach(lc, indexes)
		ids = lappend(ids, graph->nodes[lfirst_int(lc)].id);
	return ids;
}

/*
 * apm_graph_join_ids renders a list of node indexes as their ids joined by
 * sep.
 */
char *
apm_graph_join_ids(const ApmGraph *graph, List *indexes, const char *sep)
{
	return apm_join_strings(apm_graph_ids(graph, indexes), sep);
}
