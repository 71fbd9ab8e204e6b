// SPDX-License-Identifier: GPL-2.0-only
/*
 * status.c - `alpnsteer status [-j]`.
 *
 * Read from the pins alone (plus the daemon's state file), so it works
 * whether the daemon is alive, dead or draining.  The JSON keys are an
 * interface: scripts and the selftests read them, so they are only ever
 * added to, never renamed.  README.md documents each.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <bpf/bpf.h>

#include "control.h"
#include "json.h"
#include "loader.h"
#include "log.h"
#include "runstate.h"
#include "status.h"

static const char *const counter_names[AC__MAX] = { ALPNSTEER_COUNTER_NAMES };

struct obj_ids {
	__u32 link_id[LINK__MAX];
	__u32 prog_id[LINK__MAX];
	__u32 map_id[16];
};

struct status {
	enum steer_state state;
	bool have_rs, alive;
	struct runstate rs;
	int conns;
	__u32 in_use, made;
	__u64 counters[AC__MAX];
	struct obj_ids ids;
	char *challenges; /* from the daemon (malloc'd), NULL if none */
	/* Not root, and the pins are root's: steering may be live or not,
	 * and saying "detached" could be a lie. */
	bool cannot_tell;
};

static const char *state_name(const struct status *st)
{
	if (st->cannot_tell)
		return "unknown";
	switch (st->state) {
	case STEER_ATTACHED:
		return "attached";
	case STEER_DRAINING:
		return "draining";
	default:
		return "detached";
	}
}

static void read_ids(struct obj_ids *ids)
{
	char p[256];
	int i, fd;

	for (i = 0; i < LINK__MAX; i++) {
		struct bpf_link_info info = {};
		__u32 len = sizeof(info);

		snprintf(p, sizeof(p), "%s/%s", ALPNSTEER_PIN_DIR,
			 steer_link_names[i]);
		fd = bpf_obj_get(p);
		if (fd < 0)
			continue;
		if (!bpf_obj_get_info_by_fd(fd, &info, &len)) {
			ids->link_id[i] = info.id;
			ids->prog_id[i] = info.prog_id;
		}
		close(fd);
	}
	for (i = 0; steer_map_names[i] && i < 16; i++) {
		struct bpf_map_info info = {};
		__u32 len = sizeof(info);

		fd = steer_pinned_map(steer_map_names[i]);
		if (fd < 0)
			continue;
		if (!bpf_obj_get_info_by_fd(fd, &info, &len))
			ids->map_id[i] = info.id;
		close(fd);
	}
}

/* Slots taken, and slots made (the pool grows on demand: the state
 * file's pool_size is where it started). */
