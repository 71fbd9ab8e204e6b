// SPDX-License-Identifier: GPL-2.0-only
/*
 * keeper_scope.c - the keeper's own transient scope under systemd.
 *
 * systemd stops a unit by killing every process of its cgroup.  The
 * keeper used to stay in the cgroup of whatever ran `alpnsteer attach`:
 * stopping alpnsteer-attach.service (or the end of an ACME client's
 * service whose hook attached) killed the keeper and its daemon, and with
 * them the steering of every other holder.  A transient scope of its own
 * is what `systemd-run --scope` makes: the keeper asks the manager to
 * start alpnsteer-keeper-PID.scope with PIDs=[its pid] and waits until
 * the kernel shows it there; the daemon it forks next is born in it.  The
 * unit that ran attach then owns only its holder (its ExecStop detaches
 * it), and the keeper ends when the last holder is gone, as always.
 * docs/design.md, "Where the keeper lives".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>

#include "keeper_scope.h"
#include "log.h"

#define KS_WAIT_MS 5000
#define KS_BUS_TIMEOUT_US (10ULL * 1000 * 1000)

static const char *base(const char *cgroup)
{
	const char *b = strrchr(cgroup, '/');

	return b ? b + 1 : cgroup;
}

enum ks_plan ks_plan(const struct ks_env *e)
{
	/* `run` is the main process of its own service (alpnsteer.service):
	 * systemd tracks it there, and that unit's stop is the end of the
	 * attachment it owns. */
	if (e->foreground)
		return KS_STAY_FOREGROUND;
	if (e->setting &&
	    (!strcmp(e->setting, "no") || !strcmp(e->setting, "0") ||
	     !strcmp(e->setting, "false")))
		return KS_STAY_DISABLED;
	/* Without systemd as init nobody ends a process group by its
	 * cgroup: a keeper left to init outlives whatever started it. */
	if (!e->booted)
		return KS_STAY_NO_SYSTEMD;
	if (e->cgroup && !strncmp(base(e->cgroup), "alpnsteer-keeper-", 17))
		return KS_STAY_OWN;
	return KS_MOVE;
}

const char *ks_plan_name(enum ks_plan p)
{
	switch (p) {
	case KS_MOVE:
		return "move";
	case KS_STAY_FOREGROUND:
		return "stay (run: the unit's main process)";
	case KS_STAY_NO_SYSTEMD:
		return "stay (no systemd)";
	case KS_STAY_DISABLED:
		return "stay (" KS_ENV "=no)";
	case KS_STAY_OWN:
		return "stay (already in its scope)";
	}
	return "?";
}

int ks_scope_name(pid_t pid, char *buf, size_t len)
{
	int n = snprintf(buf, len, "alpnsteer-keeper-%d.scope", (int)pid);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int ks_cgroup_parse(const char *text, char *out, size_t len)
{
	const char *l = text, *nl;
	size_t n;

	/* cgroup v2 is the "0::" line (a hybrid host has v1 lines too). */
	while (l && *l) {
		nl = strchr(l, '\n');
		n = nl ? (size_t)(nl - l) : strlen(l);
		if (n >= 3 && !strncmp(l, "0::", 3)) {
			n -= 3;
			if (n >= len)
				return -ENAMETOOLONG;
			memcpy(out, l + 3, n);
			out[n] = '\0';
			return 0;
		}
		l = nl ? nl + 1 : NULL;
	}
	return -ENOENT;
}

bool ks_cgroup_is(const char *cgroup, const char *unit)
{
	return !strcmp(base(cgroup), unit);
}

static int own_cgroup(char *out, size_t len)
{
	char buf[4096];
	ssize_t n;
	int fd = open("/proc/self/cgroup", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return ks_cgroup_parse(buf, out, len);
}

static int start_scope(const char *name)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *m = NULL, *reply = NULL;
	sd_bus *bus = NULL;
	int r;

	r = sd_bus_open_system(&bus);
	if (r < 0)
		goto out;
	r = sd_bus_message_new_method_call(bus, &m, "org.freedesktop.systemd1",
					   "/org/freedesktop/systemd1",
					   "org.freedesktop.systemd1.Manager",
					   "StartTransientUnit");
	if (r < 0)
		goto out;
	/* "fail": a scope of that name already queued is an error, never
	 * replaced (its pid would be another keeper's). */
	r = sd_bus_message_append(m, "ss", name, "fail");
	r = r < 0 ? r : sd_bus_message_open_container(m, 'a', "(sv)");
	r = r < 0 ? r :
		    sd_bus_message_append(
			    m, "(sv)", "Description", "s",
			    "alpnsteer keeper: owns the attachment for every holder");
	r = r < 0 ? r :
		    sd_bus_message_append(m, "(sv)", "Slice", "s",
					  "system.slice");
	/* Gone from the unit list once it ends, failed or not. */
	r = r < 0 ? r :
		    sd_bus_message_append(m, "(sv)", "CollectMode", "s",
					  "inactive-or-failed");
	r = r < 0 ? r :
		    sd_bus_message_append(m, "(sv)", "PIDs", "au", 1,
					  (uint32_t)getpid());
	r = r < 0 ? r : sd_bus_message_close_container(m);
	r = r < 0 ? r : sd_bus_message_append(m, "a(sa(sv))", 0);
	if (r < 0)
		goto out;
	r = sd_bus_call(bus, m, KS_BUS_TIMEOUT_US, &e, &reply);
	if (r < 0 && sd_bus_error_is_set(&e))
		p_debug("StartTransientUnit %s: %s: %s", name, e.name,
			e.message);
out:
	sd_bus_error_free(&e);
	sd_bus_message_unref(m);
	sd_bus_message_unref(reply);
	sd_bus_flush_close_unref(bus);
	return r < 0 ? r : 0;
}

int ks_enter(bool foreground)
{
	char cg[4096] = "", name[64];
	struct ks_env e = {
		.foreground = foreground,
		.setting = getenv(KS_ENV),
		.cgroup = cg,
	};
	enum ks_plan plan;
	int err, waited = 0;

	if (!foreground) {
		e.booted = sd_booted() > 0;
		own_cgroup(cg, sizeof(cg));
	}
	plan = ks_plan(&e);
	p_debug("keeper %d in cgroup %s: %s", (int)getpid(), cg[0] ? cg : "?",
		ks_plan_name(plan));
	if (plan != KS_MOVE)
		return 0;
	err = ks_scope_name(getpid(), name, sizeof(name));
	err = err ?: start_scope(name);
	if (err) {
		p_warn("the keeper stays in %s: systemd did not give it a scope of its own (%s); stopping the unit that started it ends every holder's steering",
		       cg[0] ? cg : "the caller's cgroup", strerror(-err));
		return err;
	}
	/* The job moves us; the kernel's word is /proc/self/cgroup. */
	for (;;) {
		if (!own_cgroup(cg, sizeof(cg)) && ks_cgroup_is(cg, name))
			break;
		if (waited >= KS_WAIT_MS) {
			p_warn("the keeper is not in %s after %d s (in %s): stopping the unit that started it ends every holder's steering",
			       name, KS_WAIT_MS / 1000, cg);
			return -ETIMEDOUT;
		}
		usleep(10 * 1000);
		waited += 10;
	}
	p_debug("keeper %d moved to %s in %d ms", (int)getpid(), cg, waited);
	return 1;
}
