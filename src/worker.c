/*-------------------------------------------------------------------------
 *
 * worker.c
 *	  Running the SQL of a non-transactional revision at top level, in a
 *	  background worker.
 *
 * CREATE INDEX CONCURRENTLY, REINDEX CONCURRENTLY, DROP INDEX CONCURRENTLY
 * and VACUUM refuse to run inside a transaction block or from a function,
 * and every statement ap_migrate runs through SPI is in one.  A revision
 * registered with transactional = false is therefore run by a dynamic
 * background worker connected to the same database, which executes its
 * statements one by one the way the simple query protocol does: each in its
 * own transaction, at top level.  CALL ap_migrate_run() starts the worker
 * and waits for it; SELECT ap_migrate_upgrade() refuses such revisions
 * before doing anything (execute.c).
 *
 * Whose session the worker is: it always logs in as the revision's owner,
 * so that nothing in the worker's session (RESET ROLE, SET SESSION
 * AUTHORIZATION, DISCARD ALL) leads to rights above the owner's.
 *
 *	 - When the caller's session is the owner's own (stepenv.c), the worker
 *	   is the caller's stand-in: it takes over the caller's settings (the GUC
 *	   state is shipped the way parallel query ships it), as an in-process
 *	   step would run.
 *	 - Otherwise (another owner, a caller that did SET ROLE or logged in as
 *	   another role) the worker has the owner's login defaults and the
 *	   search_path recorded at registration: the owner's SQL runs in a
 *	   session of the owner's own, as if the owner had run psql, and nothing
 *	   it does there (temporary objects, prepared statements) can reach the
 *	   caller's session, which is what the security-restricted operation of
 *	   an in-process step prevents.  A security-restricted operation is not
 *	   an option here: CREATE INDEX CONCURRENTLY and VACUUM start
 *	   transactions themselves, and a transaction must not start inside one.
 *	   Before PostgreSQL 17 a background worker can log in only as a role
 *	   with LOGIN, so there the owner needs it (checked before any step).
 *
 * Every statement runs with standard_conforming_strings on, the lexing it
 * was checked with at registration; a statement that changes the role or
 * that setting, or leaves a transaction block open, fails the step before
 * its transaction commits.
 *
 * Either way ap_migrate.lock_timeout, ap_migrate.lock_retries and the
 * caller's statement_timeout apply to each statement.
 *
 * One worker serves consecutive non-transactional steps of one owner (the
 * caller keeps it across the transactional steps in between; execute.c).
 * After each step that succeeded it resets its session with DISCARD ALL and
 * takes its settings again, so that every step starts from the session a
 * new worker would have: nothing a step set, created or locked for the
 * session reaches the next one, and an idle worker holds no lock.  The
 * owner's login defaults are those of the worker's login, as in one psql
 * session running several files.
 *
 * Why the caller and the worker cannot deadlock:
 *
 *	 - The caller commits before starting the worker; then it holds no
 *	   snapshot, advertises no xmin (both checked) and holds no lock but
 *	   the session-level serializing lock, which the worker never asks for: ap_migrate calls from the
 *	   worker's SQL are refused as re-entrant, like those of any step.
 *	   CREATE INDEX CONCURRENTLY and friends wait for transactions that hold
 *	   a snapshot or a lock on the table; the caller's has neither.
 *	 - What is left is a lock the caller's session took before the call
 *	   (a session-level advisory lock, say) that the worker's SQL then asks
 *	   for.  The caller waits on a latch, which the deadlock detector cannot
 *	   see, so the caller checks itself, every deadlock_timeout, whether the
 *	   worker waits for a lock it holds, and if so cancels the worker and
 *	   fails with 40P01 instead of waiting forever.
 *
 * When a statement fails, the statements before it stay committed (the
 * revision is not recorded as applied; its author has to make it safe to
 * run again, as for any non-transactional migration).  A failed concurrent
 * index build leaves an invalid index behind; the worker drops the invalid
 * indexes the failed statement created (DROP INDEX CONCURRENTLY) and the
 * error says so, or says that it could not.  If the caller is canceled or
 * terminated, it cancels the worker's statement so that this cleanup runs.
 *
 * Copyright (c) 2026, ap_migrate developers
 *
 * IDENTIFICATION
 *	  src/worker.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>

#include "access/genam.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/pg_index.h"
#include "commands/defrem.h"
#include "commands/discard.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "parser/analyze.h"
#include "parser/parser.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/dsm.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lock.h"
#include "storage/proc.h"
#include "storage/procarray.h"
#include "tcop/pquery.h"
#include "tcop/tcopprot.h"
#include "tcop/utility.h"
#include "utils/builtins.h"
#include "utils/elog.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timeout.h"

#include "ap_migrate.h"
#include "compat.h"

PGDLLEXPORT void apm_worker_main(Datum main_arg);

#define APM_WORKER_TEXT 1024

/*
 * The dynamic shared memory the caller and its worker share for the whole
 * call.  The worker serves requests, one step each: the caller puts the
 * step's SQL in a segment of its own (StepShared), sets step_seg and
 * revision and bumps request; the worker runs it, fills in the outcome and
 * sets answered to the request's number.  Each side sets the other's latch.
 *
 * Who writes what, and when.  The request fields (request, step_seg,
 * revision) are the caller's: it writes them only while the worker is idle,
 * before it bumps request.  The outcome fields (from stmtno on) are the
 * worker's: it resets them when it takes a request and fills them in while
 * it serves it; the caller reads them only after answered says that request
 * is done, or after the worker has stopped.  Once the worker has set
 * answered it no longer reads the outcome fields: they are the caller's to
 * read (a worker that read done back after answering once saw a value the
 * caller had already moved on from, and ended as if its step had failed).
 * The one exception is the log hook, which records an error that ends the
 * worker while it is idle (it was terminated), so that the caller's next
 * request finds the reason.
 */
