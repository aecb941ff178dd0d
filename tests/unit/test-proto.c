// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Unit tests of the module/helper protocol (common/proto.c): building a
 * request, the helper's check of every field, the reply check; and of the
 * capability bounding set rule (common/capbset.c), in a child process.
 * Without root, the bounding set test checks that dropping fails closed.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/capability.h>

#include "capbset.h"
#include "proto.h"
#include "tap.h"

static int check(const struct nsi_request *r, size_t len, bool extra, char *why, size_t whylen)
{
	why[0] = '\0';
	return nsi_request_check(r, len, extra, why, whylen);
}

static void request(void)
{
	struct nsi_request r, bad;
	char why[64], longname[NSI_USER_LEN + 8];

	is_int(nsi_request_init(&r, NSI_OP_CREATE, 1000, "alice", "sshd",
				"/etc/security/nsisolate.conf"),
	       0, "a request is built");
	is_int(check(&r, sizeof(r), false, why, sizeof(why)), 0, "and passes the helper's check");
	is_int(r.size, sizeof(r), "it carries its size");
	is_str(r.service, "sshd", "and the service");
	is_int(nsi_request_init(&r, NSI_OP_TEARDOWN, 1000, "alice", NULL, "/etc/x.conf"), 0,
	       "a request without a service");
	is_str(r.service, "", "has an empty service");
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	is_int(nsi_request_init(&r, NSI_OP_CREATE, 1000, longname, NULL, "/etc/x.conf"),
	       -ENAMETOOLONG, "a user name that does not fit is refused, not truncated");

	nsi_request_init(&r, NSI_OP_CREATE, 1000, "alice", "sshd", "/etc/x.conf");
	is_int(check(&r, sizeof(r) - 1, false, why, sizeof(why)), -EPROTO, "short: refused");
	is_str(why, "short request", "and named");
	is_int(check(&r, sizeof(r), true, why, sizeof(why)), -EPROTO, "oversized: refused");
	is_str(why, "oversized request", "and named");
	bad = r;
	bad.magic ^= 1;
	is_int(check(&bad, sizeof(bad), false, why, sizeof(why)), -EPROTO, "bad magic: refused");
	bad = r;
	bad.version = NSI_PROTO_VERSION + 1;
	is_int(check(&bad, sizeof(bad), false, why, sizeof(why)), -EPROTO,
	       "another version: refused");
	is_str(why, "request version mismatch", "and named");
	bad = r;
	bad.size = 1;
	is_int(check(&bad, sizeof(bad), false, why, sizeof(why)), -EPROTO, "bad size: refused");
	bad = r;
	bad.op = 3;
	is_int(check(&bad, sizeof(bad), false, why, sizeof(why)), -EPROTO, "unknown op: refused");
	is_str(why, "unknown op", "and named");
	bad = r;
	bad.flags = 0x2;
	is_int(check(&bad, sizeof(bad), false, why, sizeof(why)), -EPROTO,
	       "an unknown flag: refused");
	bad = r;
	bad.flags = NSI_REQ_DETACHED;
	is_int(check(&bad, sizeof(bad), false, why, sizeof(why)), -EPROTO,
	       "a detached create: refused (detached is for a teardown only)");
	bad.op = NSI_OP_TEARDOWN;
	is_int(check(&bad, sizeof(bad), false, why, sizeof(why)), 0, "a detached teardown passes");
	bad = r;
	memset(bad.user, 'x', sizeof(bad.user));
	is_int(check(&bad, sizeof(bad), false, why, sizeof(why)), -EPROTO,
	       "an unterminated user: refused");
	bad = r;
	memset(bad.service, 'x', sizeof(bad.service));
	is_int(check(&bad, sizeof(bad), false, why, sizeof(why)), -EPROTO,
	       "an unterminated service: refused");
	bad = r;
	memset(bad.config, 'x', sizeof(bad.config));
	is_int(check(&bad, sizeof(bad), false, why, sizeof(why)), -EPROTO,
	       "an unterminated config path: refused");
	bad = r;
	strcpy(bad.config, "etc/x.conf");
	is_int(check(&bad, sizeof(bad), false, why, sizeof(why)), -EPROTO,
	       "a relative config path: refused");
	bad = r;
	strcpy(bad.config, "/etc/../root/x.conf");
	is_int(check(&bad, sizeof(bad), false, why, sizeof(why)), -EPROTO,
	       "a config path with ..: refused");
	is_str(why, "config path is not absolute", "and named");
}

