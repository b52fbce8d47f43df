/*-------------------------------------------------------------------------
 *
 * execute.c
 *	  Operations on the applied state: upgrade, downgrade and stamp, run in
 *	  the caller's transaction.
 *
 * Every operation that changes the catalog follows the same protocol:
 *
 *	 1. refuse up front what cannot work: a call from migration SQL
 *	    (re-entrancy), a read-only transaction or a standby, a REPEATABLE
 *	    READ or SERIALIZABLE transaction (its snapshot predates the lock, so
 *	    it could not see another session's work);
 *	 2. take the lock that serializes all of them (APM_SET_LOCKTAG: a lock
 *	    no SQL function can take or release), for the transaction, and only then read the state, each SPI statement taking a new
 *	    READ COMMITTED snapshot that sees whatever the previous holder of the
 *	    lock committed;
 *	 3. plan the whole call, and refuse it before any step runs if a step
 *	    cannot run (irreversible, not transactional in a function call, or
 *	    owned by a superuser while the caller is not one);
 *	 4. run the steps.  Each step runs in a GUC nest level (so SET and
 *	    set_config() inside it cannot leak into the session), as the
 *	    revision's owner (in a security-restricted operation when that is
 *	    not the caller), with an error context naming the revision, its
 *	    message and the failing statement, and in a memory context that is
 *	    reset afterwards.  Its statements run with ap_migrate.lock_timeout,
 *	    and a step that fails to get a lock is retried (lock safety).  The
 *	    procedures commit after each step and hand a non-transactional step
 *	    to a background worker (worker.c).
 *
 * An error anywhere aborts the caller's transaction (or subtransaction), so
 * every step and every bookkeeping row of the call is rolled back together,
 * and the error keeps its original SQLSTATE.  The lock goes with the
 * transaction; none can outlive a crash.
 *
 * Copyright (c) 2026, ap_migrate developers
 *
 * IDENTIFICATION
 *	  src/execute.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_authid.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "parser/parser.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "ap_migrate.h"
#include "compat.h"

/* what the error context of a running step shows */
typedef struct StepContext
{
	const char *verb;
	const char *revision;
	const char *message;
	const char *sql;
	int			stmtno;			/* 0 before the first statement */
	int			offset;			/* of the current statement in sql */
	int			committed;		/* statements committed at commit points */
} StepContext;

static const char *const operation_verbs[] = {"upgrade", "downgrade", "stamp"};

/* steps that ran and are not recorded yet (run_steps) */
#define APM_RECORD_BATCH 1000

/* the bodies of the next steps, read ahead in one query (fetch_bodies) */
#define APM_FETCH_BATCH 100

typedef struct StepBodies
{
	MemoryContext cxt;			/* holds them; reset by each fetch */
	int			first;			/* plan index of defs[0] */
	int			count;
	ApmRevisionDef **defs;
	char	   *checksums[APM_FETCH_BATCH];
} StepBodies;

/* the background worker of a call, kept from one step to the next */
typedef struct WorkerSlot
{
	MemoryContext cxt;			/* the call's: outlives steps and commits */
	ApmWorker  *worker;			/* NULL: none running */
} WorkerSlot;

typedef struct StepRecords
{
	MemoryContext cxt;			/* holds the strings; reset by each flush */
	int			count;
	char	   *ids[APM_RECORD_BATCH];
	char	   *checksums[APM_RECORD_BATCH];
	char	   *froms[APM_RECORD_BATCH];
	char	   *tos[APM_RECORD_BATCH];
	TimestampTz started[APM_RECORD_BATCH];
	TimestampTz finished[APM_RECORD_BATCH];
} StepRecords;

/* The checks every call that changes the catalog makes first */
static void
check_mutating_call(const char *funcname)
{
	if (apm_operation_active())
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("%s cannot be called while an ap_migrate operation is running", funcname),
				 errdetail("Migration SQL must not register, apply or revert revisions.")));
	PreventCommandIfReadOnly(funcname);
	PreventCommandDuringRecovery(funcname);
	if (IsolationUsesXactSnapshot())
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TRANSACTION_STATE),
				 errmsg("%s cannot run in a REPEATABLE READ or SERIALIZABLE transaction", funcname),
				 errdetail("Its snapshot was taken before the ap_migrate lock, so it could miss another session's migrations."),
				 errhint("Call it in a READ COMMITTED transaction.")));
}

/*
 * The pid of the process holding the serializing lock, or 0 if none is
 * found (it may just have been released).  Only called on the slow path.
 */
static int
operation_lock_holder(const LOCKTAG *tag)
{
	LockData   *data = GetLockStatusData();
	int			i;

	for (i = 0; i < data->nelements; i++)
	{
		LockInstanceData *instance = &data->locks[i];

		if (memcmp(&instance->locktag, tag, sizeof(LOCKTAG)) == 0 &&
			(instance->holdMask & LOCKBIT_ON(ExclusiveLock)) != 0 &&
			instance->pid != MyProcPid)
			return instance->pid;
	}
	return 0;
}

/*
 * lock_operation takes the lock that serializes every call that
 * changes the catalog, for the transaction or (session) for the session.
 *
 * When another session holds it, the wait is limited by
 * ap_migrate.lock_wait_timeout alone: the session's lock_timeout is meant
 * for the migration's own statements, and a waiting application instance
 * should not fail just because another one is busy migrating.  Running
 * out of time is reported as what it is, naming the process that holds
 * the lock.  Waiting in the lock manager (not polling) keeps waiters in
 * order and lets deadlock detection see the wait.
 */
