// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_ipc.c - the monitor <-> TLS worker messages: what each end accepts,
 * what is a protocol violation, and the monitor's verdict on a worker's
 * "slot done" against the slots it handed over.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "testlib.h"
#include "ipc.h"

static unsigned char buf[IPC_MAX_MSG + 64];

static int build(__u16 type, __u16 arg, __u32 idx, __u32 gen, const char *name,
		 int cert_len, int key_len, const char *text)
{
	static unsigned char der[IPC_DER_MAX + 1];
	struct ipc_hdr h = { .type = type,
			     .arg = arg,
			     .idx = idx,
			     .gen = gen,
			     .cert_len = cert_len,
			     .key_len = key_len };

	memset(der, 0x30, sizeof(der));
	return ipc_build(buf, &h, name, cert_len ? der : NULL,
			 key_len ? der : NULL, text);
}

static int parse_at(int len, int nfds, enum ipc_end at, struct ipc_view *v)
{
	return ipc_parse(buf, len, nfds, false, at, v);
}

TEST(done_and_log_accepted_at_monitor)
{
	struct ipc_view v;
	int n;

	n = build(IPC_DONE, IPC_ANSWERED, 3, 7, "a.test", 0, 0, NULL);
	CHECK(n > 0);
	CHECK_EQ(parse_at(n, 0, IPC_AT_MONITOR, &v), 0);
	CHECK_EQ(v.h.idx, 3);
	CHECK_EQ(v.h.gen, 7);
	CHECK_STREQ(v.name, "a.test");
	n = build(IPC_DONE, IPC_GONE, 0, 1, NULL, 0, 0, NULL);
	CHECK_EQ(parse_at(n, 0, IPC_AT_MONITOR, &v), 0);
	CHECK_STREQ(v.name, "");
	n = build(IPC_LOG, IPC_WARN, 0, 0, NULL, 0, 0, "some\nline\x1b[2J");
	CHECK_EQ(parse_at(n, 0, IPC_AT_MONITOR, &v), 0);
	CHECK_EQ(v.h.text_len, 13);
	CHECK(!memcmp(v.text, "some\nline", 9));
}

TEST(worker_types_refused_at_monitor)
{
	struct ipc_view v;
	int n;

	/* What only the monitor sends is a violation coming from the worker. */
	n = build(IPC_CHAL_ADD, 0, 0, 0, "a.test", 10, 10, NULL);
	CHECK(n > 0);
	CHECK_EQ(parse_at(n, 0, IPC_AT_MONITOR, &v), -EPROTO);
	CHECK_EQ(parse_at(n, 0, IPC_AT_WORKER, &v), 0);
	n = build(IPC_SLOT, 0, 1, 1, NULL, 0, 0, NULL);
	CHECK_EQ(parse_at(n, 1, IPC_AT_MONITOR, &v), -EPROTO);
	CHECK_EQ(parse_at(n, 1, IPC_AT_WORKER, &v), 0);
	/* and the other way round */
	n = build(IPC_DONE, IPC_ENDED, 1, 1, NULL, 0, 0, NULL);
	CHECK_EQ(parse_at(n, 0, IPC_AT_WORKER, &v), -EPROTO);
	n = build(0, 0, 0, 0, NULL, 0, 0, NULL);
	CHECK_EQ(parse_at(n, 0, IPC_AT_MONITOR, &v), -EPROTO);
	n = build(IPC__MAX, 0, 0, 0, NULL, 0, 0, NULL);
	CHECK_EQ(parse_at(n, 0, IPC_AT_MONITOR, &v), -EPROTO);
}