static void reply(void)
{
	struct nsi_reply r = { .magic = NSI_PROTO_MAGIC, .version = NSI_PROTO_VERSION };

	is_int(nsi_reply_check(&r, sizeof(r)), 0, "a success reply is accepted");
	r.status = -EPERM;
	is_int(nsi_reply_check(&r, sizeof(r)), 0, "a failure reply is accepted");
	r.status = 1;
	is_int(nsi_reply_check(&r, sizeof(r)), -EPROTO, "a positive status is a protocol error");
	r.status = 0;
	is_int(nsi_reply_check(&r, sizeof(r) - 1), -EPROTO, "a short reply is refused");
	memset(r.msg, 'x', sizeof(r.msg));
	is_int(nsi_reply_check(&r, sizeof(r)), -EPROTO, "an unterminated message is refused");
	memset(r.msg, 0, sizeof(r.msg));
	r.version++;
	is_int(nsi_reply_check(&r, sizeof(r)), -EPROTO, "another version is refused");
}

/*
 * In a child: drop all but KEEP, report the bounding set as a mask (or the
 * error). With AGAIN, then lose every capability (setresuid to nobody) and
 * drop all but AGAIN_KEEP: a set already as asked is no failure.
 */
static int capbset_in_child(uint64_t keep, bool again, uint64_t again_keep, uint64_t *mask)
{
	int p[2], status;
	long long got = 0;
	pid_t pid;

	if (pipe(p) < 0)
		return -errno;
	pid = fork();
	if (pid == 0) {
		long long m = 0;
		int r = nsi_capbset_drop(keep);

		if (r == 0 && again)
			r = setresuid(65534, 65534, 65534) < 0 ? -errno
							       : nsi_capbset_drop(again_keep);

		if (r < 0)
			m = r;
		else
			for (int c = 0; c < 64 && prctl(PR_CAPBSET_READ, c, 0, 0, 0) >= 0; c++)
				if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 1)
					m |= 1LL << c;
		_exit(write(p[1], &m, sizeof(m)) == sizeof(m) ? 0 : 1);
	}
	close(p[1]);
	if (read(p[0], &got, sizeof(got)) != sizeof(got))
		got = -EIO;
	close(p[0]);
	waitpid(pid, &status, 0);
	if (got < 0)
		return (int)got;
	*mask = (uint64_t)got;
	return 0;
}

static void capbset(void)
{
	uint64_t mask = ~0ull;
	int r;

	if (prctl(PR_CAPBSET_READ, CAP_SETPCAP, 0, 0, 0) != 1 ||
	    prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN, 0, 0, 0) != 1 || geteuid() != 0) {
		r = capbset_in_child(0, false, 0, &mask);
		is_int(r, -EPERM, "without CAP_SETPCAP, emptying the bounding set fails (closed)");
		return;
	}
	r = capbset_in_child(0, false, 0, &mask);
	is_int(r, 0, "as root, the bounding set is emptied");
	is_int((long long)mask, 0, "nothing is left in it");
	r = capbset_in_child(NSI_CAP_BIT(CAP_SYS_ADMIN) | NSI_CAP_BIT(CAP_NET_ADMIN), false, 0,
			     &mask);
	is_int(r, 0, "dropping all but two");
	is_int((long long)mask,
	       (long long)(NSI_CAP_BIT(CAP_SYS_ADMIN) | NSI_CAP_BIT(CAP_NET_ADMIN)),
	       "keeps exactly those two (CAP_SETPCAP dropped last)");
	r = capbset_in_child(NSI_CAP_BIT(CAP_SETPCAP), false, 0, &mask);
	is_int(r, 0, "keeping CAP_SETPCAP");
	is_int((long long)mask, (long long)NSI_CAP_BIT(CAP_SETPCAP), "keeps it alone");
	r = capbset_in_child(0, true, 0, &mask);
	is_int(r, 0, "emptied, then again without any capability: no failure");
	is_int((long long)mask, 0, "and still empty");
	r = capbset_in_child(NSI_CAP_BIT(CAP_SYS_ADMIN), true, 0, &mask);
	is_int(r, -EPERM, "but without CAP_SETPCAP a capability still in the set fails");
}

int main(void)
{
	request();
	reply();
	capbset();
	return done_testing();
}
