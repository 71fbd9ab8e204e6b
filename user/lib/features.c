// SPDX-License-Identifier: GPL-2.0-only
/*
 * features.c - the kernel feature probes attach and `alpnsteer features`
 * (cmd_features.c) rely on.
 *
 * Every answer comes from trying the thing: a map is created, a program of
 * two instructions is loaded, a link is asked for, a field is looked up in
 * the running kernel's BTF.  Distribution kernels backport features into
 * old version numbers and leave others out, so a version says nothing
 * (docs/design.md, "Kernel reach").  Nothing a probe creates outlives it,
 * and no probe attaches anything anywhere.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "feat.h"
#include "log.h"

#define ALPNSTEER_BPF_TCX_INGRESS 46 /* absent from Debian 12's uapi */

struct feat_desc {
	const char *name; /* the JSON key */
	const char *what;
	const char *hint; /* required ones: what to do without it */
};

static const struct feat_desc descs[FEAT__MAX] = {
	[FEAT_BTF] = { "btf", "kernel BTF (/sys/kernel/btf/vmlinux)",
		       "alpnsteer needs a kernel built with CONFIG_DEBUG_INFO_BTF=y, as Debian's and most distributions' are" },
	[FEAT_SOCKHASH] = { "sockhash", "BPF_MAP_TYPE_SOCKHASH",
			    "alpnsteer needs a kernel built with CONFIG_BPF_SYSCALL and sockmap support (CONFIG_NET)" },
	[FEAT_QUEUE] = { "queue_map", "BPF_MAP_TYPE_QUEUE",
			 "alpnsteer needs a kernel with BPF queue maps" },
	[FEAT_RINGBUF] = { "ringbuf", "BPF_MAP_TYPE_RINGBUF",
			   "alpnsteer needs a kernel with BPF ring buffers" },
	[FEAT_SOCK_OPS] = { "sock_ops", "sock_ops programs",
			    "alpnsteer needs a kernel built with CONFIG_CGROUP_BPF" },
	[FEAT_SK_SKB] = { "sk_skb", "sk_skb programs",
			  "alpnsteer needs a kernel with sockmap sk_skb programs" },
	[FEAT_SK_MSG] = { "sk_msg", "sk_msg programs",
			  "alpnsteer needs a kernel with sockmap sk_msg programs" },
	[FEAT_SKB_VERDICT] = { "skb_verdict",
			       "sockmap verdict-only sk_skb programs (BPF_SK_SKB_VERDICT)",
			       "alpnsteer needs a kernel with BPF_SK_SKB_VERDICT (5.13 and later)" },
	[FEAT_FOR_EACH_MAP_ELEM] = { "for_each_map_elem",
				     "bpf_for_each_map_elem() helper in tc programs",
				     "the drain releases idle sockets with bpf_for_each_map_elem() (5.13 and later)" },
	[FEAT_BPF_LOOP] = { "bpf_loop", "bpf_loop() helper in sk_skb",
			    "alpnsteer's ClientHello parser needs the bpf_loop() helper" },
	[FEAT_SKC_TO_TCP_SOCK] = { "skc_to_tcp_sock",
				   "bpf_skc_to_tcp_sock() helper in sock_ops",
				   "alpnsteer's release check needs the bpf_skc_to_tcp_sock() helper" },
	[FEAT_CGROUP_LINK] = { "cgroup_link", "cgroup bpf_link for sock_ops",
			       "alpnsteer attaches sock_ops through a cgroup bpf_link" },
	[FEAT_SOCKMAP_LINK] = { "sockmap_link",
				"sockmap bpf_link (BPF_LINK_TYPE_SOCKMAP)" },
	[FEAT_TCX] = { "tcx",
		       "tcx links (BPF_TCX_INGRESS), for --preclassify" },
	[FEAT_PSOCK_MSG_TOT_LEN] = { "psock_msg_tot_len",
				     "sk_psock.msg_tot_len (release guard)" },
};

static int cache[FEAT__MAX];
static bool probed[FEAT__MAX];

const char *feat_name(enum feat_id id)
{
	return descs[id].name;
}

static struct btf *btf;
static bool btf_tried;

static struct btf *vmlinux_btf(void)
{
	if (!btf_tried) {
		btf_tried = true;
		btf = btf__load_vmlinux_btf();
		if (!btf)
			btf = NULL;
	}
	return btf;
}

void feat_release(void)
{
	btf__free(btf);
	btf = NULL;
	btf_tried = false;
}

/* 1 when struct @type of the running kernel has a member @member. */
static int btf_has_member(const char *type, const char *member)
{
	struct btf *btf = vmlinux_btf();
	const struct btf_member *m;
	const struct btf_type *t;
	int id, i;

	if (!btf)
		return -ENOENT;
	id = btf__find_by_name_kind(btf, type, BTF_KIND_STRUCT);
	if (id < 0)
		return 0;
	t = btf__type_by_id(btf, id);
	m = btf_members(t);
	for (i = 0; i < btf_vlen(t); i++, m++)
		if (!strcmp(btf__name_by_offset(btf, m->name_off), member))
			return 1;
	return 0;
}

/* A program that only returns @ret, or -errno. */
static int tiny_prog(enum bpf_prog_type type, enum bpf_attach_type expected,
		     int ret)
{
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K,
		  .dst_reg = BPF_REG_0,
		  .imm = ret },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_prog_load_opts, o, .expected_attach_type = expected);
	int fd;

	fd = bpf_prog_load(type, NULL, "GPL", insns, 2, &o);
	return fd < 0 ? -errno : fd;
}