TEST(sizes_and_lengths)
{
	struct ipc_view v;
	struct ipc_hdr h;
	int n;

	n = build(IPC_DONE, IPC_ANSWERED, 0, 1, "a.test", 0, 0, NULL);
	/* short, long, cut by the kernel */
	CHECK_EQ(parse_at(n - 1, 0, IPC_AT_MONITOR, &v), -EPROTO);
	CHECK_EQ(parse_at(n + 1, 0, IPC_AT_MONITOR, &v), -EPROTO);
	CHECK_EQ(parse_at(sizeof(h) - 1, 0, IPC_AT_MONITOR, &v), -EPROTO);
	CHECK_EQ(ipc_parse(buf, n, 0, true, IPC_AT_MONITOR, &v), -EPROTO);
	CHECK_EQ(ipc_parse(buf, IPC_MAX_MSG + 1, 0, false, IPC_AT_MONITOR, &v),
		 -EPROTO);
	/* a length that claims more than the packet holds */
	memcpy(&h, buf, sizeof(h));
	h.name_len = 200;
	memcpy(buf, &h, sizeof(h));
	CHECK_EQ(parse_at(n, 0, IPC_AT_MONITOR, &v), -EPROTO);
	/* parts a type does not carry */
	n = build(IPC_DONE, IPC_ENDED, 0, 1, NULL, 0, 0, "text");
	CHECK_EQ(parse_at(n, 0, IPC_AT_MONITOR, &v), -EPROTO);
	memset(&h, 0, sizeof(h));
	h.type = IPC_DONE;
	h.arg = IPC_ENDED;
	h.gen = 1;
	h.cert_len = 4;
	memcpy(buf, &h, sizeof(h));
	CHECK_EQ(parse_at(sizeof(h) + 4, 0, IPC_AT_MONITOR, &v), -EPROTO);
	/* too long a part is refused when built */
	CHECK_EQ(build(IPC_CHAL_ADD, 0, 0, 0, "a.test", IPC_DER_MAX + 1, 1,
		       NULL),
		 -E2BIG);
}

TEST(done_rules)
{
	struct ipc_view v;
	int n;

	/* An answer names its SNI; nothing else does. */
	n = build(IPC_DONE, IPC_ANSWERED, 0, 1, NULL, 0, 0, NULL);
	CHECK_EQ(parse_at(n, 0, IPC_AT_MONITOR, &v), -EPROTO);
	n = build(IPC_DONE, IPC_ENDED, 0, 1, "a.test", 0, 0, NULL);
	CHECK_EQ(parse_at(n, 0, IPC_AT_MONITOR, &v), -EPROTO);
	n = build(IPC_DONE, 0, 0, 1, NULL, 0, 0, NULL);
	CHECK_EQ(parse_at(n, 0, IPC_AT_MONITOR, &v), -EPROTO);
	n = build(IPC_DONE, IPC_GONE + 1, 0, 1, NULL, 0, 0, NULL);
	CHECK_EQ(parse_at(n, 0, IPC_AT_MONITOR, &v), -EPROTO);
	/* An ended handshake may say which alert ended it, one way only;
	 * no other result carries one, and no other bit is set. */
	n = build(IPC_DONE, IPC_ENDED | IPC_DONE_ALERT_SENT | 112 << 8, 0, 1,
		  NULL, 0, 0, NULL);
	CHECK_EQ(parse_at(n, 0, IPC_AT_MONITOR, &v), 0);
	CHECK_EQ(IPC_DONE_ALERT(v.h.arg), 112);
	n = build(IPC_DONE, IPC_ENDED | IPC_DONE_ALERT_RECV | 42 << 8, 0, 1,
		  NULL, 0, 0, NULL);
	CHECK_EQ(parse_at(n, 0, IPC_AT_MONITOR, &v), 0);
	n = build(IPC_DONE,
		  IPC_ENDED | IPC_DONE_ALERT_SENT | IPC_DONE_ALERT_RECV, 0, 1,
		  NULL, 0, 0, NULL);
	CHECK_EQ(parse_at(n, 0, IPC_AT_MONITOR, &v), -EPROTO);
	n = build(IPC_DONE, IPC_GONE | IPC_DONE_ALERT_SENT | 40 << 8, 0, 1,
		  NULL, 0, 0, NULL);
	CHECK_EQ(parse_at(n, 0, IPC_AT_MONITOR, &v), -EPROTO);
	n = build(IPC_DONE, IPC_ANSWERED | IPC_DONE_ALERT_RECV, 0, 1, "a.test",
		  0, 0, NULL);
	CHECK_EQ(parse_at(n, 0, IPC_AT_MONITOR, &v), -EPROTO);
	n = build(IPC_DONE, IPC_ENDED | 0x40, 0, 1, NULL, 0, 0, NULL);
	CHECK_EQ(parse_at(n, 0, IPC_AT_MONITOR, &v), -EPROTO);
	/* Names: the characters of a lowercase SNI only. */
	n = build(IPC_DONE, IPC_ANSWERED, 0, 1, "A.test", 0, 0, NULL);
	CHECK_EQ(parse_at(n, 0, IPC_AT_MONITOR, &v), -EPROTO);
	n = build(IPC_DONE, IPC_ANSWERED, 0, 1, "a.test\nfake", 0, 0, NULL);
	CHECK_EQ(parse_at(n, 0, IPC_AT_MONITOR, &v), -EPROTO);
	n = build(IPC_DONE, IPC_ANSWERED, 0, 1, "a\\x", 0, 0, NULL);
	CHECK_EQ(parse_at(n, 0, IPC_AT_MONITOR, &v), -EPROTO);
	n = build(IPC_DONE, IPC_ANSWERED, 0, 1, "1.0.18.198.in-addr.arpa", 0, 0,
		  NULL);
	CHECK_EQ(parse_at(n, 0, IPC_AT_MONITOR, &v), 0);
	/* A NUL inside a name cannot hide the rest of it. */
	n = build(IPC_DONE, IPC_ANSWERED, 0, 1, "a.test", 0, 0, NULL);
	buf[sizeof(struct ipc_hdr) + 1] = '\0';
	CHECK_EQ(parse_at(n, 0, IPC_AT_MONITOR, &v), -EPROTO);
	/* Log lines: a level, some text, no slot. */
	n = build(IPC_LOG, 0, 0, 0, NULL, 0, 0, "x");
	CHECK_EQ(parse_at(n, 0, IPC_AT_MONITOR, &v), -EPROTO);
	n = build(IPC_LOG, IPC_INFO, 0, 0, NULL, 0, 0, NULL);
	CHECK_EQ(parse_at(n, 0, IPC_AT_MONITOR, &v), -EPROTO);
	n = build(IPC_LOG, IPC_INFO, 4, 0, NULL, 0, 0, "x");
	CHECK_EQ(parse_at(n, 0, IPC_AT_MONITOR, &v), -EPROTO);
}