typedef struct WorkerShared
{
	/* set by the caller when it starts the worker */
	Oid			database;
	Oid			owner;			/* the worker logs in as this role */
	bool		stand_in;		/* the caller's session is the owner's own */
	int			statement_timeout;	/* the caller's settings */
	int			lock_timeout;
	int			lock_retries;
	int			lock_retry_delay;
	int			caller_pid;
	int			caller_procno;
	Size		guc_offset;		/* into data */

	/* the request, set by the caller */
	volatile int request;		/* number of the step to run; -1: stop */
	dsm_handle	step_seg;

	/* set by the worker */
	volatile int worker_procno; /* -1 until it is ready */
	volatile int answered;		/* number of the last request done */
	int			stmtno;			/* statement being run, 1-based */
	int			offset;			/* its offset in the SQL */
	bool		done;			/* every statement ran */
	bool		idle;			/* after it: the session is reset, waiting */
	bool		failed;
	int			sqlerrcode;
	char		revision[APM_MAX_ID_LEN + 1];
	char		message[APM_WORKER_TEXT];
	char		detail[APM_WORKER_TEXT];
	char		hint[APM_WORKER_TEXT];
	char		cleanup[APM_WORKER_TEXT];

	char		data[FLEXIBLE_ARRAY_MEMBER];
} WorkerShared;

/* One step's SQL, in a segment of its own */
typedef struct StepShared
{
	Size		search_path_offset; /* into data; 0: keep the session's */
	char		data[FLEXIBLE_ARRAY_MEMBER];	/* the SQL first */
} StepShared;

/* the worker's view of the shared memory, for the log hook */
static WorkerShared *worker_shared = NULL;
static emit_log_hook_type prev_emit_log_hook = NULL;

/* A worker the caller started (ap_migrate.h) */
struct ApmWorker
{
	dsm_segment *seg;
	WorkerShared *shared;
	BackgroundWorkerHandle *handle;
	Oid			owner;
	bool		idle;			/* it waits for another step */
	bool		finished;		/* it has stopped and was waited for */
};

/* Copy an error into the shared memory (truncated to fit) */
static void
record_error(WorkerShared *shared, const ErrorData *edata)
{
	shared->failed = true;
	shared->sqlerrcode = edata->sqlerrcode;
	strlcpy(shared->message, edata->message ? edata->message : "", APM_WORKER_TEXT);
	strlcpy(shared->detail, edata->detail ? edata->detail : "", APM_WORKER_TEXT);
	strlcpy(shared->hint, edata->hint ? edata->hint : "", APM_WORKER_TEXT);
}

/*
 * Every error the worker reports is kept for the caller, the last one
 * winning: the worker records the error of a failed statement again after
 * its cleanup, and an error it does not catch (it was terminated, it could
 * not connect) ends the process with this as the only record.
 */
static void
worker_log_hook(ErrorData *edata)
{
	if (edata->elevel >= ERROR && worker_shared != NULL)
		record_error(worker_shared, edata);
	if (prev_emit_log_hook)
		prev_emit_log_hook(edata);
}

/*
 * The concurrent index operation a statement performs, as the table it
 * works on, or InvalidOid.  Those are the statements whose failure leaves
 * an invalid index behind.  Needs a transaction.
 */
