// SPDX-License-Identifier: GPL-2.0-only
/*
 * daemon_ctl.c - where the daemon's challenges come from (control socket,
 * --alpn-dir, --domain) and how they become the kernel's steering policy.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <bpf/bpf.h>

#include "alpndir.h"
#include "control.h"
#include "ctlproto.h"
#include "daemon_int.h"
#include "log.h"

/*
 * Steering policy, kept in the kernel's settings and pending_names maps:
 * the built-in responder steers only the names it has challenges for; a
 * --forward relay steers every acme-tls/1 hello unless names are known
 * (--domain, or challenges added over the control socket).
 */
int sync_policy(struct daemon *d)
{
	struct alpnsteer_settings cfg = {};
	__u32 zero = 0;
	int err;

	err = challenges_sync_map(&d->store, d->pending_fd);
	if (err)
		return err;
	if (bpf_map_lookup_elem(d->settings_fd, &zero, &cfg))
		return -errno;
	cfg.sni_filter = !forwarding(d) || d->store.nr > 0;
	return bpf_map_update_elem(d->settings_fd, &zero, &cfg, BPF_ANY) ?
		       -errno : 0;
}

int add_domains(struct daemon *d)
{
	char err[200];
	int i, rc;

	/* --domain names carry no key authorization: they only feed the
	 * steering filter of a --forward relay. */
	for (i = 0; i < d->o->nr_domains; i++) {
		rc = challenges_add(&d->store, d->o->domains[i], "-", err,
				    sizeof(err));
		if (rc) {
			p_err("--domain %s: %s", d->o->domains[i], err);
			return rc;
		}
	}
	return 0;
}

void on_control(struct daemon *d)
{
	char *buf = malloc(CONTROL_MAX_MSG), *reply = malloc(CONTROL_MAX_MSG);
	uid_t uid;
	int fd, rc;

	fd = accept4(d->ctl_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0 || !buf || !reply)
		goto out;
	if (control_read_request(fd, buf, CONTROL_MAX_MSG, &uid))
		goto out;
	/* The file mode already keeps others out; say no here too. */
	if (uid != 0 && d->o->control_gid == (gid_t)-1) {
		control_reply(fd, "error: permission denied");
		goto out;
	}
	rc = ctl_apply(&d->store, buf, reply, CONTROL_MAX_MSG);
	if (rc > 0 && (rc = sync_policy(d)) < 0)
		snprintf(reply, CONTROL_MAX_MSG,
			 "error: cannot update the kernel's pending names: %s",
			 strerror(-rc));
	control_reply(fd, reply);
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	free(reply);
}

void on_alpndir(struct daemon *d)
{
	if (alpndir_rescan(d->o->alpn_dir, d->dir_fd, &d->store) > 0)
		sync_policy(d);
}

int setup_sources(struct daemon *d)
{
	int err;

	d->ctl_fd = control_listen(ALPNSTEER_CONTROL_SOCK, d->o->control_gid);
	if (d->ctl_fd < 0) {
		p_err("cannot create %s: %s", ALPNSTEER_CONTROL_SOCK,
		      strerror(-d->ctl_fd));
		return d->ctl_fd;
	}
	err = ep_set(d, EPOLL_CTL_ADD, d->ctl_fd, EPOLLIN, ev_key(EV_CONTROL, 0));
	if (err || !d->o->alpn_dir)
		return err;
	d->dir_fd = alpndir_watch(d->o->alpn_dir);
	if (d->dir_fd < 0) {
		p_err("cannot watch --alpn-dir %s: %s", d->o->alpn_dir,
		      strerror(-d->dir_fd));
		return d->dir_fd;
	}
	alpndir_rescan(d->o->alpn_dir, d->dir_fd, &d->store);
	return ep_set(d, EPOLL_CTL_ADD, d->dir_fd, EPOLLIN,
		      ev_key(EV_ALPNDIR, 0));
}
