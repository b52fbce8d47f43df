/*-------------------------------------------------------------------------
 *
 * fanout.c
 *	  Running a verb on one database or many: -d given several times,
 *	  --dbname-file, --all-databases; -j workers in parallel; the result
 *	  table; stopping at the first failure unless --continue-on-error.
 *
 * Each database is a job with its own connection, run by one of -j worker
 * threads (libpq connections are independent, so threads need no more
 * than a lock around the output and the job queue).  After a failure no
 * new job starts unless --continue-on-error; the jobs already running
 * finish.  Ctrl-C cancels every running statement and starts no new job.
 *
 * Copyright (c) 2026, ap_migrate developers
 *
 * IDENTIFICATION
 *	  client/fanout.c
 *
 *-------------------------------------------------------------------------
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "cli.h"

static DbJob *jobs;
static int	njobs;
static int	next_job;
static bool stop_starting;
static MigrationDir dir;
static bool have_dir;
static pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const status_names[] = {
	"not run", "ok", "FAILED", "pending", "skipped", "interrupted"
};

/* CPU time of the process so far, user and system, for --verbose */
static double
cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
		(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* The database name of a connection string, for labels; malloc'd */
static char *
label_for(const char *conninfo, const char *dbname)
{
	PQconninfoOption *options;
	char	   *label = NULL;

	if (dbname)
		return cli_sanitize(dbname, false);
	if (conninfo == NULL || conninfo[0] == '\0')
		return NULL;			/* the connection's PQdb() once connected */
	options = PQconninfoParse(conninfo, NULL);
	if (options == NULL)
		return cli_sanitize(conninfo, false);
	for (PQconninfoOption *o = options; o->keyword; o++)
		if (strcmp(o->keyword, "dbname") == 0 && o->val && o->val[0])
			label = cli_sanitize(o->val, false);
	PQconninfoFree(options);
	return label;
}

/* Add a job for a connection string and/or a database name */
static void
add_job(const char *conninfo, const char *dbname, bool skip_without_extension)
{
	DbJob	   *job;

	jobs = realloc(jobs, (njobs + 1) * sizeof(DbJob));
	job = &jobs[njobs];
	memset(job, 0, sizeof(*job));
	job->index = njobs;
	job->conninfo = conninfo;
	job->dbname = dbname;
	job->label = label_for(conninfo, dbname);
	job->skip_without_extension = skip_without_extension;
	job->status = JOB_PENDING_RUN;
	initPQExpBuffer(&job->json);
	initPQExpBuffer(&job->steps_json);
	njobs++;
}

/* Read --dbname-file: one connection string or name per line, # comments */
static bool
read_dbname_file(const char *path)
{
	FILE	   *f = fopen(path, "r");
	char	   *line = NULL;
	size_t		cap = 0;
	ssize_t		len;

	if (f == NULL)
	{
		char	   *clean = cli_sanitize(path, false);

		cli_err(NULL, "%s: could not open \"%s\"", cli_paint("error", "1;31"), clean);
		free(clean);
		return false;
	}
	while ((len = getline(&line, &cap, f)) >= 0)
	{
		char	   *p = line;

		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r' ||
						   line[len - 1] == ' ' || line[len - 1] == '\t'))
			line[--len] = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0' || *p == '#')
			continue;
		add_job(strdup(p), NULL, false);
		jobs[njobs - 1].owns_conninfo = true;
	}
	free(line);
	fclose(f);
	return true;
}

/*
 * --all-databases: every database of the server that accepts connections;
 * those without the extension are skipped when their turn comes.
 */
static bool
list_all_databases(const char *base)
{
	DbJob		probe;
	PGresult   *res;

	memset(&probe, 0, sizeof(probe));
	probe.conninfo = base;
	probe.slot = 0;
	if (cli_connect(&probe) == NULL)
		return false;
	res = cli_exec(&probe,
				   "SELECT datname FROM pg_catalog.pg_database "
				   "WHERE datallowconn AND NOT datistemplate ORDER BY datname", 0, NULL);
	if (res == NULL)
	{
		cli_disconnect(&probe);
		return false;
	}
	for (int i = 0; i < PQntuples(res); i++)
		add_job(base, strdup(PQgetvalue(res, i, 0)), true);
	PQclear(res);
	cli_disconnect(&probe);
	free(probe.label);
	free(probe.error);
	return true;
}

