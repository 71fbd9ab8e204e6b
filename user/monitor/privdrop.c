// SPDX-License-Identifier: GPL-2.0-only
/*
 * privdrop.c - least privilege for the long-running daemon.
 *
 * Once the programs are loaded and linked, the monitor (the daemon that
 * holds the maps and hands slots to the TLS worker) stops being root and
 * keeps no capability: with the map descriptors already open, every map
 * operation it makes (sockmap updates included) needs none, even with
 * kernel.unprivileged_bpf_disabled=2.  Only --alpn-dir keeps
 * CAP_DAC_READ_SEARCH, because dehydrated's key files are root's.  The
 * bounding set is emptied first, while root may (CAP_SETPCAP): nothing
 * it or its worker execs can gain a capability back (docs/design.md,
 * "Privilege separation").  Nothing on disk is handed to the new user:
 * the pin and run directories stay root's and the keeper removes what is
 * in them (docs/design.md, "Lifecycle").
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <linux/capability.h>

#include "log.h"
#include "privdrop.h"
#include "sandbox.h"

static int set_caps(bool read_any)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2] = {};
	__u64 keep = 0;

	if (read_any)
		keep |= 1ULL << CAP_DAC_READ_SEARCH;
	data[0].effective = data[0].permitted = (__u32)keep;
	data[1].effective = data[1].permitted = (__u32)(keep >> 32);
	return syscall(SYS_capset, &hdr, data) ? -errno : 0;
}

int privdrop(const char *user, bool read_any, const char *const *own)
{
	struct passwd *pw = getpwnam(user);
	int i, err;

	if (!pw) {
		p_err("no user '%s' to run the daemon as", user);
		p_hint("create it, or name another with --user");
		return -ENOENT;
	}
	if (pw->pw_uid == 0)
		return 0; /* asked to stay root */
	for (i = 0; own && own[i]; i++)
		if (chown(own[i], pw->pw_uid, pw->pw_gid) && errno != ENOENT)
			return -errno;
	/* Permitted capabilities survive this; only exec would need the
	 * bounding set, and nothing here may gain one through it again. */
	err = sandbox_drop_bounding();
	if (err)
		p_warn("cannot empty the capability bounding set: %s",
		       strerror(-err));
	if (err == -EPERM)
		p_hint("give the service CAP_SETPCAP (CapabilityBoundingSet=), as the shipped units do");
	/* Keep the permitted set across setuid, then trim it. */
	if (prctl(PR_SET_KEEPCAPS, 1) || setgroups(0, NULL) ||
	    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid))
		return -errno;
	err = set_caps(read_any);
	if (err)
		return err;
	prctl(PR_SET_KEEPCAPS, 0);
	/* No way back up through exec of a setuid binary either. */
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	prctl(PR_SET_DUMPABLE, 0);
	return 0;
}
