// SPDX-License-Identifier: GPL-2.0-only
/*
 * daemon_ctl.c - where the daemon's challenges come from (control socket,
 * --alpn-dir, --domain) and how they become the kernel's steering policy.
 */
#include <errno.h>
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
	/* The worker has every pending name's certificate before the kernel
	 * steers to it: both go out before the next hello is read. */
	wk_sync(d);
	if (bpf_map_lookup_elem(d->settings_fd, &zero, &cfg))
		return -errno;
	cfg.sni_filter = !forwarding(d) || d->store.nr > 0;
	cfg.src_cap = d->o->a.per_source;
	return bpf_map_update_elem(d->settings_fd, &zero, &cfg, BPF_ANY) ?
		       -errno :
		       0;
}

int add_domains(struct daemon *d)
{
	char err[200], names[LC_DOMAINS_LEN], *name, *save = NULL;
	int rc;

	/* --domain names carry no key authorization: they only feed the
	 * steering filter of a --forward relay. */
	snprintf(names, sizeof(names), "%s", d->o->a.domains);
	for (name = strtok_r(names, ",", &save); name;
	     name = strtok_r(NULL, ",", &save)) {
		rc = challenges_add(&d->store, name, "-", err, sizeof(err));
		if (rc) {
			p_err("--domain %s: %s", name, err);
			p_hint("--domain takes DNS names (no wildcard) or IP addresses");
			return rc;
		}
	}
	return 0;
}

