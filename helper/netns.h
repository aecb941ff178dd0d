/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef NSI_NETNS_H
#define NSI_NETNS_H

/*
 * network.mode = "veth" and network.dns in the helper. The order matters:
 *
 *	net_prepare()	in the host's namespaces, before unshare(): ends what an
 *			earlier set of the uid left (link, chains, lease), checks
 *			forwarding for nat, leases a /30, adds the set's nft
 *			chains, and stages the resolv.conf for network.dns
 *	unshare(), setup_mounts(), lo up
 *	net_setup()	in the set's namespaces: the veth pair, addresses,
 *			default route; the staged resolv.conf over /etc/resolv.conf
 *	net_teardown()	NSI_OP_TEARDOWN, for a set that is gone
 *
 * net_prepare() and net_setup() die() on failure; what they leased stays
 * recorded in UID.lease, so the module's teardown (or the next create)
 * removes it.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "lease.h"

void net_prepare(const struct nsi_settings *s, uid_t uid);
void net_setup(const struct nsi_settings *s, uid_t uid);
/* 0 or -errno with the reason in msg. Never touches a live set: the caller checks. */
int net_teardown(uid_t uid, char *why, size_t whylen);

/* nft.c: the set's chains in "table inet nsisolate" (host network namespace). */
int nft_add_set(const struct nsi_lease *l, bool host_access, bool nat, char *why, size_t whylen);
int nft_del_set(const struct nsi_lease *l, char *why, size_t whylen);
int nft_del_table(char *why, size_t whylen);
/* Close the nfnetlink socket (waits out nf_tables' destroy work if something was deleted). */
void nft_close(void);
/* Which chains nft_add_set() makes for these settings (NSI_CHAIN_*). */
unsigned nft_chains_for(bool host_access, bool nat);

#endif
