// SPDX-License-Identifier: GPL-2.0-only
/*
 * daemon_trace.c - the monitor's side of the validation trace
 * (lib/trace.c; docs/design.md, "The validation trace"): what the kernel
 * said of each acme-tls/1 hello it left to the webserver (AE_HELLO), and
 * how each steered one ended, answered or not.  Each event also goes to
 * the journal with fields of its own when the journal takes our stderr,
 * else to the log (whose notes are rate-limited: log.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <openssl/ssl.h>
#include <systemd/sd-journal.h>

#include "alpnsteer_abi.h" /* before the skeleton: its rodata names ABI types */
#include "alpnsteer.skel.h"
#include "daemon_int.h"
#include "ipc.h"
#include "log.h"
#include "metrics.h"
#include "trace.h"

/* Is our stderr the journal's stream ($JOURNAL_STREAM names its device
 * and inode: systemd's own test, sd_journal_stream_fd(3))? */
static bool to_journal(void)
{
	static int known = -1;
	unsigned long long dev, ino;
	const char *s;
	struct stat st;

	if (known >= 0)
		return known;
	s = getenv("JOURNAL_STREAM");
	known = s && sscanf(s, "%llu:%llu", &dev, &ino) == 2 &&
		!fstat(STDERR_FILENO, &st) && st.st_dev == dev &&
		st.st_ino == ino;
	return known;
}

static void say(const struct trace_id *x, enum trace_outcome o,
		const char *detail, int family, const void *ip,
		unsigned int port)
{
	char a[INET6_ADDRSTRLEN], net[INET6_ADDRSTRLEN + 4];
	char since[32] = "";
	const char *name = x->ident[0] ? x->ident : x->sni;
	bool v4;

	trace_addr(family, ip, a, sizeof(a), &v4);
	trace_prefix(family, ip, net, sizeof(net));
	if (x->added_ms)
		snprintf(since, sizeof(since), "%lld",
			 x->last_ms - x->added_ms);
	if (to_journal()) {
		sd_journal_send(
			"MESSAGE=trace: %s %s%s%s%s from %s port %u (%s)",
			name[0] ? name : "(no SNI)", trace_outcome_name(o),
			detail ? " (" : "", detail ? detail : "",
			detail ? ")" : "", a, port, net, "PRIORITY=6",
			"SYSLOG_IDENTIFIER=alpnsteer",
			"ALPNSTEER_TRACE_IDENT=%s", x->ident,
			"ALPNSTEER_TRACE_SNI=%s", x->sni,
			"ALPNSTEER_TRACE_OUTCOME=%s", trace_outcome_name(o),
			"ALPNSTEER_TRACE_DETAIL=%s", detail ? detail : "",
			"ALPNSTEER_TRACE_CLIENT=%s", a,
			"ALPNSTEER_TRACE_PORT=%u", port,
			"ALPNSTEER_TRACE_NET=%s", net,
			"ALPNSTEER_TRACE_FAMILY=%s", v4 ? "ipv4" : "ipv6",
			"ALPNSTEER_TRACE_SINCE_ADD_MS=%s", since, NULL);
		return;
	}
	p_info("trace: %s %s%s%s%s from %s port %u (%s)%s%s%s",
	       name[0] ? name : "(no SNI)", trace_outcome_name(o),
	       detail ? " (" : "", detail ? detail : "", detail ? ")" : "", a,
	       port, net, since[0] ? ", " : "", since,
	       since[0] ? " ms after its add" : "");
}

static void note(struct daemon *d, const char *sni, int family, const void *ip,
		 unsigned int port, enum trace_outcome o, const char *detail)
{
	const struct trace_id *x;

	if (!d->store.trace)
		return;
	o = trace_note(d->store.trace, sni, family, ip, port, o, detail,
		       trace_now_ms());
	x = trace_find(d->store.trace, sni);
	if (x)
		say(x, o, detail, family, ip, port);
}

/* The kernel's SNI, escaped as in the log: it is the client's. */
static void ev_sni(const __u8 *sni, __u32 len, char *out, size_t size)
{
	log_escape(sni, len < ALPNSTEER_NAME_MAX ? len : 0, out, size);
}

void dtrace_hello(struct daemon *d, const struct alpnsteer_hello_event *e)
{
	char sni[4 * ALPNSTEER_NAME_MAX + 1];
	enum trace_outcome o = trace_outcome_of_verdict(e->verdict);

	if (!o)
		return;
	ev_sni(e->sni, e->sni_len, sni, sizeof(sni));
	note(d, sni, e->family == AF_INET6 ? AF_INET6 : AF_INET, e->remote_ip,
	     e->remote_port, o, NULL);
}

