/*-------------------------------------------------------------------------
 *
 * conn.c
 *	  Connections of ap-migrate: where the connection string comes from,
 *	  statements with parameters, error reports as psql prints them, and
 *	  cancellation on Ctrl-C.
 *
 * Connection parameters are libpq's: -d takes a connection string or URI;
 * without it DATABASE_URL is used (SQLAlchemy's "postgresql+psycopg2://"
 * and "postgresql+asyncpg://" spellings accepted, since applications keep
 * that form in their .env files), and libpq's PG* variables fill in the
 * rest.  Every value goes to the server as a parameter, never spliced into
 * SQL text.
 *
 * Copyright (c) 2026, ap_migrate developers
 *
 * IDENTIFICATION
 *	  client/conn.c
 *
 *-------------------------------------------------------------------------
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* cancel objects of the connections now running a statement, by job */
static pthread_mutex_t cancel_lock = PTHREAD_MUTEX_INITIALIZER;
static PGcancel **cancels = NULL;
static int	ncancels = 0;
static volatile sig_atomic_t interrupted = 0;
static pthread_t signal_thread_id;
static bool signal_thread_started = false;

/*
 * The connection string from DATABASE_URL, or NULL.  SQLAlchemy's
 * "postgresql+DRIVER://" scheme becomes "postgresql://", and asyncpg's
 * "ssl=" query parameter becomes libpq's "sslmode=", so the URL of the
 * application's .env file can be used as it is.
 */
char *
cli_database_url(void)
{
	const char *url = getenv("DATABASE_URL");
	const char *rest;
	PQExpBufferData buf;
	const char *p;

	if (url == NULL || url[0] == '\0')
		return NULL;
	if (strncmp(url, "postgresql+", 11) != 0 && strncmp(url, "postgres+", 9) != 0)
		return strdup(url);
	rest = strstr(url, "://");
	if (rest == NULL)
		return strdup(url);
	initPQExpBuffer(&buf);
	appendPQExpBufferStr(&buf, "postgresql");
	/* copy the rest, renaming the query parameter ssl= to sslmode= */
	for (p = rest; *p; p++)
	{
		if ((*p == '?' || *p == '&') && strncmp(p + 1, "ssl=", 4) == 0 &&
			strchr(rest, '?') != NULL && strchr(rest, '?') <= p)
		{
			appendPQExpBufferChar(&buf, *p);
			appendPQExpBufferStr(&buf, "sslmode=");
			p += 4;
			continue;
		}
		appendPQExpBufferChar(&buf, *p);
	}
	return buf.data;
}

/*
 * Route the server's NOTICEs: step notices ("running upgrade A -> B, msg")
 * drive the progress lines; the others are printed as psql prints them,
 * unless -q or --json.
 */
static void
notice_receiver(void *arg, const PGresult *res)
{
	DbJob	   *job = arg;
	const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	const char *severity = PQresultErrorField(res, PG_DIAG_SEVERITY);
	char	   *clean;

	if (msg == NULL)
		return;
	if (strncmp(msg, "running upgrade ", 16) == 0 ||
		strncmp(msg, "running downgrade ", 18) == 0)
	{
		cli_step_notice(job, msg);
		return;
	}
	if (opts.quiet || opts.json)
		return;
	if (job->line_open)
	{
		/* a progress line is waiting for its duration: end it first */
		cli_lock_output();
		fputc('\n', stderr);
		cli_unlock_output();
		job->line_open = false;
	}
	clean = cli_sanitize(msg, true);
	cli_err(job, "%s:  %s", severity ? severity : "NOTICE", clean);
	free(clean);
}

/*
 * Connect the job's database.  The connection string is expanded as libpq
 * does (a conninfo string or a URI); a database name given apart (fan-out
 * over --all-databases, --dbname-file names) overrides the one in it.
 */
