// SPDX-License-Identifier: GPL-2.0-only
/*
 * alpnsteer - steer ACME TLS-ALPN-01 handshakes on port 443 to a responder,
 * in the kernel, while the webserver keeps its port and its connections.
 *
 *   alpnsteer [-j] [-v|-d] COMMAND [ARGS]
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include <bpf/libbpf.h>

#include "acme_cert.h"
#include "check.h"
#include "cli.h"
#include "control.h"
#include "daemon.h"
#include "diag.h"
#include "feat.h"
#include "loader.h"
#include "log.h"
#include "runstate.h"
#include "status.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

#define LOCK_FILE ALPNSTEER_RUN_DIR "/lock"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: alpnsteer [-j] [-v|-d] COMMAND [ARGS]\n"
		"\n"
		"Commands:\n"
		"  attach [OPTIONS]        steer acme-tls/1 connections; returns when live\n"
		"  run [OPTIONS]           the same in the foreground (for a service manager)\n"
		"  detach [--wait[=SECS]]  stop steering; in-flight validations finish\n"
		"  status                  attached or not, counters, pool, ids for bpftool\n"
		"  challenge add IDENT KEYAUTH | add IDENT --digest SHA256\n"
		"  challenge remove IDENT | list\n"
		"                          pending TLS-ALPN-01 challenges of the built-in\n"
		"                          responder (IDENT: a DNS name or an IP address)\n"
		"  check IDENT [--address ADDR] [--keyauth KA]\n"
		"                          validate IDENT as a CA does (TLS 1.2 and 1.3,\n"
		"                          ALPN acme-tls/1), one line per rule\n"
		"  features [-j]           can this kernel run alpnsteer, and how\n"
		"  help                    this text\n"
		"\n"
		"Attach options:\n"
		"  --port N                steer this local port (repeatable; default 443)\n"
		"  --forward HOST:PORT     relay steered connections to this external\n"
		"                          responder (lego --tls.port, acme.sh --tlsport)\n"
		"                          instead of answering them with the built-in one\n"
		"  --domain NAME           steer only hellos whose SNI is NAME (repeatable);\n"
		"                          without it every acme-tls/1 hello is steered\n"
		"  --pool N                concurrent validations (default %d, max %d)\n"
		"  --cgroup DIR            cgroup v2 holding the webserver (default: the\n"
		"                          root of the cgroup2 mount)\n"
		"  --handshake-timeout S   abandon a silent validation after S seconds (30)\n"
		"  --alpn-dir DIR          answer with the NAME.crt.pem/NAME.key.pem files\n"
		"                          dehydrated writes there (-t tls-alpn-01 --alpn)\n"
		"  --control-group GROUP   let GROUP use the control socket too\n"
		"  --user USER             the daemon's user once live (default\n"
		"                          alpnsteer; root keeps it root)\n"
		"\n"
		"Global options:\n"
		"  -j, --json              JSON output\n"
		"  -v, --verbose           say more;  -d, --debug: libbpf and verifier logs\n",
		ALPNSTEER_DEFAULT_POOL, ALPNSTEER_MAX_POOL);
}

/* One attachment per host: the daemon holds this lock for its lifetime. */
static int take_lock(void)
{
	int fd;

	if (mkdir(ALPNSTEER_RUN_DIR, 0755) && errno != EEXIST)
		return -errno;
	fd = open(LOCK_FILE, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		close(fd);
		return -EBUSY;
	}
	return fd;
}

static __u64 current_netns_cookie(void)
{
	__u64 cookie = 0;
	socklen_t len = sizeof(cookie);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd >= 0) {
		if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len))
			cookie = 0;
		close(fd);
	}
	return cookie;
}

static void say_attached(const struct runstate *rs, bool already)
{
	if (log_json) {
		printf("{\"attached\":true,\"already\":%s,\"pid\":%d}\n",
		       already ? "true" : "false", (int)rs->pid);
		return;
	}
	printf("alpnsteer %s attached (pid %d)\n", already ? "is already" : "is",
	       (int)rs->pid);
}