static void
lock_operation(const char *funcname, bool session)
{
	LOCKTAG		tag;
	int			holder;
	int			nestlevel;
	char		timeout[32];
	MemoryContext oldcxt = CurrentMemoryContext;

	APM_SET_LOCKTAG(tag);
	if (LockAcquire(&tag, ExclusiveLock, session, true) != LOCKACQUIRE_NOT_AVAIL)
		return;

	holder = operation_lock_holder(&tag);
	nestlevel = NewGUCNestLevel();
	snprintf(timeout, sizeof(timeout), "%d", apm_lock_wait_timeout);
	(void) set_config_option("lock_timeout", timeout, PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	PG_TRY();
	{
		(void) LockAcquire(&tag, ExclusiveLock, session, false);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		if (edata->sqlerrcode != ERRCODE_LOCK_NOT_AVAILABLE)
			PG_RE_THROW();
		FlushErrorState();
		ereport(ERROR,
				(errcode(ERRCODE_LOCK_NOT_AVAILABLE),
				 errmsg("another ap_migrate operation is in progress"),
				 holder != 0 ?
				 errdetail("Process %d holds the ap_migrate lock; %s gave up after waiting %d ms (ap_migrate.lock_wait_timeout).",
						   holder, funcname, apm_lock_wait_timeout) :
				 errdetail("%s gave up after waiting %d ms for the ap_migrate lock (ap_migrate.lock_wait_timeout).",
						   funcname, apm_lock_wait_timeout),
				 errhint("Try again when the other operation has finished, or raise ap_migrate.lock_wait_timeout.")));
	}
	PG_END_TRY();
	AtEOXact_GUC(false, nestlevel);
}

/*
 * apm_begin starts an ap_migrate call: for a call that changes the catalog
 * it makes the checks of step 1 and takes the lock, then connects to SPI
 * and refuses to go on on a Citus worker node.  funcname names the SQL
 * function in errors.
 */
void
apm_begin(const char *funcname, bool mutating)
{
	if (mutating)
	{
		check_mutating_call(funcname);
		lock_operation(funcname, false);
	}

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	apm_citus_check_node(funcname);
	if (mutating)
		apm_set_operation_active(true);
}

/*
 * apm_end finishes an ap_migrate call.  Only the call that changes the
 * catalog clears the re-entrancy flag: a read-only ap_migrate function
 * called from migration SQL must leave it set.
 */
void
apm_end(bool mutating)
{
	if (mutating)
		apm_set_operation_active(false);
	if (SPI_finish() != SPI_OK_FINISH)
		elog(ERROR, "SPI_finish failed");
}

/*
 * apm_locked runs body(arg) as a call that changes the catalog: checks,
 * lock and SPI connection first (apm_begin), apm_end after.  If the body
 * fails, the re-entrancy flag is cleared before the error propagates; the
 * transaction abort takes care of SPI, the lock, the user id and the GUCs.
 */
void
apm_locked(const char *funcname, void (*body) (void *arg), void *arg)
{
	apm_begin(funcname, true);
	PG_TRY();
	{
		body(arg);
	}
	PG_CATCH();
	{
		apm_set_operation_active(false);
		PG_RE_THROW();
	}
	PG_END_TRY();
	apm_end(true);
}

/*
 * apm_load_usable_graph loads the graph and refuses to go on unless it can
 * be navigated and, with check_state, the applied state can be trusted.
 */
ApmGraph *
apm_load_usable_graph(bool check_state)
{
	ApmGraph   *graph = apm_catalog_load_graph();

	apm_graph_check_usable(graph, check_state);
	return graph;
}

/* Error context of a running step */
static void
step_error_callback(void *arg)
{
	StepContext *ctx = (StepContext *) arg;

	const char *open = ctx->message[0] ? " (" : "";
	const char *close = ctx->message[0] ? ")" : "";

	if (ctx->stmtno > 0)
		errcontext("%s of revision \"%s\"%s%s%s, statement %d at line %d",
				   ctx->verb, ctx->revision, open, ctx->message, close,
				   ctx->stmtno, apm_sql_line_of(ctx->sql, ctx->offset));
	else
		errcontext("%s of revision \"%s\"%s%s%s", ctx->verb, ctx->revision,
				   open, ctx->message, close);
	if (ctx->committed > 0)
		errcontext("statements 1 to %d of revision \"%s\" were committed at its commit points; the revision was not recorded as applied",
				   ctx->committed, ctx->revision);
}

/*
 * Set up the error context of a step (the revision, its message, the
 * statement running) and push it; the caller pops it (errcallback).
 */
static void
enter_step_context(StepContext *ctx, ErrorContextCallback *errcallback,
				   ApmOperation operation, const ApmNode *node,
				   const ApmRevisionDef *def)
{
	ctx->verb = operation_verbs[operation];
	ctx->revision = node->id;
	ctx->message = def->message;
	ctx->sql = operation == APM_UPGRADE ? def->upgrade_sql : def->downgrade_sql;
	ctx->stmtno = 0;
	ctx->offset = 0;
	ctx->committed = 0;
	errcallback->callback = step_error_callback;
	errcallback->arg = ctx;
	errcallback->previous = error_context_stack;
	error_context_stack = errcallback;
}

/* Whether a role has LOGIN (false if it does not exist) */
static bool
role_can_login(Oid role)
{
	HeapTuple	tuple = SearchSysCache1(AUTHOID, ObjectIdGetDatum(role));
	bool		result = false;

	if (HeapTupleIsValid(tuple))
	{
		result = ((Form_pg_authid) GETSTRUCT(tuple))->rolcanlogin;
		ReleaseSysCache(tuple);
	}
	return result;
}

/*
 * apm_check_steps refuses the whole call before any step runs if one of its
 * steps cannot run: it has no downgrade, it needs to run outside a
 * transaction block (unless the caller can do that: offline scripts), or
 * it belongs to a superuser and the caller is not one.
 */
void
apm_check_steps(const ApmGraph *graph, const ApmPlan *plan,
				bool allow_nontransactional)
{
	bool		caller_is_superuser = superuser();
	int			i;

	for (i = 0; i < plan->nsteps; i++)
	{
		const ApmNode *node = &graph->nodes[plan->steps[i]];

		if (plan->operation == APM_DOWNGRADE && !node->has_downgrade)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("revision \"%s\" has no downgrade and cannot be reverted", node->id),
					 errdetail("Reverting it is step %d of %d; no step was run.", i + 1, plan->nsteps),
					 errhint("Downgrade to a revision above it, or use ap_migrate_stamp() to record a manual revert.")));
		if (!node->transactional && !allow_nontransactional)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("revision \"%s\" is not transactional and cannot be applied inside a transaction",
							node->id),
					 errdetail("It is step %d of %d; no step was run.", i + 1, plan->nsteps),
					 errhint("Use CALL ap_migrate_run(), which commits each step and runs such revisions outside a transaction block.")));
		if (!SearchSysCacheExists1(AUTHOID, ObjectIdGetDatum(node->owner)))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("the owner of revision \"%s\" no longer exists", node->id),
					 errhint("Register the revision again with ap_migrate_add() or ap_migrate_load(); the registering role (or the owner given) becomes its owner.")));
		if (!caller_is_superuser && superuser_arg(node->owner) &&
			!apm_allow_superuser_migrations)
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("revision \"%s\" is owned by a superuser and can only be applied by a superuser",
							node->id),
					 errdetail("It is step %d of %d; no step was run.", i + 1, plan->nsteps),
					 errhint("A superuser can allow this with ap_migrate.allow_superuser_migrations.")));
		if (!node->transactional && allow_nontransactional &&
			!APM_BGWORKER_LOGIN_BYPASS && !apm_session_is_owner(node->owner) &&
			!role_can_login(node->owner))
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("revision \"%s\" is not transactional and its owner cannot log in", node->id),
					 errdetail("It is step %d of %d; no step was run.  Its statements run in a background worker that logs in as its owner, \"%s\", and this server lets a worker log in only as a role with LOGIN.",
							   i + 1, plan->nsteps, GetUserNameFromId(node->owner, false)),
					 errhint("Let the owner log in (ALTER ROLE ... LOGIN), or apply the revision in a session that logged in as its owner.")));
	}
}