PGconn *
cli_connect(DbJob *job)
{
	const char *keywords[4];
	const char *values[4];
	int			n = 0;
	PGconn	   *conn;

	keywords[n] = "dbname";
	values[n++] = job->conninfo ? job->conninfo : "";
	if (job->dbname)
	{
		keywords[n] = "dbname";
		values[n++] = job->dbname;
	}
	keywords[n] = "fallback_application_name";
	values[n++] = "ap-migrate";
	keywords[n] = NULL;
	values[n] = NULL;

	conn = PQconnectdbParams(keywords, values, 1);
	if (conn == NULL || PQstatus(conn) != CONNECTION_OK)
	{
		char	   *clean = cli_sanitize(conn ? PQerrorMessage(conn) : "out of memory", true);
		size_t		len = strlen(clean);

		while (len > 0 && clean[len - 1] == '\n')
			clean[--len] = '\0';
		cli_err(job, "%s: could not connect: %s", cli_paint("error", "1;31"), clean);
		free(job->error);
		job->error = strdup(clean);
		free(clean);
		if (conn)
			PQfinish(conn);
		return NULL;
	}
	if (job->label == NULL)
		job->label = cli_sanitize(PQdb(conn), false);
	PQsetNoticeReceiver(conn, notice_receiver, job);
	job->conn = conn;
	return conn;
}

/* Close the job's connection, if any */
void
cli_disconnect(DbJob *job)
{
	if (job->conn)
	{
		cli_set_cancel(job, NULL);
		PQfinish(job->conn);
		job->conn = NULL;
	}
}

/*
 * Run one statement with text parameters, cancellable by Ctrl-C.  Returns
 * the result, or NULL after reporting the error (the result is cleared).
 */
PGresult *
cli_exec(DbJob *job, const char *sql, int nparams, const char *const *params)
{
	PGresult   *res;
	ExecStatusType st;

	if (interrupted)
		return NULL;
	cli_set_cancel(job, job->conn);
	res = PQexecParams(job->conn, sql, nparams, NULL, params, NULL, NULL, 0);
	cli_set_cancel(job, NULL);
	st = PQresultStatus(res);
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return res;
	cli_report_error(job, res, NULL);
	PQclear(res);
	return NULL;
}

/* Run a statement without parameters or rows (BEGIN, COMMIT, ...) */
bool
cli_command(DbJob *job, const char *sql)
{
	PGresult   *res = cli_exec(job, sql, 0, NULL);

	if (res == NULL)
		return false;
	PQclear(res);
	return true;
}

/* Print one field of an error report as psql does ("DETAIL:  ...") */
static void
append_field(PQExpBuffer buf, const char *label, const char *value)
{
	char	   *clean;

	if (value == NULL || value[0] == '\0')
		return;
	clean = cli_sanitize(value, true);
	appendPQExpBuffer(buf, "\n%s:  %s", label, clean);
	free(clean);
}

/*
 * Report a failed statement as psql would: severity and message, then
 * DETAIL, HINT and CONTEXT (which names the revision, its statement and
 * line), with "what" (e.g. the file being registered) first.  The first
 * line is kept for the result table.
 */