/*
 * Is the extension installed?  When it is not, upgrade and stamp create it
 * (the first deploy of a database), the reading verbs create it inside
 * their transaction, which they roll back (so "plan" shows a fresh
 * database's whole plan and leaves nothing behind), and --all-databases
 * skips the database.
 */
static bool
ensure_extension(DbJob *job)
{
	PGresult   *res = cli_exec(job,
							   "SELECT 1 FROM pg_catalog.pg_extension WHERE extname OPERATOR(pg_catalog.=) 'ap_migrate'",
							   0, NULL);
	bool		present;

	if (res == NULL)
		return false;
	present = PQntuples(res) > 0;
	PQclear(res);
	if (present)
		return true;
	if (job->skip_without_extension)
	{
		job->status = JOB_SKIPPED;
		job->error = strdup("extension ap_migrate not installed");
		return false;
	}
	if (strcmp(opts.verb, "upgrade") == 0 || strcmp(opts.verb, "stamp") == 0)
	{
		if (!cli_command(job, "CREATE EXTENSION ap_migrate"))
			return false;
		if (!opts.quiet && !opts.json)
			cli_err(job, "Created extension ap_migrate");
		return true;
	}
	if (opts.kind == VERB_WRITE)
	{
		cli_err(job, "%s: extension ap_migrate is not installed in database \"%s\": nothing to %s",
				cli_paint("error", "1;31"), job->label ? job->label : "", opts.verb);
		job->error = strdup("extension ap_migrate not installed");
		return false;
	}
	/* reading verbs create it in their transaction, which is rolled back */
	job->create_extension = true;
	return true;
}

/* Run the verb on one database; sets job->status */
static void
run_job(DbJob *job)
{
	int			rc = EXIT_ERROR;

	if (cli_connect(job) != NULL && ensure_extension(job))
	{
		if (opts.kind == VERB_WRITE)
			rc = cli_apply(job, have_dir ? &dir : NULL);
		else
			rc = cli_inspect(job, have_dir ? &dir : NULL);
	}
	if (job->status == JOB_PENDING_RUN || (rc == EXIT_ERROR && job->status == JOB_OK))
		job->status = rc == EXIT_OK ? JOB_OK :
			rc == EXIT_PENDING ? JOB_BEHIND :
			cli_interrupted() ? JOB_INTERRUPTED : JOB_FAILED;
	cli_disconnect(job);

	if (opts.json)
	{
		PQExpBufferData out;

		initPQExpBuffer(&out);
		appendPQExpBufferStr(&out, "{\"database\": ");
		cli_json_string(&out, job->label);
		appendPQExpBufferStr(&out, ", \"verb\": ");
		cli_json_string(&out, opts.verb);
		appendPQExpBuffer(&out, ", \"status\": \"%s\", \"exit\": %d",
						  job->status == JOB_OK ? "ok" :
						  job->status == JOB_BEHIND ? "pending" :
						  job->status == JOB_SKIPPED ? "skipped" :
						  job->status == JOB_INTERRUPTED ? "interrupted" : "failed",
						  job->status == JOB_SKIPPED ? 0 : rc);
		if (opts.kind == VERB_WRITE)
		{
			appendPQExpBuffer(&out, ", \"steps\": [%s], \"seconds\": %.3f, \"current\": ",
							  job->steps_json.data, job->seconds);
			cli_json_string(&out, job->current);
		}
		appendPQExpBufferStr(&out, ", \"error\": ");
		cli_json_string(&out, job->error);
		appendPQExpBuffer(&out, "%s}", job->json.data);
		cli_lock_output();
		puts(out.data);
		fflush(stdout);
		cli_unlock_output();
		termPQExpBuffer(&out);
	}
}

/* A worker thread: take jobs from the queue until it is empty or stopped */
static void *
worker(void *arg)
{
	int			slot = (int) (long) arg;

	for (;;)
	{
		DbJob	   *job;

		pthread_mutex_lock(&queue_lock);
		if (next_job >= njobs || stop_starting || cli_interrupted())
		{
			pthread_mutex_unlock(&queue_lock);
			break;
		}
		job = &jobs[next_job++];
		pthread_mutex_unlock(&queue_lock);

		job->slot = slot;
		run_job(job);

		if (job->status == JOB_FAILED || job->status == JOB_INTERRUPTED)
		{
			pthread_mutex_lock(&queue_lock);
			if (!opts.continue_on_error)
				stop_starting = true;
			pthread_mutex_unlock(&queue_lock);
		}
	}
	return NULL;
}