void dtrace_slot(struct daemon *d, __u32 idx, enum trace_outcome o,
		 const char *detail)
{
	struct slot *s = &d->pool.slot[idx];
	char sni[4 * ALPNSTEER_NAME_MAX + 1];

	/* Once per handing, and only for a hello the kernel described. */
	if (s->traced || s->ev.type != AE_STEERED || s->ev.cookie != s->owner)
		return;
	s->traced = true;
	ev_sni(s->ev.sni, s->ev.sni_len, sni, sizeof(sni));
	note(d, sni, s->ev.family == AF_INET6 ? AF_INET6 : AF_INET,
	     s->ev.remote_ip, s->ev.remote_port, o, detail);
}

void dtrace_late_answer(struct daemon *d, const struct alpnsteer_event *ev)
{
	char sni[4 * ALPNSTEER_NAME_MAX + 1];

	if (!d->store.trace || ev->type != AE_STEERED)
		return;
	ev_sni(ev->sni, ev->sni_len, sni, sizeof(sni));
	trace_late_answer(d->store.trace, sni,
			  ev->family == AF_INET6 ? AF_INET6 : AF_INET,
			  ev->remote_ip, ev->remote_port, trace_now_ms());
}

void dtrace_done(struct daemon *d, __u32 idx, unsigned int arg)
{
	char why[TRACE_DETAIL];
	unsigned int res = IPC_DONE_RESULT(arg);

	if (res == IPC_ANSWERED) {
		dtrace_slot(d, idx, TR_ANSWERED, NULL);
		return;
	}
	if (forwarding(d)) {
		/* A relay's end says nothing of the handshake. */
		dtrace_slot(d, idx, TR_RELAYED,
			    res == IPC_GONE ? "client gone" : NULL);
		return;
	}
	if (arg & (IPC_DONE_ALERT_SENT | IPC_DONE_ALERT_RECV))
		snprintf(why, sizeof(why), "alert %s: %s",
			 arg & IPC_DONE_ALERT_SENT ? "sent" : "received",
			 SSL_alert_desc_string_long(IPC_DONE_ALERT(arg)));
	else
		snprintf(why, sizeof(why), "%s",
			 res == IPC_GONE ? "client gone" :
					   "closed without an alert");
	dtrace_slot(d, idx, TR_FAILED, why);
}

/* Before the seccomp filter (msandbox.c): what the trace and the metrics
 * need that the filter would refuse later.  sd-journal opens its socket
 * at its first entry: send one now.  --metrics-file's directory: opened
 * now, so that the filter can allow creating files there and nowhere
 * else. */
void dtrace_prepare(struct daemon *d)
{
	const char *path = d->o->a.metrics_file;
	int fd;

	if (to_journal())
		sd_journal_send(
			"MESSAGE=validation trace: each hello's outcome goes to the journal",
			"PRIORITY=6", "SYSLOG_IDENTIFIER=alpnsteer", NULL);
	if (!path[0])
		return;
	fd = metrics_dir_open(path, &d->metrics_name);
	if (fd < 0)
		p_warn("cannot open --metrics-file's directory (%s): %s; no metrics will be written",
		       path, strerror(-fd));
	d->metrics_dfd = fd;
}

/* --metrics-file: the monitor's view, each second (docs/usage.md,
 * "Metrics").  Written as the daemon's user: the directory must let it. */
void dmetrics(struct daemon *d)
{
	const char *path = d->o->a.metrics_file;
	__u64 counters[AC__MAX];
	struct metrics_in in = {
		.state = d->draining ? "draining" : "attached",
		.writer = "monitor",
		.pending = d->store.nr,
		.pool_busy = pool_in_use(&d->pool),
		.pool_made = d->pool.size,
		.trace = d->store.trace,
	};
	static bool failing;
	char *text;
	int err;

	if (!path[0])
		return;
	in.conns = steer_conns_count(d->conns_fd);
	if (!steer_read_counters_fd(bpf_map__fd(d->steer.skel->maps.counters),
				    counters, AC__MAX))
		in.counters = counters;
	text = metrics_text(&in);
	err = !text ? -ENOMEM :
	      d->metrics_dfd < 0 ?
		      -EBADF :
		      metrics_write_at(d->metrics_dfd, d->metrics_name, text);
	free(text);
	/* Said once, not every second. */
	if (err && !failing)
		p_warn("cannot write --metrics-file %s: %s (the daemon's user must be able to write its directory)",
		       path, strerror(-err));
	failing = err != 0;
}