static Oid
concurrent_index_table(Node *stmt)
{
	if (IsA(stmt, IndexStmt) && ((IndexStmt *) stmt)->concurrent)
		return RangeVarGetRelid(((IndexStmt *) stmt)->relation, NoLock, true);
	if (IsA(stmt, ReindexStmt))
	{
		ReindexStmt *reindex = (ReindexStmt *) stmt;
		bool		concurrent = false;
		ListCell   *lc;
		Oid			relid;

		foreach(lc, apm_reindex_params(reindex))
		{
			DefElem    *opt = lfirst_node(DefElem, lc);

			if (strcmp(opt->defname, "concurrently") == 0)
				concurrent = defGetBoolean(opt);
		}
		if (!concurrent || reindex->relation == NULL)
			return InvalidOid;
		relid = RangeVarGetRelid(reindex->relation, NoLock, true);
		if (OidIsValid(relid) && reindex->kind == REINDEX_OBJECT_INDEX)
			relid = IndexGetRelation(relid, true);
		return relid;
	}
	return InvalidOid;
}

/* The invalid indexes of a table, as a List of OIDs.  Needs a transaction. */
static List *
invalid_indexes(Oid table)
{
	List	   *result = NIL;
	Relation	pg_index;
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	tuple;

	pg_index = table_open(IndexRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_index_indrelid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(table));
	scan = systable_beginscan(pg_index, IndexIndrelidIndexId, true, NULL, 1, &key);
	while (HeapTupleIsValid(tuple = systable_getnext(scan)))
	{
		Form_pg_index index = (Form_pg_index) GETSTRUCT(tuple);

		if (!index->indisvalid)
			result = lappend_oid(result, index->indexrelid);
	}
	systable_endscan(scan);
	table_close(pg_index, AccessShareLock);
	return result;
}

/*
 * Execute one statement at top level in its own transaction, as the simple
 * query protocol does: analyze, plan, run in an unnamed portal, commit.
 * Errors propagate; the caller aborts the transaction.
 */
static void
execute_toplevel(RawStmt *raw, const char *text)
{
	bool		snapshot_set = false;
	List	   *querytrees;
	List	   *plantrees;
	Portal		portal;
	DestReceiver *receiver;
	QueryCompletion qc;
	int16		format = 0;
	static MemoryContext stmtcxt = NULL;
	MemoryContext oldcxt;

	/*
	 * The parse and plan trees live in a context of their own, not in the
	 * transaction's: CREATE INDEX CONCURRENTLY and VACUUM commit and start
	 * transactions while their portal runs (exec_simple_query keeps them in
	 * MessageContext for the same reason).
	 */
	if (stmtcxt == NULL)
		stmtcxt = AllocSetContextCreate(TopMemoryContext, "ap_migrate statement",
										ALLOCSET_DEFAULT_SIZES);
	else
		MemoryContextReset(stmtcxt);

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	pgstat_report_activity(STATE_RUNNING, text);
	if (StatementTimeout > 0)
		enable_timeout_after(STATEMENT_TIMEOUT, StatementTimeout);

	oldcxt = MemoryContextSwitchTo(stmtcxt);

	if (analyze_requires_snapshot(raw))
	{
		PushActiveSnapshot(GetTransactionSnapshot());
		snapshot_set = true;
	}
	querytrees = pg_analyze_and_rewrite_fixedparams(raw, text, NULL, 0, NULL);
	plantrees = pg_plan_queries(querytrees, text, CURSOR_OPT_PARALLEL_OK, NULL);
	if (snapshot_set)
		PopActiveSnapshot();

	/* registration refuses these; never run one at top level regardless */
	if (IsA(raw->stmt, TransactionStmt))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TRANSACTION_TERMINATION),
				 errmsg("transaction control statements are not allowed in migration SQL")));

	portal = CreatePortal("", true, true);
	portal->visible = false;
	PortalDefineQuery(portal, NULL, text, CreateCommandTag(raw->stmt),
					  plantrees, NULL);
	PortalStart(portal, NULL, 0, InvalidSnapshot);
	PortalSetResultFormat(portal, 1, &format);
	receiver = CreateDestReceiver(DestNone);
	(void) PortalRun(portal, FETCH_ALL, true, true, receiver, receiver, &qc);
	receiver->rDestroy(receiver);
	PortalDrop(portal, false);

	/*
	 * Fail the statement before its transaction commits if it opened a
	 * transaction block (which would hold back the statements after it and
	 * then be rolled back, while the step counts as done), or changed the
	 * role or the lexing of the statements after it.
	 */
	if (IsTransactionBlock())
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TRANSACTION_STATE),
				 errmsg("migration SQL must not leave a transaction block open")));
	apm_check_step_state(worker_shared->owner, worker_shared->owner);

	MemoryContextSwitchTo(oldcxt);
	if (StatementTimeout > 0)
		disable_timeout(STATEMENT_TIMEOUT, false);
	CommitTransactionCommand();
	pgstat_report_activity(STATE_IDLE, NULL);
}

