/*-------------------------------------------------------------------------
 *
 * compat.h
 *	  Every PostgreSQL-version difference ap_migrate depends on, in one place.
 *
 * The code is written against PostgreSQL 15's API; each shim below gives
 * another major that API, and says which major changed what.  Built and
 * tested on 13, 15, 17 and 18 (test/matrix.sh).  14 and 16 are covered by
 * construction: every test below is "< the major that changed it", so they
 * take the branch of the release they belong to, but no Debian suite ships
 * them and they are not tested.
 *
 * Copyright (c) 2026, ap_migrate developers
 *
 * IDENTIFICATION
 *	  src/compat.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef AP_MIGRATE_COMPAT_H
#define AP_MIGRATE_COMPAT_H

#include "storage/lock.h"

#if PG_VERSION_NUM < 130000
#error "ap_migrate requires PostgreSQL 13 or later"
#endif

/*
 * SHA-256 through pg_cryptohash.  PostgreSQL 14 added common/cryptohash.h
 * (the generic interface over OpenSSL or the built-in code); 13 has only
 * common/sha2.h's pg_sha256_init/update/final.  On 13 a pg_cryptohash_ctx
 * is a palloc'd pg_sha256_ctx and the functions below wrap sha2.h (they
 * cannot fail).  PostgreSQL 15 added the digest length argument of
 * pg_cryptohash_final and pg_cryptohash_error; on 14 the length is dropped
 * and the error is a fixed string.
 */
#include "common/sha2.h"
#if PG_VERSION_NUM >= 140000
#include "common/cryptohash.h"
#endif

#if PG_VERSION_NUM < 140000
typedef enum
{
	PG_SHA256
} pg_cryptohash_type;

typedef struct pg_cryptohash_ctx
{
	pg_sha256_ctx sha256;
} pg_cryptohash_ctx;

static inline pg_cryptohash_ctx *
pg_cryptohash_create(pg_cryptohash_type type)
{
	return (pg_cryptohash_ctx *) palloc0(sizeof(pg_cryptohash_ctx));
}

static inline int
pg_cryptohash_init(pg_cryptohash_ctx *ctx)
{
	pg_sha256_init(&ctx->sha256);
	return 0;
}

static inline int
pg_cryptohash_update(pg_cryptohash_ctx *ctx, const uint8 *data, size_t len)
{
	pg_sha256_update(&ctx->sha256, data, len);
	return 0;
}

static inline int
pg_cryptohash_final(pg_cryptohash_ctx *ctx, uint8 *dest, size_t len)
{
	Assert(len >= PG_SHA256_DIGEST_LENGTH);
	pg_sha256_final(&ctx->sha256, dest);
	return 0;
}

static inline void
pg_cryptohash_free(pg_cryptohash_ctx *ctx)
{
	if (ctx)
		pfree(ctx);
}
#elif PG_VERSION_NUM < 150000
#define pg_cryptohash_final(ctx, dest, len) pg_cryptohash_final((ctx), (dest))
#endif

#if PG_VERSION_NUM < 150000
#define pg_cryptohash_error(ctx) "cryptohash failure"
#endif

/*
 * MarkGUCPrefixReserved is PostgreSQL 15's name and behaviour: warn about
 * and remove placeholders under the prefix, and refuse new ones.  Before
 * 15 the nearest is EmitWarningsOnPlaceholders, which only warns, so on
 * 13 and 14 a misspelt "ap_migrate.*" setting is kept as a placeholder.
 */
#if PG_VERSION_NUM < 150000
#include "utils/guc.h"
#define MarkGUCPrefixReserved(prefix) EmitWarningsOnPlaceholders(prefix)
#endif

/*
 * InitMaterializedSRF (set up a set-returning function's tuplestore) came
 * with PostgreSQL 15.1 (15.0 called it SetSingleFuncCall).  Before that,
 * the same steps are written out here, as 15's funcapi.c does them.
 */
#if PG_VERSION_NUM < 150001
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/tuplestore.h"

