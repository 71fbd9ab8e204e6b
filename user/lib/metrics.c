// SPDX-License-Identifier: GPL-2.0-only
/*
 * metrics.c - the Prometheus text format of alpnsteer's state (metrics.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "metrics.h"

static const char *const counter_names[AC__MAX] = { ALPNSTEER_COUNTER_NAMES };
static const char *const states[] = { "attached", "draining", "detached",
				      "unknown" };

static void head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value: \, " and newline escaped (the text format's rule). */
static void label(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', f);
		if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

static void per_ident(FILE *f, const struct trace *t, const char *name,
		      const char *type, const char *help, int what)
{
	int i;

	head(f, name, type, help);
	for (i = 0; i < TRACE_IDENTS; i++) {
		const struct trace_id *x = &t->id[i];

		/* Identifiers only: an SNI nobody added is anyone's to
		 * invent, and a label each would be a series each. */
		if (!x->used || !x->ident[0])
			continue;
		if (what == 3 && !x->last_answered_ms)
			continue;
		fprintf(f, "%s{identifier=\"", name);
		label(f, x->ident);
		fputs("\"} ", f);
		switch (what) {
		case 0:
			fprintf(f, "%lu\n", x->hellos);
			break;
		case 1:
			fprintf(f, "%lu\n", x->answered);
			break;
		case 2:
			fprintf(f, "%lu\n", x->failed);
			break;
		case 3:
			fprintf(f, "%.3f\n", x->last_answered_ms / 1000.0);
			break;
		}
	}
}

char *metrics_text(const struct metrics_in *in)
{
	char *buf = NULL, name[96], help[160];
	long long last = 0;
	size_t len = 0, i;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	head(f, "alpnsteer_attached", "gauge",
	     "Whether steering is live (1: attached, new connections caught).");
	fprintf(f, "alpnsteer_attached %d\n", !strcmp(in->state, "attached"));
	head(f, "alpnsteer_state", "gauge",
	     "The attachment's state: 1 for the one it is in.");
	for (i = 0; i < sizeof(states) / sizeof(states[0]); i++)
		fprintf(f, "alpnsteer_state{state=\"%s\"} %d\n", states[i],
			!strcmp(in->state, states[i]));
	head(f, "alpnsteer_metrics_writer_info", "gauge",
	     "Who wrote these metrics: the monitor (daemon), the agent or status.");
	fprintf(f, "alpnsteer_metrics_writer_info{writer=\"%s\"} 1\n",
		in->writer);
	if (in->pending >= 0) {
		head(f, "alpnsteer_pending_challenges", "gauge",
		     "TLS-ALPN-01 challenges pending (answered now).");
		fprintf(f, "alpnsteer_pending_challenges %d\n", in->pending);
	}
	if (in->conns >= 0) {
		head(f, "alpnsteer_connections_held", "gauge",
		     "Connections in the sockhash now, steered or not yet released.");
		fprintf(f, "alpnsteer_connections_held %d\n", in->conns);
	}
	if (in->pool_busy >= 0) {
		head(f, "alpnsteer_pool_slots", "gauge",
		     "Responder slots: made so far, and busy with a validation.");
		fprintf(f, "alpnsteer_pool_slots{kind=\"made\"} %d\n",
			in->pool_made);
		fprintf(f, "alpnsteer_pool_slots{kind=\"busy\"} %d\n",
			in->pool_busy);
	}
	/* The kernel's counters, as `status -j` names them, each a
	 * counter of its own: they count different things.  Only while
	 * attached: they start again at each attach. */
	for (i = 0; in->counters && i < AC__MAX; i++) {
		snprintf(name, sizeof(name), "alpnsteer_%s_total",
			 counter_names[i]);
		snprintf(
			help, sizeof(help),
			"The kernel's counter %s since the attach (status -j counters.%s).",
			counter_names[i], counter_names[i]);
		head(f, name, "counter", help);
		fprintf(f, "%s %llu\n", name,
			(unsigned long long)in->counters[i]);
	}
	if (in->trace) {
		per_ident(
			f, in->trace, "alpnsteer_validation_hellos_total",
			"counter",
			"acme-tls/1 hellos seen for the identifier (challenge trace).",
			0);
		per_ident(f, in->trace, "alpnsteer_validation_answered_total",
			  "counter",
			  "Validation handshakes answered for the identifier.",
			  1);
		per_ident(
			f, in->trace, "alpnsteer_validation_failed_total",
			"counter",
			"Validation handshakes steered for the identifier that did not complete.",
			2);
		per_ident(
			f, in->trace,
			"alpnsteer_validation_last_answered_timestamp_seconds",
			"gauge",
			"When a validation handshake for the identifier was last answered.",
			3);
		for (i = 0; i < TRACE_IDENTS; i++)
			if (in->trace->id[i].used &&
			    (long long)in->trace->id[i].last_answered_ms > last)
				last = in->trace->id[i].last_answered_ms;
		head(f, "alpnsteer_last_answered_timestamp_seconds", "gauge",
		     "When a validation handshake was last answered (0: none kept).");
		fprintf(f, "alpnsteer_last_answered_timestamp_seconds %.3f\n",
			last / 1000.0);
	}
	if (fclose(f)) {
		free(buf);
		return NULL;
	}
	return buf;
}

int metrics_write_at(int dirfd, const char *name, const char *text)
{
	char tmp[4096 + 8];
	size_t len = strlen(text), off = 0;
	ssize_t n;
	int fd, err = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", name) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	/* A stale one of ours (a kill between create and rename); unlink
	 * removes a name, never follows it. */
	unlinkat(dirfd, tmp, 0);
	fd = openat(dirfd, tmp,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	while (off < len) {
		n = write(fd, text + off, len - off);
		if (n < 0) {
			err = -errno;
			break;
		}
		off += n;
	}
	if (close(fd) && !err)
		err = -errno;
	/* rename() replaces the name without following it: a reader sees
	 * the old file or the new one, never half of one. */
	if (!err && renameat(dirfd, tmp, dirfd, name))
		err = -errno;
	if (err)
		unlinkat(dirfd, tmp, 0);
	return err;
}

int metrics_dir_open(const char *path, const char **name)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');
	int fd;

	*name = slash ? slash + 1 : path;
	if (!slash)
		strcpy(dir, ".");
	else if (slash == path)
		strcpy(dir, "/");
	else if (snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path),
			  path) >= (int)sizeof(dir))
		return -ENAMETOOLONG;
	fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int metrics_write(const char *path, const char *text)
{
	const char *name;
	int dfd = metrics_dir_open(path, &name), err;

	if (dfd < 0)
		return dfd;
	err = metrics_write_at(dfd, name, text);
	close(dfd);
	return err;
}