/*
 * Run one statement of migration SQL through SPI, mapping SPI's refusals
 * to proper errors.
 */
static void
run_statement(const char *stmt)
{
	int			ret = SPI_execute(stmt, false, 0);

	if (ret == SPI_ERROR_TRANSACTION)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TRANSACTION_TERMINATION),
				 errmsg("transaction control statements are not allowed in migration SQL")));
	if (ret == SPI_ERROR_COPY)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("COPY from stdin or to stdout is not allowed in migration SQL")));
	if (ret < 0)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
	SPI_freetuptable(SPI_tuptable);
}

/*
 * Run the SQL of one step, statement by statement, with exactly the rights
 * of owner (stepenv.c): as owner, with role changes refused
 * (SECURITY_LOCAL_USERID_CHANGE), and, unless the session is owner's own,
 * in a security-restricted operation and with the search_path recorded when
 * the revision was registered, pg_temp last: names in the owner's SQL must
 * not resolve to functions, operators or temporary tables the caller
 * planted, and nothing the SQL leaves in the session may run later with the
 * session's rights.  The GUC nest level undoes any setting the SQL changes;
 * the user id is restored after it.
 */
static void
run_sql(const char *sql, List *stmts, const ApmStmtRole *roles, int from,
		int to, Oid owner, const char *search_path, StepContext *ctx)
{
	MemoryContext stepcxt = CurrentMemoryContext;
	Oid			save_userid;
	Oid			session_user = GetSessionUserId();
	int			save_sec_context;
	int			save_nestlevel;
	bool		own_session = apm_session_is_owner(owner);
	List	   *kept;
	int			i;

	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetUserIdAndSecContext(owner, save_sec_context |
						   SECURITY_LOCAL_USERID_CHANGE |
						   (own_session ? 0 : SECURITY_RESTRICTED_OPERATION));
	save_nestlevel = NewGUCNestLevel();
	apm_pin_step_settings(GUC_ACTION_SAVE);
	if (!own_session)
	{
		char	   *path;

		if (search_path[0] != '\0')
			path = psprintf("%s, pg_temp", search_path);
		else
			path = pstrdup("pg_temp");

		(void) set_config_option("search_path", path, PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
	}

	for (i = from; i < to; i++)
	{
		RawStmt    *raw = list_nth_node(RawStmt, stmts, i);
		int			end = apm_sql_stmt_end(sql, raw);
		int			start = apm_sql_skip_blank(sql, raw->stmt_location);

		CHECK_FOR_INTERRUPTS();
		ctx->stmtno = i + 1;
		ctx->offset = start;
		if (roles[i] == APM_STMT_SKIP)
			continue;
		run_statement(pnstrdup(sql + start, end - start));
		apm_check_step_state(owner, session_user);
		MemoryContextSwitchTo(stepcxt);
	}

	/*
	 * Undo every change, plain SET and SET LOCAL included, except what an
	 * extension keeps for the transaction (stepenv.c), which is set again
	 * while the step's identity is still in force: the values are the
	 * owner's, and must not be recorded as set by the caller.
	 */
	kept = apm_kept_settings(save_nestlevel);
	AtEOXact_GUC(false, save_nestlevel);
	apm_restore_kept_settings(kept, owner);
	SetUserIdAndSecContext(save_userid, save_sec_context);
}

/*
 * Run the SQL of a step; when it fails to get a lock (55P03, from
 * lock_timeout or NOWAIT) try the whole step again, up to
 * ap_migrate.lock_retries times with a growing pause.  Each attempt runs in
 * a subtransaction so that a failed one leaves nothing behind: its
 * changes, locks, settings and user id go with the rollback.  In between,
 * the step holds no lock the failed attempt took, so the readers queued
 * behind it proceed.  Without retries no subtransaction is needed.
 */
static void
run_sql_with_retries(const char *sql, List *stmts, const ApmStmtRole *roles,
					 int from, int to, Oid owner, const char *search_path,
					 StepContext *ctx)
{
	MemoryContext stepcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	int			attempt;

	if (apm_lock_retries <= 0)
	{
		run_sql(sql, stmts, roles, from, to, owner, search_path, ctx);
		return;
	}

	for (attempt = 1;; attempt++)
	{
		volatile bool done = false;
		char	   *reason = NULL;

		BeginInternalSubTransaction(NULL);
		MemoryContextSwitchTo(stepcxt);
		PG_TRY();
		{
			ctx->stmtno = from;
			run_sql(sql, stmts, roles, from, to, owner, search_path, ctx);
			ReleaseCurrentSubTransaction();
			done = true;
		}
		PG_CATCH();
		{
			ErrorData  *edata;

			/*
			 * Roll the attempt back before anything else: an error must not
			 * leave this subtransaction open for the caller's abort to meet.
			 */
			MemoryContextSwitchTo(stepcxt);
			edata = CopyErrorData();
			FlushErrorState();
			RollbackAndReleaseCurrentSubTransaction();
			MemoryContextSwitchTo(stepcxt);
			CurrentResourceOwner = oldowner;
			if (edata->sqlerrcode != ERRCODE_LOCK_NOT_AVAILABLE ||
				attempt > apm_lock_retries)
				ReThrowError(edata);
			reason = edata->message;
		}
		PG_END_TRY();
		MemoryContextSwitchTo(stepcxt);
		CurrentResourceOwner = oldowner;
		if (done)
			break;

		apm_retry_notice(ctx->revision, reason, attempt, apm_retry_delay(attempt));
		apm_sleep(apm_retry_delay(attempt));
	}
}

/*
 * The lock must still be held when a step's work commits: a step recorded
 * without it could not be trusted.  No SQL can release it (it is not an
 * advisory lock); this is a check, not a mechanism.
 */
static void
check_lock_held(const char *revision)
{
	LOCKTAG		tag;

	APM_SET_LOCKTAG(tag);
	if (!apm_lock_held_by_me(&tag, ExclusiveLock))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the ap_migrate lock was lost while revision \"%s\" ran", revision),
				 errdetail("The revision was not recorded.")));
}