/*
 * Recover from an error the way the main loop of a backend does, and
 * return a copy of it in the worker's long-lived context.
 */
static ErrorData *
recover_from_error(MemoryContext keep)
{
	ErrorData  *edata;

	HOLD_INTERRUPTS();
	disable_all_timeouts(false);
	QueryCancelPending = false;
	MemoryContextSwitchTo(keep);
	edata = CopyErrorData();
	EmitErrorReport();
	AbortCurrentTransaction();
	MemoryContextSwitchTo(keep);
	FlushErrorState();
	RESUME_INTERRUPTS();
	return edata;
}

/*
 * Drop the invalid indexes of table that are not in before: the ones a
 * failed concurrent index statement left.  Each DROP INDEX CONCURRENTLY runs
 * at top level like the statement did, under the same lock_timeout.
 * Returns a sentence for the caller's error, or NULL when there was nothing
 * to drop.
 */
static char *
drop_new_invalid_indexes(Oid table, List *before, MemoryContext keep)
{
	StringInfoData result;
	List	   *names = NIL;
	ListCell   *lc;
	MemoryContext oldcxt;

	initStringInfo(&result);
	StartTransactionCommand();
	foreach(lc, invalid_indexes(table))
	{
		Oid			index = lfirst_oid(lc);
		char	   *name;

		if (list_member_oid(before, index))
			continue;
		name = get_rel_name(index);
		if (name == NULL)
			continue;
		name = quote_qualified_identifier(get_namespace_name(get_rel_namespace(index)), name);
		oldcxt = MemoryContextSwitchTo(keep);
		names = lappend(names, pstrdup(name));
		MemoryContextSwitchTo(oldcxt);
	}
	CommitTransactionCommand();
	MemoryContextSwitchTo(keep);

	foreach(lc, names)
	{
		const char *name = lfirst(lc);
		char	   *sql = psprintf("DROP INDEX CONCURRENTLY IF EXISTS %s", name);
		List	   *raw = raw_parser(sql, RAW_PARSE_DEFAULT);

		PG_TRY();
		{
			execute_toplevel(linitial_node(RawStmt, raw), sql);
			appendStringInfo(&result, "%sThe invalid index %s left by the failed statement was dropped.",
							 result.len > 0 ? " " : "", name);
		}
		PG_CATCH();
		{
			ErrorData  *edata = recover_from_error(keep);

			appendStringInfo(&result, "%sThe invalid index %s left by the failed statement could not be dropped (%s); drop it with DROP INDEX CONCURRENTLY.",
							 result.len > 0 ? " " : "", name, edata->message);
		}
		PG_END_TRY();
		MemoryContextSwitchTo(keep);
	}
	return result.len > 0 ? result.data : NULL;
}

/* Error context of the worker's statements, for the server log */
static void
worker_error_callback(void *arg)
{
	WorkerShared *shared = (WorkerShared *) arg;

	errcontext("statement %d of revision \"%s\", run by the ap_migrate worker for process %d",
			   shared->stmtno, shared->revision, shared->caller_pid);
}

/*
 * Take the settings every step of the worker starts from: the caller's
 * whole GUC state for its own stand-in, the owner's login defaults
 * otherwise; both with the caller's statement_timeout and lock settings and
 * the pinned lexing (stepenv.c).  In a transaction of its own.
 */
static void
apply_settings(WorkerShared *shared)
{
	StartTransactionCommand();
	if (shared->stand_in)
		RestoreGUCState(shared->data + shared->guc_offset);
	SetConfigOption("statement_timeout", psprintf("%d", shared->statement_timeout),
					PGC_USERSET, PGC_S_SESSION);
	SetConfigOption("ap_migrate.lock_timeout", psprintf("%d", shared->lock_timeout),
					PGC_USERSET, PGC_S_SESSION);
	SetConfigOption("ap_migrate.lock_retries", psprintf("%d", shared->lock_retries),
					PGC_USERSET, PGC_S_SESSION);
	SetConfigOption("ap_migrate.lock_retry_delay", psprintf("%d", shared->lock_retry_delay),
					PGC_USERSET, PGC_S_SESSION);
	apm_pin_step_settings(GUC_ACTION_SET);
	SetConfigOption("application_name",
					psprintf("ap_migrate worker for PID %d", shared->caller_pid),
					PGC_USERSET, PGC_S_SESSION);
	CommitTransactionCommand();
}

