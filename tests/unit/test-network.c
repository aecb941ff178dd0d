// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Unit tests of network.mode = "veth" bookkeeping (common/lease.c) and the
 * network keys of the policy loader (common/config.c): subnet parsing, /30
 * allocation, the lease file format, lease files and net.lock in a private
 * directory, and network.subnet / host_access / nat / dns in a policy file.
 * Runs as root (policy files must be root-owned); everything lives in one
 * mkdtemp directory under /tmp, removed at exit.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "config.h"
#include "lease.h"
#include "tap.h"

static char tmpdir[] = "/tmp/nsi-test-network-XXXXXX";
static bool tmpdir_made;

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static void cleanup(void)
{
	if (tmpdir_made)
		nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static uint32_t ip(const char *s)
{
	struct in_addr in;

	if (inet_pton(AF_INET, s, &in) != 1)
		abort();
	return ntohl(in.s_addr);
}

/* ---- subnets ---- */

static void cidr_ok(const char *s, const char *net, unsigned prefix)
{
	struct nsi_cidr c = { 0 };
	char why[256] = "";
	int r = nsi_cidr_parse(s, &c, why, sizeof(why));

	if (!ok(r == 0 && c.net == ip(net) && c.prefix == prefix, "subnet \"%s\" accepted", s))
		diag("r=%d why=%s", r, why);
}

static void cidr_bad(const char *s, const char *reason)
{
	struct nsi_cidr c = { .net = 42, .prefix = 42 };
	char why[256] = "";
	int r = nsi_cidr_parse(s, &c, why, sizeof(why));

	if (!ok(r == -EINVAL && strstr(why, reason) && c.net == 42 && c.prefix == 42,
		"subnet \"%s\" refused: %s", s, reason))
		diag("r=%d why=%s", r, why);
}

static void test_cidr(void)
{
	char buf[32];

	cidr_ok(NSI_DEFAULT_SUBNET, "10.213.0.0", 16);
	cidr_ok("10.0.0.0/8", "10.0.0.0", 8);
	cidr_ok("192.168.77.0/24", "192.168.77.0", 24);
	cidr_ok("100.64.0.4/30", "100.64.0.4", 30);
	cidr_ok("172.16.0.0/12", "172.16.0.0", 12);

	cidr_bad("10.213.0.0", "is not an IPv4 prefix");
	cidr_bad("10.213.0/16", "is not an IPv4 prefix");
	cidr_bad("10.213.0.0.0/16", "is not an IPv4 prefix");
	cidr_bad("010.213.0.0/16", "is not an IPv4 prefix");
	cidr_bad("10.213.0.256/24", "is not an IPv4 prefix");
	cidr_bad("/16", "is not an IPv4 prefix");
	cidr_bad("fd00::/64", "is not an IPv4 prefix");
	cidr_bad(" 10.213.0.0/16", "is not an IPv4 prefix");
	cidr_bad("10.213.0.0/", "prefix length must be");
	cidr_bad("10.213.0.0/x", "prefix length must be");
	cidr_bad("10.213.0.0/016", "prefix length must be");
	cidr_bad("10.213.0.0/16 ", "prefix length must be");
	cidr_bad("10.213.0.0/100", "prefix length must be");
	cidr_bad("10.213.0.0/31", "must be from 8 to 30");
	cidr_bad("10.213.0.0/32", "must be from 8 to 30");
	cidr_bad("10.0.0.0/7", "must be from 8 to 30");
	cidr_bad("0.0.0.0/0", "must be from 8 to 30");
	cidr_bad("10.213.0.1/16", "has host bits set (did you mean \"10.213.0.0/16\"?)");
	cidr_bad("10.213.0.2/30", "has host bits set (did you mean \"10.213.0.0/30\"?)");
	cidr_bad("127.0.0.0/8", "overlaps a loopback");
	cidr_bad("127.1.0.0/16", "overlaps a loopback");
	cidr_bad("0.1.0.0/16", "overlaps a loopback");
	cidr_bad("169.254.0.0/16", "overlaps a loopback");
	cidr_bad("224.0.0.0/8", "overlaps a loopback");
	cidr_bad("240.0.0.0/8", "overlaps a loopback");
	cidr_bad("255.255.255.252/30", "overlaps a loopback");

	nsi_cidr_format(ip("10.213.4.8"), 30, buf, sizeof(buf));
	is_str(buf, "10.213.4.8/30", "nsi_cidr_format");
	nsi_ipv4_format(ip("255.0.10.1"), buf, sizeof(buf));
	is_str(buf, "255.0.10.1", "nsi_ipv4_format");
}

static void test_dns(void)
{
	char c[48];

	ok(nsi_dns_parse("198.51.100.53", c, sizeof(c)) == 0 && !strcmp(c, "198.51.100.53"),
	   "dns: an IPv4 address");
	ok(nsi_dns_parse("2001:DB8:0:0::53", c, sizeof(c)) == 0 && !strcmp(c, "2001:db8::53"),
	   "dns: an IPv6 address, written back canonical (%s)", c);
	ok(nsi_dns_parse("::ffff:198.51.100.1", c, sizeof(c)) == 0, "dns: v4-mapped IPv6");
	ok(nsi_dns_parse("resolver.example", c, sizeof(c)) == -EINVAL,
	   "dns: a host name is refused");
	ok(nsi_dns_parse("198.51.100.53:53", c, sizeof(c)) == -EINVAL, "dns: a port is refused");
	ok(nsi_dns_parse("198.51.100", c, sizeof(c)) == -EINVAL, "dns: three parts are refused");
	ok(nsi_dns_parse("0.0.0.0", c, sizeof(c)) == -EINVAL, "dns: 0.0.0.0 is refused");
	ok(nsi_dns_parse("::", c, sizeof(c)) == -EINVAL, "dns: :: is refused");
	ok(nsi_dns_parse("", c, sizeof(c)) == -EINVAL, "dns: empty is refused");
	ok(nsi_dns_parse("fe80::1%eth0", c, sizeof(c)) == -EINVAL, "dns: a scope id is refused");
}

static void test_link_name(void)
{
	char n[NSI_LINK_LEN];

	nsi_link_name(1000, n);
	is_str(n, "nsi1000", "link name of uid 1000");
	nsi_link_name(4294967294u, n);
	is_str(n, "nsi4294967294", "link name of the largest uid");
	ok(strlen(n) <= 15, "a link name fits IFNAMSIZ (%zu characters)", strlen(n));
}

/* ---- allocation ---- */

static struct nsi_lease L(uid_t uid, const char *net) {
	struct nsi_lease l = { .uid = uid, .net = ip(net), .chains = NSI_CHAIN_FWD };

	nsi_link_name(uid, l.link);
	return l;
}

static void
test_pick(void)
{
	struct nsi_cidr pool = { ip("10.213.0.0"), 16 }, tiny = { ip("10.9.0.4"), 30 },
			small = { ip("10.9.1.0"), 28 };
	struct nsi_lease used[8];
	uint32_t got = 0;

	ok(nsi_lease_pick(&pool, NULL, 0, NULL, 0, &got) == 0 && got == ip("10.213.0.0"),
	   "empty pool: the first /30");
	used[0] = L(1001, "10.213.0.0");
	used[1] = L(1002, "10.213.0.8");
	ok(nsi_lease_pick(&pool, used, 2, NULL, 0, &got) == 0 && got == ip("10.213.0.4"),
	   "the lowest free /30 fills a gap");
	used[2] = L(1003, "10.213.0.4");
	ok(nsi_lease_pick(&pool, used, 3, NULL, 0, &got) == 0 && got == ip("10.213.0.12"),
	   "after the leased ones, in any order");
	used[3] = L(1004, "10.214.0.0");
	used[4] = L(1005, "192.168.0.0");
	ok(nsi_lease_pick(&pool, used, 5, NULL, 0, &got) == 0 && got == ip("10.213.0.12"),
	   "leases of other pools do not count");
	used[5] = L(1006, "10.213.0.0");
	ok(nsi_lease_pick(&pool, used, 6, NULL, 0, &got) == 0 && got == ip("10.213.0.12"),
	   "a duplicate lease does not confuse the gap search");

	ok(nsi_lease_pick(&tiny, NULL, 0, NULL, 0, &got) == 0 && got == ip("10.9.0.4"),
	   "a /30 pool: one set");
	used[0] = L(2001, "10.9.0.4");
	got = 7;
	ok(nsi_lease_pick(&tiny, used, 1, NULL, 0, &got) == -ENOSPC && got == 7,
	   "a /30 pool with one lease is exhausted (-ENOSPC, out-parameter untouched)");
	for (int i = 0; i < 4; i++) {
		char a[16];

		snprintf(a, sizeof(a), "10.9.1.%d", i * 4);
		used[i] = L((uid_t)(3000 + i), a);
	}
	ok(nsi_lease_pick(&small, used, 4, NULL, 0, &got) == -ENOSPC,
	   "a /28 holds exactly four sets");
	ok(nsi_lease_pick(&small, used, 3, NULL, 0, &got) == 0 && got == ip("10.9.1.12"),
	   "a /28 with three leases: the fourth");
	{
		struct nsi_cidr big = { ip("10.0.0.0"), 8 };

		used[0] = L(1, "10.255.255.252");
		ok(nsi_lease_pick(&big, used, 1, NULL, 0, &got) == 0 && got == ip("10.0.0.0"),
		   "a /8 pool: the last /30 leased, the first is free");
	}
}

/* ---- the pool skips the host's own addresses and routes ---- */

static struct nsi_cidr C(const char *net, unsigned prefix) {
	return (struct nsi_cidr){ ip(net), prefix };
}

static void
test_pick_avoid(void)
{
	struct nsi_cidr pool = C("10.213.240.0", 24), small = C("10.213.251.0", 28);
	struct nsi_cidr avoid[4];
	struct nsi_lease used[4];
	uint32_t got = 0;

	avoid[0] = C("10.213.240.1", 29); /* an address with its prefix: slots 0 and 1 */
	ok(nsi_lease_pick(&pool, NULL, 0, avoid, 1, &got) == 0 && got == ip("10.213.240.8"),
	   "a host address's /29 at the pool's start: the first /30 after it");
	ok(nsi_lease_pick(&pool, NULL, 0, NULL, 0, &got) == 0 && got == ip("10.213.240.0"),
	   "control: without it the first /30 of the pool");
	avoid[1] = C("10.213.240.8", 32); /* a host route to one address */
	ok(nsi_lease_pick(&pool, NULL, 0, avoid, 2, &got) == 0 && got == ip("10.213.240.12"),
	   "a /32 route takes its /30 out of the pool");
	used[0] = L(1001, "10.213.240.12");
	ok(nsi_lease_pick(&pool, used, 1, avoid, 2, &got) == 0 && got == ip("10.213.240.16"),
	   "leases and host prefixes together");
	avoid[2] = C("10.0.0.0", 8); /* a route covering the whole pool */
	got = 7;
	ok(nsi_lease_pick(&pool, NULL, 0, avoid, 3, &got) == -ENOSPC && got == 7,
	   "a route covering the pool leaves nothing (-ENOSPC)");
	ok(nsi_cidr_overlap_any(&pool, avoid, 3) == 0,
	   "overlap_any names the first overlapping one");
	avoid[0] = C("192.168.1.0", 24);
	avoid[1] = C("10.213.241.0", 24);
	ok(nsi_cidr_overlap_any(&pool, avoid, 2) == -1, "overlap_any: prefixes beside the pool");
	ok(nsi_lease_pick(&pool, NULL, 0, avoid, 2, &got) == 0 && got == ip("10.213.240.0"),
	   "prefixes beside the pool change nothing");
	avoid[0] = C("10.213.251.0", 29);
	used[0] = L(1001, "10.213.251.8");
	ok(nsi_lease_pick(&small, used, 1, avoid, 1, &got) == 0 && got == ip("10.213.251.12"),
	   "a /28 with its lower half the host's and one lease: the last /30");
	used[1] = L(1002, "10.213.251.12");
	ok(nsi_lease_pick(&small, used, 2, avoid, 1, &got) == -ENOSPC,
	   "... and with two leases nothing is left");
	avoid[0] = C("10.213.240.248", 29); /* the end of the pool */
	for (int i = 0; i < 3; i++) {
		char a[16];

		snprintf(a, sizeof(a), "10.213.240.%d", 236 + i * 4);
		used[i] = L((uid_t)(1000 + i), a);
	}
	{
		struct nsi_cidr tail = C("10.213.240.224", 27);

		ok(nsi_lease_pick(&tail, used, 3, avoid, 1, &got) == 0 &&
			   got == ip("10.213.240.224"),
		   "a prefix at the pool's end: the free slots before it");
		used[3] = L(1003, "10.213.240.224");
		avoid[1] = C("10.213.240.228", 30);
		ok(nsi_lease_pick(&tail, used, 4, avoid, 2, &got) == 0 &&
			   got == ip("10.213.240.232"),
		   "... skipping one more /30 of the host's");
	}
}

static void test_drop_leased(void)
{
	struct nsi_cidr v[5] = { C("10.213.0.5", 30), C("10.213.0.4", 30), C("10.213.0.0", 16),
				 C("10.213.0.8", 32), C("192.168.0.1", 24) };
	struct nsi_lease leases[1] = { L(1001, "10.213.0.4") };
	size_t n = nsi_prefixes_drop_leased(v, 5, leases, 1);

	ok(n == 3 && v[0].net == ip("10.213.0.0") && v[0].prefix == 16 &&
		   v[1].net == ip("10.213.0.8") && v[2].net == ip("192.168.0.1"),
	   "a set's own link address and route are dropped; wider or other prefixes stay");
	ok(nsi_prefixes_drop_leased(v, 3, NULL, 0) == 3, "no leases: everything stays");
}

/* ---- the lease file format ---- */

static void test_format(void)
{
	struct nsi_lease l = L(1234, "10.213.7.12"), back;
	char text[256];

	l.chains = NSI_CHAIN_IN | NSI_CHAIN_FWD;
	ok(nsi_lease_format(&l, text, sizeof(text)) == 0, "format a lease");
	is_str(text,
	       "nsisolate-lease 1\nuid 1234\nlink nsi1234\nnet 10.213.7.12/30\nchains in fwd\n",
	       "lease text");
	memset(&back, 0, sizeof(back));
	ok(nsi_lease_parse(text, &back) == 0 && back.uid == 1234 && back.net == l.net &&
		   !strcmp(back.link, "nsi1234") && back.chains == (NSI_CHAIN_IN | NSI_CHAIN_FWD),
	   "lease text parses back");
	l.chains = NSI_CHAIN_IN | NSI_CHAIN_FWD | NSI_CHAIN_NAT;
	nsi_lease_format(&l, text, sizeof(text));
	ok(nsi_lease_parse(text, &back) == 0 && back.chains == l.chains, "all three chains");
	l.chains = 0;
	nsi_lease_format(&l, text, sizeof(text));
	ok(nsi_lease_parse(text, &back) == 0 && back.chains == 0, "no chain at all");
	ok(nsi_lease_format(&l, text, 20) == -ENAMETOOLONG, "a short buffer is reported");

	static const char *const bad[] = {
		"",
		"nsisolate-lease 2\nuid 1\nlink nsi1\nnet 10.0.0.0/30\nchains\n",
		"nsisolate-lease 1\nlink nsi1\nnet 10.0.0.0/30\nchains fwd\n",
		"nsisolate-lease 1\nuid 1\nnet 10.0.0.0/30\nchains fwd\n",
		"nsisolate-lease 1\nuid 1\nlink nsi1\nchains fwd\n",
		"nsisolate-lease 1\nuid 1\nlink nsi1\nnet 10.0.0.0/30\n",
		"nsisolate-lease 1\nuid x\nlink nsi1\nnet 10.0.0.0/30\nchains fwd\n",
		"nsisolate-lease 1\nuid -1\nlink nsi1\nnet 10.0.0.0/30\nchains fwd\n",
		"nsisolate-lease 1\nuid 1\nlink eth0\nnet 10.0.0.0/30\nchains fwd\n",
		"nsisolate-lease 1\nuid 1\nlink nsi1234567890123\nnet 10.0.0.0/30\nchains fwd\n",
		"nsisolate-lease 1\nuid 1\nlink nsi1\nnet 10.0.0.0/29\nchains fwd\n",
		"nsisolate-lease 1\nuid 1\nlink nsi1\nnet 10.0.0.2/30\nchains fwd\n",
		"nsisolate-lease 1\nuid 1\nlink nsi1\nnet 10.0.0.0/30\nchains fwd out\n",
		"nsisolate-lease 1\nuid 1\nlink nsi1\nnet 10.0.0.0/30\nchains fwd\ncolour blue\n",
	};
	for (size_t i = 0; i < NSI_ARRAY_SIZE(bad); i++) {
		memset(&back, 0x5a, sizeof(back));
		ok(nsi_lease_parse(bad[i], &back) == -EBADMSG && back.uid == 0x5a5a5a5a,
		   "malformed lease %zu is refused, out-parameter untouched", i);
	}
}

/* ---- lease files and net.lock ---- */

static void test_files(void)
{
	_cleanup_close_ int dir = -1, lock = -1;
	_cleanup_free_ struct nsi_lease *all = NULL;
	struct nsi_lease a = L(1001, "10.213.0.0"), b = L(1002, "10.213.0.4"), back;
	char path[128];
	size_t n = 99;
	struct stat st;
	int fd;

	snprintf(path, sizeof(path), "%s/run", tmpdir);
	if (mkdir(path, 0700) < 0 || (dir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		ok(false, "run directory: %s", strerror(errno));
		return;
	}
	ok(!nsi_lease_exists(dir, 1001), "no lease yet");
	is_int(nsi_lease_read(dir, 1001, &back), -ENOENT, "reading a missing lease: -ENOENT");
	ok(nsi_lease_scan(dir, &all, &n) == 0 && n == 0, "scan of an empty directory");
	free(steal_pointer(&all));

	ok(nsi_lease_write(dir, &a) == 0 && nsi_lease_write(dir, &b) == 0, "write two leases");
	ok(nsi_lease_exists(dir, 1001) && nsi_lease_exists(dir, 1002), "both exist");
	ok(fstatat(dir, "1001.lease", &st, 0) == 0 && (st.st_mode & 07777) == 0600 &&
		   st.st_uid == 0,
	   "a lease file is root's, 0600");
	ok(faccessat(dir, "1001.lease.tmp", F_OK, 0) < 0, "no temporary file is left");
	ok(nsi_lease_read(dir, 1002, &back) == 0 && back.net == b.net && back.uid == 1002,
	   "read a lease back");

	/* Files that are not leases, and a lease under another uid's name. */
	fd = openat(dir, "1001.state", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0)
		close(fd);
	fd = openat(dir, "x.lease", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0)
		close(fd);
	ok(nsi_lease_scan(dir, &all, &n) == 0 && n == 2, "scan finds the two leases only (n=%zu)",
	   n);
	if (all && n == 2)
		ok((all[0].uid == 1001 && all[1].uid == 1002) ||
			   (all[0].uid == 1002 && all[1].uid == 1001),
		   "scan returns both uids");
	free(steal_pointer(&all));
	if (renameat(dir, "1002.lease", dir, "1003.lease") == 0)
		is_int(nsi_lease_read(dir, 1003, &back), -EBADMSG,
		       "a lease whose uid differs from its name is refused");
	ok(nsi_lease_scan(dir, &all, &n) == -EBADMSG, "scan fails closed on a bad lease");
	free(steal_pointer(&all));
	(void)unlinkat(dir, "1003.lease", 0);
	if (symlinkat("1001.lease", dir, "1004.lease") == 0)
		ok(nsi_lease_read(dir, 1004, &back) < 0, "a symlinked lease is refused");
	(void)unlinkat(dir, "1004.lease", 0);

	ok(nsi_lease_remove(dir, 1001) == 0 && !nsi_lease_exists(dir, 1001), "remove a lease");
	ok(nsi_lease_remove(dir, 1001) == 0, "removing it again is fine");

	lock = nsi_lease_lock(dir, 1000);
	ok(lock >= 0, "take net.lock");
	ok(fstatat(dir, "net.lock", &st, 0) == 0 && (st.st_mode & 07777) == 0600,
	   "net.lock is 0600");
	{
		int again = nsi_lease_lock(dir, 20);

		/* flock is per open file description: a second open waits, then times out. */
		is_int(again, -ETIMEDOUT, "a second holder times out while it is held");
		if (again >= 0)
			close(again);
	}
	ok(nsi_lease_lock_remove(dir) == 0 && faccessat(dir, "net.lock", F_OK, 0) < 0,
	   "remove net.lock while holding it");
	nsi_closep(&lock);
	lock = nsi_lease_lock(dir, 1000);
	ok(lock >= 0 && faccessat(dir, "net.lock", F_OK, 0) == 0, "a new net.lock after removal");
	(void)nsi_lease_lock_remove(dir);
}

/* ---- the policy keys ---- */

struct loaded {
	struct nsi_config *cf;
	struct nsi_diag d;
	int r;
};

static int nconf;

static void load(struct loaded *l, const char *text)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/c%d.conf", tmpdir, nconf++);
	f = fopen(path, "we");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0)
		abort();
	chmod(path, 0644);
	nsi_diag_init(&l->d);
	l->cf = NULL;
	l->r = nsi_config_load(path, &l->cf, &l->d);
}

