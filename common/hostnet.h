/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef NSI_HOSTNET_H
#define NSI_HOSTNET_H

#include <stddef.h>

#include "lease.h"

/*
 * The IPv4 prefixes of the current network namespace that overlap POOL:
 * its addresses (each with its prefix length) and its routes in every table
 * but "local", default routes aside. A set's /30 there would divert the
 * host's traffic for those addresses. Returns 0 with a malloc'd array in
 * *RET (N entries, possibly none), or -errno. Linked into the helper and
 * nsisolate(8) only (libmnl), never into the module.
 */
int nsi_host_prefixes(const struct nsi_cidr *pool, struct nsi_cidr **ret, size_t *n);

#endif