/*
 * Run the SQL of a transactional step: its statements in order, the
 * wrapper's BEGIN and COMMIT skipped, and at each commit point (sqlcheck.c)
 * the statements before it committed, which only the procedures can do
 * (can_commit).  A function call refuses such a step: everything it runs
 * is one transaction, so no step has run by the time it matters.
 */
static void
run_transactional(const char *sql, Oid owner, const char *search_path,
				  StepContext *ctx, bool can_commit)
{
	List	   *stmts = apm_sql_split(sql);
	int			n = list_length(stmts);
	int			commit_points;
	ApmStmtRole *roles = apm_sql_roles(stmts, &commit_points);
	int			from = 0;
	int			i;

	if (commit_points > 0 && !can_commit)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("revision \"%s\" has commit points and cannot be applied in one transaction",
						ctx->revision),
				 errdetail("Its SQL commits %d time(s) between its statements (COMMIT AND CHAIN).",
						   commit_points),
				 errhint("Use CALL ap_migrate_run(), which commits at each commit point.")));

	for (i = 0; i <= n; i++)
	{
		if (i < n && roles[i] != APM_STMT_COMMIT_POINT)
			continue;
		run_sql_with_retries(sql, stmts, roles, from, i, owner, search_path, ctx);
		if (i < n)
		{
			check_lock_held(ctx->revision);
			SPI_commit();
			ctx->committed = i + 1;
		}
		from = i + 1;
	}
}

/*
 * Run the SQL of a non-transactional step at top level, in a background
 * worker (worker.c), and turn its failure into this session's error.  The
 * current transaction is committed first: it has the step's catalog reads
 * and, in it, a snapshot the statements could end up waiting for; the
 * worker runs while this session holds neither.  The steps before were
 * committed already (only CALL ap_migrate_run() gets here).
 *
 * One worker serves the call's non-transactional steps of one owner, kept
 * across the transactional steps between them, so that a run of them pays
 * for starting a backend once (the first is started with the call, and
 * logs in while the steps before it run): after each step it resets its
 * session (a step never sees what an earlier one left there, and the
 * worker holds no lock while it waits).  A step of another owner gets a
 * worker of its own, logged in as that owner (worker.c); the worker is
 * stopped at the end of the call or on any error.
 */