#ifndef MAT_SRF_USE_EXPECTED_DESC
#define MAT_SRF_USE_EXPECTED_DESC	0x01
#define MAT_SRF_BLESS				0x02
#endif

static inline void
apm_init_materialized_srf(FunctionCallInfo fcinfo, bits32 flags)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext oldcxt;
	TupleDesc	tupdesc;

	if (rsinfo == NULL || !IsA(rsinfo, ReturnSetInfo))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("set-valued function called in context that cannot accept a set")));
	if (!(rsinfo->allowedModes & SFRM_Materialize) ||
		((flags & MAT_SRF_USE_EXPECTED_DESC) != 0 && rsinfo->expectedDesc == NULL))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("materialize mode required, but it is not allowed in this context")));
	oldcxt = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
	if ((flags & MAT_SRF_USE_EXPECTED_DESC) != 0)
		tupdesc = CreateTupleDescCopy(rsinfo->expectedDesc);
	else if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	if ((flags & MAT_SRF_BLESS) != 0)
		BlessTupleDesc(tupdesc);
	rsinfo->returnMode = SFRM_Materialize;
	rsinfo->setResult =
		tuplestore_begin_heap((rsinfo->allowedModes & SFRM_Materialize_Random) != 0,
							  false, work_mem);
	rsinfo->setDesc = tupdesc;
	MemoryContextSwitchTo(oldcxt);
}
#define InitMaterializedSRF(fcinfo, flags) apm_init_materialized_srf((fcinfo), (flags))
#endif

/*
 * raw_parser: PostgreSQL 14 added the mode argument (RAW_PARSE_DEFAULT
 * parses a list of statements, the only mode before 14).
 */
#if PG_VERSION_NUM < 140000
#include "parser/parser.h"
#define RAW_PARSE_DEFAULT 0
#define raw_parser(str, mode) raw_parser(str)
#endif

/*
 * REINDEX ... CONCURRENTLY: PostgreSQL 14 moved it from the flag
 * ReindexStmt.concurrent into the option list ReindexStmt.params (a
 * DefElem "concurrently").  On 13 the flag is turned into that list, so
 * the code reads one form.  14 also added DETACH PARTITION ... CONCURRENTLY
 * (PartitionCmd.concurrent), which 13 cannot even parse.
 */
#if PG_VERSION_NUM >= 140000
#define apm_reindex_params(stmt) ((stmt)->params)
#define apm_detach_concurrently(cmd) ((cmd)->concurrent)
#else
#include "nodes/makefuncs.h"
#define apm_reindex_params(stmt) \
	((stmt)->concurrent ? list_make1(makeDefElem("concurrently", NULL, -1)) : NIL)
#define apm_detach_concurrently(cmd) false
#endif

/*
 * AlterTableStmt: PostgreSQL 14 renamed its object type field from relkind
 * (an ObjectType despite the name) to objtype.
 */
#if PG_VERSION_NUM >= 140000
#define apm_alter_table_objtype(stmt) ((stmt)->objtype)
#else
#define apm_alter_table_objtype(stmt) ((stmt)->relkind)
#endif

/*
 * FuncnameGetCandidates: PostgreSQL 14 added include_out_arguments (the
 * sixth argument; 13 never includes OUT arguments, as false asks).
 */
#if PG_VERSION_NUM < 140000
#include "catalog/namespace.h"
#define FuncnameGetCandidates(names, nargs, argnames, variadic, defaults, outargs, missing_ok) \
	FuncnameGetCandidates((names), (nargs), (argnames), (variadic), (defaults), (missing_ok))
#endif

/*
 * ProcessUtility_hook and standard_ProcessUtility: PostgreSQL 14 added the
 * readOnlyTree argument.  A hook declares it with APM_READONLY_TREE_PARAM
 * and passes it on with APM_READONLY_TREE_ARG; both are empty on 13.
 */