static void ctl_drop(struct daemon *d, struct ctl_client *c)
{
	if (c->fd >= 0) {
		epoll_ctl(d->epfd, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	free(c->reply);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

static long ms_since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t->tv_sec) * 1000 +
	       (now.tv_nsec - t->tv_nsec) / 1000000;
}

void ctl_expire(struct daemon *d, bool all)
{
	unsigned int i;

	for (i = 0; i < CONTROL_MAX_CLIENTS; i++) {
		struct ctl_client *c = &d->ctl[i];

		if (c->fd < 0 && !c->reply)
			continue;
		if (all || ms_since(&c->since) > CONTROL_DEADLINE_MS) {
			if (!all)
				p_info("control client dropped: no request or reply within %d ms",
				       CONTROL_DEADLINE_MS);
			ctl_drop(d, c);
		}
	}
}

/*
 * New connections on the control socket.  Nothing here waits for a client
 * (docs/design.md, "Hardening"): each is non-blocking and has a deadline,
 * and when all CONTROL_MAX_CLIENTS places are taken the oldest is dropped,
 * so a few idle connections cannot keep a request out.
 */
void on_control(struct daemon *d)
{
	struct ctl_client *c, *oldest;
	unsigned int i;
	int fd;

	while ((fd = control_accept(d->ctl_fd)) >= 0) {
		c = oldest = NULL;
		for (i = 0; i < CONTROL_MAX_CLIENTS; i++) {
			struct ctl_client *x = &d->ctl[i];

			if (x->fd < 0 && !x->reply) {
				c = x;
				break;
			}
			if (!oldest || x->since.tv_sec < oldest->since.tv_sec ||
			    (x->since.tv_sec == oldest->since.tv_sec &&
			     x->since.tv_nsec < oldest->since.tv_nsec))
				oldest = x;
		}
		if (!c) {
			ctl_drop(d, oldest);
			c = oldest;
		}
		c->fd = fd;
		clock_gettime(CLOCK_MONOTONIC, &c->since);
		if (ep_set(d, EPOLL_CTL_ADD, fd, EPOLLIN,
			   ev_key(EV_CTL_CLIENT, c - d->ctl)))
			ctl_drop(d, c);
	}
}

static void ctl_answer(struct daemon *d, struct ctl_client *c)
{
	char buf[CONTROL_MAX_REQ];
	uid_t uid;
	int rc;

	rc = control_read_request(c->fd, buf, sizeof(buf));
	if (rc == -EAGAIN || rc == -EINTR)
		return;
	if (rc) {
		ctl_drop(d, c);
		return;
	}
	rc = control_peer(c->fd, &uid, (gid_t)d->o->a.control_gid);
	/* The file mode already keeps others out; say no here too. */
	if (rc <= 0) {
		c->reply = strdup("error: permission denied");
	} else {
		struct ctl_caller who = { .uid = uid, .policy = d->policy };

		rc = ctl_apply_as(&d->store, buf, &c->reply, &who);
		if (rc > 0 && (rc = sync_policy(d)) < 0) {
			free(c->reply);
			c->reply = NULL;
			if (asprintf(
				    &c->reply,
				    "error: cannot update the kernel's pending names: %s",
				    strerror(-rc)) < 0)
				c->reply = NULL;
		}
	}
	if (!c->reply)
		c->reply = strdup("error: out of memory");
	if (!c->reply) {
		ctl_drop(d, c);
		return;
	}
	c->len = strlen(c->reply);
	c->off = 0;
}

void on_ctl_client(struct daemon *d, __u32 idx)
{
	struct ctl_client *c;
	int rc;

	if (idx >= CONTROL_MAX_CLIENTS || d->ctl[idx].fd < 0)
		return;
	c = &d->ctl[idx];
	if (!c->reply) {
		ctl_answer(d, c);
		if (c->fd < 0 || !c->reply)
			return;
	}
	rc = control_send(c->fd, c->reply, c->len, &c->off);
	if (rc == 0) {
		/* The rest when the client has read some. */
		ep_set(d, EPOLL_CTL_MOD, c->fd, EPOLLOUT,
		       ev_key(EV_CTL_CLIENT, idx));
		return;
	}
	/* All sent (or the client went): the close ends the reply. */
	ctl_drop(d, c);
}

void on_alpndir(struct daemon *d)
{
	if (alpndir_rescan(d->o->a.alpn_dir, d->dir_fd, &d->store) > 0)
		sync_policy(d);
}

int setup_sources(struct daemon *d)
{
	unsigned int i;
	int err;

	for (i = 0; i < CONTROL_MAX_CLIENTS; i++)
		d->ctl[i].fd = -1;
	if ((gid_t)d->o->a.control_gid != (gid_t)-1) {
		char msg[256];

		d->policy = calloc(1, sizeof(*d->policy));
		if (!d->policy)
			return -ENOMEM;
		err = ctl_policy_load(CTL_POLICY_PATH, d->policy, msg,
				      sizeof(msg));
		if (err == -ENOENT) {
			free(d->policy);
			d->policy = NULL;
		} else if (err) {
			p_err("%s", msg);
			p_hint("one DNS name or IP address a line; members may add each and its subdomains");
			return err;
		} else {
			p_info("--control-group members may add %d name(s) and their subdomains (%s)",
			       d->policy->nr, CTL_POLICY_PATH);
		}
	}
	lc_run_path(&d->o->paths, LC_CONTROL_SOCK, d->ctl_path,
		    sizeof(d->ctl_path));
	d->ctl_fd = control_listen(d->ctl_path, (gid_t)d->o->a.control_gid);
	if (d->ctl_fd < 0) {
		p_err("cannot create %s: %s", d->ctl_path,
		      strerror(-d->ctl_fd));
		p_hint("/run/alpnsteer must be root's and writable where attach runs (a unit's ReadWritePaths= or RuntimeDirectory=)");
		return d->ctl_fd;
	}
	err = ep_set(d, EPOLL_CTL_ADD, d->ctl_fd, EPOLLIN,
		     ev_key(EV_CONTROL, 0));
	if (err || !d->o->a.alpn_dir[0])
		return err;
	d->dir_fd = alpndir_watch(d->o->a.alpn_dir);
	if (d->dir_fd < 0) {
		p_err("cannot watch --alpn-dir %s: %s", d->o->a.alpn_dir,
		      strerror(-d->dir_fd));
		p_hint("--alpn-dir names an existing directory the daemon may read");
		return d->dir_fd;
	}
	alpndir_rescan(d->o->a.alpn_dir, d->dir_fd, &d->store);
	return ep_set(d, EPOLL_CTL_ADD, d->dir_fd, EPOLLIN,
		      ev_key(EV_ALPNDIR, 0));
}
