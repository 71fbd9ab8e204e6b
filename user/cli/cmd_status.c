// SPDX-License-Identifier: GPL-2.0-only
/*
 * cmd_status.c - `alpnsteer status [-j]`.
 *
 * Read from the pins alone (plus the daemon's state file), so it works
 * whether the daemon is alive, dead or draining.  The JSON keys are an
 * interface: scripts and the selftests read them, so they are only ever
 * added to, never renamed.  docs/usage.md documents each.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <bpf/bpf.h>

#include <json-c/json.h>

#include "agent_client.h"
#include "cmd.h"
#include "control.h"
#include "json.h"
#include "loader.h"
#include "log.h"
#include "lifecycle.h"
#include "metrics.h"
#include "trace.h"

static const char *const counter_names[AC__MAX] = { ALPNSTEER_COUNTER_NAMES };

struct obj_ids {
	__u32 link_id[LINK__MAX];
	__u32 prog_id[LINK__MAX];
	__u32 map_id[16];
};

struct status {
	struct lc_paths p;
	enum lc_steering state; /* the "state" key, as it always was */
	struct lc_view v; /* the lifecycle, one of five */
	bool legacy;
	bool have_rs, alive;
	int conns;
	__u32 in_use, made;
	__u64 counters[AC__MAX];
	struct obj_ids ids;
	char *challenges; /* from the daemon (malloc'd), NULL if none */
	/* Not root, and the pins are root's: steering may be live or not,
	 * and saying "detached" could be a lie (lc_view.blind). */
	bool cannot_tell;
};

static void read_ids(const char *pin_dir, struct obj_ids *ids)
{
	int i, fd;

	for (i = 0; i < LINK__MAX; i++) {
		struct bpf_link_info info = {};
		__u32 len = sizeof(info);

		fd = steer_pinned_map(pin_dir, steer_link_names[i]);
		if (fd < 0) {
			/* legacy attach: the program hangs off its map */
			ids->prog_id[i] = steer_pinned_map_prog(pin_dir, i);
			continue;
		}
		if (i == LINK_REAP) {
			/* a pinned program, run by the drain: no link */
			struct bpf_prog_info pi = {};

			len = sizeof(pi);
			if (!bpf_obj_get_info_by_fd(fd, &pi, &len))
				ids->prog_id[i] = pi.id;
		} else if (!bpf_obj_get_info_by_fd(fd, &info, &len)) {
			ids->link_id[i] = info.id;
			ids->prog_id[i] = info.prog_id;
		}
		close(fd);
	}
	for (i = 0; steer_map_names[i] && i < 16; i++) {
		struct bpf_map_info info = {};
		__u32 len = sizeof(info);

		fd = steer_pinned_map(pin_dir, steer_map_names[i]);
		if (fd < 0)
			continue;
		if (!bpf_obj_get_info_by_fd(fd, &info, &len))
			ids->map_id[i] = info.id;
		close(fd);
	}
}

/* Slots taken, and slots made (the pool grows on demand: the state
 * file's pool_size is where it started). */
static __u32 slots_in_use(const char *pin_dir, __u32 *made)
{
	struct alpnsteer_slot s;
	__u32 i, n = 0, key, next, *prev = NULL;
	int fd = steer_pinned_map(pin_dir, PIN_SLOTS);

	*made = 0;
	if (fd < 0)
		return 0;
	for (i = 0; i < ALPNSTEER_MAX_POOL; i++)
		if (!bpf_map_lookup_elem(fd, &i, &s) && s.owner_cookie)
			n++;
	close(fd);
	fd = steer_pinned_map(pin_dir, PIN_POOL_PORTS);
	if (fd < 0)
		return n;
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		(*made)++;
		key = next;
		prev = &key;
	}
	close(fd);
	return n;
}

/* The daemon named in the record is alive: not a zombie, not a recycled
 * pid (/proc/PID/stat: "pid (comm) state ..."). */
