/*-------------------------------------------------------------------------
 *
 * progress.c
 *	  Per-step progress lines of upgrade and downgrade, from the server's
 *	  NOTICEs.
 *
 * Each step of ap_migrate_upgrade() and ap_migrate_run() sends a NOTICE
 * "running upgrade A -> B, message" as it starts (a NOTICE is flushed to the
 * client at once, even inside a long call).  A step ends when the next one
 * starts or the call returns, which gives its duration.  On a terminal the
 * line is printed as the step starts and completed with its duration; into
 * a pipe or with several databases, whole lines are printed as steps end.
 *
 * Copyright (c) 2026, ap_migrate developers
 *
 * IDENTIFICATION
 *	  client/progress.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* Print progress lines as they happen, or only whole lines? */
static bool
live_progress(DbJob *job)
{
	return !opts.quiet && !opts.json && !job->prefix && isatty(STDERR_FILENO);
}

/*
 * Close the step in progress: print its line with its duration (or as
 * failed), count it and record it for --json.
 */
void
cli_step_finish(DbJob *job, bool failed)
{
	double		ms;
	char	   *clean;

	if (job->step_text == NULL)
		return;
	ms = (cli_now() - job->step_started) * 1000.0;
	clean = cli_sanitize(job->step_text, false);
	if (job->line_open)
	{
		cli_lock_output();
		fprintf(stderr, " %s (%.0f ms)\n",
				failed ? cli_paint("FAILED", "1;31") : cli_paint("done", "32"), ms);
		fflush(stderr);
		cli_unlock_output();
		job->line_open = false;
	}
	else if (!opts.quiet && !opts.json)
		cli_err(job, "%s%s (%.0f ms)", clean, failed ? " ... FAILED" : "", ms);
	if (!failed)
	{
		job->steps++;
		if (opts.json)
		{
			if (job->steps_json.len > 0)
				appendPQExpBufferStr(&job->steps_json, ", ");
			appendPQExpBufferStr(&job->steps_json, "{\"step\": ");
			cli_json_string(&job->steps_json, job->step_text);
			appendPQExpBuffer(&job->steps_json, ", \"ms\": %.1f}", ms);
		}
	}
	free(clean);
	free(job->step_text);
	job->step_text = NULL;
}

/*
 * A step NOTICE arrived: the previous step is done, this one starts.  The
 * server's "running upgrade" becomes Alembic's "Running upgrade".
 */
void
cli_step_notice(DbJob *job, const char *message)
{
	cli_step_finish(job, false);
	job->step_text = strdup(message);
	job->step_text[0] = 'R';
	job->step_started = cli_now();
	if (live_progress(job))
	{
		char	   *clean = cli_sanitize(job->step_text, false);

		cli_lock_output();
		fprintf(stderr, "%s ...", clean);
		fflush(stderr);
		cli_unlock_output();
		free(clean);
		job->line_open = true;
	}
}