/*
 * Log in as the owner, always (see the file header), and take the settings.
 */
static void
worker_setup(WorkerShared *shared)
{
	BackgroundWorkerInitializeConnectionByOid(shared->database, shared->owner,
											  APM_BGWORKER_LOGIN_BYPASS);

	/* no ap_migrate operation may start from the worker's SQL */
	apm_set_operation_active(true);

	apply_settings(shared);
}

/*
 * After a step that succeeded, make the session what a new worker's would
 * be before the next step of the same owner arrives: DISCARD ALL (settings,
 * temporary tables, prepared statements, cursors, LISTEN, advisory locks;
 * the session user is the owner, as at login), then the settings again.  A
 * step therefore never sees what an earlier one left in the session, and
 * the worker holds no lock while it waits, which a transactional step in
 * between could need.  Returns false if that failed (the error is in the
 * log): the worker then ends, and the next step gets a new one.
 */
static bool
reset_session(WorkerShared *shared, MemoryContext keep)
{
	bool		ok = true;

	PG_TRY();
	{
		DiscardStmt discard;

		memset(&discard, 0, sizeof(discard));
		discard.type = T_DiscardStmt;
		discard.target = DISCARD_ALL;
		StartTransactionCommand();
		DiscardCommand(&discard, true);
		CommitTransactionCommand();
		apply_settings(shared);
	}
	PG_CATCH();
	{
		(void) recover_from_error(keep);
		ok = false;
	}
	PG_END_TRY();
	MemoryContextSwitchTo(keep);
	return ok;
}

/*
 * Run the statements of one step at top level, each in its own transaction.
 * Returns false after a statement failed for good (its error is recorded
 * in the shared memory and its invalid indexes dropped).
 */
static bool
run_statements(WorkerShared *shared, const char *sql, MemoryContext keep)
{
	List	   *stmts = apm_sql_split(sql);
	ListCell   *lc;

	foreach(lc, stmts)
	{
		RawStmt    *raw = lfirst_node(RawStmt, lc);
		int			end = apm_sql_stmt_end(sql, raw);
		int			start = apm_sql_skip_blank(sql, raw->stmt_location);
		char	   *text = pnstrdup(sql + start, end - start);
		Oid			table = InvalidOid;
		List	   *before = NIL;
		int			attempt;

		shared->stmtno++;
		shared->offset = start;

		/* which invalid indexes exist before a concurrent index statement */
		StartTransactionCommand();
		table = concurrent_index_table(raw->stmt);
		if (OidIsValid(table))
		{
			MemoryContextSwitchTo(keep);
			before = invalid_indexes(table);
		}
		CommitTransactionCommand();
		MemoryContextSwitchTo(keep);

		for (attempt = 1;; attempt++)
		{
			ErrorData  *edata = NULL;

			PG_TRY();
			{
				execute_toplevel(raw, text);
			}
			PG_CATCH();
			{
				edata = recover_from_error(keep);
			}
			PG_END_TRY();
			MemoryContextSwitchTo(keep);
			if (edata == NULL)
				break;

			/* a failed concurrent index statement leaves an invalid index */
			if (OidIsValid(table))
			{
				char	   *cleanup = drop_new_invalid_indexes(table, before, keep);

				if (cleanup != NULL)
					strlcpy(shared->cleanup, cleanup, APM_WORKER_TEXT);
			}
			if (edata->sqlerrcode == ERRCODE_LOCK_NOT_AVAILABLE &&
				attempt <= apm_lock_retries)
			{
				shared->cleanup[0] = '\0';
				elog(LOG, "ap_migrate: statement %d could not get a lock, retrying in %d ms (retry %d of %d)",
					 shared->stmtno, apm_retry_delay(attempt), attempt, apm_lock_retries);
				apm_sleep(apm_retry_delay(attempt));
				continue;
			}
			record_error(shared, edata);
			return false;
		}
	}
	return true;
}

/*
 * Serve one request: attach to the step's segment, take its search_path,
 * run its statements.  Returns false when a statement failed.
 */
