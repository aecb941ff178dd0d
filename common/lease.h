/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef NSI_LEASE_H
#define NSI_LEASE_H

/*
 * network.mode = "veth": each set gets one /30 of network.subnet. The lease
 * is a file UID.lease in /run/nsisolate (root only), written by the helper
 * under net.lock so that two first logins never take the same /30:
 *
 *	nsisolate-lease 1
 *	uid 1001
 *	link nsi1001
 *	net 10.213.0.4/30
 *	chains in fwd
 *
 * The host end of the link is net+1 and is named "nsi" + the uid (at most
 * 13 characters); the session end, eth0 in the set, is net+2. "chains" lists
 * the set's own base chains in the nft table "inet nsisolate", so teardown
 * removes exactly those. Parsing and allocation are pure functions (unit
 * tested); the file functions only use fds below the run directory.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define NSI_DEFAULT_SUBNET "10.213.0.0/16"
#define NSI_SUBNET_MIN_PREFIX 8
#define NSI_SUBNET_MAX_PREFIX 30
#define NSI_LINK_PREFIX "nsi"
#define NSI_LINK_LEN 16 /* IFNAMSIZ */
#define NSI_LEASE_VERSION 1
#define NSI_MAX_LEASES 65536

/* The set's base chains in "table inet nsisolate". */
enum {
	NSI_CHAIN_IN = 1 << 0, /* input: drop new traffic from the link (host_access = false) */
	NSI_CHAIN_FWD = 1 << 1, /* forward: never to another set; nothing out unless nat */
	NSI_CHAIN_NAT = 1 << 2, /* postrouting: masquerade (nat = true) */
};

/* An IPv4 prefix in host byte order. */
struct nsi_cidr {
	uint32_t net;
	unsigned prefix;
};

struct nsi_lease {
	uid_t uid;
	uint32_t net; /* the /30, host byte order */
	char link[NSI_LINK_LEN];
	unsigned chains; /* NSI_CHAIN_* */
};

/*
 * "a.b.c.d/N": dotted quad, N from 8 to 30, no host bits set, and not in
 * 0.0.0.0/8, 127.0.0.0/8, 169.254.0.0/16 or 224.0.0.0/3. Returns 0 or
 * -EINVAL with the reason in why.
 */
int nsi_cidr_parse(const char *s, struct nsi_cidr *ret, char *why, size_t whylen);
/* "a.b.c.d/N" (LEN >= 19) */
void nsi_cidr_format(uint32_t net, unsigned prefix, char *buf, size_t len);
/* "a.b.c.d" (LEN >= 16) */
void nsi_ipv4_format(uint32_t addr, char *buf, size_t len);

/* A resolver address, IPv4 or IPv6, written back in canonical form. 0 or -EINVAL. */
int nsi_dns_parse(const char *s, char *canon, size_t len);

/* Host link name of UID's set: "nsi" + decimal uid. */
void nsi_link_name(uid_t uid, char buf[NSI_LINK_LEN]);

/*
 * The lowest /30 of POOL that no lease in USED (N entries) holds and that
 * overlaps none of the NAVOID prefixes in AVOID (the host's own addresses
 * and routes: a /30 there would take traffic meant for the host's networks).
 * Returns 0 and sets *ret, or -ENOSPC when no /30 of the pool is left.
 */
int nsi_lease_pick(const struct nsi_cidr *pool, const struct nsi_lease *used, size_t n,
		   const struct nsi_cidr *avoid, size_t navoid, uint32_t *ret);
/*
 * Drop from V (N entries) the prefixes of the sets' own links: a /30 or
 * longer inside one of the NL LEASES. Returns how many are kept, in order.
 */
size_t nsi_prefixes_drop_leased(struct nsi_cidr *v, size_t n, const struct nsi_lease *leases,
				size_t nl);
/* Does any of the NAVOID prefixes in AVOID overlap POOL? Its index, or -1. */
int nsi_cidr_overlap_any(const struct nsi_cidr *pool, const struct nsi_cidr *avoid, size_t navoid);

/* Text form of a lease, and back (strict: every line known, uid as named). */
int nsi_lease_format(const struct nsi_lease *l, char *buf, size_t len);
int nsi_lease_parse(const char *text, struct nsi_lease *ret);

/* UID.lease in the run directory DIRFD. read: 0, -ENOENT or -errno. */
int nsi_lease_read(int dirfd, uid_t uid, struct nsi_lease *ret);
int nsi_lease_write(int dirfd, const struct nsi_lease *l);
int nsi_lease_remove(int dirfd, uid_t uid);
bool nsi_lease_exists(int dirfd, uid_t uid);
/* UID.lease or a staged UID.resolv (network.dns) exists: a teardown has work to do. */
bool nsi_net_leftovers(int dirfd, uid_t uid);
/* Every lease of the directory (malloc'd array in *ret, count in *n). */
int nsi_lease_scan(int dirfd, struct nsi_lease **ret, size_t *n);

/* net.lock: serialises allocation, the nft table and its removal. */
int nsi_lease_lock(int dirfd, int timeout_ms);
/* Remove net.lock; only while holding it, when no lease is left. */
int nsi_lease_lock_remove(int dirfd);

#endif
