/*-------------------------------------------------------------------------
 *
 * cli.h
 *	  Shared declarations of ap-migrate, the command-line client of the
 *	  ap_migrate extension.
 *
 * The client is a thin layer over the extension's SQL functions: it reads
 * a directory of migration files, registers what the database lacks, and
 * calls ap_migrate_upgrade(), ap_migrate_run(), ap_migrate_history() and
 * friends.  Nothing about the revision graph is computed here; the server
 * owns it.
 *
 * Copyright (c) 2026, ap_migrate developers
 *
 * IDENTIFICATION
 *	  client/cli.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef AP_MIGRATE_CLI_H
#define AP_MIGRATE_CLI_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/stat.h>

#include "libpq-fe.h"

/*
 * libpq exports the PQExpBuffer functions that PostgreSQL's own programs
 * use for growable strings; their header expects c.h's attribute macro,
 * which a program outside the source tree does not include.
 */
#ifndef pg_attribute_printf
#define pg_attribute_printf(f, a) __attribute__((format(printf, f, a)))
#endif
#include "pqexpbuffer.h"

#define CLI_PRINTF(f, a) __attribute__((format(printf, f, a)))

#define CLI_VERSION		"0.3.0"
#define CLI_CONFIG_FILE	"ap-migrate.conf"
#define CLI_DEFAULT_DIR	"migrations"
#define CLI_IMPORTER	"ap-migrate-import"

/* exit codes, documented in docs/cli.md */
#define EXIT_OK			0
#define EXIT_ERROR		1
#define EXIT_USAGE		2
#define EXIT_PENDING	3

/* what a verb needs from the database */
typedef enum VerbKind
{
	VERB_LOCAL,					/* files only: init, revision, merge */
	VERB_READ,					/* synced in a transaction that is rolled back */
	VERB_WRITE,					/* synced in the operation's transaction */
	VERB_EXEC					/* runs another program: import, adopt */
} VerbKind;

/* command line, after parsing */
typedef struct CliOptions
{
	const char *verb;
	VerbKind	kind;
	char	  **dbnames;		/* -d, repeatable */
	int			ndbnames;
	const char *dbname_file;
	bool		all_databases;
	int			jobs;
	bool		continue_on_error;
	const char *dir;			/* migrations directory */
	bool		dir_given;
	bool		quiet;
	bool		json;
	bool		verbose;
	bool		single_transaction;
	bool		no_sync;
	bool		offline_sql;	/* upgrade --sql */
	const char *message;
	const char *head;
	char	  **branch_labels;
	int			nbranch_labels;
	char	  **depends_on;
	int			ndepends_on;
	bool		non_transactional;
	const char *rev_id;
	const char *range;
	const char *out;
	char	  **args;			/* positional arguments after the verb */
	int			nargs;
} CliOptions;

/* one migration file of the directory */
typedef struct MigrationFile
{
	char	   *path;			/* as opened, for messages */
	char	   *name;			/* file name within the directory */
	char	   *text;			/* whole file */
	bool		parsed;			/* header and sections understood */
	char	   *id;
	char	   *parents;		/* space-separated, as the server joins them */
	char	   *message;
	char	   *branch_labels;
	char	   *depends_on;
	char		checksum[65];	/* checksum algorithm 1, hex */
	bool		have_stat;
	struct stat st;				/* for the cache (cache.c) */
} MigrationFile;

typedef struct MigrationDir
{
	MigrationFile *files;		/* sorted by file name */
	int			nfiles;
} MigrationDir;

/* the outcome of one database, for the result table */
typedef enum JobStatus
{
	JOB_PENDING_RUN,
	JOB_OK,
	JOB_FAILED,
	JOB_BEHIND,					/* check: pending migrations */
	JOB_SKIPPED,
	JOB_INTERRUPTED
} JobStatus;

typedef struct DbJob
{
	int			index;
	int			slot;			/* worker thread, for its cancel slot */
	const char *conninfo;		/* expanded as a connection string */
	const char *dbname;			/* NULL, or a database name overriding it */
	bool		owns_conninfo;	/* conninfo is malloc'd for this job */
	char	   *label;			/* database name shown in output */
	bool		prefix;			/* prefix output lines with the label */
	bool		skip_without_extension;
	bool		create_extension;	/* missing: create it in the verb's
									 * transaction */
	PGconn	   *conn;
	JobStatus	status;
	int			steps;
	double		seconds;
	char	   *current;		/* current revisions after the verb */
	char	   *error;			/* first line of the error */
	/* step in progress, from the server's NOTICEs */
	char	   *step_text;
	double		step_started;
	bool		line_open;		/* a progress line awaits its duration */
	PQExpBufferData steps_json; /* --json: the steps taken */
	PQExpBufferData json;		/* --json: this database's object */
} DbJob;

extern CliOptions opts;

/* main.c */
extern void cli_usage_error(const char *fmt,...) CLI_PRINTF(1, 2);

/* conn.c */
extern char *cli_database_url(void);
extern PGconn *cli_connect(DbJob *job);
extern void cli_disconnect(DbJob *job);
extern PGresult *cli_exec(DbJob *job, const char *sql, int nparams,
						  const char *const *params);
extern bool cli_command(DbJob *job, const char *sql);
extern void cli_report_error(DbJob *job, const PGresult *res, const char *what);
extern void cli_cancel_install(void);
extern void cli_cancel_remove(void);
extern bool cli_interrupted(void);
extern void cli_set_cancel(DbJob *job, PGconn *conn);

/* output.c */
extern bool cli_color;
extern char *cli_sanitize(const char *text, bool keep_newlines);
extern void cli_out(DbJob *job, const char *fmt,...) CLI_PRINTF(2, 3);
extern void cli_err(DbJob *job, const char *fmt,...) CLI_PRINTF(2, 3);
extern void cli_lock_output(void);
extern void cli_unlock_output(void);
extern void cli_json_string(PQExpBuffer buf, const char *s);
extern double cli_now(void);
extern const char *cli_paint(const char *text, const char *color);

/* files.c */
extern bool cli_read_dir(const char *dir, MigrationDir *md, bool quiet_missing);
extern void cli_free_dir(MigrationDir *md);
extern bool cli_parse_file(MigrationFile *f);
extern const char *cli_file_text(MigrationFile *f);
extern void cli_checksum(const char *up, size_t uplen, const char *down,
						 long downlen, bool transactional, char *hex);

/* cache.c */
typedef struct MigrationCache MigrationCache;
extern MigrationCache *cli_cache_load(const char *dir);
extern int	cli_cache_count(const MigrationCache *cache);
extern bool cli_cache_lookup(MigrationCache *cache, MigrationFile *f, const struct stat *st);
extern void cli_cache_save(MigrationCache *cache, const MigrationDir *md, bool changed);
extern void cli_cache_free(MigrationCache *cache);

/* sync.c */
extern bool cli_sync(DbJob *job, MigrationDir *md);

/* config.c */
extern void cli_read_config(void);

/* authoring.c */
extern int	cli_init(void);
extern int	cli_revision(bool merge);

/* apply.c */
extern int	cli_apply(DbJob *job, MigrationDir *md);

/* progress.c */
extern void cli_step_notice(DbJob *job, const char *message);
extern void cli_step_finish(DbJob *job, bool failed);

/* inspect.c */
extern int	cli_inspect(DbJob *job, MigrationDir *md);

/* fanout.c */
extern int	cli_run_databases(void);

/* dispatch.c */
extern int	cli_exec_importer(void);

#endif							/* AP_MIGRATE_CLI_H */