TEST(descriptors)
{
	struct ipc_view v;
	int n;

	/* The worker sends no descriptor, ever. */
	n = build(IPC_DONE, IPC_ENDED, 0, 1, NULL, 0, 0, NULL);
	CHECK_EQ(parse_at(n, 1, IPC_AT_MONITOR, &v), -EPROTO);
	n = build(IPC_LOG, IPC_INFO, 0, 0, NULL, 0, 0, "x");
	CHECK_EQ(parse_at(n, 1, IPC_AT_MONITOR, &v), -EPROTO);
	/* A slot comes with its socket (and an upstream's), nothing else. */
	n = build(IPC_SLOT, 0, 0, 1, NULL, 0, 0, NULL);
	CHECK_EQ(parse_at(n, 0, IPC_AT_WORKER, &v), -EPROTO);
	CHECK_EQ(parse_at(n, 2, IPC_AT_WORKER, &v), 0);
	CHECK_EQ(parse_at(n, 3, IPC_AT_WORKER, &v), -EPROTO);
	/* A free slot handed in advance: its socket alone (no upstream:
	 * --forward hands slots only once a client is there). */
	n = build(IPC_SLOT, IPC_SLOT_FREE, 0, 1, NULL, 0, 0, NULL);
	CHECK_EQ(parse_at(n, 1, IPC_AT_WORKER, &v), 0);
	CHECK_EQ(v.h.arg, IPC_SLOT_FREE);
	CHECK_EQ(parse_at(n, 0, IPC_AT_WORKER, &v), -EPROTO);
	CHECK_EQ(parse_at(n, 2, IPC_AT_WORKER, &v), -EPROTO);
	/* no other flag */
	n = build(IPC_SLOT, 2, 0, 1, NULL, 0, 0, NULL);
	CHECK_EQ(parse_at(n, 1, IPC_AT_WORKER, &v), -EPROTO);
	n = build(IPC_CANCEL, IPC_SLOT_FREE, 0, 1, NULL, 0, 0, NULL);
	CHECK_EQ(parse_at(n, 0, IPC_AT_WORKER, &v), -EPROTO);
	n = build(IPC_CHAL_DEL, 0, 0, 0, "a.test", 0, 0, NULL);
	CHECK_EQ(parse_at(n, 1, IPC_AT_WORKER, &v), -EPROTO);
	CHECK_EQ(parse_at(n, 0, IPC_AT_WORKER, &v), 0);
	n = build(IPC_CHAL_ADD, 0, 0, 0, "a.test", 0, 10, NULL);
	CHECK_EQ(parse_at(n, 0, IPC_AT_WORKER, &v), -EPROTO);
}