#if PG_VERSION_NUM >= 140000
#define APM_READONLY_TREE_PARAM bool readOnlyTree,
#define APM_READONLY_TREE_ARG readOnlyTree,
#else
#define APM_READONLY_TREE_PARAM
#define APM_READONLY_TREE_ARG
#endif

/*
 * Catalog index OIDs: PostgreSQL 14 moved their macros (TriggerOidIndexId,
 * ...) from catalog/indexing.h into each catalog's header.
 */
#if PG_VERSION_NUM < 140000
#include "catalog/indexing.h"
#endif

/*
 * IsTrueArrayType (a varlena array type, not a fixed-length type with a
 * typelem such as name or point) came with PostgreSQL 14's typsubscript.
 * Before, a true array type is one with a typelem and typlen -1, the test
 * 13's get_element_type makes.
 */
#if PG_VERSION_NUM < 140000
#define IsTrueArrayType(typeForm) \
	(OidIsValid((typeForm)->typelem) && (typeForm)->typlen == -1)
#endif

/*
 * Multirange types came with PostgreSQL 14.  Before, no type has the kind
 * 'm', so the letter 14 gives them never matches.
 */
#if PG_VERSION_NUM < 140000 && !defined(TYPTYPE_MULTIRANGE)
#define TYPTYPE_MULTIRANGE 'm'
#endif

/*
 * pg_md5_hash: PostgreSQL 15 added the errstr argument (14 moved MD5 onto
 * pg_cryptohash, which can fail).  Before, there is no reason to report; a
 * failure (out of memory) returns false.
 */
#if PG_VERSION_NUM < 150000
#include "common/md5.h"
#define pg_md5_hash(buff, len, hexsum, errstr) \
	(*(errstr) = "out of memory", pg_md5_hash((buff), (len), (hexsum)))
#endif

/*
 * pg_analyze_and_rewrite_fixedparams is PostgreSQL 15's name for
 * pg_analyze_and_rewrite (same arguments).
 */
#if PG_VERSION_NUM < 150000
#include "tcop/tcopprot.h"
#define pg_analyze_and_rewrite_fixedparams(raw, text, types, n, env) \
	pg_analyze_and_rewrite((raw), (text), (types), (n), (env))
#endif

/*
 * HaveRegisteredOrActiveSnapshot came with PostgreSQL 15 (and some 14
 * minors).  Before, GetOldestSnapshot returns a snapshot exactly when one
 * is registered or active, counting a valid catalog snapshot as registered;
 * worker.c invalidates the catalog snapshot before asking, so the answer is
 * the same.
 */
#if PG_VERSION_NUM < 150000
#include "utils/snapmgr.h"
#define HaveRegisteredOrActiveSnapshot() (GetOldestSnapshot() != NULL)
#endif

/*
 * PostgreSQL 14 moved the backend status functions
 * (pgstat_report_activity) out of pgstat.h into utils/backend_status.h.
 */
#if PG_VERSION_NUM >= 140000
#include "utils/backend_status.h"
#else
#include "pgstat.h"
#endif

/*
 * PostgreSQL 16 moved the varlena macros (VARDATA, VARSIZE, ...) out of
 * postgres.h into varatt.h.
 */
#if PG_VERSION_NUM >= 160000
#include "varatt.h"
#endif

/*
 * PostgreSQL 17 lets a background worker log in as a role without LOGIN
 * (BGWORKER_BYPASS_ROLELOGINCHECK).  Before, a worker that runs a step as
 * its owner needs the owner to have LOGIN, which execute.c checks up front.
 * APM_BGWORKER_LOGIN_BYPASS is the flag to pass, or 0 where there is none.
 */
#include "postmaster/bgworker.h"

#ifdef BGWORKER_BYPASS_ROLELOGINCHECK
#define APM_BGWORKER_LOGIN_BYPASS BGWORKER_BYPASS_ROLELOGINCHECK
#else
#define APM_BGWORKER_LOGIN_BYPASS 0
#endif