static void
run_outside(const char *sql, Oid owner, const char *search_path,
			StepContext *ctx, WorkerSlot *slot)
{
	ApmWorkerOutcome outcome;
	StringInfoData detail;
	MemoryContext oldcxt;
	char	   *worker_path;

	SPI_commit();
	if (slot->worker != NULL &&
		(apm_worker_owner(slot->worker) != owner || !apm_worker_idle(slot->worker)))
	{
		apm_worker_stop(slot->worker);
		slot->worker = NULL;
	}
	if (slot->worker == NULL)
	{
		oldcxt = MemoryContextSwitchTo(slot->cxt);
		slot->worker = apm_worker_start(owner);
		MemoryContextSwitchTo(oldcxt);
	}
	if (apm_session_is_owner(owner))
		worker_path = NULL;
	else
		worker_path = psprintf("%s%spg_temp", search_path,
							   search_path[0] ? ", " : "");
	apm_worker_run(slot->worker, ctx->revision, sql, worker_path, &outcome);
	if (outcome.done)
		return;
	apm_worker_stop(slot->worker);	/* it ended with the failure */
	slot->worker = NULL;

	ctx->stmtno = outcome.stmtno;
	ctx->offset = outcome.offset;
	initStringInfo(&detail);
	if (outcome.detail)
		appendStringInfoString(&detail, outcome.detail);
	if (outcome.cleanup)
		appendStringInfo(&detail, "%s%s", detail.len > 0 ? " " : "", outcome.cleanup);
	if (outcome.stmtno == 2)
		appendStringInfo(&detail, "%sThe statement before it was committed; the revision was not recorded as applied.",
						 detail.len > 0 ? " " : "");
	else if (outcome.stmtno > 2)
		appendStringInfo(&detail, "%sThe %d statements before it were committed; the revision was not recorded as applied.",
						 detail.len > 0 ? " " : "", outcome.stmtno - 1);
	if (outcome.message == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_ADMIN_SHUTDOWN),
				 errmsg("the background worker running revision \"%s\" ended before finishing", ctx->revision),
				 detail.len > 0 ? errdetail_internal("%s", detail.data) : 0));
	ereport(ERROR,
			(errcode(outcome.sqlerrcode),
			 errmsg_internal("%s", outcome.message),
			 detail.len > 0 ? errdetail_internal("%s", detail.data) : 0,
			 outcome.hint ? errhint("%s", outcome.hint) : 0));
}

/* Parent ids of a node, as a List */
static List *
parent_list(const ApmNode *node)
{
	List	   *ids = NIL;
	int			j;

	for (j = 0; j < node->nparents; j++)
		ids = lappend(ids, node->parent_ids[j]);
	return ids;
}

/*
 * Run one step: verify its SQL (def, read by fetch_bodies), announce it,
 * run it, keep what to record.
 */
static void
run_step(ApmGraph *graph, int index, ApmOperation operation,
		 const ApmRevisionDef *def, const char *stored_checksum,
		 StepRecords *records, bool can_commit, WorkerSlot *slot)
{
	ApmNode    *node = &graph->nodes[index];
	TimestampTz started_at = GetCurrentTimestamp();
	ErrorContextCallback errcallback;
	StepContext ctx;
	const char *sql;
	List	   *parents = parent_list(node);
	List	   *self = list_make1(node->id);
	char	   *parents_text;
	MemoryContext oldcxt;
	char	   *froms;
	char	   *tos;
	int			r;

	if (strcmp(apm_checksum(def->upgrade_sql, def->downgrade_sql, def->transactional),
			   stored_checksum) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("revision \"%s\" was changed after it was registered", node->id),
				 errdetail("Its SQL does not match its stored checksum; no SQL of it was run."),
				 errhint("Register the revision again with ap_migrate_add() or ap_migrate_load().")));
	sql = operation == APM_UPGRADE ? def->upgrade_sql : def->downgrade_sql;

	parents_text = node->nparents > 0 ? apm_join_strings(parents, ", ") : "base";
	if (operation == APM_UPGRADE)
		ereport(NOTICE,
				(errmsg("running upgrade %s -> %s%s%s", parents_text, node->id,
						def->message[0] ? ", " : "", def->message)));
	else
		ereport(NOTICE,
				(errmsg("running downgrade %s -> %s%s%s", node->id, parents_text,
						def->message[0] ? ", " : "", def->message)));

	enter_step_context(&ctx, &errcallback, operation, node, def);
	if (node->transactional)
		run_transactional(sql, node->owner, def->search_path, &ctx, can_commit);
	else
		run_outside(sql, node->owner, def->search_path, &ctx, slot);

	/*
	 * Keep what to record; flush_records writes it, after checking that no
	 * step's SQL changed or removed its revision (or dropped the extension).
	 */
	froms = apm_join_strings(operation == APM_UPGRADE ? parents : self, ",");
	tos = apm_join_strings(operation == APM_UPGRADE ? self : parents, ",");
	oldcxt = MemoryContextSwitchTo(records->cxt);
	r = records->count++;
	records->ids[r] = pstrdup(node->id);
	records->checksums[r] = pstrdup(stored_checksum);
	records->froms[r] = pstrdup(froms);
	records->tos[r] = pstrdup(tos);
	records->started[r] = started_at;
	records->finished[r] = GetCurrentTimestamp();
	MemoryContextSwitchTo(oldcxt);
	node->applied = operation == APM_UPGRADE;
	error_context_stack = errcallback.previous;
}

/*
 * Record a stamp: make the applied set the one the new current revisions
 * (apm_resolve_stamp) stand for, without running anything, and log one row
 * from the old current revisions to the new.  A stamp is also the way out
 * of a state upgrades refuse to touch: it forgets applied revisions that
 * are no longer registered, and accepts the current content of applied
 * revisions that changed since they were applied.  A stamp that changes
 * nothing is not logged.
 */
static void
run_stamp(ApmGraph *graph, const char *target)
{
	TimestampTz started_at = GetCurrentTimestamp();
	List	   *before = apm_graph_ids(graph, apm_graph_current(graph));
	bool	   *applied = apm_graph_ancestors(graph, apm_resolve_stamp(graph, target), false);
	bool		changed = false;
	bool		repaired = false;
	int			i;

	apm_graph_require_known(graph, applied, target);

	for (i = 0; i < graph->nnodes; i++)
	{
		ApmNode    *node = &graph->nodes[i];

		if (applied[i] && !node->applied)
		{
			apm_catalog_mark_applied(node->id, apm_catalog_checksum(node->id));
			node->applied = true;
			changed = true;
		}
		else if (!applied[i] && node->applied)
		{
			apm_catalog_unmark_applied(node->id);
			node->applied = false;
			changed = true;
		}
	}
	for (i = 0; i < graph->nnodes && !repaired; i++)
		repaired = graph->nodes[i].applied && graph->nodes[i].drifted;
	if (repaired || graph->orphans != NIL)
	{
		apm_catalog_repair_applied();
		changed = true;
	}

	if (changed)
		apm_catalog_log(APM_STAMP, NULL, before,
						apm_graph_ids(graph, apm_graph_current(graph)),
						started_at, GetCurrentTimestamp(), true);
}

