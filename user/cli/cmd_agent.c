// SPDX-License-Identifier: GPL-2.0-only
/*
 * cmd_agent.c - `alpnsteer agent [OPTIONS]`, `agent status` and `agent
 * stop`: the options (the agent's, then attach's, one table), and the
 * clients of a running agent.  The agent itself is agentd.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/statfs.h>
#include <linux/magic.h>

#include "agent_client.h"
#include "agentd.h"
#include "cli.h"
#include "cmd.h"
#include "cmd_agent.h"
#include "json.h"
#include "loader.h"
#include "log.h"

/* The agent's own options (agent_opts[], below); every other is
 * attach's (cli.c). */
enum {
	AG_GRACE = 1001,
	AG_TTL,
	AG_STORE,
	AG_STORE_CA,
	AG_STORE_CERT,
	AG_STORE_KEY,
	AG_STORE_USER,
	AG_STORE_PASSWORD_FILE,
	AG_NAMES,
	AG_QUOTA,
};

static int parse_opt(struct agent *ag, int c, char *arg)
{
	struct store_opts *so = &ag->store;
	long *dst;

	switch (c) {
	case AG_GRACE:
	case AG_TTL:
		dst = c == AG_GRACE ? &ag->grace : &ag->ttl_max;
		*dst = lc_parse_duration(arg);
		if (*dst < 0) {
			p_err("--%s '%s' is not a duration",
			      c == AG_GRACE ? "grace" : "ttl", arg);
			p_hint("seconds, or a number with s, m, h or d: 90s, 30m, 1h");
			return -EINVAL;
		}
		return 0;
	case AG_NAMES:
		ag->names_path = arg;
		return 0;
	case AG_QUOTA: {
		char *end;

		errno = 0;
		ag->quota = strtol(arg, &end, 10);
		if (errno || *end || end == arg || ag->quota < 1 ||
		    ag->quota > AGENT_MAX - AGENT_LOCAL_RESERVE) {
			p_err("--quota '%s' is not a number of challenges from 1 to %d",
			      arg, AGENT_MAX - AGENT_LOCAL_RESERVE);
			return -EINVAL;
		}
		return 0;
	}
	case AG_STORE:
		so->url = *arg ? arg : NULL;
		return 0;
	case AG_STORE_CA:
		so->cacert = arg;
		return 0;
	case AG_STORE_CERT:
		so->cert = arg;
		return 0;
	case AG_STORE_KEY:
		so->key = arg;
		return 0;
	case AG_STORE_USER:
		so->user = arg;
		return 0;
	case AG_STORE_PASSWORD_FILE:
		so->password_file = arg;
		return 0;
	}
	/* attach's; the holder is always "agent" (not in the table) */
	return cli_attach_opt(&ag->o, c, arg);
}

static int parse(struct agent *ag, int argc, char **argv)
{
	struct statfs sfs;
	int c, rc;

	ag->ttl_max = AGENT_DEFAULT_TTL;
	ag->grace = AGENT_DEFAULT_GRACE;
	ag->quota = AGENT_DEFAULT_QUOTA;
	store_opts_env(&ag->store);
	cli_attach_begin(&ag->o);
	snprintf(ag->o.holder, sizeof(ag->o.holder), "%s", AGENT_HOLDER);
	while ((c = cmd_getopt(argc, argv, &agent_cmd)) != -1) {
		rc = c == CMD_BAD_OPT ? -EINVAL : parse_opt(ag, c, optarg);
		if (rc) /* cmd_getopt() or the option's parser said why */
			return rc < 0 ? rc : -EINVAL;
	}
	if (!cmd_operands(argc, argv, &agent_cmd, 0, 0))
		return -EINVAL;
	ag->use_store = ag->store.url != NULL;
	if (ag->use_store && !store_find(&ag->store))
		return -EINVAL;
	rc = cli_attach_end(&ag->o);
	if (rc)
		return rc;
	if (geteuid() != 0) {
		p_err("the agent needs root (it attaches and detaches)");
		p_hint("run it as root, or from alpnsteer-agent.service");
		return -EPERM;
	}
	if (statfs(ag->o.a.cgroup, &sfs) || sfs.f_type != CGROUP2_SUPER_MAGIC) {
		p_err("%s is not a cgroup v2 directory", ag->o.a.cgroup);
		p_hint("--cgroup takes a directory of the cgroup2 mount that holds the webserver (default: its root)");
		return -ENOTDIR;
	}
	rc = steer_ensure_bpffs();
	if (rc) {
		p_err("cannot mount bpffs on /sys/fs/bpf: %s", strerror(-rc));
		p_hint("alpnsteer mounts bpffs on /sys/fs/bpf when none is there, which needs CAP_SYS_ADMIN; or mount it first: mount -t bpf bpf /sys/fs/bpf");
		return rc;
	}
	return lc_check_user(ag->o.a.user);
}

