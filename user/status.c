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
	bool legacy;
	bool have_rs, alive;
	struct runstate rs;
	int conns;
	__u32 in_use;
	__u64 counters[AC__MAX];
	struct obj_ids ids;
	char challenges[CONTROL_MAX_MSG]; /* from the daemon, "" if none */
};

static const char *state_name(enum steer_state s)
{
	switch (s) {
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
		if (fd < 0) {
			/* legacy attach: the program hangs off its map */
			ids->prog_id[i] = steer_pinned_map_prog(i);
			continue;
		}
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

static __u32 slots_in_use(__u32 size)
{
	struct alpnsteer_slot s;
	__u32 i, n = 0;
	int fd = steer_pinned_map("slots");

	if (fd < 0)
		return 0;
	for (i = 0; i < size; i++)
		if (!bpf_map_lookup_elem(fd, &i, &s) && s.owner_cookie)
			n++;
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
	if (st->state == STEER_DETACHED)
		return;
	fd = steer_pinned_map("conns");
	if (fd >= 0) {
		st->conns = steer_conns_count(fd);
		close(fd);
	}
	st->in_use = slots_in_use(st->rs.pool_size);
	steer_read_counters(st->counters, AC__MAX);
	read_ids(&st->ids);
	st->legacy = steer_pinned_legacy();
	if (st->alive && control_request(log_json ? "list" : "table",
					 st->challenges,
					 sizeof(st->challenges)))
		st->challenges[0] = '\0';
}

static void print_json(const struct status *st)
{
	struct json_writer *jw = jw_new(stdout);
	bool on = st->state != STEER_DETACHED;
	const char *short_names[LINK__MAX] = { "reply", "parser", "verdict",
					       "sockops" };
	__u32 i;

	jw_start_object(jw);
	jw_bool_field(jw, "attached", st->state == STEER_ATTACHED);
	jw_string_field(jw, "state", state_name(st->state));
	jw_bool_field(jw, "daemon_running", on && st->alive);
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
	jw_uint_field(jw, "size", on ? st->rs.pool_size : 0);
	jw_uint_field(jw, "in_use", st->in_use);
	jw_uint_field(jw, "free", on && st->alive ?
					  st->rs.pool_size - st->in_use : 0);
	jw_end_object(jw);
	jw_uint_field(jw, "conns_held", st->conns > 0 ? st->conns : 0);
	/* "links" (bpf_links, pinned) or "legacy" (the map programs attached
	 * to the maps: no link ids for them) */
	jw_string_field(jw, "attach_mode", !on ? "" : st->legacy ? "legacy" : "links");
	jw_name(jw, "counters");
	jw_start_object(jw);
	for (i = 0; i < AC__MAX; i++)
		jw_uint_field(jw, counter_names[i], st->counters[i]);
	jw_end_object(jw);
	/* Per pending identifier: handshakes answered by family, and the
	 * last client addresses. */
	jw_name(jw, "challenges");
	if (st->challenges[0] == '[')
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

	printf("state:      %s\n", state_name(st->state));
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
	printf("pool:       %u of %u in use\n", st->in_use, st->rs.pool_size);
	printf("held:       %d connections in %s/conns\n", st->conns,
	       ALPNSTEER_PIN_DIR);
	if (st->challenges[0])
		printf("challenges:\n%s\n", st->challenges);
	printf("counters:\n");
	for (i = 0; i < AC__MAX; i++)
		printf("  %-18s %llu\n", counter_names[i],
		       (unsigned long long)st->counters[i]);
	if (st->legacy) {
		/* No links to show: bpftool prog show id N finds them, and
		 * they go with the maps (bpftool map show pinned ...). */
		printf("attach:     legacy (map programs attached to %s/conns and pool, no sockmap links)\n",
		       ALPNSTEER_PIN_DIR);
		printf("bpftool:    prog ids sockops %u parser %u verdict %u reply %u; "
		       "link id %u (sock_ops); map ids conns %u pool %u\n",
		       st->ids.prog_id[LINK_SOCKOPS], st->ids.prog_id[LINK_PARSER],
		       st->ids.prog_id[LINK_VERDICT], st->ids.prog_id[LINK_REPLY],
		       st->ids.link_id[LINK_SOCKOPS], st->ids.map_id[0],
		       st->ids.map_id[1]);
		return;
	}
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