TEST(done_verdict)
{
	/* handed over, this handing: act on it */
	CHECK_EQ(ipc_done_verdict(3, 5, 8, 5, true, 0), IPC_ACCEPT);
	CHECK_EQ(ipc_done_verdict(3, 5, 8, 5, true, 4), IPC_ACCEPT);
	/* taken back (client gone) as the worker answered: still counted */
	CHECK_EQ(ipc_done_verdict(3, 5, 8, 5, false, 5), IPC_LATE);
	/* ... and so when the renewed slot was handed again at once (a
	 * free slot, in advance: issue 19) before the answer was read */
	CHECK_EQ(ipc_done_verdict(3, 5, 8, 6, true, 5), IPC_LATE);
	/* an earlier handing: ignore */
	CHECK_EQ(ipc_done_verdict(3, 4, 8, 5, true, 0), IPC_STALE);
	CHECK_EQ(ipc_done_verdict(3, 4, 8, 6, true, 5), IPC_STALE);
	CHECK_EQ(ipc_done_verdict(3, 5, 8, 6, true, 0), IPC_STALE);
	/* never handed: a handing the monitor did not make, a slot out of
	 * the pool, handing 0 */
	CHECK_EQ(ipc_done_verdict(3, 6, 8, 5, true, 5), IPC_VIOLATION);
	CHECK_EQ(ipc_done_verdict(8, 1, 8, 1, true, 0), IPC_VIOLATION);
	CHECK_EQ(ipc_done_verdict(0xffffffff, 1, 8, 1, true, 0), IPC_VIOLATION);
	CHECK_EQ(ipc_done_verdict(0, 0, 8, 0, false, 0), IPC_VIOLATION);
	/* a free slot handed in advance is handed all the same: its DONE
	 * can come before the ring buffer says who the client was */
	CHECK_EQ(ipc_done_verdict(3, 5, 8, 5, true, 0), IPC_ACCEPT);
}

TEST(done_client)
{
	/* the ring buffer said who: that client */
	CHECK_EQ(ipc_done_client(true, 0), IPC_CLIENT_KNOWN);
	CHECK_EQ(ipc_done_client(true, 42), IPC_CLIENT_KNOWN);
	/* a DONE before the event (or with it lost): the kernel's slot
	 * entry names the client it steered there */
	CHECK_EQ(ipc_done_client(false, 42), IPC_CLIENT_KERNEL);
	/* nobody was steered to it: no byte can have reached the worker,
	 * so it reports a handshake that never was */
	CHECK_EQ(ipc_done_client(false, 0), IPC_CLIENT_NONE);
}

TEST(socketpair_roundtrip)
{
	int sv[2], fds[IPC_MAX_FDS], nfds, n, one[1];
	struct ipc_view v;
	bool trunc;

	CHECK_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	n = build(IPC_SLOT, 0, 2, 9, NULL, 0, 0, NULL);
	one[0] = sv[1];
	CHECK_EQ(ipc_send(sv[0], buf, n, one, 1, false), 0);
	n = ipc_recv(sv[1], buf, sizeof(buf), fds, &nfds, &trunc);
	CHECK_EQ(nfds, 1);
	CHECK(!trunc);
	CHECK_EQ(ipc_parse(buf, n, nfds, trunc, IPC_AT_WORKER, &v), 0);
	CHECK_EQ(v.h.idx, 2);
	if (nfds == 1)
		close(fds[0]);
	/* nothing more: would block */
	CHECK_EQ(ipc_recv(sv[1], buf, sizeof(buf), fds, &nfds, &trunc),
		 -EAGAIN);
	/* a packet larger than the receiver's buffer is cut, and refused */
	n = build(IPC_LOG, IPC_INFO, 0, 0, NULL, 0, 0, "0123456789");
	CHECK_EQ(ipc_send(sv[1], buf, n, NULL, 0, false), 0);
	n = ipc_recv(sv[0], buf, 8, fds, &nfds, &trunc);
	CHECK(trunc);
	CHECK_EQ(ipc_parse(buf, n, nfds, trunc, IPC_AT_MONITOR, &v), -EPROTO);
	close(sv[0]);
	CHECK_EQ(ipc_recv(sv[1], buf, sizeof(buf), fds, &nfds, &trunc), 0);
	close(sv[1]);
}

int main(void)
{
	RUN(done_and_log_accepted_at_monitor);
	RUN(worker_types_refused_at_monitor);
	RUN(sizes_and_lengths);
	RUN(done_rules);
	RUN(descriptors);
	RUN(done_verdict);
	RUN(done_client);
	RUN(socketpair_roundtrip);
	return TEST_SUMMARY();
}