/* Sockmap links: a real one, on an empty sockhash, closed at once. */
static int probe_sockmap_link(void)
{
	int map, prog, link, err;

	map = bpf_map_create(BPF_MAP_TYPE_SOCKHASH, NULL, 4, 4, 1, NULL);
	if (map < 0)
		return -errno;
	prog = tiny_prog(BPF_PROG_TYPE_SK_MSG, BPF_SK_MSG_VERDICT, SK_PASS);
	if (prog < 0) {
		close(map);
		return prog;
	}
	link = bpf_link_create(prog, map, BPF_SK_MSG_VERDICT, NULL);
	err = link >= 0				     ? 1 :
	      errno == EINVAL || errno == EOPNOTSUPP ? 0 :
						       -errno;
	if (link >= 0)
		close(link);
	close(prog);
	close(map);
	return err;
}

/*
 * The link probes that must not attach anything aim at no target: a kernel
 * that knows the link type goes looking for the target and says so (EBADF
 * for a cgroup fd of -1, ENODEV for ifindex 0); one that does not refuses
 * the attach type itself with EINVAL.
 */
static int probe_link_no_target(enum bpf_prog_type type,
				enum bpf_attach_type at, int target,
				int found_errno)
{
	int prog, link, err;

	prog = tiny_prog(type, at, 0);
	if (prog < 0)
		return prog;
	link = bpf_link_create(prog, target, at, NULL);
	if (link >= 0) { /* not expected; it exists, then */
		close(link);
		err = 1;
	} else {
		err = errno == found_errno ? 1 : errno == EINVAL ? 0 : -errno;
	}
	close(prog);
	return err;
}

static int probe(enum feat_id id)
{
	switch (id) {
	case FEAT_BTF:
		return vmlinux_btf() ? 1 : 0;
	case FEAT_SOCKHASH:
		return libbpf_probe_bpf_map_type(BPF_MAP_TYPE_SOCKHASH, NULL);
	case FEAT_QUEUE:
		return libbpf_probe_bpf_map_type(BPF_MAP_TYPE_QUEUE, NULL);
	case FEAT_RINGBUF:
		return libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL);
	case FEAT_SOCK_OPS:
		return libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_SOCK_OPS, NULL);
	case FEAT_SK_SKB:
		return libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_SK_SKB, NULL);
	case FEAT_SK_MSG:
		return libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_SK_MSG, NULL);
	case FEAT_SKB_VERDICT:
		return btf_has_member("sk_psock_progs", "skb_verdict");
	case FEAT_FOR_EACH_MAP_ELEM:
		return libbpf_probe_bpf_helper(BPF_PROG_TYPE_SCHED_CLS,
					       BPF_FUNC_for_each_map_elem,
					       NULL);
	case FEAT_BPF_LOOP:
		return libbpf_probe_bpf_helper(BPF_PROG_TYPE_SK_SKB,
					       BPF_FUNC_loop, NULL);
	case FEAT_SKC_TO_TCP_SOCK:
		return libbpf_probe_bpf_helper(BPF_PROG_TYPE_SOCK_OPS,
					       BPF_FUNC_skc_to_tcp_sock, NULL);
	case FEAT_CGROUP_LINK:
		return probe_link_no_target(BPF_PROG_TYPE_SOCK_OPS,
					    BPF_CGROUP_SOCK_OPS, -1, EBADF);
	case FEAT_SOCKMAP_LINK:
		return probe_sockmap_link();
	case FEAT_TCX:
		return probe_link_no_target(BPF_PROG_TYPE_SCHED_CLS,
					    ALPNSTEER_BPF_TCX_INGRESS, 0,
					    ENODEV);
	case FEAT_PSOCK_MSG_TOT_LEN:
		return btf_has_member("sk_psock", "msg_tot_len");
	default:
		return -EINVAL;
	}
}

int feat_probe(enum feat_id id)
{
	if (id >= FEAT__MAX)
		return -EINVAL;
	if (!probed[id]) {
		cache[id] = probe(id);
		probed[id] = true;
		p_debug("feature %s: %d", descs[id].name, cache[id]);
	}
	return cache[id];
}

enum feat_id feat_require(void)
{
	int i;

	for (i = 0; i < FEAT__REQUIRED; i++) {
		if (feat_probe(i) != 0)
			continue; /* present, or cannot tell: the load will */
		p_err("this kernel has no %s", descs[i].what);
		p_hint("%s; 'alpnsteer features' lists what this kernel has",
		       descs[i].hint);
		return i;
	}
	return FEAT__MAX;
}

const char *feat_what(enum feat_id id)
{
	return descs[id].what;
}

const char *feat_hint(enum feat_id id)
{
	return descs[id].hint;
}

void feat_report(struct feat_report *r)
{
	int i;

	r->missing = FEAT__MAX;
	for (i = 0; i < FEAT__MAX; i++) {
		r->v[i] = feat_probe(i);
		if (i < FEAT__REQUIRED && r->v[i] <= 0 &&
		    r->missing == FEAT__MAX)
			r->missing = i;
	}
	r->links = r->v[FEAT_SOCKMAP_LINK] > 0;
}