/*
 * The fast path of "upgrade head" and "upgrade heads": when every head is
 * applied there is nothing to do, which the partial index of heads tells
 * without loading the graph.  This is what every application instance pays
 * at startup.  Returns the current revisions, or NULL to take the full path.
 */
static char *
upgrade_noop(const char *target)
{
	bool		all_applied;
	List	   *heads;
	List	   *current;

	if (strcmp(target, "head") != 0 && strcmp(target, "heads") != 0)
		return NULL;
	heads = apm_catalog_heads(&all_applied, &current);
	if (heads == NIL || !all_applied ||
		(strcmp(target, "head") == 0 && list_length(heads) > 1))
		return NULL;

	/*
	 * Every revision leads to a head, so with every head applied the current
	 * revisions are the heads no applied revision depends on.
	 */
	return apm_join_strings(current, ", ");
}

/*
 * Record the steps kept in records (apm_catalog_record_steps), refusing
 * if a step's SQL changed or removed its revision: record only what really
 * ran.
 */
static void
flush_records(ApmOperation operation, StepRecords *records)
{
	bool		missing = false;
	char	   *bad;

	if (records->count == 0)
		return;
	bad = apm_catalog_record_steps(operation, records->count, records->ids,
								   records->checksums, records->froms, records->tos,
								   records->started, records->finished, &missing);
	if (bad != NULL && missing)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("revision \"%s\" does not exist", bad),
				 errdetail("The SQL of a step of this call removed it.")));
	if (bad != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("revision \"%s\" was changed by the SQL of a step of this call", bad)));
	records->count = 0;
	MemoryContextReset(records->cxt);
}

/*
 * Read the bodies of the steps from first on, up to APM_FETCH_BATCH of
 * them, into bodies (replacing the previous batch).  One query per batch
 * rather than per step; the batch bounds how much SQL is held at once.
 */
static void
fetch_bodies(const ApmGraph *graph, const ApmPlan *plan, int first,
			 StepBodies *bodies)
{
	MemoryContext oldcxt;
	char	   *ids[APM_FETCH_BATCH];
	int			n = Min(APM_FETCH_BATCH, plan->nsteps - first);
	int			i;

	MemoryContextReset(bodies->cxt);
	oldcxt = MemoryContextSwitchTo(bodies->cxt);
	for (i = 0; i < n; i++)
		ids[i] = graph->nodes[plan->steps[first + i]].id;
	bodies->defs = apm_catalog_fetch_steps(ids, n, bodies->checksums);
	bodies->first = first;
	bodies->count = n;
	MemoryContextSwitchTo(oldcxt);
}

/*
 * In the procedures, whether the step after the one that just ran (plan
 * index next, its body read ahead into bodies if need be) has no statement
 * to run: an empty or comment-only body of a transactional revision whose
 * checksum holds.  Such a step is recorded in the transaction of the step
 * before it rather than with a commit of its own.  A commit records a
 * step durably, which costs a WAL flush, and psql's BEGIN; COMMIT; of an
 * empty file writes nothing; real histories have many such steps (merges,
 * steps kept for the record).  Nothing is lost: the step has no effect, so
 * committing its record with the step before it leaves every state a crash
 * or an error can leave a prefix of whole steps, as before, and a step
 * whose checksum fails is not taken in (its error must not roll back the
 * step before it).
 */
static bool
next_step_is_blank(const ApmGraph *graph, const ApmPlan *plan, int next,
				   StepBodies *bodies)
{
	const ApmNode *node = &graph->nodes[plan->steps[next]];
	const ApmRevisionDef *def;
	const char *sql;
	MemoryContext oldcxt;
	bool		same;

	if (!node->transactional)
		return false;
	if (next == bodies->first + bodies->count)
		fetch_bodies(graph, plan, next, bodies);
	def = bodies->defs[next - bodies->first];
	sql = plan->operation == APM_UPGRADE ? def->upgrade_sql : def->downgrade_sql;
	if (sql == NULL || sql[apm_sql_skip_blank(sql, 0)] != '\0')
		return false;
	oldcxt = MemoryContextSwitchTo(bodies->cxt);
	same = strcmp(apm_checksum(def->upgrade_sql, def->downgrade_sql, def->transactional),
				  bodies->checksums[next - bodies->first]) == 0;
	MemoryContextSwitchTo(oldcxt);
	return same;
}

/*
 * Run the steps of a plan, each in a memory context reset after it, and
 * with commit_each (procedures only) commit after each step (a step with
 * nothing to run with the step before it: next_step_is_blank).  Steps are
 * recorded in batches: at the end of the call (or every APM_RECORD_BATCH
 * steps) in one transaction, before each commit in the procedures.
 */
