/*-------------------------------------------------------------------------
 *
 * ap_migrate.h
 *	  Shared declarations of the ap_migrate extension.
 *
 * The extension is layered so that data flows one way:
 *
 *	 funcs.c     SQL-callable surface: argument checks, result building
 *	   |
 *	 verify.c    verification: apply, revert, re-apply, always rolled back
 *	   |
 *	 execute.c   operations: locking, running steps, bookkeeping
 *	 offline.c   offline mode: the same operations as a psql script
 *	 register.c  registration: validation of a revision, then storage
 *	   |
 *	 worker.c    non-transactional steps, at top level in a background worker
 *	 lint.c      lock-aware lint: parse tree plus live catalog
 *	 fingerprint.c  schema fingerprints, their comparison, drift
 *	 touched.c   which objects a step touches (hooks, while verify runs)
 *	 resolve.c   targets and plans over an in-memory graph (pure logic)
 *	 validate.c  the validation report over the graph and the catalog
 *	 graph.c     the revision graph: building, heads, closures, order
 *	 sqlcheck.c  checks of migration SQL with the server's parser
 *	 script.c    the migration file format
 *	   |
 *	 catalog.c   every read and write of the ap_migrate.* tables (SPI)
 *	 checksum.c  the checksum of a revision
 *	 stepenv.c   the environment a step runs in: rights, pinned settings,
 *	             lock retries (shared by execute.c and worker.c)
 *	 citus.c     running on Citus: coordinator only, sequential DDL mode
 *
 *	 guard.c     the trigger on those tables: direct inserts only to restore
 *	   |
 *	 util.c      general helpers: Lists of C strings, the active snapshot
 *
 * Copyright (c) 2026, ap_migrate developers
 *
 * IDENTIFICATION
 *	  src/ap_migrate.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef AP_MIGRATE_H
#define AP_MIGRATE_H

#include "catalog/pg_extension.h"
#include "compat.h"
#include "datatype/timestamp.h"
#include "lib/stringinfo.h"
#include "nodes/pg_list.h"
#include "utils/guc.h"

/*
 * Everything declared here is internal to the library: hidden, so that a
 * call between its files is a direct call and not a relocation the dynamic
 * loader resolves when a backend loads the library (by walking every
 * shared library the server links before it reaches this one).  Only the
 * entry points are exported: the SQL-callable functions, _PG_init, the
 * worker's main function, the magic block.  PostgreSQL 16's PGXS builds
 * modules with -fvisibility=hidden to the same end.
 */
#if defined(__GNUC__) || defined(__clang__)
#pragma GCC visibility push(hidden)
#endif

/* Schema holding the catalog tables (fixed: the extension is not relocatable) */
#define APM_SCHEMA_NAME		"ap_migrate"

/* Longest revision id, branch label or target accepted, in bytes */
#define APM_MAX_ID_LEN		128

/* Length of an Alembic-style revision id */
#define APM_HEX_ID_LEN		12

/*
 * The lock that serializes every operation changing the catalog.  It is an
 * object lock of the default lock method, not an advisory lock: no SQL
 * function can take or release it (pg_advisory_lock() and
 * pg_advisory_unlock_all() work on the user lock method only), so neither
 * another role nor migration SQL can block ap_migrate with it or drop it in
 * the middle of an operation.  Operators see it in pg_locks as locktype
 * 'object', classid 'pg_extension'::regclass, objid 1634758247 ('apmg'),
 * objsubid 1: core commands lock extensions with objsubid 0 only, so the
 * tag cannot meet a lock taken on a real extension.
 */
#define APM_LOCK_OBJID		1634758247
#define APM_LOCK_OBJSUBID	1
#define APM_SET_LOCKTAG(tag) \
	SET_LOCKTAG_OBJECT((tag), MyDatabaseId, ExtensionRelationId, \
					   APM_LOCK_OBJID, APM_LOCK_OBJSUBID)

/* Version of the checksum definition stored with every revision */
#define APM_CHECKSUM_ALGORITHM 1

/* Values of ap_migrate.revision_id_format */
typedef enum ApmIdFormat
{
	APM_ID_FORMAT_HEX12,		/* exactly 12 lowercase hex digits (Alembic) */
	APM_ID_FORMAT_RELAXED		/* letters, digits, '_' and '.', up to 128 */
} ApmIdFormat;

/* settings (ap_migrate.c) */
extern int	apm_revision_id_format;
extern bool apm_allow_superuser_migrations;
extern int	apm_lock_timeout;
extern int	apm_lock_retries;
extern int	apm_lock_retry_delay;
extern int	apm_lock_wait_timeout;
extern bool apm_restore;
extern bool apm_citus_sequential;
extern bool apm_record_fingerprint;
extern int	apm_lint_on_register_mode;
extern char *apm_lint_disable;
extern int	apm_lint_min_severity;

