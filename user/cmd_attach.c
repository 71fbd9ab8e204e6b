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

static int attach_or_run(int argc, char **argv, bool foreground)
{
	struct lc_paths p;
	struct daemon_opts o;
	int rc = prepare(argc, argv, &o);

	if (rc)
		return rc;
	lc_default_paths(&p);
	return lc_attach(&p, &o, foreground) ? EXIT_FAIL : EXIT_OK;
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