/* Refuse or accept an attach given what is there; 1: already attached. */
static int check_existing(void)
{
	struct runstate rs;
	int fd, n;

	switch (steer_pinned_state()) {
	case STEER_DETACHED:
		return 0;
	case STEER_ATTACHED:
		runstate_read(&rs);
		say_attached(&rs, true);
		if (!runstate_daemon_alive(&rs))
			p_warn("its daemon is not running: acme-tls/1 connections go to the webserver; run 'alpnsteer detach' then attach again");
		return 1;
	case STEER_DRAINING:
		break;
	}
	fd = steer_pinned_map("conns");
	n = fd >= 0 ? steer_conns_count(fd) : 0;
	if (fd >= 0)
		close(fd);
	if (runstate_read(&rs) == 0 && runstate_daemon_alive(&rs)) {
		p_err("the previous attachment is still draining %d connections",
		      n);
		p_hint("wait for it with 'alpnsteer detach --wait'");
		return -EBUSY;
	}
	if (n > 0) {
		p_err("a previous attachment left %d connections to drain", n);
		p_hint("run 'alpnsteer detach --wait' to drain and remove it");
		return -EBUSY;
	}
	/* Left behind by a killed daemon with nothing in flight: safe. */
	return steer_remove_pins();
}

static int prepare(int argc, char **argv, struct daemon_opts *o, int *lock)
{
	struct statfs sfs;
	int err;

	err = cli_parse_attach(argc, argv, o);
	if (err)
		return err;
	o->cfg.netns_cookie = current_netns_cookie();
	if (geteuid() != 0) {
		p_err("attach needs root (CAP_BPF, CAP_NET_ADMIN, CAP_SYS_ADMIN for bpffs)");
		p_hint("run it as root, or from a systemd unit");
		return -EPERM;
	}
	if (statfs(o->cfg.cgroup, &sfs) || sfs.f_type != CGROUP2_SUPER_MAGIC) {
		p_err("%s is not a cgroup v2 directory", o->cfg.cgroup);
		p_hint("--cgroup takes a directory of the cgroup2 mount that holds the webserver (default: its root)");
		return -EINVAL;
	}
	err = steer_ensure_bpffs();
	if (err) {
		p_err("cannot mount bpffs on /sys/fs/bpf: %s", strerror(-err));
		return err;
	}
	/* Only a warning: the webserver may simply not be started yet. */
	if (diag_check_listeners(o->cfg.cgroup, o->cfg.ports,
				 o->cfg.nr_ports) < 0)
		p_info("cannot list listeners through sock_diag");
	*lock = take_lock();
	if (*lock == -EBUSY) {
		struct runstate rs;

		/* The lock holder may be draining or just attaching. */
		if (steer_pinned_state() == STEER_ATTACHED &&
		    !runstate_read(&rs)) {
			say_attached(&rs, true);
			return 1;
		}
		p_err("another alpnsteer is attaching or draining");
		p_hint("see 'alpnsteer status'; 'alpnsteer detach --wait' waits for a drain");
		return -EBUSY;
	}
	if (*lock < 0) {
		p_err("cannot lock %s: %s", LOCK_FILE, strerror(-*lock));
		return *lock;
	}
	return check_existing();
}

static int cmd_attach(int argc, char **argv)
{
	struct daemon_opts o;
	struct runstate rs;
	int lock = -1, pfd[2], err;
	char status = 1;
	pid_t pid;

	err = prepare(argc, argv, &o, &lock);
	if (err)
		return err > 0 ? 0 : 1;
	if (pipe2(pfd, O_CLOEXEC))
		return 1;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		p_err("fork: %s", strerror(errno));
		return 1;
	}
	if (pid == 0) {
		close(pfd[0]);
		setsid();
		err = daemon_run(&o, pfd[1]);
		_exit(err ? 1 : 0);
	}
	close(pfd[1]);
	close(lock);
	if (read(pfd[0], &status, 1) != 1 || status != 0)
		return 1; /* the daemon said why */
	runstate_read(&rs);
	say_attached(&rs, false);
	return 0;
}

