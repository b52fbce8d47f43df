/*-------------------------------------------------------------------------
 *
 * citus.c
 *	  Running on a Citus cluster: where ap_migrate may run, and the
 *	  transaction mode Citus needs for a chain of DDL in one transaction.
 *
 * The catalog of migrations lives on the Citus coordinator, which
 * propagates the DDL the steps run to the workers.  A worker node has the
 * extension too (CREATE EXTENSION propagates), but an operation there would
 * change or report that node alone, silently diverging its schema; so every
 * ap_migrate call refuses to run on a node whose Citus group is not the
 * coordinator's (group 0), naming the coordinator.  Citus keeps its node
 * metadata in pg_catalog.pg_dist_local_group and pg_catalog.pg_dist_node;
 * without those tables (no Citus) the check costs one catalog cache probe.
 *
 * Citus runs the DDL of a distributed table over several connections per
 * worker (parallel mode) unless the transaction has switched to sequential
 * mode, and it refuses parallel DDL after DDL on a reference table in the
 * same transaction; a schema created over one connection is invisible to
 * the others until commit.  A function call runs every step in one
 * transaction, so with ap_migrate.citus_sequential on (the default) it sets
 * citus.multi_shard_modify_mode to 'sequential' for that transaction when
 * the setting exists, as Citus's documentation recommends for such chains.
 * The procedures commit after each step and need no such mode.
 *
 * Copyright (c) 2026, ap_migrate developers
 *
 * IDENTIFICATION
 *	  src/citus.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_namespace.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"

#include "ap_migrate.h"
#include "compat.h"

/* Citus's setting for the way a transaction runs multi-shard commands */
#define CITUS_MODIFY_MODE "citus.multi_shard_modify_mode"

/*
 * The coordinator as "host:port" from this node's copy of Citus's node
 * metadata, or NULL when the metadata does not say.  Needs SPI.
 */
static char *
coordinator_address(void)
{
	char	   *result = NULL;

	if (!OidIsValid(get_relname_relid("pg_dist_node", PG_CATALOG_NAMESPACE)))
		return NULL;
	if (SPI_execute("SELECT nodename OPERATOR(pg_catalog.||) ':' OPERATOR(pg_catalog.||) nodeport"
					"  FROM pg_catalog.pg_dist_node"
					" WHERE groupid OPERATOR(pg_catalog.=) 0 LIMIT 1", true, 1) == SPI_OK_SELECT &&
		SPI_processed == 1)
		result = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	SPI_freetuptable(SPI_tuptable);
	return result;
}

/*
 * apm_citus_check_node refuses an ap_migrate call (funcname) on a Citus
 * node other than the coordinator.  Needs SPI.
 */
void
apm_citus_check_node(const char *funcname)
{
	bool		isnull;
	int32		group = 0;
	char	   *coordinator;

	if (!OidIsValid(get_relname_relid("pg_dist_local_group", PG_CATALOG_NAMESPACE)))
		return;
	if (SPI_execute("SELECT groupid FROM pg_catalog.pg_dist_local_group", true, 1) == SPI_OK_SELECT &&
		SPI_processed == 1)
	{
		Datum		value = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		if (!isnull)
			group = DatumGetInt32(value);
	}
	SPI_freetuptable(SPI_tuptable);
	if (group == 0)
		return;

	coordinator = coordinator_address();
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("%s cannot run on a Citus worker node", funcname),
			 errdetail("This node is in Citus group %d; ap_migrate's catalog and the migrations it applies belong to the coordinator, which propagates them to the workers.",
					   group),
			 coordinator != NULL ?
			 errhint("Connect to the coordinator, %s.", coordinator) :
			 errhint("Connect to the coordinator (Citus group 0).")));
}

/*
 * apm_citus_begin_transaction prepares the transaction of a function call
 * for a chain of distributed DDL: sequential multi-shard mode when Citus's
 * setting exists and ap_migrate.citus_sequential is on.  The setting is
 * transaction-scoped, as Citus sets it itself.
 */
void
apm_citus_begin_transaction(void)
{
	const char *mode;

	if (!apm_citus_sequential)
		return;
	mode = GetConfigOption(CITUS_MODIFY_MODE, true, false);
	if (mode == NULL || strcmp(mode, "sequential") == 0)
		return;
	(void) set_config_option(CITUS_MODIFY_MODE, "sequential",
							 superuser() ? PGC_SUSET : PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_LOCAL, true, 0, false);
}
