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
#include <bpf/libbpf.h>

#include "log.h"
#include "json.h"

int log_verbose;
bool log_json;
bool log_daemon;
unsigned int log_errors;

static void vout(const char *tag, const char *fmt, va_list ap)
{
	if (log_daemon)
		fputs("alpnsteer: ", stderr);
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
