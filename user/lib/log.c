// SPDX-License-Identifier: GPL-2.0-only
/*
 * log.c - how alpnsteer talks to people.
 *
 * A failure prints exactly one "Error: ..." line, optionally followed by one
 * "Hint: ..." line saying what to do about it.  Everything else is a
 * warning or, with -v/-d, a note.  In the daemon, lines go to stderr (the
 * journal under systemd) with a prefix.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <bpf/libbpf.h>

#include "log.h"
#include "json.h"

int log_verbose;
bool log_json;
bool log_daemon;
unsigned int log_errors;

/*
 * The daemon's log is a file on tmpfs (memory) when no journal takes its
 * stderr, and every steered handshake writes lines to it: anyone who can
 * send acme-tls/1 hellos for a pending name could grow it without bound
 * (113 bytes a handshake, measured).  So the daemon's notes (not its
 * warnings and errors) are rate-limited (a token bucket: LOG_BURST lines, then LOG_RATE a
 * second; the lines left out are counted in a note), and a log file that
 * reaches LOG_MAX_BYTES is cut back to nothing with a note (it is opened
 * O_APPEND, so the next line goes at the new end).  Rotation would need
 * the run directory writable by the daemon's user; it is not.
 */
#define LOG_BURST 100
#define LOG_RATE 10
#define LOG_MAX_BYTES (1L << 20)

static struct {
	struct timespec last;
	double tokens;
	unsigned long left_out;
	bool started;
} lim;

static bool daemon_line_allowed(bool exempt)
{
	struct timespec now;
	double dt;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!lim.started) {
		lim.started = true;
		lim.tokens = LOG_BURST;
	} else {
		dt = (double)(now.tv_sec - lim.last.tv_sec) +
		     (now.tv_nsec - lim.last.tv_nsec) / 1e9;
		lim.tokens += dt * LOG_RATE;
		if (lim.tokens > LOG_BURST)
			lim.tokens = LOG_BURST;
	}
	lim.last = now;
	if (lim.tokens >= 1)
		lim.tokens -= 1;
	else if (!exempt) {
		lim.left_out++;
		return false;
	}
	return true;
}

static void daemon_log_bound(void)
{
	struct stat st;

	if (fstat(STDERR_FILENO, &st) || !S_ISREG(st.st_mode) ||
	    st.st_size < LOG_MAX_BYTES)
		return;
	fflush(stderr);
	if (ftruncate(STDERR_FILENO, 0))
		return;
	fprintf(stderr,
		"alpnsteer: log cut back: it reached its cap of %ld bytes; older lines are gone\n",
		LOG_MAX_BYTES);
}

static void vout(const char *tag, const char *fmt, va_list ap)
{
	if (log_daemon) {
		/* Warnings and errors are rare and never one per handshake;
		 * the notes (no tag) are what a flood of clients writes. */
		if (!daemon_line_allowed(tag != NULL))
			return;
		daemon_log_bound();
		if (lim.left_out) {
			fprintf(stderr,
				"alpnsteer: %lu lines left out (more than %d a second)\n",
				lim.left_out, LOG_RATE);
			lim.left_out = 0;
		}
		fputs("alpnsteer: ", stderr);
	}
	if (tag)
		fputs(tag, stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void p_err(const char *fmt, ...)
{
	va_list ap;

	log_errors++;
	va_start(ap, fmt);
	if (log_json && !log_daemon) {
		char buf[512];
		struct json_writer *jw = jw_new(stdout);

		vsnprintf(buf, sizeof(buf), fmt, ap);
		jw_start_object(jw);
		jw_string_field(jw, "error", buf);
		jw_end_object(jw);
		jw_destroy(jw);
	} else {
		vout("Error: ", fmt, ap);
	}
	va_end(ap);
}

void p_hint(const char *fmt, ...)
{
	va_list ap;

	if (log_json && !log_daemon)
		return;
	va_start(ap, fmt);
	vout("Hint: ", fmt, ap);
	va_end(ap);
}

void p_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vout("Warning: ", fmt, ap);
	va_end(ap);
}

void p_info(const char *fmt, ...)
{
	va_list ap;

	if (log_verbose < 1 && !log_daemon)
		return;
	va_start(ap, fmt);
	vout(NULL, fmt, ap);
	va_end(ap);
}

void p_debug(const char *fmt, ...)
{
	va_list ap;

	if (log_verbose < 2)
		return;
	va_start(ap, fmt);
	vout(NULL, fmt, ap);
	va_end(ap);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	if (level == LIBBPF_DEBUG && log_verbose < 2)
		return 0;
	if (level == LIBBPF_INFO && log_verbose < 1)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

void log_setup_libbpf(void)
{
	libbpf_set_print(libbpf_print);
}

void log_escape(const void *in, size_t len, char *out, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = in;
	size_t i, o = 0;

	if (!size)
		return;
	for (i = 0; i < len; i++) {
		unsigned char c = p[i];

		if (c > 0x20 && c < 0x7f && c != '\\') {
			if (o + 1 >= size)
				break;
			out[o++] = c;
			continue;
		}
		if (o + 4 >= size)
			break;
		out[o++] = '\\';
		out[o++] = 'x';
		out[o++] = hex[c >> 4];
		out[o++] = hex[c & 15];
	}
	out[o] = '\0';
}