/*
 * A revision as it is registered: the input of registration and what the
 * catalog returns for one revision.
 */
typedef struct ApmRevisionDef
{
	char	   *id;
	List	   *parents;		/* of char *, in declared order */
	char	   *message;
	char	   *upgrade_sql;
	char	   *downgrade_sql;	/* NULL when irreversible */
	List	   *branch_labels;	/* of char * */
	List	   *depends_on;		/* of char * */
	bool		transactional;
	Oid			owner;
	char	   *search_path;	/* the registering session's search_path */
} ApmRevisionDef;

/*
 * One revision in the in-memory graph.  Edges are indexes into
 * ApmGraph.nodes; a parent or dependency that is not registered is kept by
 * id only (index -1) so that it can be reported.
 */
typedef struct ApmNode
{
	char	   *id;
	int64		seq;			/* registration order */
	int			nparents;
	char	  **parent_ids;
	int		   *parents;		/* -1 for an unknown parent */
	int			ndeps;
	char	  **dep_ids;
	int		   *deps;			/* -1 for an unknown dependency */
	int			nchildren;
	int		   *children;		/* in registration order */
	int			ndependents;
	int		   *dependents;		/* revisions depending on this one */
	int			nlabels;
	char	  **labels;
	bool		transactional;
	bool		has_downgrade;
	Oid			owner;
	bool		applied;
	bool		drifted;		/* applied with another checksum */
} ApmNode;

typedef struct ApmGraph
{
	int			nnodes;
	int			capacity;
	ApmNode    *nodes;			/* in registration order */
	struct apm_idmap_hash *idmap;	/* id -> index */
	List	   *orphans;		/* applied ids that are not registered */
} ApmGraph;

/* What an operation does */
typedef enum ApmOperation
{
	APM_UPGRADE,
	APM_DOWNGRADE,
	APM_STAMP					/* for resolution: upgrade or downgrade */
} ApmOperation;

/* The ordered steps of an upgrade or a downgrade */
typedef struct ApmPlan
{
	ApmOperation operation;		/* APM_UPGRADE or APM_DOWNGRADE */
	int			nsteps;
	int		   *steps;			/* node indexes, in execution order */
} ApmPlan;

/* One row of the validation report */
typedef struct ApmProblem
{
	bool		is_error;
	const char *code;
	const char *revision;		/* may be NULL */
	char	   *detail;
} ApmProblem;

/* Severity of a lint finding (ap_migrate.lint_min_severity) */
typedef enum ApmLintSeverity
{
	APM_LINT_INFO,
	APM_LINT_WARNING,
	APM_LINT_ERROR
} ApmLintSeverity;

/* Values of ap_migrate.lint_on_register */
typedef enum ApmLintRegisterMode
{
	APM_LINT_REGISTER_OFF,
	APM_LINT_REGISTER_WARN,
	APM_LINT_REGISTER_REFUSE
} ApmLintRegisterMode;

/* One finding of the lint */
typedef struct ApmLintRow
{
	const char *revision;
	int			stmtno;			/* 1-based statement of the upgrade SQL */
	int			line;			/* where that statement starts */
	const char *code;			/* stable rule code */
	const char *severity;		/* "info", "warning" or "error" */
	ApmLintSeverity level;
	char	   *message;
	const char *hint;			/* the safe rewrite */
} ApmLintRow;

/* revisions whose SQL the lint reads at a time */
#define APM_LINT_BATCH 100

/* A schema fingerprint: objects sorted by name (C collation) */
typedef struct ApmFingerprint
{
	int			n;
	char	  **objects;		/* "table public.t", "index public.i", ... */
	char	  **descriptions;	/* or their MD5 digests, when recorded */
	/* the unit each object belongs to: its kind and OID */
	char	   *unit_kinds;		/* 'r'elation, 'f'unction, 't'ype, ... */
	Oid		   *units;
} ApmFingerprint;

/* Units of a scoped fingerprint: OIDs of what a step touched (touched.c) */
typedef struct ApmScope
{
	List	   *relations;
	List	   *functions;
	List	   *types;
	List	   *namespaces;
	List	   *extensions;
} ApmScope;

/* One object that differs between two fingerprints */
typedef struct ApmSchemaChange
{
	const char *object;
	const char *change;			/* "added", "removed" or "changed" */
} ApmSchemaChange;

/* One row of ap_migrate_verify() */
typedef struct ApmVerifyRow
{
	const char *revision;
	const char *status;			/* ok, differs, failed, skipped, irreversible */
	char	   *detail;
	char	   *error;			/* the SQLSTATE and message of a failure */
} ApmVerifyRow;

