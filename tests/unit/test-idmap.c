// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Unit tests of the gid_map builder (common/idmap.c): the user's gids map
 * to themselves, root_id is the namespace's 0, real root never appears; a
 * map always fits the kernel's limits (one write below 4096 bytes, at most
 * 340 lines), spanning the smallest gaps only when it must and never across
 * root_id. No root.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "idmap.h"
#include "tap.h"

#define ROOT_ID 2147483646u

struct line {
	uint64_t inside, outside, count;
};

/* The map's lines; false when a line is malformed. */
static bool parse(const struct nsi_gid_map *m, struct line *l, size_t *n)
{
	const char *p = m->text;

	*n = 0;
	while (*p) {
		int used = 0;

		if (sscanf(p, "%" SCNu64 " %" SCNu64 " %" SCNu64 "\n%n", &l[*n].inside,
			   &l[*n].outside, &l[*n].count, &used) != 3 ||
		    used == 0)
			return false;
		p += used;
		(*n)++;
	}
	return true;
}

static bool maps(const struct line *l, size_t n, uint64_t gid)
{
	for (size_t i = 0; i < n; i++)
		if (gid >= l[i].outside && gid < l[i].outside + l[i].count)
			return true;
	return false;
}

/* Every line but root_id's maps to itself; root never; the limits hold. */
static bool well_formed(const struct nsi_gid_map *m, struct line *l, size_t *n)
{
	if (!parse(m, l, n) || *n == 0 || *n > NSI_MAP_MAX_LINES || m->len >= NSI_MAP_MAX_BYTES ||
	    strlen(m->text) != m->len)
		return false;
	if (l[0].inside != 0 || l[0].outside != ROOT_ID || l[0].count != 1)
		return false;
	for (size_t i = 1; i < *n; i++)
		if (l[i].inside != l[i].outside || l[i].outside == 0)
			return false;
	return !maps(l + 1, *n - 1, 0) && !maps(l + 1, *n - 1, ROOT_ID);
}

int main(void)
{
	static struct nsi_gid_map m;
	static struct line l[NSI_MAP_MAX_LINES + 8];
	static gid_t g[NSI_MAX_GROUPS];
	size_t n;
	bool all;

	g[0] = 1000;
	g[1] = 1001;
	g[2] = 1002;
	g[3] = 1001;
	is_int(nsi_gid_map_build(g, 4, ROOT_ID, &m), 0, "three gids in a row, one repeated");
	is_str(m.text, "0 2147483646 1\n1000 1000 3\n", "one line for them, after root_id's");
	is_int(m.ranges, 1, "one range");
	is_int((long long)m.spanned, 0, "no gid spanned");

	g[0] = 0;
	is_int(nsi_gid_map_build(g, 1, ROOT_ID, &m), -EPERM, "gid 0 is refused");
	g[0] = ROOT_ID;
	is_int(nsi_gid_map_build(g, 1, ROOT_ID, &m), -EPERM, "root_id as a group is refused");

	/* 400 scattered 10-digit gids, as AD id-mapping gives (a fixed pseudo-random walk). */
	srand(7);
	for (size_t i = 0; i < 400; i++)
		g[i] = 1000000000u + (gid_t)(((uint64_t)rand() * 2654435761u) % 1100000000u);
	is_int(nsi_gid_map_build(g, 400, ROOT_ID, &m), 0, "400 scattered 10-digit gids: built");
	ok(well_formed(&m, l, &n), "the map is well formed and within the kernel's limits");
	diag("%zu lines, %zu bytes; %zu ranges from %zu, %" PRIu64 " gids spanned", n, m.len,
	     m.ranges, m.exact_ranges, m.spanned);
	ok(m.exact_ranges == 400 && m.ranges < 400, "spanning was needed, and done");
	all = true;
	for (size_t i = 0; i < 400; i++)
		all = all && maps(l + 1, n - 1, g[i]);
	ok(all, "every one of the user's gids is mapped");

	/* Both sides of root_id: no range may span it. */
	for (size_t i = 0; i < 600; i++)
		g[i] = (gid_t)(i % 2 ? ROOT_ID + 2 + i * 3 : ROOT_ID - 2 - i * 3);
	is_int(nsi_gid_map_build(g, 600, ROOT_ID, &m), 0, "600 gids around root_id: built");
	ok(well_formed(&m, l, &n), "well formed, root_id not spanned");
	all = true;
	for (size_t i = 0; i < 600; i++)
		all = all && maps(l + 1, n - 1, g[i]);
	ok(all, "every gid mapped");

	/* The most: NSI_MAX_GROUPS gids, every other one. */
	for (size_t i = 0; i < NSI_MAX_GROUPS; i++)
		g[i] = (gid_t)(100000 + 2 * i);
	is_int(nsi_gid_map_build(g, NSI_MAX_GROUPS, ROOT_ID, &m), 0, "1024 gids with gaps: built");
	ok(well_formed(&m, l, &n), "well formed");
	is_int(nsi_gid_map_build(g, NSI_MAX_GROUPS + 1, ROOT_ID, &m), -E2BIG,
	       "more than NSI_MAX_GROUPS: refused");

	/* 339 single gids fit exactly (340 lines with root_id's): no spanning. */
	for (size_t i = 0; i < 339; i++)
		g[i] = (gid_t)(5000 + 10 * i);
	is_int(nsi_gid_map_build(g, 339, ROOT_ID, &m), 0, "339 small gids: built");
	is_int((long long)m.spanned, 0, "they fit line by line: nothing spanned");
	return done_testing();
}
