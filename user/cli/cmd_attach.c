// SPDX-License-Identifier: GPL-2.0-only
/*
 * cmd_attach.c - `alpnsteer attach` and `alpnsteer run`.
 *
 * Both check what can be checked before anything is loaded (root, the
 * cgroup, bpffs, the daemon's user), then hand over to the lifecycle
 * (lifecycle_run.c): attach returns once steering is live, run stays in
 * the foreground for a service manager.  docs/design.md, "Lifecycle".
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <linux/magic.h>

#include "cli.h"
#include "cmd.h"
#include "diag.h"
#include "json.h"
#include "lifecycle.h"
#include "lifecycle_run.h"
#include "loader.h"
#include "log.h"

/* EXIT_OK when @o is ready for lc_attach(), else the exit code. */
static int prepare(int argc, char **argv, struct daemon_opts *o)
{
	struct statfs sfs;
	int err;

	err = cli_parse_attach(argc, argv, o);
	if (err)
		return err == -EINVAL || err == -E2BIG ? EXIT_USAGE : EXIT_FAIL;
	if (geteuid() != 0) {
		p_err("attach needs root (CAP_BPF, CAP_NET_ADMIN, CAP_SYS_ADMIN for bpffs)");
		p_hint("run it as root, or from a systemd unit");
		return EXIT_FAIL;
	}
	if (statfs(o->cfg.cgroup, &sfs) || sfs.f_type != CGROUP2_SUPER_MAGIC) {
		p_err("%s is not a cgroup v2 directory", o->cfg.cgroup);
		p_hint("--cgroup takes a directory of the cgroup2 mount that holds the webserver (default: its root)");
		return EXIT_FAIL;
	}
	err = steer_ensure_bpffs();
	if (err) {
		p_err("cannot mount bpffs on /sys/fs/bpf: %s", strerror(-err));
		p_hint("alpnsteer mounts bpffs on /sys/fs/bpf when none is there, which needs CAP_SYS_ADMIN; or mount it first: mount -t bpf bpf /sys/fs/bpf");
		return EXIT_FAIL;
	}
	/* Only a warning: the webserver may simply not be started yet. */
	if (diag_check_listeners(o->cfg.cgroup, o->cfg.ports, o->cfg.nr_ports) <
	    0)
		p_info("cannot list listeners through sock_diag");
	/* Before anything is attached: a daemon that silently stayed root
	 * would parse the Internet's TLS with every privilege. */
	return lc_check_user(o->a.user) ? EXIT_FAIL : EXIT_OK;
}

static void note_waiting(bool orphaned)
{
	fprintf(stderr,
		"alpnsteer: waiting for the %s attachment to finish draining\n",
		orphaned ? "orphaned" : "previous");
}

/* What an attach did, as text or (-j) one JSON object. */
static void print_attached(const struct lc_attach_result *r)
{
	struct json_writer *jw;

	if (log_json) {
		jw = jw_new(stdout);
		jw_start_object(jw);
		jw_bool_field(jw, "attached", true);
		jw_bool_field(jw, "already", r->how == LC_ATTACHED_ALREADY);
		jw_bool_field(jw, "resumed", r->how == LC_ATTACHED_RESUMED);
		jw_name(jw, "pid");
		jw_int(jw, r->pid);
		jw_end_object(jw);
		jw_destroy(jw);
		return;
	}
	switch (r->how) {
	case LC_ATTACHED_ALREADY:
		printf("alpnsteer is already attached (pid %d; holders: %s)\n",
		       (int)r->pid, r->holders);
		break;
	case LC_ATTACHED_RESUMED:
		printf("alpnsteer is attached again: the drain was called off (pid %d; holders: %s)\n",
		       (int)r->pid, r->holders);
		break;
	case LC_ATTACHED_NEW:
		printf("alpnsteer is attached (pid %d)\n", (int)r->pid);
		break;
	}
}

static int attach_or_run(int argc, char **argv, bool foreground)
{
	struct lc_attach_result res;
	struct daemon_opts o;
	struct lc_paths p;
	int rc = prepare(argc, argv, &o);

	if (rc)
		return rc;
	o.waiting = note_waiting;
	lc_default_paths(&p);
	if (lc_attach(&p, &o, foreground, &res))
		return EXIT_FAIL;
	/* run: the attachment has ended by now; nothing to say */
	if (!foreground)
		print_attached(&res);
	return EXIT_OK;
}

static int do_attach(int argc, char **argv)
{
	return attach_or_run(argc, argv, false);
}

static int do_run(int argc, char **argv)
{
	return attach_or_run(argc, argv, true);
}

const struct cmd attach_cmd = {
	.name = "attach",
	.func = do_attach,
	.summary =
		"steer acme-tls/1 connections to a responder; returns when steering is live",
	.desc = "Loads, pins and links the BPF programs in the cgroup of the webserver and starts the daemon that owns the responder pool. "
		"Attaching again with the same options adds a holder and exits 0; with other options it is refused with what differs; "
		"during a drain the same options call the drain off, other options wait for it to end. A failure midway leaves nothing behind. "
		"Root only. Connections are steered in the network namespace alpnsteer is started in.",
	.opts = cli_attach_opts,
};

const struct cmd run_cmd = {
	.name = "run",
	.func = do_run,
	.summary =
		"the same as attach, in the foreground (for a service manager)",
	.desc = "Stays in the foreground until SIGTERM or SIGINT, which detach every holder and drain cleanly.",
	.opts = cli_attach_opts,
};