static void
run_steps(ApmGraph *graph, const ApmPlan *plan, bool commit_each)
{
	MemoryContext stepcxt = AllocSetContextCreate(CurrentMemoryContext,
												  "ap_migrate step",
												  ALLOCSET_DEFAULT_SIZES);
	MemoryContext oldcxt;
	StepRecords *records = palloc(sizeof(StepRecords));
	StepBodies	bodies;
	WorkerSlot *slot = palloc(sizeof(WorkerSlot));	/* read after longjmp */
	int			i;

	records->cxt = AllocSetContextCreate(CurrentMemoryContext, "ap_migrate records",
										 ALLOCSET_DEFAULT_SIZES);
	records->count = 0;
	bodies.cxt = AllocSetContextCreate(CurrentMemoryContext, "ap_migrate bodies",
									   ALLOCSET_DEFAULT_SIZES);
	bodies.first = bodies.count = 0;
	slot->cxt = CurrentMemoryContext;
	slot->worker = NULL;

	/* a worker left idle by an error would wait for nothing: stop it */
	PG_TRY();
	{
		/*
		 * The worker of the first non-transactional step is started now, so
		 * that it logs in while the steps before it run (run_outside).  It
		 * holds nothing while it waits.
		 */
		for (i = 0; commit_each && i < plan->nsteps; i++)
		{
			const ApmNode *node = &graph->nodes[plan->steps[i]];

			if (!node->transactional)
			{
				slot->worker = apm_worker_start(node->owner);
				break;
			}
		}

		for (i = 0; i < plan->nsteps; i++)
		{
			if (i == bodies.first + bodies.count)
				fetch_bodies(graph, plan, i, &bodies);
			oldcxt = MemoryContextSwitchTo(stepcxt);
			run_step(graph, plan->steps[i], plan->operation,
					 bodies.defs[i - bodies.first], bodies.checksums[i - bodies.first],
					 records, commit_each, slot);
			MemoryContextSwitchTo(oldcxt);
			MemoryContextReset(stepcxt);
			if (!commit_each || (i + 1 < plan->nsteps &&
								 next_step_is_blank(graph, plan, i + 1, &bodies)))
			{
				if (records->count == APM_RECORD_BATCH)
					flush_records(plan->operation, records);
				continue;
			}
			flush_records(plan->operation, records);
			check_lock_held(graph->nodes[plan->steps[i]].id);
			SPI_commit();
		}
	}
	PG_CATCH();
	{
		if (slot->worker != NULL)
		{
			HOLD_INTERRUPTS();
			apm_worker_stop(slot->worker);
			RESUME_INTERRUPTS();
		}
		PG_RE_THROW();
	}
	PG_END_TRY();
	if (slot->worker != NULL)
		apm_worker_stop(slot->worker);
	pfree(slot);
	flush_records(plan->operation, records);

	/*
	 * The schema as the steps left it, for the drift check (fingerprint.c):
	 * once per call, not per step, since a fingerprint reads the whole
	 * schema.  A procedure that fails after some commits records none; the
	 * drift check then knows its fingerprint is older than the last step and
	 * says nothing until the next call records one.  The same holds while
	 * ap_migrate.record_fingerprint is off: the fingerprint costs more than
	 * everything else ap_migrate does in a call (the deparsers of every
	 * object), which a database that does not use the drift check need not
	 * pay.
	 */
	if (plan->nsteps > 0 && apm_record_fingerprint)
		apm_fingerprint_record();
	MemoryContextDelete(records->cxt);
	pfree(records);
	MemoryContextDelete(bodies.cxt);
	MemoryContextDelete(stepcxt);
}

/* what apm_run hands to run_locked through apm_locked */
typedef struct RunArgs
{
	ApmOperation operation;
	const char *target;
	MemoryContext callcxt;
	char	   *result;
} RunArgs;

/* The body of apm_run, under the operation lock */
static void
run_locked(void *arg)
{
	RunArgs    *args = (RunArgs *) arg;
	ApmOperation operation = args->operation;
	char	   *noop = operation == APM_UPGRADE ? upgrade_noop(args->target) : NULL;
	ApmGraph   *graph;
	ApmPlan    *plan;
	List	   *current;

	if (noop != NULL)
	{
		args->result = MemoryContextStrdup(args->callcxt, noop);
		return;
	}

	graph = apm_load_usable_graph(operation != APM_STAMP);
	if (operation == APM_STAMP)
		run_stamp(graph, args->target);
	else
	{
		plan = apm_resolve_plan(graph, args->target, operation);
		apm_check_steps(graph, plan, false);
		if (plan->nsteps > 0)
			apm_citus_begin_transaction();
		run_steps(graph, plan, false);
	}

	current = apm_graph_current(graph);
	if (current != NIL)
		args->result = MemoryContextStrdup(args->callcxt,
										   apm_graph_join_ids(graph, current, ", "));
}

/*
 * apm_run performs an upgrade, downgrade or stamp to target and returns the
 * resulting current revisions, comma-separated in registration order, or
 * NULL when none is applied.  The result is allocated in the caller's
 * memory context.
 */
char *
apm_run(ApmOperation operation, const char *target)
{
	static const char *const funcnames[] = {
		"ap_migrate_upgrade()", "ap_migrate_downgrade()", "ap_migrate_stamp()"
	};
	RunArgs		args;

	args.operation = operation;
	args.target = target;
	args.callcxt = CurrentMemoryContext;
	args.result = NULL;
	apm_locked(funcnames[operation], run_locked, &args);
	return args.result;
}

/* what apm_mark hands to mark_body through apm_locked */
typedef struct MarkArgs
{
	ApmOperation operation;
	const char *revision;
	const char *checksum;
	bool		record;			/* false: check only (ap_migrate_expect) */
	MemoryContext callcxt;
	char	   *result;
} MarkArgs;