/* The result table, one row per database, after a run on several */
static void
print_table(void)
{
	int			width = 8;
	int			counts[6] = {0};

	for (int i = 0; i < njobs; i++)
		if (jobs[i].label && (int) strlen(jobs[i].label) > width)
			width = strlen(jobs[i].label);
	printf("\n%-*s  %-11s  %5s  %8s  %s\n", width, "database", "result", "steps", "time", "current / error");
	for (int i = 0; i < width + 46; i++)
		putchar('-');
	putchar('\n');
	for (int i = 0; i < njobs; i++)
	{
		DbJob	   *job = &jobs[i];
		const char *detail = job->error ? job->error : job->current ? job->current : "";
		char	   *clean = cli_sanitize(detail, false);
		const char *status = status_names[job->status];
		char		padded[32];

		snprintf(padded, sizeof(padded), "%-11s", status);
		counts[job->status]++;
		printf("%-*s  %s  %5d  %7.2fs  %s\n", width, job->label ? job->label : "?",
			   cli_paint(padded, job->status == JOB_OK ? "32" :
						 job->status == JOB_FAILED || job->status == JOB_INTERRUPTED ? "1;31" : "33"),
			   job->steps, job->seconds, clean);
		free(clean);
	}
	printf("%d database%s: %d ok, %d failed, %d pending, %d skipped, %d interrupted, %d not run\n",
		   njobs, njobs == 1 ? "" : "s", counts[JOB_OK], counts[JOB_FAILED], counts[JOB_BEHIND],
		   counts[JOB_SKIPPED], counts[JOB_INTERRUPTED], counts[JOB_PENDING_RUN]);
	fflush(stdout);
}

/*
 * Build the list of databases, read the directory once, run the verb on
 * every database with -j workers, print the table; returns the exit code.
 */
int
cli_run_databases(void)
{
	char	   *url = cli_database_url();
	int			nthreads;
	pthread_t  *threads;
	int			rc = EXIT_OK;

	if (opts.all_databases)
	{
		if (!list_all_databases(opts.ndbnames > 0 ? opts.dbnames[0] : url))
			return EXIT_ERROR;
	}
	else
	{
		if (opts.dbname_file && !read_dbname_file(opts.dbname_file))
			return EXIT_ERROR;
		for (int i = 0; i < opts.ndbnames; i++)
			add_job(opts.dbnames[i], NULL, false);
		if (njobs == 0 && opts.dbname_file == NULL)
			add_job(url, NULL, false);
	}
	if (njobs == 0)
	{
		cli_err(NULL, "%s: no database to run on", cli_paint("error", "1;31"));
		return EXIT_ERROR;
	}
	for (int i = 0; i < njobs; i++)
		jobs[i].prefix = njobs > 1;

	if (!opts.no_sync)
	{
		double		started = cli_now();
		double		cpu = cpu_seconds();

		if (!cli_read_dir(opts.dir, &dir, false))
			return EXIT_ERROR;
		have_dir = true;
		if (opts.verbose && !opts.json)
			cli_err(NULL, "Read %d files of %s in %.0f ms (CPU %.0f ms)", dir.nfiles, opts.dir,
					(cli_now() - started) * 1000.0, (cpu_seconds() - cpu) * 1000.0);
	}

	nthreads = opts.jobs < 1 ? 1 : opts.jobs > njobs ? njobs : opts.jobs;
	threads = malloc(nthreads * sizeof(pthread_t));
	for (long i = 0; i < nthreads; i++)
		pthread_create(&threads[i], NULL, worker, (void *) i);
	for (int i = 0; i < nthreads; i++)
		pthread_join(threads[i], NULL);
	free(threads);

	if (njobs > 1 && !opts.json)
		print_table();
	for (int i = 0; i < njobs; i++)
	{
		DbJob	   *job = &jobs[i];

		if (job->status == JOB_FAILED || job->status == JOB_INTERRUPTED ||
			(job->status == JOB_PENDING_RUN && (stop_starting || cli_interrupted())))
			rc = EXIT_ERROR;
		else if (job->status == JOB_BEHIND && rc == EXIT_OK)
			rc = EXIT_PENDING;
		free(job->label);
		free(job->error);
		free(job->current);
		free(job->step_text);
		termPQExpBuffer(&job->json);
		termPQExpBuffer(&job->steps_json);
		if (job->dbname)
			free((char *) job->dbname);
		if (job->owns_conninfo)
			free((char *) job->conninfo);
	}
	free(jobs);
	if (have_dir)
		cli_free_dir(&dir);
	free(url);
	return rc;
}