static int cmd_run(int argc, char **argv)
{
	struct daemon_opts o;
	int lock = -1, err;

	err = prepare(argc, argv, &o, &lock);
	if (err)
		return err > 0 ? 0 : 1;
	log_daemon = true;
	err = daemon_run(&o, -1);
	close(lock);
	return err ? 1 : 0;
}

/* Gone means the pins are gone and the daemon has exited: it holds the
 * attach lock until then, and an attach right after must find it free. */
static bool daemon_gone(void)
{
	int lock;

	if (steer_pinned_state() != STEER_DETACHED)
		return false;
	lock = take_lock();
	if (lock < 0)
		return lock != -EBUSY;
	close(lock);
	return true;
}

static int wait_gone(int seconds)
{
	int waited_ms = 0;

	while (!daemon_gone()) {
		if (seconds > 0 && waited_ms >= seconds * 1000)
			return -ETIMEDOUT;
		/* A daemon with nothing in flight is gone in ~10 ms. */
		usleep(5 * 1000);
		waited_ms += 5;
	}
	return 0;
}

static int cmd_detach(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "wait", optional_argument, NULL, 'w' },
		{},
	};
	int c, wait = -1, err, fd, n;
	struct runstate rs;
	bool alive;

	optind = 0; /* 0, not 1: glibc then forgets the previous scan */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'w' || cli_parse_wait(optarg, &wait)) {
			p_err("usage: alpnsteer detach [--wait[=SECONDS]]");
			return 1;
		}
	}
	if (steer_pinned_state() == STEER_DETACHED) {
		if (log_json)
			printf("{\"attached\":false,\"detached\":false}\n");
		else
			printf("alpnsteer is not attached\n");
		return 0;
	}
	err = steer_set_draining();
	if (err && err != -ENOENT) {
		p_err("cannot stop steering: %s", strerror(-err));
		p_hint("detach needs root");
		return 1;
	}
	alive = runstate_read(&rs) == 0 && runstate_daemon_alive(&rs);
	if (alive) {
		kill(rs.pid, SIGTERM);
	} else if (wait < 0) {
		/* No daemon to finish the job: leave a drainer behind. */
		if (fork() == 0) {
			setsid();
			_exit(daemon_drain_orphan(-1) ? 1 : 0);
		}
	}
	if (wait < 0) {
		fd = steer_pinned_map("conns");
		n = fd >= 0 ? steer_conns_count(fd) : 0;
		if (fd >= 0)
			close(fd);
		if (log_json)
			printf("{\"attached\":false,\"draining\":%d}\n", n);
		else
			printf("steering stopped; %d connections draining\n", n);
		return 0;
	}
	err = alive ? wait_gone(wait) :
		      daemon_drain_orphan(wait ? wait * 1000 : -1);
	if (err == -ETIMEDOUT) {
		fd = steer_pinned_map("conns");
		n = fd >= 0 ? steer_conns_count(fd) : 0;
		if (fd >= 0)
			close(fd);
		p_err("still draining %d connections after %d s", n, wait);
		p_hint("steered connections end when their clients close; see 'alpnsteer status'");
		return 1;
	}
	if (err) {
		p_err("cannot remove the attachment: %s", strerror(-err));
		return 1;
	}
	/* The unprivileged daemon removed the pins but cannot remove their
	 * directory (its parent is root's): that is ours. */
	rmdir(ALPNSTEER_PIN_DIR);
	if (log_json)
		printf("{\"attached\":false,\"detached\":true}\n");
	else
		printf("alpnsteer detached\n");
	return 0;
}