/* The body of apm_mark, under the operation lock */
static void
mark_body(void *arg)
{
	MarkArgs   *args = (MarkArgs *) arg;
	ApmGraph   *graph = apm_load_usable_graph(true);
	int			v = apm_graph_lookup(graph, args->revision);
	ApmNode    *node;
	char	   *stored;
	List	   *parents = NIL;
	List	   *self;
	List	   *current;
	TimestampTz now = GetCurrentTimestamp();
	int			j;

	if (v < 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("revision \"%s\" does not exist", args->revision)));
	node = &graph->nodes[v];
	stored = apm_catalog_checksum(node->id);
	if (strcmp(stored, args->checksum) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("revision \"%s\" has changed since the script was generated", node->id),
				 errhint("Generate the script again with ap_migrate_sql().")));

	if (args->operation == APM_UPGRADE)
	{
		if (node->applied)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("revision \"%s\" is already applied", node->id),
					 errhint("The script was generated for another state of the database.")));
		for (j = 0; j < node->nparents + node->ndeps; j++)
		{
			int			p = j < node->nparents ? node->parents[j] : node->deps[j - node->nparents];

			if (p < 0)
				ereport(ERROR,
						(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
						 errmsg("cannot record the upgrade of revision \"%s\": revision \"%s\" is not registered",
								node->id, j < node->nparents ? node->parent_ids[j] :
								node->dep_ids[j - node->nparents])));
			if (!graph->nodes[p].applied)
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						 errmsg("cannot record the upgrade of revision \"%s\": revision \"%s\" is not applied",
								node->id, graph->nodes[p].id),
						 errhint("The script was generated for another state of the database.")));
		}
	}
	else
	{
		if (!node->applied)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("revision \"%s\" is not applied", node->id),
					 errhint("The script was generated for another state of the database.")));
		for (j = 0; j < node->nchildren + node->ndependents; j++)
		{
			int			c;

			if (j < node->nchildren)
				c = node->children[j];
			else
				c = node->dependents[j - node->nchildren];

			if (graph->nodes[c].applied)
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						 errmsg("cannot record the downgrade of revision \"%s\": revision \"%s\" is applied",
								node->id, graph->nodes[c].id),
						 errhint("The script was generated for another state of the database.")));
		}
	}

	if (!args->record)
		return;
	for (j = 0; j < node->nparents; j++)
		parents = lappend(parents, node->parent_ids[j]);
	self = list_make1(node->id);
	if (args->operation == APM_UPGRADE)
	{
		apm_catalog_mark_applied(node->id, stored);
		node->applied = true;
		apm_catalog_log(APM_UPGRADE, node->id, parents, self, now, now, true);
	}
	else
	{
		apm_catalog_unmark_applied(node->id);
		node->applied = false;
		apm_catalog_log(APM_DOWNGRADE, node->id, self, parents, now, now, true);
	}
	current = apm_graph_current(graph);
	if (current != NIL)
		args->result = MemoryContextStrdup(args->callcxt,
										   apm_graph_join_ids(graph, current, ", "));
}

/*
 * apm_mark records that the upgrade or downgrade of one revision ran
 * outside ap_migrate (an offline script ran its SQL), after checking that
 * the revision is still the one the script was made from (checksum) and
 * that the step fits the applied state.  Returns the current revisions.
 * Without record it only makes the checks (under the lock, which it keeps
 * until the end of the transaction like every operation).
 */
char *
apm_mark(ApmOperation operation, const char *revision, const char *checksum,
		 bool record)
{
	MarkArgs	args;

	args.operation = operation;
	args.revision = revision;
	args.checksum = checksum;
	args.record = record;
	args.callcxt = CurrentMemoryContext;
	args.result = NULL;
	apm_locked(record ? "ap_migrate_mark()" : "ap_migrate_expect()", mark_body, &args);
	return args.result;
}

/*
 * apm_run_stepwise performs an upgrade or downgrade to target as
 * CALL ap_migrate_run() does: the same plan and the same steps as apm_run,
 * but each step is committed as soon as it ran, so a long chain makes
 * durable progress and an error or crash at step k leaves exactly the
 * k - 1 steps before it applied and recorded.
 *
 * The serializing lock is taken at session level, since it has to outlive
 * the transactions of the steps, and released when the procedure ends or
 * fails (a crash releases it with the backend).  The plan is computed once,
 * under the lock: nobody else can change the applied set meanwhile, so the
 * graph loaded then stays true, its applied flags updated as steps commit.
 * The caller must be a CALL outside a transaction block (nonatomic).
 */
void
apm_run_stepwise(ApmOperation operation, const char *target)
{
	const char *funcname = operation == APM_UPGRADE ? "ap_migrate_run()" :
	"ap_migrate_run_downgrade()";
	LOCKTAG		tag;

	check_mutating_call(funcname);
	if (SPI_connect_ext(SPI_OPT_NONATOMIC) != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect_ext failed");
	apm_citus_check_node(funcname);

	APM_SET_LOCKTAG(tag);
	lock_operation(funcname, true);
	apm_set_operation_active(true);

	PG_TRY();
	{
		ApmGraph   *graph;
		ApmPlan    *plan;

		/* a fresh transaction, so the state read below follows the lock */
		SPI_commit();

		/* the same fast path as the function's when every head is applied */
		if (operation != APM_UPGRADE || upgrade_noop(target) == NULL)
		{
			graph = apm_load_usable_graph(true);
			plan = apm_resolve_plan(graph, target, operation);
			apm_check_steps(graph, plan, true);
			run_steps(graph, plan, true);
		}
	}
	PG_CATCH();
	{
		apm_set_operation_active(false);
		if (apm_lock_held_by_me(&tag, ExclusiveLock))
			LockRelease(&tag, ExclusiveLock, true);
		PG_RE_THROW();
	}
	PG_END_TRY();

	apm_set_operation_active(false);
	LockRelease(&tag, ExclusiveLock, true);
	if (SPI_finish() != SPI_OK_FINISH)
		elog(ERROR, "SPI_finish failed");
}

/*
 * apm_run_step_sql runs the upgrade or downgrade SQL of one transactional
 * revision exactly as a step of an upgrade does (as its owner, with the
 * step lock timeout and retries, under the step error context), without
 * announcing or recording it: ap_migrate_verify() (verify.c) runs steps
 * this way.
 */
void
apm_run_step_sql(const ApmNode *node, const ApmRevisionDef *def,
				 ApmOperation operation)
{
	ErrorContextCallback errcallback;
	StepContext ctx;

	enter_step_context(&ctx, &errcallback, operation, node, def);
	run_transactional(ctx.sql, node->owner, def->search_path, &ctx, false);
	error_context_stack = errcallback.previous;
}
