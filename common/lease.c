// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Address leases of network.mode = "veth" (see lease.h for the file format).
 * Nothing here needs a netlink library: the module, the CLI and the unit
 * tests link it.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdarg.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "fsutil.h"
#include "lease.h"
#include "why.h"

#define LOCK_NAME "net.lock"
#define LEASE_MAX_SIZE 4096

static uint32_t mask_of(unsigned prefix)
{
	return prefix == 0 ? 0 : ~0u << (32 - prefix);
}

/* Does NET/PREFIX overlap OTHER/OPREFIX? */
static bool overlaps(uint32_t net, unsigned prefix, uint32_t other, unsigned oprefix)
{
	unsigned p = prefix < oprefix ? prefix : oprefix;

	return ((net ^ other) & mask_of(p)) == 0;
}

int nsi_cidr_parse(const char *s, struct nsi_cidr *ret, char *why, size_t whylen)
{
	static const struct {
		uint32_t net;
		unsigned prefix;
	} reserved[] = {
		{ 0x00000000u, 8 }, /* "this" network */
		{ 0x7f000000u, 8 }, /* loopback */
		{ 0xa9fe0000u, 16 }, /* link-local */
		{ 0xe0000000u, 3 }, /* multicast, reserved, broadcast */
	};
	char addr[INET_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	struct in_addr in;
	unsigned prefix = 0;
	uint32_t net;
	size_t alen;

	if (!slash)
		return nsi_fail(EINVAL, why, whylen,
				"\"%s\" is not an IPv4 prefix (expected e.g. \"10.213.0.0/16\")",
				s);
	alen = (size_t)(slash - s);
	if (alen == 0 || alen >= sizeof(addr))
		return nsi_fail(EINVAL, why, whylen,
				"\"%s\" is not an IPv4 prefix (expected e.g. \"10.213.0.0/16\")",
				s);
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	/* inet_pton takes exactly four decimal parts, no leading zeros. */
	if (inet_pton(AF_INET, addr, &in) != 1)
		return nsi_fail(EINVAL, why, whylen,
				"\"%s\" is not an IPv4 prefix (expected e.g. \"10.213.0.0/16\")",
				s);
	if (!isdigit((unsigned char)slash[1]) || (slash[2] && !isdigit((unsigned char)slash[2])) ||
	    (slash[2] && slash[3]) || (slash[1] == '0' && slash[2]))
		return nsi_fail(EINVAL, why, whylen,
				"\"%s\": the prefix length must be a number from 8 to 30", s);
	for (const char *p = slash + 1; *p; p++)
		prefix = prefix * 10 + (unsigned)(*p - '0');
	if (prefix < NSI_SUBNET_MIN_PREFIX || prefix > NSI_SUBNET_MAX_PREFIX)
		return nsi_fail(
			EINVAL, why, whylen,
			"\"%s\": the prefix length must be from 8 to 30 (each set takes a /30)", s);
	net = ntohl(in.s_addr);
	if (net & ~mask_of(prefix)) {
		char fixed[32];

		nsi_cidr_format(net & mask_of(prefix), prefix, fixed, sizeof(fixed));
		if (why && whylen)
			snprintf(why, whylen, "\"%s\" has host bits set (did you mean \"%s\"?)", s,
				 fixed);
		return -EINVAL;
	}
	for (size_t i = 0; i < NSI_ARRAY_SIZE(reserved); i++)
		if (overlaps(net, prefix, reserved[i].net, reserved[i].prefix))
			return nsi_fail(
				EINVAL, why, whylen,
				"\"%s\" overlaps a loopback, link-local, multicast or reserved "
				"range",
				s);
	ret->net = net;
	ret->prefix = prefix;
	return 0;
}

void nsi_ipv4_format(uint32_t addr, char *buf, size_t len)
{
	snprintf(buf, len, "%u.%u.%u.%u", addr >> 24, (addr >> 16) & 0xff, (addr >> 8) & 0xff,
		 addr & 0xff);
}

void nsi_cidr_format(uint32_t net, unsigned prefix, char *buf, size_t len)
{
	char a[16];

	nsi_ipv4_format(net, a, sizeof(a));
	snprintf(buf, len, "%s/%u", a, prefix);
}

int nsi_dns_parse(const char *s, char *canon, size_t len)
{
	unsigned char bin[16];
	static const unsigned char zero[16];
	int af = strchr(s, ':') ? AF_INET6 : AF_INET;

	if (inet_pton(af, s, bin) != 1)
		return -EINVAL;
	/* 0.0.0.0 and :: reach nothing a resolver could answer from. */
	if (!memcmp(bin, zero, af == AF_INET ? 4 : 16))
		return -EINVAL;
	if (!inet_ntop(af, bin, canon, (socklen_t)len))
		return -ENAMETOOLONG;
	return 0;
}

void nsi_link_name(uid_t uid, char buf[NSI_LINK_LEN])
{
	snprintf(buf, NSI_LINK_LEN, NSI_LINK_PREFIX "%u", (unsigned)uid);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

int nsi_cidr_overlap_any(const struct nsi_cidr *pool, const struct nsi_cidr *avoid, size_t navoid)
{
	for (size_t a = 0; a < navoid; a++)
		if (overlaps(pool->net, pool->prefix, avoid[a].net, avoid[a].prefix))
			return (int)a;
	return -1;
}

size_t nsi_prefixes_drop_leased(struct nsi_cidr *v, size_t n, const struct nsi_lease *leases,
				size_t nl)
{
	size_t keep = 0;

	for (size_t i = 0; i < n; i++) {
		bool ours = false;

		for (size_t j = 0; j < nl && !ours && v[i].prefix >= 30; j++)
			ours = overlaps(v[i].net, v[i].prefix, leases[j].net, 30);
		if (!ours)
			v[keep++] = v[i];
	}
	return keep;
}

int nsi_lease_pick(const struct nsi_cidr *pool, const struct nsi_lease *used, size_t n,
		   const struct nsi_cidr *avoid, size_t navoid, uint32_t *ret)
{
	uint64_t slots = 1ull << (32 - pool->prefix - 2);
	_cleanup_free_ uint32_t *inpool = NULL;
	size_t m = 0, i = 0;
	uint64_t next = 0;

	inpool = malloc((n ? n : 1) * sizeof(uint32_t));
	if (!inpool)
		return -ENOMEM;
	/* Slot numbers of the leases inside the pool, sorted. */
	for (size_t j = 0; j < n; j++)
		if (overlaps(used[j].net, 30, pool->net, pool->prefix))
			inpool[m++] = (used[j].net - pool->net) >> 2;
	qsort(inpool, m, sizeof(uint32_t), cmp_u32);
	/* The lowest slot that is neither leased nor on one of the host's prefixes. */
	while (next < slots) {
		uint32_t net = pool->net + (uint32_t)(next << 2);
		uint64_t skip = 0;

		while (i < m && inpool[i] < next)
			i++;
		if (i < m && inpool[i] == next) {
			next++;
			continue;
		}
		for (size_t a = 0; a < navoid; a++) {
			uint64_t end;

			if (!overlaps(net, 30, avoid[a].net, avoid[a].prefix))
				continue;
			/* Past the host's prefix: it ends above NET, so above the pool's start. */
			end = avoid[a].prefix >= 30
				      ? next + 1
				      : ((avoid[a].net & mask_of(avoid[a].prefix)) +
					 (1ull << (32 - avoid[a].prefix)) - pool->net) >>
						2;
			if (end > skip)
				skip = end;
		}
		if (skip) {
			next = skip;
			continue;
		}
		*ret = net;
		return 0;
	}
	return -ENOSPC;
}

static const struct {
	unsigned bit;
	const char *name;
} chain_names[] = {
	{ NSI_CHAIN_IN, "in" },
	{ NSI_CHAIN_FWD, "fwd" },
	{ NSI_CHAIN_NAT, "nat" },
};

int nsi_lease_format(const struct nsi_lease *l, char *buf, size_t len)
{
	char net[32];
	size_t o;

	nsi_cidr_format(l->net, 30, net, sizeof(net));
	o = (size_t)snprintf(buf, len, "nsisolate-lease %d\nuid %u\nlink %s\nnet %s\nchains",
			     NSI_LEASE_VERSION, (unsigned)l->uid, l->link, net);
	for (size_t i = 0; i < NSI_ARRAY_SIZE(chain_names) && o < len; i++)
		if (l->chains & chain_names[i].bit)
			o += (size_t)snprintf(buf + o, len - o, " %s", chain_names[i].name);
	if (o < len)
		o += (size_t)snprintf(buf + o, len - o, "\n");
	return o < len ? 0 : -ENAMETOOLONG;
}

int nsi_lease_parse(const char *text, struct nsi_lease *ret)
{
	_cleanup_free_ char *copy = strdup(text);
	struct nsi_lease l = { 0 };
	unsigned seen = 0;
	char *line, *save = NULL;
	int lineno = 0;

	if (!copy)
		return -ENOMEM;
	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *val = strchr(line, ' ');

		if (val)
			*val++ = '\0';
		else if (!strcmp(line, "chains"))
			val = line + strlen(line); /* no chain of its own */
		else
			return -EBADMSG;
		if (lineno++ == 0) {
			if (strcmp(line, "nsisolate-lease") || strcmp(val, "1"))
				return -EBADMSG;
			continue;
		}
		/* Each key once: a repeated one is a corrupt file, never "the last wins". */
		if ((!strcmp(line, "uid") && (seen & 1)) || (!strcmp(line, "link") && (seen & 2)) ||
		    (!strcmp(line, "net") && (seen & 4)) || (!strcmp(line, "chains") && (seen & 8)))
			return -EBADMSG;
		if (!strcmp(line, "uid")) {
			char *end;
			unsigned long v;

			errno = 0;
			v = strtoul(val, &end, 10);
			if (errno || *end || !isdigit((unsigned char)*val) || v >= UINT32_MAX)
				return -EBADMSG;
			l.uid = (uid_t)v;
			seen |= 1;
		} else if (!strcmp(line, "link")) {
			if (strlen(val) >= NSI_LINK_LEN || strncmp(val, NSI_LINK_PREFIX, 3))
				return -EBADMSG;
			snprintf(l.link, sizeof(l.link), "%s", val);
			seen |= 2;
		} else if (!strcmp(line, "net")) {
			struct nsi_cidr c;
			size_t vl = strlen(val);
			char buf[INET_ADDRSTRLEN];
			struct in_addr in;

			/* A lease is one /30, aligned. */
			if (vl < 4 || vl - 3 >= sizeof(buf) || strcmp(val + vl - 3, "/30"))
				return -EBADMSG;
			memcpy(buf, val, vl - 3);
			buf[vl - 3] = '\0';
			if (inet_pton(AF_INET, buf, &in) != 1)
				return -EBADMSG;
			c.net = ntohl(in.s_addr);
			if (c.net & 3)
				return -EBADMSG;
			l.net = c.net;
			seen |= 4;
		} else if (!strcmp(line, "chains")) {
			char *tok, *s2 = NULL;

			for (tok = strtok_r(val, " ", &s2); tok; tok = strtok_r(NULL, " ", &s2)) {
				size_t i;

				for (i = 0; i < NSI_ARRAY_SIZE(chain_names); i++)
					if (!strcmp(tok, chain_names[i].name))
						break;
				if (i == NSI_ARRAY_SIZE(chain_names))
					return -EBADMSG;
				l.chains |= chain_names[i].bit;
			}
			seen |= 8;
		} else {
			return -EBADMSG;
		}
	}
	if (seen != 15)
		return -EBADMSG;
	/* The link is named after the uid: a lease for another name is not ours. */
	{
		char want[NSI_LINK_LEN];

		nsi_link_name(l.uid, want);
		if (strcmp(l.link, want) != 0)
			return -EBADMSG;
	}
	*ret = l;
	return 0;
}

static void lease_name(uid_t uid, char *buf, size_t len, const char *suffix)
{
	snprintf(buf, len, "%u.lease%s", (unsigned)uid, suffix);
}

int nsi_lease_read(int dirfd, uid_t uid, struct nsi_lease *ret)
{
	_cleanup_free_ char *text = NULL;
	struct nsi_lease l;
	char name[48], why[256];
	int r;

	lease_name(uid, name, sizeof(name), "");
	r = nsi_read_trusted_file(dirfd, name, LEASE_MAX_SIZE, &text, why, sizeof(why));
	if (r < 0)
		return r;
	r = nsi_lease_parse(text, &l);
	if (r < 0)
		return r;
	if (l.uid != uid)
		return -EBADMSG;
	*ret = l;
	return 0;
}

int nsi_lease_write(int dirfd, const struct nsi_lease *l)
{
	_cleanup_close_ int fd = -1;
	char name[48], tmp[48], text[256];
	int r;

	r = nsi_lease_format(l, text, sizeof(text));
	if (r < 0)
		return r;
	lease_name(l->uid, name, sizeof(name), "");
	lease_name(l->uid, tmp, sizeof(tmp), ".tmp");
	(void)unlinkat(dirfd, tmp, 0);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	r = nsi_write_all(fd, text, strlen(text));
	if (r == 0 && renameat(dirfd, tmp, dirfd, name) < 0)
		r = -errno;
	if (r < 0)
		(void)unlinkat(dirfd, tmp, 0);
	return r;
}

int nsi_lease_remove(int dirfd, uid_t uid)
{
	char name[48];

	lease_name(uid, name, sizeof(name), "");
	return nsi_unlink_at(dirfd, name);
}

bool nsi_lease_exists(int dirfd, uid_t uid)
{
	char name[48];
	struct stat st;

	lease_name(uid, name, sizeof(name), "");
	return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

bool nsi_net_leftovers(int dirfd, uid_t uid)
{
	char name[48];
	struct stat st;

	snprintf(name, sizeof(name), "%u.resolv", (unsigned)uid);
	return nsi_lease_exists(dirfd, uid) || fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/* "UID.lease" with a decimal uid and nothing else. */
static bool lease_file_uid(const char *name, uid_t *uid)
{
	unsigned long v = 0;
	const char *p = name;

	if (!isdigit((unsigned char)*p))
		return false;
	for (; isdigit((unsigned char)*p); p++) {
		v = v * 10 + (unsigned long)(*p - '0');
		if (v >= UINT32_MAX)
			return false;
	}
	if (strcmp(p, ".lease"))
		return false;
	*uid = (uid_t)v;
	return true;
}

int nsi_lease_scan(int dirfd, struct nsi_lease **ret, size_t *n)
{
	_cleanup_free_ struct nsi_lease *list = NULL;
	size_t count = 0, cap = 0;
	struct dirent *de;
	DIR *d;
	int r = 0;

	d = nsi_opendir_at(dirfd);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		struct nsi_lease l;
		uid_t uid;

		if (!lease_file_uid(de->d_name, &uid))
			continue;
		r = nsi_lease_read(dirfd, uid, &l);
		if (r == -ENOENT) {
			r = 0; /* removed meanwhile (not by an allocation: we hold the lock) */
			continue;
		}
		if (r < 0)
			break;
		if (count == cap) {
			struct nsi_lease *grown;

			if (cap >= NSI_MAX_LEASES) {
				r = -E2BIG;
				break;
			}
			cap = cap ? cap * 2 : 16;
			grown = realloc(list, cap * sizeof(*list));
			if (!grown) {
				r = -ENOMEM;
				break;
			}
			list = grown;
		}
		list[count++] = l;
	}
	closedir(d);
	if (r < 0)
		return r;
	*ret = steal_pointer(&list);
	*n = count;
	return 0;
}

int nsi_lease_lock(int dirfd, int timeout_ms)
{
	return nsi_lock_file_at(dirfd, LOCK_NAME, timeout_ms);
}

int nsi_lease_lock_remove(int dirfd)
{
	return nsi_unlink_at(dirfd, LOCK_NAME);
}