static bool
serve_request(WorkerShared *shared, MemoryContext keep)
{
	dsm_segment *seg = dsm_attach(shared->step_seg);
	StepShared *step;
	bool		ok;

	if (seg == NULL)
		elog(ERROR, "could not attach to the dynamic shared memory of the step");
	step = dsm_segment_address(seg);
	if (step->search_path_offset != 0)
	{
		StartTransactionCommand();
		SetConfigOption("search_path", step->data + step->search_path_offset,
						PGC_USERSET, PGC_S_SESSION);
		CommitTransactionCommand();
		MemoryContextSwitchTo(keep);
	}
	ok = run_statements(shared, step->data, keep);
	dsm_detach(seg);
	return ok;
}

/* Is the caller still there?  (Its PGPROC is given up when it exits.) */
static bool
caller_alive(WorkerShared *shared)
{
	return ProcGlobal->allProcs[shared->caller_procno].pid == shared->caller_pid;
}

/*
 * apm_worker_main is the background worker: attach to the caller's shared
 * memory, become the owner's session, then run the steps the caller hands
 * over until it asks to stop, goes away, or a statement fails.  See
 * WorkerShared for who may touch which field when.
 */
void
apm_worker_main(Datum main_arg)
{
	dsm_segment *seg;
	WorkerShared *shared;
	MemoryContext keep;
	ErrorContextCallback errcallback;
	int			last = 0;
	bool		done;
	bool		idle;

	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	CurrentResourceOwner = ResourceOwnerCreate(NULL, "ap_migrate worker");
	seg = dsm_attach(DatumGetUInt32(main_arg));
	if (seg == NULL)
		return;					/* the caller is gone */
	shared = dsm_segment_address(seg);
	worker_shared = shared;
	prev_emit_log_hook = emit_log_hook;
	emit_log_hook = worker_log_hook;

	worker_setup(shared);

	keep = AllocSetContextCreate(TopMemoryContext, "ap_migrate worker",
								 ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(keep);
	errcallback.callback = worker_error_callback;
	errcallback.arg = shared;
	errcallback.previous = error_context_stack;
	error_context_stack = &errcallback;

	/* ready; the caller sets this latch when it has a request */
	shared->worker_procno = apm_proc_number(MyProc);
	pg_memory_barrier();

	for (;;)
	{
		int			request = shared->request;

		pg_memory_barrier();
		if (request < 0 || !caller_alive(shared))
			break;
		if (request == last)
		{
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 1000, PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
			CHECK_FOR_INTERRUPTS();
			continue;
		}
		last = request;
		MemoryContextReset(keep);

		/* the outcome fields are the worker's until it answers */
		shared->stmtno = 0;
		shared->offset = 0;
		shared->failed = false;
		shared->message[0] = shared->detail[0] = shared->hint[0] = shared->cleanup[0] = '\0';
		done = serve_request(shared, keep);
		idle = done && reset_session(shared, keep);
		shared->done = done;
		shared->idle = idle;
		pg_memory_barrier();
		shared->answered = request;
		pg_memory_barrier();
		SetLatch(&ProcGlobal->allProcs[shared->caller_procno].procLatch);

		/*
		 * From here on only the local copies count: the caller may already be
		 * writing its next request.
		 */
		if (!idle)
			break;				/* after a failure the caller ends the call */
	}
	proc_exit(0);
}

/*
 * Does the process pid wait for a lock this backend holds?  The same test
 * pg_blocking_pids() makes, limited to hard blocks by us.
 */
static bool
waits_for_me(int pid)
{
	BlockedProcsData *data = GetBlockerStatusData(pid);
	bool		result = false;
	int			i,
				j;

	for (i = 0; i < data->nprocs && !result; i++)
	{
		BlockedProcData *bproc = &data->procs[i];
		LockInstanceData *instances = &data->locks[bproc->first_lock];
		LockInstanceData *blocked = NULL;
		LOCKMASK	conflicts;

		for (j = 0; j < bproc->num_locks; j++)
			if (instances[j].pid == bproc->pid && instances[j].waitLockMode != NoLock)
				blocked = &instances[j];
		if (blocked == NULL)
			continue;
		conflicts = GetLockTagsMethodTable(&blocked->locktag)->conflictTab[blocked->waitLockMode];
		for (j = 0; j < bproc->num_locks; j++)
			if (instances[j].pid == MyProcPid && (instances[j].holdMask & conflicts) != 0)
				result = true;
	}
	return result;
}

/*
 * Stop a worker the caller no longer waits for: cancel its statement, so
 * that it cleans up after itself, and give it ten seconds to end before
 * terminating it.  Runs on error and on exit (PG_ENSURE_ERROR_CLEANUP), so
 * interrupts are held while it waits.
 */
static void
stop_worker(int code, Datum arg)
{
	ApmWorker  *w = (ApmWorker *) DatumGetPointer(arg);
	TimestampTz deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), 10000);
	pid_t		pid;

	if (w->finished)
		return;
	HOLD_INTERRUPTS();
	if (GetBackgroundWorkerPid(w->handle, &pid) == BGWH_STARTED)
		(void) kill(pid, SIGINT);
	while (GetBackgroundWorkerPid(w->handle, &pid) != BGWH_STOPPED &&
		   GetCurrentTimestamp() < deadline)
	{
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 100, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
	if (GetBackgroundWorkerPid(w->handle, &pid) != BGWH_STOPPED)
		TerminateBackgroundWorker(w->handle);
	w->finished = true;
	RESUME_INTERRUPTS();
}

