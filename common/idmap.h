/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef NSI_IDMAP_H
#define NSI_IDMAP_H

/*
 * The gid_map of a set's user namespace. The kernel takes a map in one
 * write of less than a page (4096 bytes) and at most 340 lines. Each of the
 * user's gids maps to itself, root_id is the namespace's 0, real root is
 * never mapped. A user whose groups do not fit line by line (hundreds of
 * scattered 10-digit gids, as directory id-mapping gives) gets ranges that
 * also span the gaps between them, the smallest gaps first, never across
 * 0 or root_id: mapping a gid makes it representable inside, it does not
 * make anyone hold it (see nsisolate.conf(5), USER NAMESPACE).
 */
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define NSI_MAP_MAX_BYTES 4096
#define NSI_MAP_MAX_LINES 340

struct nsi_gid_map {
	char text[NSI_MAP_MAX_BYTES];
	size_t len;
	size_t ranges; /* lines for the user's gids (root_id's line aside) */
	size_t exact_ranges; /* how many they would be without spanning gaps */
	uint64_t spanned; /* gids mapped that are not the user's */
};

/*
 * Build the map for GROUPS (any order, duplicates allowed; at most
 * NSI_MAX_GROUPS). 0, -EPERM when a gid is 0 or ROOT_ID, -E2BIG when even
 * spanning every gap cannot fit (never, with the limits above).
 */
int nsi_gid_map_build(const gid_t *groups, size_t n, uint32_t root_id, struct nsi_gid_map *m);

#endif
