// SPDX-License-Identifier: GPL-2.0-only
/*
 * runstate.c - /run/alpnsteer/state, a key=value file the daemon writes once
 * steering is live, so that status and detach can find it.  The pins under
 * /sys/fs/bpf/alpnsteer are the truth about the kernel side; this file only
 * adds what the kernel cannot say (pid, since, options).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "runstate.h"

int runstate_write(const struct runstate *rs)
{
	char tmp[] = ALPNSTEER_STATE_FILE ".XXXXXX";
	FILE *f;
	__u32 i;
	int fd;

	if (mkdir(ALPNSTEER_RUN_DIR, 0755) && errno != EEXIST)
		return -errno;
	fd = mkstemp(tmp);
	if (fd < 0)
		return -errno;
	fchmod(fd, 0644);
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		unlink(tmp);
		return -ENOMEM;
	}
	fprintf(f, "pid=%d\nsince=%lld\npool=%u\ncgroup=%s\nforward=%s\nports=",
		(int)rs->pid, (long long)rs->since, rs->pool_size, rs->cgroup,
		rs->forward);
	for (i = 0; i < rs->nr_ports; i++)
		fprintf(f, "%s%u", i ? "," : "", rs->ports[i]);
	fputc('\n', f);
	if (fclose(f)) {
		unlink(tmp);
		return -EIO;
	}
	/* rename(): readers see the old file or the new, never half. */
	if (rename(tmp, ALPNSTEER_STATE_FILE)) {
		unlink(tmp);
		return -errno;
	}
	return 0;
}

static void parse_ports(struct runstate *rs, char *v)
{
	char *tok, *save = NULL;

	for (tok = strtok_r(v, ",", &save);
	     tok && rs->nr_ports < ALPNSTEER_MAX_PORTS;
	     tok = strtok_r(NULL, ",", &save))
		rs->ports[rs->nr_ports++] = strtoul(tok, NULL, 10);
}

int runstate_read(struct runstate *rs)
{
	char line[PATH_MAX + 32];
	FILE *f;

	memset(rs, 0, sizeof(*rs));
	f = fopen(ALPNSTEER_STATE_FILE, "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *v = strchr(line, '=');

		if (!v)
			continue;
		*v++ = '\0';
		v[strcspn(v, "\n")] = '\0';
		if (!strcmp(line, "pid"))
			rs->pid = atoi(v);
		else if (!strcmp(line, "since"))
			rs->since = atoll(v);
		else if (!strcmp(line, "pool"))
			rs->pool_size = strtoul(v, NULL, 10);
		else if (!strcmp(line, "cgroup"))
			snprintf(rs->cgroup, sizeof(rs->cgroup), "%s", v);
		else if (!strcmp(line, "forward"))
			snprintf(rs->forward, sizeof(rs->forward), "%s", v);
		else if (!strcmp(line, "ports"))
			parse_ports(rs, v);
	}
	fclose(f);
	return 0;
}

void runstate_remove(void)
{
	unlink(ALPNSTEER_STATE_FILE);
}

bool runstate_daemon_alive(const struct runstate *rs)
{
	char path[64], buf[256], *p;
	FILE *f;
	bool ok = false;

	if (rs->pid <= 0)
		return false;
	/* /proc/PID/stat: "pid (comm) state ...".  A zombie (its parent
	 * never reaped it) is as dead as a daemon gets, and a recycled pid
	 * is not our daemon. */
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)rs->pid);
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