static int cmd_challenge(int argc, char **argv)
{
	char req[2048], reply[CONTROL_MAX_MSG], why[200];
	const char *verb = argc > 1 ? argv[1] : "";
	unsigned char digest[ACME_DIGEST_LEN];
	struct acme_ident id;
	int err;

	/* Refuse a bad identifier here, with the daemon's words, before
	 * anything is sent. */
	if ((!strcmp(verb, "add") || !strcmp(verb, "remove")) && argc > 2 &&
	    acme_ident_parse(argv[2], &id, why, sizeof(why))) {
		p_err("%s", why);
		p_hint("IDENT is a DNS name (no wildcard) or an IPv4/IPv6 address");
		return 1;
	}
	if (!strcmp(verb, "add") && argc == 4 &&
	    (!*argv[3] || strpbrk(argv[3], " \t\r\n"))) {
		p_err("the key authorization is empty or contains white space");
		return 1;
	}
	if (!strcmp(verb, "add") && argc == 5 && !strcmp(argv[3], "--digest") &&
	    acme_digest_parse(argv[4], digest)) {
		p_err("'%s' is not a SHA-256 digest", argv[4]);
		p_hint("64 hex digits (colons between bytes allowed, as dehydrated passes it) or 43 base64url characters (as uacme passes it)");
		return 1;
	}
	if (!strcmp(verb, "add") && argc == 4)
		snprintf(req, sizeof(req), "add %s %s", argv[2], argv[3]);
	else if (!strcmp(verb, "add") && argc == 5 &&
		 !strcmp(argv[3], "--digest"))
		snprintf(req, sizeof(req), "add-digest %s %s", argv[2],
			 argv[4]);
	else if (!strcmp(verb, "remove") && argc == 3)
		snprintf(req, sizeof(req), "remove %s", argv[2]);
	else if (!strcmp(verb, "list") && (argc == 2 ||
					   (argc == 3 && !strcmp(argv[2], "-j"))))
		snprintf(req, sizeof(req), "%s",
			 argc == 3 || log_json ? "list" : "table");
	else {
		p_err("usage: alpnsteer challenge add IDENT KEYAUTH | add IDENT --digest SHA256 | remove IDENT | list [-j]");
		return 2;
	}
	if (argc == 3 && !strcmp(argv[2], "-j"))
		log_json = true;
	err = control_request(req, reply, sizeof(reply));
	if (err == -ENOENT) {
		p_err("alpnsteer is not attached (no %s)", ALPNSTEER_CONTROL_SOCK);
		p_hint("run 'alpnsteer attach' first");
		return 1;
	}
	if (err == -EACCES || err == -EPERM) {
		p_err("permission denied on %s", ALPNSTEER_CONTROL_SOCK);
		p_hint("challenges are root's (or --control-group's) business");
		return 1;
	}
	if (err) {
		p_err("control socket: %s", strerror(-err));
		return 1;
	}
	if (!strncmp(reply, "error: ", 7)) {
		p_err("%s", reply + 7);
		return 1;
	}
	if (strcmp(reply, "ok") || log_json)
		printf("%s\n", log_json && !strcmp(reply, "ok") ?
				       "{\"ok\":true}" : reply);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "debug", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	const char *cmd;
	int c;

	/* Global options come before the command. */
	while ((c = getopt_long(argc, argv, "+jvdh", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			log_json = true;
			break;
		case 'v':
			log_verbose = log_verbose > 1 ? 2 : 1;
			break;
		case 'd':
			log_verbose = 2;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	log_setup_libbpf();
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	cmd = argv[optind];
	argc -= optind;
	argv += optind;
	if (!strcmp(cmd, "attach"))
		return cmd_attach(argc, argv);
	if (!strcmp(cmd, "run"))
		return cmd_run(argc, argv);
	if (!strcmp(cmd, "detach"))
		return cmd_detach(argc, argv);
	if (!strcmp(cmd, "status"))
		return cmd_status(argc, argv);
	if (!strcmp(cmd, "challenge"))
		return cmd_challenge(argc, argv);
	if (!strcmp(cmd, "check"))
		return cmd_check(argc, argv);
	if (!strcmp(cmd, "features"))
		return cmd_features(argc, argv);
	if (!strcmp(cmd, "help")) {
		usage(stdout);
		return 0;
	}
	p_err("unknown command '%s'", cmd);
	p_hint("see 'alpnsteer help'");
	return 2;
}