static bool daemon_alive(pid_t pid)
{
	char path[64], buf[256], *p;
	FILE *f;
	bool ok = false;

	if (pid <= 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	if (fgets(buf, sizeof(buf), f)) {
		p = strrchr(buf, ')');
		ok = !strncmp(buf + strcspn(buf, "("), "(alpnsteer)", 11) &&
		     p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
	}
	fclose(f);
	return ok;
}

/* Observe only: never a lock taken, never a file made.  What state it is
 * in is the lifecycle's to say (lc_observe(), lc_classify()). */
static void gather(struct status *st)
{
	const char *pin_dir = st->p.pin_dir;
	int run_fd;

	run_fd = lc_run_dir_open(&st->p, false);
	lc_observe(&st->p, run_fd, &st->v);
	if (run_fd >= 0)
		close(run_fd);
	st->state = lc_steering(&st->v);
	st->cannot_tell = st->state == LC_STEER_UNKNOWN;
	st->have_rs = st->v.have_rec;
	st->alive = st->have_rs && daemon_alive(st->v.rec.pid);
	if (st->state == LC_STEER_DETACHED || st->cannot_tell)
		return;
	st->conns = steer_pinned_held(pin_dir);
	st->in_use = slots_in_use(pin_dir, &st->made);
	if (!st->made)
		st->made = st->v.rec.opts.pool;
	steer_read_counters(pin_dir, st->counters, AC__MAX);
	read_ids(pin_dir, &st->ids);
	st->legacy = steer_pinned_legacy(pin_dir);
	if (st->alive && control_request(&st->p, log_json ? "list" : "table",
					 &st->challenges))
		st->challenges = NULL;
}

/* Who holds the attachment, until when. */
static void json_holders(struct json_writer *jw, const struct status *st,
			 bool on)
{
	time_t now = time(NULL);
	__u32 i;

	jw_name(jw, "holders");
	jw_start_array(jw);
	for (i = 0; on && st->have_rs && i < (__u32)st->v.rec.nr_holders; i++) {
		const struct lc_holder *h = &st->v.rec.holders[i];

		jw_start_object(jw);
		jw_string_field(jw, "name", h->name);
		jw_name(jw, "expires");
		if (h->expires)
			jw_int(jw, h->expires);
		else
			jw_null(jw);
		jw_name(jw, "expires_in");
		if (h->expires)
			jw_int(jw, h->expires > now ? h->expires - now : 0);
		else
			jw_null(jw);
		jw_end_object(jw);
	}
	jw_end_array(jw);
}

/* The kernel's ids, for bpftool. */
static void json_ids(struct json_writer *jw, const struct status *st)
{
	const char *short_names[LINK__MAX] = {
		[LINK_REPLY] = "reply",
		[LINK_VERDICT] = "verdict",
		[LINK_REAP] = "reap",
		[LINK_SOCKOPS] = "sockops",
	};
	__u32 i;

	jw_name(jw, "links");
	jw_start_object(jw);
	for (i = 0; i < LINK__MAX; i++)
		jw_uint_field(jw, short_names[i], st->ids.link_id[i]);
	/* Kept so that the keys do not change: there is no stream parser
	 * any more (docs/design.md). */
	jw_uint_field(jw, "parser", 0);
	jw_end_object(jw);
	jw_name(jw, "progs");
	jw_start_object(jw);
	for (i = 0; i < LINK__MAX; i++)
		jw_uint_field(jw, short_names[i], st->ids.prog_id[i]);
	jw_uint_field(jw, "parser", 0);
	jw_end_object(jw);
	jw_name(jw, "maps");
	jw_start_object(jw);
	for (i = 0; steer_map_names[i]; i++)
		jw_uint_field(jw, steer_map_names[i], st->ids.map_id[i]);
	jw_end_object(jw);
}

static void print_json(const struct status *st)
{
	struct json_writer *jw = jw_new(stdout);
	bool on = st->state != LC_STEER_DETACHED && !st->cannot_tell;
	__u32 i;

	jw_start_object(jw);
	jw_name(jw, "attached");
	if (st->cannot_tell)
		jw_null(jw);
	else
		jw_bool(jw, st->state == LC_STEER_ATTACHED);
	jw_string_field(jw, "state", lc_steering_name(st->state));
	jw_bool_field(jw, "daemon_running",
		      (on || st->cannot_tell) && st->alive);
	jw_name(jw, "pid");
	if (on && st->have_rs)
		jw_int(jw, st->v.rec.pid);
	else
		jw_null(jw);
	jw_name(jw, "since");
	if (on && st->have_rs)
		jw_int(jw, st->v.rec.since);
	else
		jw_null(jw);
	jw_name(jw, "ports");
	jw_start_array(jw);
	for (i = 0; on && i < st->v.rec.opts.ports.n; i++)
		jw_uint(jw, st->v.rec.opts.ports.v[i]);
	jw_end_array(jw);
	jw_string_field(jw, "cgroup", on ? st->v.rec.opts.cgroup : "");
	jw_string_field(jw, "responder",
			on && st->v.rec.opts.forward[0] ? "forward" :
			on				? "builtin" :
							  "");
	jw_string_field(jw, "forward", on ? st->v.rec.opts.forward : "");
	jw_name(jw, "pool");
	jw_start_object(jw);
	jw_uint_field(jw, "size", on ? st->made : 0);
	jw_uint_field(jw, "in_use", st->in_use);
	jw_uint_field(jw, "free",
		      on && st->alive && st->made > st->in_use ?
			      st->made - st->in_use :
			      0);
	jw_end_object(jw);
	jw_uint_field(jw, "conns_held", st->conns > 0 ? st->conns : 0);
	/* "links" (bpf_links, pinned) or "legacy" (the map programs attached
	 * to the maps: no link ids for them) */
	jw_string_field(jw, "attach_mode",
			!on	   ? "" :
			st->legacy ? "legacy" :
				     "links");
	jw_name(jw, "counters");
	jw_start_object(jw);
	for (i = 0; i < AC__MAX; i++)
		jw_uint_field(jw, counter_names[i], st->counters[i]);
	jw_end_object(jw);
	/* Per pending identifier: handshakes answered by family, and the
	 * last client addresses. */
	jw_name(jw, "challenges");
	if (st->challenges && st->challenges[0] == '[')
		jw_raw(jw, st->challenges);
	else {
		jw_start_array(jw);
		jw_end_array(jw);
	}
	/* Added with the lifecycle: the five-valued state, the keeper,
	 * and who holds the attachment until when. */
	jw_string_field(jw, "lifecycle", lc_state_name(st->v.state));
	jw_name(jw, "keeper_pid");
	if (on && st->have_rs && st->v.rec.keeper)
		jw_int(jw, st->v.rec.keeper);
	else
		jw_null(jw);
	json_holders(jw, st, on);
	json_ids(jw, st);
	/* Added with the one list of attach options: each of them, keyed by
	 * its name (attach_fields.h); null when detached. */
	jw_name(jw, "options");
	if (on && st->have_rs)
		lc_opts_json(jw, &st->v.rec.opts);
	else
		jw_null(jw);
	jw_end_object(jw);
	jw_destroy(jw);
}

static void print_text(const struct status *st)
{
	char when[64] = "?";
	struct tm tm;
	__u32 i;

	printf("state:      %s\n",
	       st->cannot_tell ? "unknown" : lc_state_name(st->v.state));
	if (st->cannot_tell) {
		printf("            only root can read %s%s\n", st->p.pin_dir,
		       st->alive ? "; a daemon is running" : "");
		if (st->alive)
			printf("daemon:     running (pid %d)\n",
			       (int)st->v.rec.pid);
		return;
	}
	if (st->state == LC_STEER_DETACHED)
		return;
	if (st->have_rs && localtime_r(&st->v.rec.since, &tm))
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S %z", &tm);
	printf("since:      %s\n", when);
	printf("daemon:     %s (pid %d)\n",
	       st->alive ? "running" : "NOT RUNNING", (int)st->v.rec.pid);
	printf("ports:     ");
	for (i = 0; i < st->v.rec.opts.ports.n; i++)
		printf(" %u", st->v.rec.opts.ports.v[i]);
	printf("\ncgroup:     %s\n", st->v.rec.opts.cgroup);
	printf("responder:  %s%s\n",
	       st->v.rec.opts.forward[0] ? "forward to " : "built-in",
	       st->v.rec.opts.forward);
	printf("holders:   ");
	for (i = 0; st->have_rs && i < (__u32)st->v.rec.nr_holders; i++) {
		const struct lc_holder *h = &st->v.rec.holders[i];

		if (h->expires)
			printf(" %s (%lld s left)", h->name,
			       (long long)(h->expires > time(NULL) ?
						   h->expires - time(NULL) :
						   0));
		else
			printf(" %s", h->name);
	}
	printf("%s\n", st->have_rs && st->v.rec.nr_holders ? "" : " none");
	printf("pool:       %u of %u in use\n", st->in_use, st->made);
	printf("held:       %d connections in %s/%s\n", st->conns,
	       st->p.pin_dir, PIN_CONNS);
	if (st->have_rs)
		lc_opts_text(stdout, &st->v.rec.opts);
	if (st->challenges && st->challenges[0])
		printf("challenges:\n%s\n", st->challenges);
	printf("counters:\n");
	for (i = 0; i < AC__MAX; i++)
		printf("  %-18s %llu\n", counter_names[i],
		       (unsigned long long)st->counters[i]);
	if (st->legacy) {
		/* No map links to show: bpftool prog show id N finds the
		 * programs, and they go with the maps. */
		printf("attach:     legacy (map programs attached to %s/%s and pool, no sockmap links)\n",
		       st->p.pin_dir, PIN_CONNS);
		printf("bpftool:    prog ids sockops %u verdict %u reply %u reap %u; "
		       "link id %u (sock_ops); map ids conns %u pool %u\n",
		       st->ids.prog_id[LINK_SOCKOPS],
		       st->ids.prog_id[LINK_VERDICT],
		       st->ids.prog_id[LINK_REPLY], st->ids.prog_id[LINK_REAP],
		       st->ids.link_id[LINK_SOCKOPS], st->ids.map_id[0],
		       st->ids.map_id[1]);
		return;
	}
	printf("bpftool:    prog ids sockops %u verdict %u reply %u reap %u; "
	       "link ids %u %u %u\n",
	       st->ids.prog_id[LINK_SOCKOPS], st->ids.prog_id[LINK_VERDICT],
	       st->ids.prog_id[LINK_REPLY], st->ids.prog_id[LINK_REAP],
	       st->ids.link_id[LINK_SOCKOPS], st->ids.link_id[LINK_VERDICT],
	       st->ids.link_id[LINK_REPLY]);
}

/* One request to this host's agent, else to the daemon; NULL: neither. */
static char *ask(const struct status *st, const char *req)
{
	char *reply = NULL;
	int err = agent_request(&st->p, req, &reply);

	if (err == -ENOENT)
		err = st->alive ? control_request(&st->p, req, &reply) :
				  -ENOENT;
	if (err || !reply || reply[0] != '[') {
		free(reply);
		return NULL;
	}
	return reply;
}

/* `status --metrics`: what --metrics-file holds, from here (docs/usage.md,
 * "Metrics"). */
static int print_metrics(const struct status *st)
{
	struct metrics_in in = {
		.state = lc_steering_name(st->state),
		.writer = "status",
		.pending = -1,
		.conns = -1,
		.pool_busy = -1,
	};
	struct json_object *o;
	struct trace *t = trace_new();
	char *list, *tr, *text;

	if (st->state == LC_STEER_ATTACHED || st->state == LC_STEER_DRAINING) {
		in.counters = st->counters;
		in.conns = st->conns;
		in.pool_busy = st->in_use;
		in.pool_made = st->made;
	}
	list = ask(st, "list");
	o = list ? json_tokener_parse(list) : NULL;
	if (o && json_object_is_type(o, json_type_array))
		in.pending = json_object_array_length(o);
	else if (st->state == LC_STEER_DETACHED)
		in.pending = 0;
	json_object_put(o);
	free(list);
	tr = ask(st, "trace");
	if (t && tr && !trace_merge_json(t, tr))
		in.trace = t;
	free(tr);
	text = metrics_text(&in);
	trace_free(t);
	if (!text) {
		p_err("out of memory");
		return EXIT_FAIL;
	}
	fputs(text, stdout);
	free(text);
	return EXIT_OK;
}

static const struct cmd_opt status_opts[] = {
	{ "json", 'j', CMD_ARG_NONE, NULL,
	  "JSON output (as -j before the command)", true },
	{ "metrics", 'm', CMD_ARG_NONE, NULL,
	  "the Prometheus text format that --metrics-file holds (counters, state, pending challenges, each identifier's validations)" },
	{},
};

static int do_status(int argc, char **argv)
{
	static struct status st;
	bool metrics = false;
	int c;

	while ((c = cmd_getopt(argc, argv, &status_cmd)) != -1) {
		if (c == 'm') {
			metrics = true;
			continue;
		}
		if (c != 'j')
			return EXIT_USAGE;
		log_json = true;
	}
	if (!cmd_operands(argc, argv, &status_cmd, 0, 0))
		return EXIT_USAGE;
	lc_default_paths(&st.p);
	gather(&st);
	if (metrics)
		return print_metrics(&st);
	if (log_json)
		print_json(&st);
	else
		print_text(&st);
	return EXIT_OK;
}

const struct cmd status_cmd = {
	.name = "status",
	.func = do_status,
	.summary =
		"attached or not, counters, pool, pending challenges, ids for bpftool",
	.desc = "Read from the pins and the run directory alone, so it works whether the daemon is alive, dead or draining; "
		"without root the state may be \"unknown\". The JSON keys are an interface: they are only ever added to.",
	.opts = status_opts,
};