static void unload(struct loaded *l)
{
	nsi_config_free(l->cf);
	nsi_diag_free(&l->d);
}

/* The first error must contain TEXT; there must be exactly N errors. */
static void refused(const char *desc, const char *text, size_t nerr, const char *conf)
{
	struct loaded l;

	load(&l, conf);
	if (!ok(l.r == 0 && l.d.nerrors == nerr && nerr > 0 && strstr(l.d.errors[0], text), "%s",
		desc)) {
		for (size_t i = 0; i < l.d.nerrors; i++)
			diag("error: %s", l.d.errors[i]);
		diag("expected %zu error(s), the first containing: %s", nerr, text);
	}
	unload(&l);
}

static void test_policy(void)
{
	struct nsi_settings s;
	struct loaded l;
	char *printed = NULL, cfg[1024];
	size_t plen = 0;
	FILE *f;

	nsi_settings_builtin(&s);
	is_str(s.network.subnet, NSI_DEFAULT_SUBNET, "built-in network.subnet");
	ok(!s.network.host_access && !s.network.nat && s.network.ndns == 0,
	   "built-in: host_access, nat false, no dns");

	load(&l, "version = 1;\n"
		 "defaults = { network = { mode = \"veth\"; subnet = \"10.99.0.0/20\";\n"
		 "  host_access = true; nat = true;\n"
		 "  dns = [\"198.51.100.53\", \"2001:DB8::53\"]; }; };\n");
	ok(l.r == 0 && l.d.nerrors == 0, "a veth policy with every key loads");
	if (l.cf) {
		nsi_config_defaults(l.cf, &s);
		ok(s.network.mode == NSI_NET_VETH && !strcmp(s.network.subnet, "10.99.0.0/20") &&
			   s.network.host_access && s.network.nat,
		   "mode, subnet, host_access, nat applied");
		ok(s.network.ndns == 2 && !strcmp(s.network.dns[0], "198.51.100.53") &&
			   !strcmp(s.network.dns[1], "2001:db8::53"),
		   "dns applied, IPv6 in canonical form");
	}
	unload(&l);

	/* Printed settings load back to the same ones. */
	f = open_memstream(&printed, &plen);
	if (f) {
		nsi_settings_print(&s, f);
		fclose(f);
	}
	ok(printed && strstr(printed, "  subnet = \"10.99.0.0/20\";\n") &&
		   strstr(printed, "  dns = [ \"198.51.100.53\", \"2001:db8::53\" ];\n"),
	   "explain prints the network keys of a veth policy");
	snprintf(cfg, sizeof(cfg), "version = 1;\ndefaults = {\n%s};\n", printed ? printed : "");
	load(&l, cfg);
	if (l.cf) {
		struct nsi_settings again;

		nsi_config_defaults(l.cf, &again);
		ok(l.d.nerrors == 0 && nsi_settings_hash(&again) == nsi_settings_hash(&s),
		   "printed veth settings load back to the same settings");
	}
	unload(&l);
	free(printed);

	load(&l, "version = 1;\ndefaults = { network = { subnet = \"10.99.1.0/24\"; }; };\n"
		 "policies = ( { name = \"v\"; network = { mode = \"veth\"; }; } );\n");
	if (l.cf) {
		struct nsi_resolved res;

		ok(nsi_config_policy(l.cf, 0, &res) == 0 &&
			   res.settings.network.mode == NSI_NET_VETH &&
			   !strcmp(res.settings.network.subnet, "10.99.1.0/24"),
		   "a policy's network = { mode = \"veth\"; } keeps the default subnet");
	}
	unload(&l);

	refused("network.subnet with host bits set",
		"network.subnet: \"10.99.1.1/24\" has host bits set (did you mean "
		"\"10.99.1.0/24\"?)",
		1,
		"version = 1;\ndefaults = { network = { mode = \"veth\"; subnet = "
		"\"10.99.1.1/24\"; }; };\n");
	refused("network.subnet /31",
		"network.subnet: \"10.99.1.0/31\": the prefix length must be from 8 to 30", 1,
		"version = 1;\ndefaults = { network = { subnet = \"10.99.1.0/31\"; }; };\n");
	refused("network.subnet not an address", "network.subnet: \"lan\" is not an IPv4 prefix", 1,
		"version = 1;\ndefaults = { network = { subnet = \"lan\"; }; };\n");
	refused("network.subnet loopback", "overlaps a loopback", 1,
		"version = 1;\npolicies = ( { name = \"p\"; network = { subnet = \"127.0.0.0/16\"; "
		"}; } );\n");
	refused("network.subnet must be a string", "network.subnet: expected a string", 1,
		"version = 1;\ndefaults = { network = { subnet = 10; }; };\n");
	refused("network.subnet error names file and line", ".conf:3: network.subnet", 1,
		"version = 1;\ndefaults = {\n network = { subnet = \"10.0.0.1/8\"; };\n};\n");
	refused("network.nat must be a boolean", "network.nat: expected a boolean", 1,
		"version = 1;\ndefaults = { network = { nat = \"yes\"; }; };\n");
	refused("network.host_access must be a boolean", "network.host_access: expected a boolean",
		1, "version = 1;\ndefaults = { network = { host_access = 1; }; };\n");
	refused("network.dns: a name",
		"network.dns: \"dns.example\" is not an IPv4 or IPv6 address", 1,
		"version = 1;\ndefaults = { network = { dns = [\"dns.example\"]; }; };\n");
	refused("network.dns: five entries", "network.dns: more than 4 entries", 1,
		"version = 1;\ndefaults = { network = { dns = [\"198.51.100.1\", \"198.51.100.2\", "
		"\"198.51.100.3\", \"198.51.100.4\", \"198.51.100.5\"]; }; };\n");
	refused("network.dns: twice", "network.dns: \"2001:db8:0::1\" listed twice", 1,
		"version = 1;\ndefaults = { network = { dns = [\"2001:db8::1\", "
		"\"2001:db8:0::1\"]; }; };\n");
	refused("network.dns: not a list", "network.dns: expected an array of strings", 1,
		"version = 1;\ndefaults = { network = { dns = \"198.51.100.1\"; }; };\n");
	refused("network: an unknown key", "network.bridge: unknown key", 1,
		"version = 1;\ndefaults = { network = { bridge = \"br0\"; }; };\n");
	refused("network.mode bridge",
		"network.mode: invalid value \"bridge\" (expected host, none or veth)", 1,
		"version = 1;\ndefaults = { network = { mode = \"bridge\"; }; };\n");

	load(&l, "version = 1;\ndefaults = { network = { subnet = \"10.213.000.0/16\"; }; };\n");
	ok(l.d.nerrors == 1, "leading zeros in the subnet are refused");
	unload(&l);
	load(&l, "version = 1;\ndefaults = { network = { dns = []; }; };\n");
	if (l.cf) {
		nsi_config_defaults(l.cf, &s);
		ok(l.d.nerrors == 0 && s.network.ndns == 0, "network.dns = [] is the default");
	}
	unload(&l);
}

int main(void)
{
	if (geteuid() != 0) {
		printf("1..0 # SKIP policy files must be root-owned: run as root\n");
		return 0;
	}
	if (!mkdtemp(tmpdir)) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	tmpdir_made = true;
	atexit(cleanup);
	test_cidr();
	test_dns();
	test_link_name();
	test_pick();
	test_pick_avoid();
	test_drop_leased();
	test_format();
	test_files();
	test_policy();
	return done_testing();
}