/*
 * `agent stop` (root): ask the agent to stop, as SIGTERM does (it
 * detaches and waits for the drain), then wait until it has exited: its
 * flock on agent.lock goes with the process.  No pid file, no name match:
 * the package's prerm uses this.  0 also when no agent runs.
 */
#define AGENT_STOP_CLIENT_WAIT (AGENT_STOP_WAIT + 30)
static const struct cmd agent_stop_cmd, agent_status_cmd;

/* What `agent stop` did: stopped one, or found none running. */
static void say_stopped(bool stopped)
{
	struct json_writer *jw;

	if (!log_json) {
		printf("%s\n", stopped ? "alpnsteer agent stopped" :
					 "no alpnsteer agent runs");
		return;
	}
	jw = jw_new(stdout);
	jw_start_object(jw);
	jw_bool_field(jw, "stopped", stopped);
	jw_bool_field(jw, "running", false); /* either way, by now */
	jw_end_object(jw);
	jw_destroy(jw);
}

static int do_agent_stop(int argc, char **argv)
{
	struct lc_paths p;
	char *reply = NULL;
	int run_fd, fd, err, waited = 0;

	if (cmd_getopt(argc, argv, &agent_stop_cmd) != -1 ||
	    !cmd_operands(argc, argv, &agent_stop_cmd, 0, 0))
		return EXIT_USAGE;
	if (geteuid() != 0) {
		p_err("agent stop needs root");
		p_hint("run it as root");
		return EXIT_FAIL;
	}
	lc_default_paths(&p);
	run_fd = lc_run_dir_open(&p, false);
	fd = run_fd >= 0 ? lc_open_checked(run_fd, AGENT_LOCK_NAME, O_RDONLY, 0,
					   p.owner) :
			   -ENOENT;
	if (fd == -ENOENT || (fd >= 0 && !flock(fd, LOCK_SH | LOCK_NB))) {
		say_stopped(false);
		return EXIT_OK;
	}
	if (fd < 0) {
		p_err("cannot open %s/%s: %s", p.run_dir, AGENT_LOCK_NAME,
		      strerror(-fd));
		p_hint("everything root opens in %s must be root's", p.run_dir);
		return EXIT_FAIL;
	}
	/* The lock is held: an agent lives.  Its socket may not be up yet
	 * (it takes the lock first): a few tries. */
	for (;;) {
		err = agent_request(&p, "stop", &reply);
		if (err != -ENOENT || waited >= 3000)
			break;
		usleep(100 * 1000);
		waited += 100;
	}
	if (err == -ENOENT) {
		p_err("an agent holds %s/%s but does not answer on %s",
		      p.run_dir, AGENT_LOCK_NAME, AGENT_SOCK_NAME);
		p_hint("stop it with systemctl stop alpnsteer-agent, or SIGTERM the process 'fuser %s/%s' names",
		       p.run_dir, AGENT_LOCK_NAME);
		return EXIT_FAIL;
	}
	if (err || strcmp(reply, "ok"))
		return reply_print("the agent's socket", err, reply) ?:
								       EXIT_FAIL;
	free(reply);
	for (waited = 0; flock(fd, LOCK_SH | LOCK_NB); waited += 50) {
		if (waited >= AGENT_STOP_CLIENT_WAIT * 1000) {
			p_err("the agent has not exited %d s after it was asked to stop",
			      AGENT_STOP_CLIENT_WAIT);
			p_hint("its drain may still hold connections: see 'alpnsteer status'");
			return EXIT_FAIL;
		}
		usleep(50 * 1000);
	}
	say_stopped(true);
	return EXIT_OK;
}

static int do_agent_status(int argc, char **argv)
{
	struct lc_paths p;
	char *reply;
	int err;

	if (cmd_getopt(argc, argv, &agent_status_cmd) != -1 ||
	    !cmd_operands(argc, argv, &agent_status_cmd, 0, 0))
		return EXIT_USAGE;
	lc_default_paths(&p);
	err = agent_request(&p, "status", &reply);
	if (err == -ENOENT) {
		p_err("no alpnsteer agent runs on this host");
		p_hint("start one: 'alpnsteer agent' (or systemctl start alpnsteer-agent)");
		return 1;
	}
	return reply_print("the agent's socket", err, reply);
}