/* util.c */
extern char *apm_join_strings(List *strings, const char *sep);
extern Datum apm_text_array(List *items);
extern bool apm_push_snapshot_if_none(void);

/* graph.c */
extern ApmGraph *apm_graph_create(int capacity);
extern ApmNode *apm_graph_add_node(ApmGraph *graph, const char *id);
extern void apm_graph_link(ApmGraph *graph);
extern int	apm_graph_lookup(const ApmGraph *graph, const char *id);
extern List *apm_graph_heads(const ApmGraph *graph);
extern List *apm_graph_bases(const ApmGraph *graph);
extern List *apm_graph_current(const ApmGraph *graph);
extern List *apm_graph_find_cycle(const ApmGraph *graph);
extern void apm_graph_check_usable(const ApmGraph *graph, bool check_state);
extern void apm_graph_require_known(const ApmGraph *graph, const bool *member,
									const char *target);
extern bool *apm_graph_ancestors(const ApmGraph *graph, List *from,
								 bool stop_at_applied);
extern bool *apm_graph_descendants(const ApmGraph *graph, List *from);
extern bool *apm_graph_ancestors_by_parents(const ApmGraph *graph, int node);
extern bool *apm_graph_lineage(const ApmGraph *graph, int node);
extern bool *apm_graph_descendants_by_parents(const ApmGraph *graph, List *from);
extern int *apm_graph_order(const ApmGraph *graph, const bool *member,
							bool reverse, int *count);
extern int *apm_graph_walk_order(const ApmGraph *graph, const bool *member,
								 List *heads, int *count, int *unreached);
extern List *apm_graph_ids(const ApmGraph *graph, List *indexes);
extern char *apm_graph_join_ids(const ApmGraph *graph, List *indexes,
								const char *sep);

/* resolve.c */
extern List *apm_resolve_target(const ApmGraph *graph, const char *target,
								ApmOperation operation);
extern ApmPlan *apm_resolve_plan(const ApmGraph *graph, const char *target,
								 ApmOperation operation);
extern bool *apm_resolve_range(const ApmGraph *graph, const char *range,
							   List **top);
extern List *apm_resolve_stamp(const ApmGraph *graph, const char *target);

/* validate.c */
extern List *apm_validate(const ApmGraph *graph);

/* sqlcheck.c */

/* what a statement of a body is to ap_migrate (apm_sql_roles) */
typedef enum ApmStmtRole
{
	APM_STMT_RUN,				/* runs */
	APM_STMT_SKIP,				/* a wrapper's BEGIN or COMMIT */
	APM_STMT_COMMIT_POINT,		/* COMMIT AND CHAIN: commit, go on */
	APM_STMT_REFUSED			/* transaction control that cannot run */
} ApmStmtRole;

extern void apm_sql_check(const char *sql, const char *revision,
						  const char *section, bool transactional);
extern List *apm_sql_split(const char *sql);
extern ApmStmtRole *apm_sql_roles(List *stmts, int *commit_points);
extern int	apm_sql_skip_blank(const char *sql, int offset);
extern int	apm_sql_stmt_end(const char *sql, const RawStmt *raw);
extern int	apm_sql_line_of(const char *sql, int offset);

/* lint.c */
extern List *apm_lint_sql(const char *revision, const char *sql,
						  bool transactional, const char *search_path);
extern List *apm_lint_revisions(const char *target);
extern void apm_lint_on_register(const ApmRevisionDef *def);

/* fingerprint.c */
extern ApmFingerprint *apm_fingerprint_take(const ApmScope *scope);
extern List *apm_fingerprint_diff(const ApmFingerprint *before,
								  const ApmFingerprint *after);
extern char *apm_fingerprint_describe_changes(List *changes);
extern void apm_fingerprint_record(void);
extern List *apm_fingerprint_drift(bool *recorded, TimestampTz *recorded_at);

/* touched.c */
extern void apm_touched_start(MemoryContext parent);
extern void apm_touched_stop(void);
extern ApmScope *apm_touched_take(void);
extern void apm_scope_union(ApmScope *a, const ApmScope *b);

/* script.c */
extern ApmRevisionDef *apm_script_parse(const char *script);

/* catalog.c */
extern bool apm_catalog_is_writing(void);
extern TimestampTz apm_catalog_last_step_end(void);
extern ApmGraph *apm_catalog_load_graph(void);
extern List *apm_catalog_heads(bool *all_applied, List **current);
extern ApmRevisionDef *apm_catalog_fetch(const char *id, bool *applied,
										 char **checksum,
										 TimestampTz *registered_at);
extern ApmRevisionDef **apm_catalog_fetch_steps(char **ids, int n, char **checksums);
extern char *apm_catalog_last_id(void);
extern char *apm_catalog_checksum(const char *id);
extern bool apm_catalog_insert(const ApmRevisionDef *def, const char *checksum);
extern void apm_catalog_update(const ApmRevisionDef *def, const char *checksum,
							   List *old_parents);