static __u32 slots_in_use(__u32 *made)
{
	struct alpnsteer_slot s;
	__u32 i, n = 0, key, next, *prev = NULL;
	int fd = steer_pinned_map("slots");

	*made = 0;
	if (fd < 0)
		return 0;
	for (i = 0; i < ALPNSTEER_MAX_POOL; i++)
		if (!bpf_map_lookup_elem(fd, &i, &s) && s.owner_cookie)
			n++;
	close(fd);
	fd = steer_pinned_map("pool_ports");
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

static void gather(struct status *st)
{
	int fd;

	memset(st, 0, sizeof(*st));
	st->state = steer_pinned_state();
	st->have_rs = runstate_read(&st->rs) == 0;
	st->alive = st->have_rs && runstate_daemon_alive(&st->rs);
	if (st->state == STEER_DETACHED) {
		struct stat sb;

		/* The pin directory is root's (mode 0700 on a 0700 bpffs):
		 * "detached" only when we could have seen it attached. */
		fd = steer_pinned_map("settings");
		st->cannot_tell = geteuid() != 0 &&
				  ((fd < 0 && (fd == -EACCES || fd == -EPERM ||
					       errno == EACCES || errno == EPERM)) ||
				   (stat(ALPNSTEER_PIN_DIR, &sb) && errno == EACCES));
		if (fd >= 0)
			close(fd);
		return;
	}
	fd = steer_pinned_map("conns");
	if (fd >= 0) {
		st->conns = steer_conns_count(fd);
		close(fd);
	}
	st->in_use = slots_in_use(&st->made);
	if (!st->made)
		st->made = st->rs.pool_size;
	steer_read_counters(st->counters, AC__MAX);
	read_ids(&st->ids);
	if (st->alive &&
	    control_request(log_json ? "list" : "table", &st->challenges))
		st->challenges = NULL;
}

static void print_json(const struct status *st)
{
	struct json_writer *jw = jw_new(stdout);
	bool on = st->state != STEER_DETACHED;
	const char *short_names[LINK__MAX] = { "reply", "parser", "verdict",
					       "sockops" };
	__u32 i;

	jw_start_object(jw);
	jw_name(jw, "attached");
	if (st->cannot_tell)
		jw_null(jw);
	else
		jw_bool(jw, st->state == STEER_ATTACHED);
	jw_string_field(jw, "state", state_name(st));
	jw_bool_field(jw, "daemon_running", (on || st->cannot_tell) && st->alive);
	jw_name(jw, "pid");
	if (on && st->have_rs)
		jw_int(jw, st->rs.pid);
	else
		jw_null(jw);
	jw_name(jw, "since");
	if (on && st->have_rs)
		jw_int(jw, st->rs.since);
	else
		jw_null(jw);
	jw_name(jw, "ports");
	jw_start_array(jw);
	for (i = 0; on && i < st->rs.nr_ports; i++)
		jw_uint(jw, st->rs.ports[i]);
	jw_end_array(jw);
	jw_string_field(jw, "cgroup", on ? st->rs.cgroup : "");
	jw_string_field(jw, "responder", on && st->rs.forward[0] ? "forward" :
				     on ? "builtin" : "");
	jw_string_field(jw, "forward", on ? st->rs.forward : "");
	jw_name(jw, "pool");
	jw_start_object(jw);
	jw_uint_field(jw, "size", on ? st->made : 0);
	jw_uint_field(jw, "in_use", st->in_use);
	jw_uint_field(jw, "free", on && st->alive && st->made > st->in_use ?
					  st->made - st->in_use : 0);
	jw_end_object(jw);
	jw_uint_field(jw, "conns_held", st->conns > 0 ? st->conns : 0);
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
	jw_name(jw, "links");
	jw_start_object(jw);
	for (i = 0; i < LINK__MAX; i++)
		jw_uint_field(jw, short_names[i], st->ids.link_id[i]);
	jw_end_object(jw);
	jw_name(jw, "progs");
	jw_start_object(jw);
	for (i = 0; i < LINK__MAX; i++)
		jw_uint_field(jw, short_names[i], st->ids.prog_id[i]);
	jw_end_object(jw);
	jw_name(jw, "maps");
	jw_start_object(jw);
	for (i = 0; steer_map_names[i]; i++)
		jw_uint_field(jw, steer_map_names[i], st->ids.map_id[i]);
	jw_end_object(jw);
	jw_end_object(jw);
	jw_destroy(jw);
}

static void print_text(const struct status *st)
{
	char when[64] = "?";
	struct tm tm;
	__u32 i;

	printf("state:      %s\n", state_name(st));
	if (st->cannot_tell) {
		printf("            only root can read %s%s\n", ALPNSTEER_PIN_DIR,
		       st->alive ? "; a daemon is running" : "");
		if (st->alive)
			printf("daemon:     running (pid %d)\n", (int)st->rs.pid);
		return;
	}
	if (st->state == STEER_DETACHED)
		return;
	if (st->have_rs && localtime_r(&st->rs.since, &tm))
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S %z", &tm);
	printf("since:      %s\n", when);
	printf("daemon:     %s (pid %d)\n", st->alive ? "running" : "NOT RUNNING",
	       (int)st->rs.pid);
	printf("ports:     ");
	for (i = 0; i < st->rs.nr_ports; i++)
		printf(" %u", st->rs.ports[i]);
	printf("\ncgroup:     %s\n", st->rs.cgroup);
	printf("responder:  %s%s\n", st->rs.forward[0] ? "forward to " : "built-in",
	       st->rs.forward);
	printf("pool:       %u of %u in use\n", st->in_use, st->made);
	printf("held:       %d connections in %s/conns\n", st->conns,
	       ALPNSTEER_PIN_DIR);
	if (st->challenges && st->challenges[0])
		printf("challenges:\n%s\n", st->challenges);
	printf("counters:\n");
	for (i = 0; i < AC__MAX; i++)
		printf("  %-18s %llu\n", counter_names[i],
		       (unsigned long long)st->counters[i]);
	printf("bpftool:    prog ids sockops %u parser %u verdict %u reply %u; "
	       "link ids %u %u %u %u\n",
	       st->ids.prog_id[LINK_SOCKOPS], st->ids.prog_id[LINK_PARSER],
	       st->ids.prog_id[LINK_VERDICT], st->ids.prog_id[LINK_REPLY],
	       st->ids.link_id[LINK_SOCKOPS], st->ids.link_id[LINK_PARSER],
	       st->ids.link_id[LINK_VERDICT], st->ids.link_id[LINK_REPLY]);
}

int cmd_status(int argc, char **argv)
{
	static struct status st;

	if (argc > 1 && !strcmp(argv[1], "-j"))
		log_json = true;
	else if (argc > 1) {
		p_err("usage: alpnsteer [-j] status");
		return 1;
	}
	gather(&st);
	if (log_json)
		print_json(&st);
	else
		print_text(&st);
	return 0;
}