/*
 * apm_worker_start starts a background worker that runs steps of owner for
 * the rest of the call (see the file header).  The shared memory is mapped
 * for the session, since the call commits while the worker lives.
 */
ApmWorker *
apm_worker_start(Oid owner)
{
	Size		gucsize = EstimateGUCStateSpace();
	dsm_segment *seg;
	WorkerShared *shared;
	BackgroundWorker worker;
	ApmWorker  *w = palloc0(sizeof(ApmWorker));

	seg = dsm_create(offsetof(WorkerShared, data) + gucsize, 0);
	dsm_pin_mapping(seg);
	shared = dsm_segment_address(seg);
	memset(shared, 0, offsetof(WorkerShared, data));
	shared->database = MyDatabaseId;
	shared->owner = owner;
	shared->stand_in = apm_session_is_owner(owner);
	shared->statement_timeout = StatementTimeout;
	shared->lock_timeout = apm_lock_timeout;
	shared->lock_retries = apm_lock_retries;
	shared->lock_retry_delay = apm_lock_retry_delay;
	shared->caller_pid = MyProcPid;
	shared->caller_procno = apm_proc_number(MyProc);
	shared->worker_procno = -1;
	shared->guc_offset = 0;
	SerializeGUCState(gucsize, shared->data);

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_ConsistentState;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "ap_migrate");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "apm_worker_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "ap_migrate worker for PID %d", MyProcPid);
	snprintf(worker.bgw_type, BGW_MAXLEN, "ap_migrate worker");
	worker.bgw_main_arg = UInt32GetDatum(dsm_segment_handle(seg));
	worker.bgw_notify_pid = MyProcPid;

	if (!RegisterDynamicBackgroundWorker(&worker, &w->handle))
	{
		dsm_detach(seg);
		ereport(ERROR,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("could not start a background worker"),
				 errdetail("A revision that is not transactional runs in a background worker."),
				 errhint("Raise max_worker_processes.")));
	}
	w->seg = seg;
	w->shared = shared;
	w->owner = owner;
	w->idle = true;
	w->finished = false;
	return w;
}

/* apm_worker_owner tells whose steps a worker runs */
Oid
apm_worker_owner(const ApmWorker *w)
{
	return w->owner;
}

/*
 * apm_worker_idle tells whether a worker can take another step: its last
 * step succeeded and its session was reset for the next one.  A worker
 * that cannot has ended or is ending; stop it and start another.
 */
bool
apm_worker_idle(const ApmWorker *w)
{
	return w->idle && !w->finished;
}

/*
 * apm_worker_stop asks the worker to end after the step it runs, waits for
 * it (ten seconds at most, then it is terminated) and gives up the shared
 * memory.  Safe to call on a worker that already ended.
 */
void
apm_worker_stop(ApmWorker *w)
{
	TimestampTz deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), 10000);
	pid_t		pid;

	if (!w->finished)
	{
		w->shared->request = -1;
		pg_memory_barrier();
		if (w->shared->worker_procno >= 0)
			SetLatch(&ProcGlobal->allProcs[w->shared->worker_procno].procLatch);
		while (GetBackgroundWorkerPid(w->handle, &pid) != BGWH_STOPPED &&
			   GetCurrentTimestamp() < deadline)
		{
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 10, PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
		}
		if (GetBackgroundWorkerPid(w->handle, &pid) != BGWH_STOPPED)
			TerminateBackgroundWorker(w->handle);
		w->finished = true;
	}
	if (w->seg != NULL)
	{
		dsm_detach(w->seg);
		w->seg = NULL;
	}
}

/*
 * apm_worker_run has the worker run sql at top level and waits for it; see
 * the file header.  The caller must have committed everything before and
 * must not hold a snapshot.  On return, outcome says how far it got and, on
 * failure, why; after a failure the worker has ended.
 */