extern bool apm_catalog_is_referenced(const char *id);
extern char *apm_catalog_name_owner(const char *name, bool *is_label);
extern void apm_catalog_set_owner(const char *id, Oid owner);
extern void apm_catalog_mark_applied(const char *id, const char *checksum);
extern void apm_catalog_unmark_applied(const char *id);
extern void apm_catalog_repair_applied(void);
extern void apm_catalog_log(ApmOperation operation, const char *revision,
							List *from, List *to, TimestampTz started_at,
							TimestampTz finished_at, bool success);
extern char *apm_catalog_record_steps(ApmOperation operation, int n, char **ids,
									  char **checksums, char **froms, char **tos,
									  TimestampTz *started, TimestampTz *finished,
									  bool *missing);
extern char **apm_catalog_messages(const ApmGraph *graph, const int *indexes,
								   int count);
extern List *apm_catalog_checksum_mismatches(void);
extern void apm_catalog_save_fingerprint(const ApmFingerprint *fp);
extern ApmFingerprint *apm_catalog_load_fingerprint(TimestampTz *recorded_at);

/* register.c */
extern bool apm_register(ApmRevisionDef *def);
extern bool apm_is_hex12(const char *id);
extern void apm_check_id_as(const char *id, const char *what, ApmIdFormat format);
extern void apm_check_label(const char *label);
extern void apm_check_message(const char *id, const char *message);
extern const char *apm_find_duplicate(List *strings);

/* checksum.c */
#define APM_CHECKSUM_LEN (PG_SHA256_DIGEST_LENGTH * 2)
extern void apm_checksum_compute(pg_cryptohash_ctx *ctx, StringInfo buf,
								 const char *upgrade_sql, int64 upgrade_len,
								 const char *downgrade_sql, int64 downgrade_len,
								 bool transactional, char *hex);
extern char *apm_checksum(const char *upgrade_sql, const char *downgrade_sql,
						  bool transactional);

/* execute.c */
extern void apm_begin(const char *funcname, bool mutating);
extern void apm_end(bool mutating);
extern void apm_locked(const char *funcname, void (*body) (void *arg),
					   void *arg);
extern ApmGraph *apm_load_usable_graph(bool check_state);
extern char *apm_run(ApmOperation operation, const char *target);
extern void apm_run_stepwise(ApmOperation operation, const char *target);
extern void apm_check_steps(const ApmGraph *graph, const ApmPlan *plan,
							bool allow_nontransactional);
extern char *apm_mark(ApmOperation operation, const char *revision,
					  const char *checksum, bool record);
extern void apm_run_step_sql(const ApmNode *node, const ApmRevisionDef *def,
							 ApmOperation operation);

/* stepenv.c */
extern bool apm_operation_active(void);
extern void apm_set_operation_active(bool active);
extern bool apm_session_is_owner(Oid owner);
extern void apm_pin_step_settings(GucAction action);
extern void apm_check_step_state(Oid owner, Oid session_user);
extern List *apm_kept_settings(int nestlevel);
extern void apm_restore_kept_settings(List *kept, Oid owner);
extern int	apm_retry_delay(int attempt);
extern void apm_sleep(int ms);
extern void apm_retry_notice(const char *revision, const char *reason,
							 int attempt, int delay);

/* citus.c */
extern void apm_citus_check_node(const char *funcname);
extern void apm_citus_begin_transaction(void);

/* verify.c */
extern List *apm_verify(const char *target);

/* worker.c */

/* how a step run by the background worker ended */
typedef struct ApmWorkerOutcome
{
	bool		done;			/* every statement ran */
	int			stmtno;			/* the statement it stopped at, 1-based */
	int			offset;			/* of that statement in the SQL */
	int			sqlerrcode;		/* its error, when message is set */
	char	   *message;		/* NULL: no error was reported */
	char	   *detail;
	char	   *hint;
	char	   *cleanup;		/* what became of invalid indexes it left */
} ApmWorkerOutcome;

typedef struct ApmWorker ApmWorker;

extern ApmWorker *apm_worker_start(Oid owner);
extern Oid	apm_worker_owner(const ApmWorker *w);
extern bool apm_worker_idle(const ApmWorker *w);
extern void apm_worker_run(ApmWorker *w, const char *revision, const char *sql,
						   const char *search_path, ApmWorkerOutcome *outcome);
extern void apm_worker_stop(ApmWorker *w);

/* offline.c */
extern char *apm_offline_script(const ApmGraph *graph, const ApmPlan *plan,
								const char *target);

#if defined(__GNUC__) || defined(__clang__)
#pragma GCC visibility pop
#endif

#endif							/* AP_MIGRATE_H */
