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
 * priority queue keeps the order deterministic or, for the walk in
 * Alembic's order, where heaps keep its bookkeeping incremental (see the
 * comment above WalkState for the one shape where it is not).
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
 * (there is no cycle) and, with
 * check_state, the applied state is trustworthy (no applied revision has
 * changed since it was applied, every applied revision is still
 * registered).  The first problem found is reported;
 * ap_migrate_validate() lists them all.
 */
void
apm_graph_check_usable(const ApmGraph *graph, bool check_state)
{
	List	   *cycle;
	int			i;

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
 * The walk in Alembic's order (apm_graph_walk_order).
 *
 * Alembic 1.8's RevisionMap._topological_sort keeps a list of current
 * heads, each with the set of its ancestors, and before taking a head's
 * revision looks it up in every other head's set; at each merge point or
 * dependency it computes the sets again.  That is O(N) per step and per
 * head, O(N^2) on a graph with merges.  The walk here takes exactly the
 * same steps with bookkeeping that changes only where the walk is:
 *
 * - Each head carries a key, and the keys are in list order: a head that
 *   takes the place of the head just walked takes over its key, a head
 *   appended to the list gets a key above every other.  The list itself is
 *   a doubly linked list of keys.
 *
 * - The reach of a node is the smallest key of a head it is an ancestor of
 *   (or is), WALK_NONE when there is none.  A head is blocked exactly when
 *   one of its children or dependents has a reach, and the head Alembic
 *   then switches to, the first in list order that has it as an ancestor,
 *   is the one whose key is the smallest such reach.  Each node keeps its
 *   children and dependents in a min-heap (its "above" heap) by a lower
 *   bound of their reach, so that is found at the top of the heap.
 *
 * - A reach never decreases: the heads that replace a head have its key or
 *   a new, larger one.  So a lower bound stays one; when an entry comes to
 *   the top of a heap, its node's reach is looked up, and if it has grown
 *   the entry goes back in with the new value.
 *
 * - Reaches are computed on demand, from the top of the above heaps
 *   upwards, and remembered.  When the walk takes a revision, what is
 *   remembered below it is forgotten, down to the nodes already forgotten:
 *   a remembered reach was computed from remembered reaches above it, so
 *   nothing under a forgotten node still depends on what changed.  A node
 *   is forgotten at most once per computation, and computed only when a
 *   head under it asks.
 *
 * Cost: a step down a line is O(1), and each edge is pushed and popped a
 * bounded number of times while the walk goes through branches and merges,
 * so chains and graphs of branches and merges take O((N + E) log N) in all.
 * The bound does not hold when many revisions of one line are heads at
 * once (every revision of a branch a dependency of the branch walked
 * first): a head under that line asks again after each of its revisions is
 * taken, and each answer walks up what is left of the line, O(N^2) in all,
 * which is what Alembic's scan of its heads costs on every graph.
 */

/* reach of a node no current head leads to */
#define WALK_NONE	PG_INT32_MAX

/* one child or dependent of a node, with a lower bound of its reach */
typedef struct WalkEntry
{
	int			reach;
	int			node;
} WalkEntry;

/* a min-heap of WalkEntry by reach */
typedef struct WalkHeap
{
	int			n;
	int			cap;
	WalkEntry  *e;
} WalkHeap;

/* what apm_graph_walk_order keeps while it walks */
typedef struct WalkState
{
	const ApmGraph *graph;
	bool	   *below_heads;	/* ancestor of a starting head (or one) */
	int		   *reach;			/* remembered reach, if known[] */
	bool	   *known;
	WalkHeap   *above;			/* per node: its children and dependents */
	int		   *head_key;		/* key of a current head, -1 otherwise */
	int		   *key_node;		/* per key: the head */
	int		   *key_prev;		/* per key: the previous key, or -1 */
	int		   *key_next;		/* per key: the next key, or -1 */
	int			first_key;		/* -1 when the list is empty */
	int			last_key;
	int			nkeys;			/* keys handed out so far */
	int		   *stack;			/* scratch stack, one slot per node */
	int		   *pgen;			/* longest path to a base along parents, or
								 * NULL until normalized_deps needs it */
	int		   *wanted;			/* scratch marks of normalized_deps */
	int		   *visited;
	int			markgen;
} WalkState;

/*
 * Push an entry on an above heap.  A heap starts with room for every child
 * and dependent; it grows past that only while it holds outdated entries.
 */
static void
walk_heap_push(WalkHeap *heap, int reach, int node)
{
	int			i;

	if (heap->n == heap->cap)
	{
		int			newcap = Max(heap->cap * 2, 4);
		WalkEntry  *e = palloc(sizeof(WalkEntry) * newcap);

		/* the initial arrays share one allocation: copy, never repalloc */
		if (heap->n > 0)
			memcpy(e, heap->e, sizeof(WalkEntry) * heap->n);
		heap->e = e;
		heap->cap = newcap;
	}
	i = heap->n++;
	while (i > 0 && heap->e[(i - 1) / 2].reach > reach)
	{
		heap->e[i] = heap->e[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	heap->e[i].reach = reach;
	heap->e[i].node = node;
}

/* Remove the top entry of an above heap */
static void
walk_heap_pop(WalkHeap *heap)
{
	WalkEntry	last = heap->e[--heap->n];
	int			i = 0;

	for (;;)
	{
		int			c = 2 * i + 1;

		if (c >= heap->n)
			break;
		if (c + 1 < heap->n && heap->e[c + 1].reach < heap->e[c].reach)
			c++;
		if (heap->e[c].reach >= last.reach)
			break;
		heap->e[i] = heap->e[c];
		i = c;
	}
	if (heap->n > 0)
		heap->e[i] = last;
}

/*
 * The reach of x, computed (and remembered) from the above heaps as far up
 * as nothing is remembered.  Iterative, with an explicit stack: the nodes
 * above x can form a line as long as the graph.
 */
static int
walk_reach(WalkState *ws, int x)
{
	int			top = 0;

	if (ws->known[x])
		return ws->reach[x];
	ws->stack[top++] = x;
	while (top > 0)
	{
		int			z = ws->stack[top - 1];
		WalkHeap   *heap = &ws->above[z];
		int			r;

		/* settle the top entry: exact, or the heap is empty */
		while (heap->n > 0)
		{
			int			y = heap->e[0].node;

			if (!ws->known[y])
				break;			/* compute y first */
			if (ws->reach[y] == heap->e[0].reach)
				break;			/* exact */
			Assert(ws->reach[y] > heap->e[0].reach);
			walk_heap_pop(heap);
			if (ws->reach[y] != WALK_NONE)
				walk_heap_push(heap, ws->reach[y], y);
		}
		if (heap->n > 0 && !ws->known[heap->e[0].node])
		{
			/* acyclic graph: y is not on the stack yet */
			ws->stack[top++] = heap->e[0].node;
			continue;
		}

		r = ws->head_key[z] >= 0 ? ws->head_key[z] : WALK_NONE;
		if (heap->n > 0)
			r = Min(r, heap->e[0].reach);
		ws->reach[z] = r;
		ws->known[z] = true;
		top--;
	}
	return ws->reach[x];
}

/*
 * The key of the first head in list order that has x as a proper
 * ancestor, or WALK_NONE: the smallest reach of x's children and
 * dependents.
 */
static int
walk_blocker(WalkState *ws, int x)
{
	(void) walk_reach(ws, x);
	return ws->above[x].n > 0 ? ws->above[x].e[0].reach : WALK_NONE;
}

/*
 * Forget the remembered reach of the nodes below x (x stays), down to the
 * ones already forgotten or known to reach nothing (they never will).
 */
static void
walk_forget_below(WalkState *ws, int x)
{
	const ApmGraph *graph = ws->graph;
	int			top = 0;

	ws->stack[top++] = x;
	while (top > 0)
	{
		const ApmNode *node = &graph->nodes[ws->stack[--top]];
		int			k,
					j;

		for (k = 0; k < 2; k++)
		{
			int			nnext = k == 0 ? node->nparents : node->ndeps;
			const int  *next = k == 0 ? node->parents : node->deps;

			for (j = 0; j < nnext; j++)
			{
				int			w = next[j];

				if (w < 0 || !ws->known[w] || ws->reach[w] == WALK_NONE)
					continue;
				ws->known[w] = false;
				ws->stack[top++] = w;
			}
		}
	}
}

/*
 * Set up the above heaps for the starting heads (ws->head_key is filled
 * in): every node under them gets an entry for each of its children and
 * dependents also under them, with the lower bound 0; nothing is known
 * yet.  Nodes not under them never reach a head and have no entries.
 */
static void
walk_setup(WalkState *ws, List *heads)
{
	const ApmGraph *graph = ws->graph;
	int			n = Max(graph->nnodes, 1);
	WalkEntry  *pool;
	int			npool = 0;
	int			i,
				j,
				k;

	ws->below_heads = closure(graph, heads, true, false, false);
	ws->reach = palloc(sizeof(int) * n);
	ws->known = palloc(sizeof(bool) * n);
	ws->above = palloc0(sizeof(WalkHeap) * n);
	ws->stack = palloc(sizeof(int) * n);
	for (i = 0; i < graph->nnodes; i++)
	{
		/* outside, the reach is WALK_NONE and known from the start */
		ws->known[i] = !ws->below_heads[i];
		ws->reach[i] = WALK_NONE;
		if (ws->below_heads[i])
			npool += graph->nodes[i].nchildren + graph->nodes[i].ndependents;
	}

	pool = palloc(sizeof(WalkEntry) * Max(npool, 1));
	for (i = 0; i < graph->nnodes; i++)
	{
		const ApmNode *node = &graph->nodes[i];

		if (!ws->below_heads[i])
			continue;
		ws->above[i].e = pool;
		ws->above[i].cap = node->nchildren + node->ndependents;
		pool += ws->above[i].cap;
		for (k = 0; k < 2; k++)
		{
			int			nnext = k == 0 ? node->nchildren : node->ndependents;
			const int  *next = k == 0 ? node->children : node->dependents;

			/* all equal: any order is a heap */
			for (j = 0; j < nnext; j++)
				if (ws->below_heads[next[j]])
				{
					ws->above[i].e[ws->above[i].n].reach = 0;
					ws->above[i].e[ws->above[i].n].node = next[j];
					ws->above[i].n++;
				}
		}
	}
}

/*
 * Length of the longest path from a base to each node along parents, so
 * that an ancestor (along parents) always has a smaller one.
 */
static int *
parent_generations(const ApmGraph *graph)
{
	int			n = Max(graph->nnodes, 1);
	int		   *gen = palloc0(sizeof(int) * n);
	int		   *pending = palloc0(sizeof(int) * n);
	int		   *queue = palloc(sizeof(int) * n);
	int			qhead = 0,
				qtail = 0;
	int			i,
				j;

	for (i = 0; i < graph->nnodes; i++)
	{
		for (j = 0; j < graph->nodes[i].nparents; j++)
			if (graph->nodes[i].parents[j] >= 0)
				pending[i]++;
		if (pending[i] == 0)
			queue[qtail++] = i;
	}
	while (qhead < qtail)
	{
		const ApmNode *node = &graph->nodes[queue[qhead++]];
		int			g = gen[queue[qhead - 1]] + 1;

		for (j = 0; j < node->nchildren; j++)
		{
			int			c = node->children[j];

			gen[c] = Max(gen[c], g);
			if (--pending[c] == 0)
				queue[qtail++] = c;
		}
	}
	pfree(pending);
	pfree(queue);
	return gen;
}

/*
 * The dependencies of a node that none of its ancestors (along parents)
 * already depends on: Alembic's _normalized_resolved_dependencies, in
 * declared order (Alembic builds it from a set, so its order is not
 * defined when there are several).
 *
 * Only a revision that shares a dependency with v and lies lower than v
 * (by parent generation) can be such an ancestor, which most of the time
 * rules every ancestor out at once; otherwise the walk down from v stops at
 * the lowest of those revisions, or when every dependency is accounted
 * for.
 */
static List *
normalized_deps(WalkState *ws, int v)
{
	const ApmGraph *graph = ws->graph;
	const ApmNode *node = &graph->nodes[v];
	List	   *deps = NIL;
	int			lowest = PG_INT32_MAX;
	int			nwanted = 0;
	int			top = 0;
	int			mark;
	int			i,
				j;

	if (node->ndeps == 0)
		return NIL;
	if (ws->pgen == NULL)
	{
		ws->pgen = parent_generations(graph);
		ws->wanted = palloc0(sizeof(int) * Max(graph->nnodes, 1));
		ws->visited = palloc0(sizeof(int) * Max(graph->nnodes, 1));
	}

	/* the lowest other revision depending on one of v's dependencies */
	for (j = 0; j < node->ndeps; j++)
	{
		const ApmNode *dep;

		if (node->deps[j] < 0)
			continue;
		dep = &graph->nodes[node->deps[j]];
		for (i = 0; i < dep->ndependents; i++)
		{
			int			a = dep->dependents[i];

			if (a != v && ws->pgen[a] < ws->pgen[v])
				lowest = Min(lowest, ws->pgen[a]);
		}
	}

	/*
	 * wanted[d] == mark: d is a dependency of v that no ancestor seen so far
	 * depends on; visited[a] == mark: the walk has been at a.
	 */
	mark = ++ws->markgen;
	if (lowest != PG_INT32_MAX)
	{
		for (j = 0; j < node->ndeps; j++)
			if (node->deps[j] >= 0 && ws->wanted[node->deps[j]] != mark)
			{
				ws->wanted[node->deps[j]] = mark;
				nwanted++;
			}
		ws->stack[top++] = v;
		ws->visited[v] = mark;
		while (top > 0 && nwanted > 0)
		{
			const ApmNode *a = &graph->nodes[ws->stack[--top]];

			if (a != node)
				for (j = 0; j < a->ndeps; j++)
					if (a->deps[j] >= 0 && ws->wanted[a->deps[j]] == mark)
					{
						ws->wanted[a->deps[j]] = 0;
						nwanted--;
					}
			for (j = 0; j < a->nparents; j++)
			{
				int			p = a->parents[j];

				if (p >= 0 && ws->pgen[p] >= lowest && ws->visited[p] != mark)
				{
					ws->visited[p] = mark;
					ws->stack[top++] = p;
				}
			}
		}
	}
	for (j = 0; j < node->ndeps; j++)
	{
		int			d = node->deps[j];

		if (d >= 0 && (lowest == PG_INT32_MAX || ws->wanted[d] == mark))
			deps = lappend_int(deps, d);
	}
	return deps;
}

/* Append a head at the end of the list, with a new key */
static void
walk_append_head(WalkState *ws, int node)
{
	int			key = ws->nkeys++;

	ws->key_node[key] = node;
	ws->key_prev[key] = ws->last_key;
	ws->key_next[key] = -1;
	if (ws->last_key >= 0)
		ws->key_next[ws->last_key] = key;
	else
		ws->first_key = key;
	ws->last_key = key;
	ws->head_key[node] = key;
}

/* Remove a key from the list of heads */
static void
walk_remove_key(WalkState *ws, int key)
{
	if (ws->key_prev[key] >= 0)
		ws->key_next[ws->key_prev[key]] = ws->key_next[key];
	else
		ws->first_key = ws->key_next[key];
	if (ws->key_next[key] >= 0)
		ws->key_prev[ws->key_next[key]] = ws->key_prev[key];
	else
		ws->last_key = ws->key_prev[key];
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
 * ancestor; when one does, it switches to the first such head in its list
 * of heads.  A node's next nodes down are its parents in declared order,
 * then its normalized dependencies: the first replaces the node in the
 * list, the others are appended.  An upgrade runs this order reversed; a
 * downgrade runs it as is, from the current revisions.  See the comment
 * above WalkState for how the bookkeeping stays O((N + E) log N).
 */
int *
apm_graph_walk_order(const ApmGraph *graph, const bool *member, List *heads,
					 int *count, int *unreached)
{
	int			n = Max(graph->nnodes, 1);
	bool	   *todo = palloc(sizeof(bool) * n);
	int		   *order = palloc(sizeof(int) * n);
	bool	   *start = palloc0(sizeof(bool) * n);
	List	   *start_heads = NIL;
	WalkState	ws;
	int			norder = 0;
	int			cur;
	int			i;
	ListCell   *lc;

	memcpy(todo, member, sizeof(bool) * graph->nnodes);
	memset(&ws, 0, sizeof(ws));
	ws.graph = graph;
	ws.head_key = palloc(sizeof(int) * n);
	ws.key_node = palloc(sizeof(int) * n);
	ws.key_prev = palloc(sizeof(int) * n);
	ws.key_next = palloc(sizeof(int) * n);
	ws.first_key = ws.last_key = -1;
	for (i = 0; i < graph->nnodes; i++)
		ws.head_key[i] = -1;

	/* the starting heads: members, each once, lowest index first */
	foreach(lc, heads)
	{
		if (todo[lfirst_int(lc)])
			start[lfirst_int(lc)] = true;
	}
	for (i = 0; i < graph->nnodes; i++)
		if (start[i])
		{
			walk_append_head(&ws, i);
			start_heads = lappend_int(start_heads, i);
		}
	pfree(start);

	if (start_heads != NIL)
		walk_setup(&ws, start_heads);

	cur = ws.first_key;
	while (cur >= 0)
	{
		int			candidate = ws.key_node[cur];
		const ApmNode *node = &graph->nodes[candidate];
		int			blocker;
		List	   *add = NIL;
		List	   *deps;
		int			k;

		CHECK_FOR_INTERRUPTS();

		/* another head that still needs the candidate goes first */
		blocker = walk_blocker(&ws, candidate);
		if (blocker != WALK_NONE)
		{
			cur = blocker;
			continue;
		}

		if (todo[candidate])
		{
			order[norder++] = candidate;
			todo[candidate] = false;
		}

		/* the next heads: parents, then normalized dependencies */
		for (k = 0; k < node->nparents; k++)
		{
			int			r = node->parents[k];

			if (r >= 0 && todo[r] && ws.head_key[r] < 0 &&
				!list_member_int(add, r))
				add = lappend_int(add, r);
		}
		deps = normalized_deps(&ws, candidate);
		foreach(lc, deps)
		{
			int			r = lfirst_int(lc);

			if (todo[r] && ws.head_key[r] < 0 && !list_member_int(add, r))
				add = lappend_int(add, r);
		}

		ws.head_key[candidate] = -1;
		if (add == NIL)
		{
			/* this branch is done: back to the previous head */
			int			next = ws.key_prev[cur];

			if (next < 0)
				next = ws.key_next[cur];

			walk_remove_key(&ws, cur);
			cur = next;
		}
		else
		{
			/* the first next head takes the candidate's place and key */
			ws.key_node[cur] = linitial_int(add);
			ws.head_key[linitial_int(add)] = cur;
			for_each_from(lc, add, 1)
				walk_append_head(&ws, lfirst_int(lc));
		}
		list_free(add);
		list_free(deps);

		/* the candidate is no longer a head: what lies under it may change */
		ws.reach[candidate] = WALK_NONE;
		ws.known[candidate] = true;
		walk_forget_below(&ws, candidate);
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
	*count = norder;
	return order;
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

/* list_sort comparator of C strings */
static int
compare_string_cells(const ListCell *a, const ListCell *b)
{
	return strcmp(lfirst(a), lfirst(b));
}

/*
 * missing_revisions lists the unregistered revisions that members name as
 * parents or dependencies, each once, sorted: a graph may be partial (a
 * branch whose base is not registered yet), and only what an operation
 * touches has to be complete.
 */
static List *
missing_revisions(const ApmGraph *graph, const bool *member)
{
	List	   *missing = NIL;
	const char *prev = NULL;
	ListCell   *lc;
	List	   *unique = NIL;
	int			i,
				j;

	for (i = 0; i < graph->nnodes; i++)
	{
		const ApmNode *node = &graph->nodes[i];

		CHECK_FOR_INTERRUPTS();
		if (!member[i])
			continue;
		for (j = 0; j < node->nparents; j++)
			if (node->parents[j] < 0)
				missing = lappend(missing, node->parent_ids[j]);
		for (j = 0; j < node->ndeps; j++)
			if (node->deps[j] < 0)
				missing = lappend(missing, node->dep_ids[j]);
	}
	list_sort(missing, compare_string_cells);
	foreach(lc, missing)
	{
		if (prev == NULL || strcmp(prev, lfirst(lc)) != 0)
			unique = lappend(unique, lfirst(lc));
		prev = lfirst(lc);
	}
	return unique;
}

/*
 * apm_graph_require_known refuses target when a member names a revision
 * that is not registered (missing_revisions), naming every missing one.
 */
void
apm_graph_require_known(const ApmGraph *graph, const bool *member, const char *target)
{
	List	   *missing = missing_revisions(graph, member);

	if (missing != NIL)
		ereport(ERROR,
				(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
				 errmsg("target \"%s\" needs revisions that are not registered", target),
				 errdetail("Missing: %s.", apm_join_strings(missing, ", ")),
				 errhint("Register them first, or correct the down_revision or depends_on that names them.")));
}
