// SPDX-License-Identifier: GPL-2.0-only
/*
 * diag.c - listeners outside the attached cgroup, through sock_diag.
 *
 * The sock_ops program runs for sockets whose cgroup is the attached one or
 * below it, and a child socket inherits the cgroup of the listener that
 * accepted it (docs/design.md, "Environment").  A webserver started in another
 * cgroup would silently never be steered, so attach asks the kernel
 * (NETLINK_SOCK_DIAG, through libnl) for every TCP listener on a steered
 * port and compares its INET_DIAG_CGROUP_ID with the ids of the cgroup
 * directories under --cgroup.
 */
#include <errno.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>
#include <netlink/netlink.h>
#include <netlink/msg.h>
#include <netlink/attr.h>

#include "cli.h"
#include "diag.h"
#include "log.h"

#define MAX_CGROUPS 4096

struct scan {
	const __u32 *ports;
	__u32 nr_ports;
	__u64 *ids;
	int nr_ids;
	int outside;
};

static struct scan *walk_scan; /* nftw() has no user pointer */

static int collect(const char *path, const struct stat *st, int flag,
		   struct FTW *ftw)
{
	if (flag != FTW_D)
		return 0;
	if (walk_scan->nr_ids >= MAX_CGROUPS)
		return 1;
	/* On cgroup2 the directory's inode number is the cgroup id. */
	walk_scan->ids[walk_scan->nr_ids++] = st->st_ino;
	return 0;
}

static int covered(const struct scan *s, __u64 id)
{
	int i;

	for (i = 0; i < s->nr_ids; i++)
		if (s->ids[i] == id)
			return 1;
	return 0;
}

static int on_msg(struct nl_msg *msg, void *arg)
{
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct inet_diag_msg *m = nlmsg_data(nlh);
	struct nlattr *tb[INET_DIAG_MAX + 1];
	struct scan *s = arg;
	char addr[INET6_ADDRSTRLEN] = "?";
	__u32 port = ntohs(m->id.idiag_sport), i;
	__u64 id;

	for (i = 0; i < s->nr_ports; i++)
		if (s->ports[i] == port)
			break;
	if (i == s->nr_ports)
		return NL_OK;
	if (nlmsg_parse(nlh, sizeof(*m), tb, INET_DIAG_MAX, NULL) ||
	    !tb[INET_DIAG_CGROUP_ID])
		return NL_OK;
	id = nla_get_u64(tb[INET_DIAG_CGROUP_ID]);
	if (covered(s, id))
		return NL_OK;
	inet_ntop(m->idiag_family, m->id.idiag_src, addr, sizeof(addr));
	p_warn("the listener on %s port %u (inode %u) is in cgroup id %llu, outside the attached cgroup: its connections will not be steered",
	       addr, port, m->idiag_inode, (unsigned long long)id);
	s->outside++;
	return NL_OK;
}

static int dump_family(struct nl_sock *sk, int family, struct scan *s)
{
	struct inet_diag_req_v2 req = {
		.sdiag_family = family,
		.sdiag_protocol = IPPROTO_TCP,
		.idiag_states = 1 << TCP_LISTEN,
	};
	int err;

	err = nl_send_simple(sk, SOCK_DIAG_BY_FAMILY, NLM_F_DUMP, &req,
			     sizeof(req));
	if (err < 0)
		return -EIO;
	nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, on_msg, s);
	return nl_recvmsgs_default(sk) < 0 ? -EIO : 0;
}

int diag_check_listeners(const char *cgroup, const __u32 *ports, __u32 nr_ports)
{
	struct scan s = { .ports = ports, .nr_ports = nr_ports };
	char root[PATH_MAX];
	struct nl_sock *sk;
	int err;

	/* The root of the cgroup2 mount covers every socket there is. */
	if (!cli_cgroup2_root(NULL, root, sizeof(root)) &&
	    !strcmp(root, cgroup))
		return 0;
	s.ids = calloc(MAX_CGROUPS, sizeof(*s.ids));
	if (!s.ids)
		return -ENOMEM;
	walk_scan = &s;
	nftw(cgroup, collect, 16, FTW_PHYS);
	walk_scan = NULL;

	sk = nl_socket_alloc();
	if (!sk) {
		free(s.ids);
		return -ENOMEM;
	}
	err = nl_connect(sk, NETLINK_SOCK_DIAG) ? -EIO : 0;
	if (!err)
		err = dump_family(sk, AF_INET, &s);
	if (!err)
		err = dump_family(sk, AF_INET6, &s);
	nl_socket_free(sk);
	free(s.ids);
	return err ? err : s.outside;
}