int do_agent(int argc, char **argv)
{
	static struct agent ag;
	int rc;

	lc_default_paths(&ag.p);
	rc = parse(&ag, argc, argv);
	/* A wrong command line is a usage error, as for attach. */
	if (rc == -EINVAL || rc == -E2BIG)
		return EXIT_USAGE;
	if (rc)
		return EXIT_FAIL;
	return agent_run(&ag);
}

/* clang-format off */
/* The agent's own options, then attach's but the holder's (the agent is
 * holder "agent", with a ttl of its own making). */
static const struct cmd_opt agent_opts[] = {
	{ "grace", AG_GRACE, CMD_ARG_REQUIRED, "DURATION",
	  "stay attached this long after the last challenge is gone and the validations in flight are done (default 10s): a CA retries from several places" },
	{ "ttl", AG_TTL, CMD_ARG_REQUIRED, "DURATION",
	  "the longest a pending challenge lives (default 1h, as an ACME authorization); a longer one is cut to it" },
	{ "store", AG_STORE, CMD_ARG_REQUIRED, "URL[,URL]",
	  "the fleet's etcd (https://HOST:2379): challenges added there by any node are answered here, learned of through a watch (also ALPNSTEER_STORE)" },
	{ "store-ca", AG_STORE_CA, CMD_ARG_REQUIRED, "FILE",
	  "the CA that signed the etcd servers' certificates (ALPNSTEER_STORE_CA)" },
	{ "store-cert", AG_STORE_CERT, CMD_ARG_REQUIRED, "FILE",
	  "this node's client certificate, from the fleet's CA, without a CN (ALPNSTEER_STORE_CERT)" },
	{ "store-key", AG_STORE_KEY, CMD_ARG_REQUIRED, "FILE",
	  "its key (ALPNSTEER_STORE_KEY)" },
	{ "store-user", AG_STORE_USER, CMD_ARG_REQUIRED, "NAME",
	  "the etcd user this node logs in as, with a read-only role on the challenges (ALPNSTEER_STORE_USER)" },
	{ "store-password-file", AG_STORE_PASSWORD_FILE, CMD_ARG_REQUIRED, "FILE",
	  "the file holding that user's password (ALPNSTEER_STORE_PASSWORD_FILE)" },
	{ "names", AG_NAMES, CMD_ARG_REQUIRED, "FILE",
	  "the names this node serves, one DNS name or IP address a line, each covering its subdomains (a file of root's only root may write): a store entry for any other name is refused with an Error, so a writer of the whole store cannot make this node answer for others' names" },
	{ "quota", AG_QUOTA, CMD_ARG_REQUIRED, "N",
	  "at most N challenges from the store per domain (the --names line that covers a name, else its last two labels; default 100, what one ACME order may name): one tenant cannot take every pending place" },
	LC_ATTACH_FIELDS(CLI_ATTACH_OPT)
	CLI_DRAIN_WAIT_OPT,
	{},
};
/* clang-format on */

static const struct cmd agent_status_cmd = {
	.name = "status",
	.func = do_agent_status,
	.summary = "the running agent's state, as JSON",
	.desc = "Pending challenges, whether it is attached, its counters and the store's state.",
};

static const struct cmd agent_stop_cmd = {
	.name = "stop",
	.func = do_agent_stop,
	.summary = "ask the running agent to stop, and wait until it has",
	.desc = "Root only. As SIGTERM does: the agent detaches and waits for the drain; this returns once it has exited. 0 also when no agent runs.",
};

static const struct cmd *const agent_subs[] = { &agent_status_cmd,
						&agent_stop_cmd, NULL };

const struct cmd agent_cmd = {
	.name = "agent",
	.func = do_agent,
	.synopsis = "[AGENT OPTIONS] [ATTACH OPTIONS]",
	.summary =
		"stay resident and detached; attach while a challenge is pending",
	.desc = "Nothing is loaded while no challenge pends. The agent attaches (as holder \"agent\", with attach's options) the moment one is added (challenge add, the hooks, --alpn-dir files, or the --store), and detaches --grace after the last one is gone. Pending challenges expire, so a client that crashed between its hooks cannot leave steering on. One agent per host. 'agent status' prints the running agent's state as JSON; 'agent stop' stops it.",
	.opts = agent_opts,
	.subs = agent_subs,
};