/*
 * PostgreSQL 16 keeps the GUC variables in a hash table and returns their
 * count with the array (get_guc_variables(int *)); before, the count came
 * from GetNumConfigOptions().  apm_guc_variables is the 16 form.
 */
#include "utils/guc_tables.h"
#if PG_VERSION_NUM >= 160000
#define apm_guc_variables(num_vars) get_guc_variables(num_vars)
#else
static inline struct config_generic **
apm_guc_variables(int *num_vars)
{
	*num_vars = GetNumConfigOptions();
	return get_guc_variables();
}
#endif

/*
 * LockHeldByMe: PostgreSQL 17 added a third argument, "orstronger" (also
 * accept a stronger mode).  ap_migrate asks about the exact mode.
 */
#if PG_VERSION_NUM >= 170000
#define apm_lock_held_by_me(tag, mode) LockHeldByMe((tag), (mode), false)
#else
#define apm_lock_held_by_me(tag, mode) LockHeldByMe((tag), (mode))
#endif

/*
 * A backend's PGPROC number, its index in ProcGlobal->allProcs: PostgreSQL
 * 17 removed PGPROC.pgprocno (ProcNumber, GetNumberFromPGProc).
 * apm_proc_number(proc) is that index on every major.
 */
#include "storage/proc.h"
#if PG_VERSION_NUM >= 170000
#define apm_proc_number(proc) GetNumberFromPGProc(proc)
#else
#define apm_proc_number(proc) ((proc)->pgprocno)
#endif

/*
 * A backend's advertised xmin: PostgreSQL 14 moved it from PGXACT (13's
 * ProcGlobal->allPgXact, indexed like allProcs) into PGPROC.
 */
#if PG_VERSION_NUM >= 140000
#define apm_proc_xmin(proc) ((proc)->xmin)
#else
#define apm_proc_xmin(proc) (ProcGlobal->allPgXact[(proc)->pgprocno].xmin)
#endif

/*
 * PortalRun: PostgreSQL 18 dropped the run_once argument (a portal is run
 * once or not, the executor knows); 15's seven-argument call drops it.
 */
#if PG_VERSION_NUM >= 180000
#include "tcop/pquery.h"
#define PortalRun(portal, count, isTopLevel, run_once, dest, altdest, qc) \
	PortalRun((portal), (count), (isTopLevel), (dest), (altdest), (qc))
#endif

/*
 * ExecInsertIndexTuples: PostgreSQL 14 added the ResultRelInfo and the
 * "update" arguments (13 takes the result relation from the EState), and
 * 16 "onlySummarizing".  ap_migrate inserts rows, never updates them.
 */
#include "executor/executor.h"
#if PG_VERSION_NUM >= 160000
#define apm_insert_index_tuples(rri, slot, estate) \
	((void) ExecInsertIndexTuples((rri), (slot), (estate), false, false, NULL, NIL, false))
#elif PG_VERSION_NUM >= 140000
#define apm_insert_index_tuples(rri, slot, estate) \
	((void) ExecInsertIndexTuples((rri), (slot), (estate), false, false, NULL, NIL))
#else
#define apm_insert_index_tuples(rri, slot, estate) \
	((estate)->es_result_relation_info = (rri), \
	 (void) ExecInsertIndexTuples((slot), (estate), false, NULL, NIL))
#endif

/*
 * index_beginscan: PostgreSQL 18 added the instrumentation argument
 * (EXPLAIN's count of index searches); ap_migrate's lookups have none.
 */
#include "access/genam.h"
#if PG_VERSION_NUM >= 180000
#define apm_index_beginscan(heap, index, snapshot, nkeys, norderbys) \
	index_beginscan((heap), (index), (snapshot), NULL, (nkeys), (norderbys))
#else
#define apm_index_beginscan(heap, index, snapshot, nkeys, norderbys) \
	index_beginscan((heap), (index), (snapshot), (nkeys), (norderbys))
#endif

#endif							/* AP_MIGRATE_COMPAT_H */