void
apm_worker_run(ApmWorker *w, const char *revision, const char *sql,
			   const char *search_path, ApmWorkerOutcome *outcome)
{
	WorkerShared *shared = w->shared;
	Size		sqlsize = strlen(sql) + 1;
	Size		pathsize = search_path != NULL ? strlen(search_path) + 1 : 0;
	dsm_segment *stepseg;
	StepShared *step;
	int			request;

	/*
	 * Nothing of this transaction may make the worker wait for it: a
	 * concurrent index build waits for every transaction that advertises an
	 * xmin older than its own snapshot, and this one waits for the worker.
	 *
	 * The xmin comes back whenever a catalog lookup misses the caches, since
	 * a miss reads the catalog under a fresh catalog snapshot.  Misses are
	 * rare, so this went unnoticed: after a step with many catalog changes
	 * (600 ALTER TABLE ... SET DEFAULT is enough) the shared invalidation
	 * queue overflows at commit, every cache of this backend is reset, and
	 * the first syscache lookup after it (a superuser_arg() in an earlier
	 * version of this function, after the catalog snapshot had been dropped)
	 * left the xmin set for the whole wait.  So: no catalog access from here
	 * on, and the xmin is cleared and checked as the last thing before the
	 * worker is told to go.  Dropping the catalog snapshot clears the xmin
	 * only when there was one; pushing and popping a snapshot is the snapshot
	 * manager's own way to clear it in any case.
	 */
	InvalidateCatalogSnapshot();
	if (HaveRegisteredOrActiveSnapshot())
		elog(ERROR, "cannot start a worker while holding a snapshot");
	PushActiveSnapshot(GetTransactionSnapshot());
	PopActiveSnapshot();
	if (TransactionIdIsValid(apm_proc_xmin(MyProc)))
		elog(ERROR, "cannot start a worker while advertising an xmin");

	stepseg = dsm_create(offsetof(StepShared, data) + sqlsize + pathsize, 0);
	step = dsm_segment_address(stepseg);
	memcpy(step->data, sql, sqlsize);
	step->search_path_offset = 0;
	if (search_path != NULL)
	{
		step->search_path_offset = sqlsize;
		memcpy(step->data + sqlsize, search_path, pathsize);
	}

	/* the request fields; the outcome fields are the worker's to reset */
	strlcpy(shared->revision, revision, sizeof(shared->revision));
	shared->step_seg = dsm_segment_handle(stepseg);
	request = shared->request + 1;
	pg_memory_barrier();
	shared->request = request;
	pg_memory_barrier();
	if (shared->worker_procno >= 0)
		SetLatch(&ProcGlobal->allProcs[shared->worker_procno].procLatch);

	PG_ENSURE_ERROR_CLEANUP(stop_worker, PointerGetDatum(w));
	{
		for (;;)
		{
			pid_t		pid;
			BgwHandleStatus status;

			pg_memory_barrier();
			if (shared->answered == request)
				break;
			status = GetBackgroundWorkerPid(w->handle, &pid);
			if (status == BGWH_STOPPED)
			{
				w->finished = true;
				break;
			}
			if (status == BGWH_POSTMASTER_DIED)
				ereport(FATAL,
						(errcode(ERRCODE_ADMIN_SHUTDOWN),
						 errmsg("postmaster exited while revision \"%s\" was running", revision)));
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 DeadlockTimeout, PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
			CHECK_FOR_INTERRUPTS();
			if (status == BGWH_STARTED && waits_for_me(pid))
				ereport(ERROR,
						(errcode(ERRCODE_T_R_DEADLOCK_DETECTED),
						 errmsg("deadlock detected"),
						 errdetail("Statement %d of revision \"%s\", running in background worker process %d, waits for a lock this session holds.",
								   shared->stmtno, revision, (int) pid),
						 errhint("Release the session's own locks (session-level advisory locks, for example) before CALL ap_migrate_run().")));
		}
	}
	PG_END_ENSURE_ERROR_CLEANUP(stop_worker, PointerGetDatum(w));
	dsm_detach(stepseg);

	outcome->done = shared->answered == request && shared->done;
	w->idle = shared->answered == request && shared->idle;
	outcome->stmtno = shared->stmtno;
	outcome->offset = shared->offset;
	outcome->sqlerrcode = shared->failed ? shared->sqlerrcode : 0;
	outcome->message = shared->failed ? pstrdup(shared->message) : NULL;
	outcome->detail = shared->detail[0] ? pstrdup(shared->detail) : NULL;
	outcome->hint = shared->hint[0] ? pstrdup(shared->hint) : NULL;
	outcome->cleanup = shared->cleanup[0] ? pstrdup(shared->cleanup) : NULL;
}