void
cli_report_error(DbJob *job, const PGresult *res, const char *what)
{
	PQExpBufferData buf;
	const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *severity = res ? PQresultErrorField(res, PG_DIAG_SEVERITY) : NULL;
	char	   *clean;

	/* the step in progress failed: its line comes before the report */
	cli_step_finish(job, true);
	initPQExpBuffer(&buf);
	if (what)
		appendPQExpBuffer(&buf, "%s: %s\n", cli_paint("error", "1;31"), what);
	if (msg == NULL)
	{
		/* no report from the server: the connection's own message */
		const char *text = res ? PQresultErrorMessage(res) : "";

		if (text[0] == '\0' && job->conn)
			text = PQerrorMessage(job->conn);

		clean = cli_sanitize(text, true);
		appendPQExpBuffer(&buf, "%s", clean);
		while (buf.len > 0 && buf.data[buf.len - 1] == '\n')
			buf.data[--buf.len] = '\0';
		free(job->error);
		job->error = strdup(clean);
		free(clean);
	}
	else
	{
		clean = cli_sanitize(msg, true);
		appendPQExpBuffer(&buf, "%s:  %s", severity ? severity : "ERROR", clean);
		free(job->error);
		job->error = strdup(clean);
		free(clean);
		append_field(&buf, "DETAIL", PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL));
		append_field(&buf, "HINT", PQresultErrorField(res, PG_DIAG_MESSAGE_HINT));
		append_field(&buf, "CONTEXT", PQresultErrorField(res, PG_DIAG_CONTEXT));
	}
	if (!opts.json)
		cli_err(job, "%s", buf.data);
	termPQExpBuffer(&buf);
	/* the table shows only the first line */
	if (job->error && strchr(job->error, '\n'))
		*strchr(job->error, '\n') = '\0';
}

/*
 * The signal thread: Ctrl-C (or SIGTERM) cancels every running statement
 * with PQcancel, so the server rolls back what the statement did and the
 * jobs can report what was committed before.  A second Ctrl-C exits.
 * Waiting in a thread of its own (sigwait) rather than in a handler lets
 * it take the lock that keeps the cancel objects alive.
 */
static void *
signal_thread(void *arg)
{
	sigset_t   *set = arg;

	for (;;)
	{
		int			sig;
		int			i;

		if (sigwait(set, &sig) != 0)
			continue;
		if (interrupted)
		{
			fprintf(stderr, "ap-migrate: interrupted again, exiting\n");
			_exit(EXIT_ERROR);
		}
		interrupted = 1;
		fprintf(stderr, "\nap-migrate: interrupted, canceling the running statement\n");
		pthread_mutex_lock(&cancel_lock);
		for (i = 0; i < ncancels; i++)
		{
			char		errbuf[256];

			if (cancels[i])
				PQcancel(cancels[i], errbuf, sizeof(errbuf));
		}
		pthread_mutex_unlock(&cancel_lock);
	}
	return NULL;
}

/*
 * Block SIGINT and SIGTERM in every thread (call before starting any) and
 * start the thread that handles them.  There is one cancel slot per
 * worker thread (-j).
 */
void
cli_cancel_install(void)
{
	static sigset_t set;

	ncancels = opts.jobs > 0 ? opts.jobs : 1;
	cancels = calloc(ncancels, sizeof(PGcancel *));
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal_thread_started = pthread_create(&signal_thread_id, NULL, signal_thread, &set) == 0;
}

/*
 * Stop the signal thread (it waits in sigwait, a cancellation point) and
 * free the cancel slots, so that nothing is left running or allocated at
 * exit.
 */
void
cli_cancel_remove(void)
{
	if (signal_thread_started)
	{
		pthread_cancel(signal_thread_id);
		pthread_join(signal_thread_id, NULL);
		signal_thread_started = false;
	}
	for (int i = 0; i < ncancels; i++)
		if (cancels[i])
			PQfreeCancel(cancels[i]);
	free(cancels);
	cancels = NULL;
	ncancels = 0;
}

/* Has Ctrl-C been pressed? */
bool
cli_interrupted(void)
{
	return interrupted != 0;
}

/*
 * Register (conn) or forget (NULL) the cancel object of a job's running
 * statement, in the slot of the worker thread running the job.
 */
void
cli_set_cancel(DbJob *job, PGconn *conn)
{
	int			slot = job->slot;

	if (cancels == NULL || slot < 0 || slot >= ncancels)
		return;
	pthread_mutex_lock(&cancel_lock);
	if (cancels[slot])
		PQfreeCancel(cancels[slot]);
	cancels[slot] = conn ? PQgetCancel(conn) : NULL;
	pthread_mutex_unlock(&cancel_lock);
}
