// SPDX-License-Identifier: LGPL-2.1-or-later
/* The gid_map of a set: see idmap.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "idmap.h"

struct range {
	uint32_t first, last;
};

static int cmp_gid(const void *a, const void *b)
{
	gid_t x = *(const gid_t *)a, y = *(const gid_t *)b;

	return x < y ? -1 : x > y;
}

static size_t digits(uint64_t v)
{
	size_t d = 1;

	while (v >= 10) {
		v /= 10;
		d++;
	}
	return d;
}

/* The bytes of R's line "FIRST FIRST COUNT\n". */
static size_t line_bytes(const struct range *r)
{
	return 2 * digits(r->first) + digits((uint64_t)r->last - r->first + 1) + 3;
}

/* The text of the map for R[0..N), after root_id's line: its length (>= size: too long). */
static size_t format(const struct range *r, size_t n, uint32_t root_id, char *buf, size_t size)
{
	size_t len = (size_t)snprintf(buf, size, "0 %" PRIu32 " 1\n", root_id);

	for (size_t i = 0; i < n && len < size; i++)
		len += (size_t)snprintf(buf + len, size - len,
					"%" PRIu32 " %" PRIu32 " %" PRIu32 "\n", r[i].first,
					r[i].first, r[i].last - r[i].first + 1);
	return len;
}

int nsi_gid_map_build(const gid_t *groups, size_t n, uint32_t root_id, struct nsi_gid_map *m)
{
	gid_t sorted[NSI_MAX_GROUPS];
	struct range r[NSI_MAX_GROUPS];
	size_t nr = 0, bytes;

	memset(m, 0, sizeof(*m));
	if (n > NSI_MAX_GROUPS)
		return -E2BIG;
	memcpy(sorted, groups, n * sizeof(gid_t));
	qsort(sorted, n, sizeof(gid_t), cmp_gid);
	for (size_t i = 0; i < n; i++) {
		if (sorted[i] == 0 || sorted[i] == root_id)
			return -EPERM;
		if (nr > 0 && sorted[i] <= r[nr - 1].last + 1) {
			r[nr - 1].last = sorted[i];
			continue;
		}
		r[nr++] = (struct range){ sorted[i], sorted[i] };
	}
	m->exact_ranges = nr;
	bytes = 2 + digits(root_id) + 3;
	for (size_t i = 0; i < nr; i++)
		bytes += line_bytes(&r[i]);
	/* Too many lines or bytes: join the two neighbours with the smallest gap. */
	while (nr + 1 > NSI_MAP_MAX_LINES || bytes >= sizeof(m->text)) {
		size_t best = nr;
		uint64_t gap = UINT64_MAX;

		for (size_t i = 0; i + 1 < nr; i++) {
			uint64_t g = (uint64_t)r[i + 1].first - r[i].last - 1;

			/* Never across root_id, the namespace's 0 (0 itself is below every gid). */
			if (r[i].last < root_id && r[i + 1].first > root_id)
				continue;
			if (g < gap) {
				gap = g;
				best = i;
			}
		}
		if (best == nr)
			return -E2BIG;
		m->spanned += gap;
		bytes -= line_bytes(&r[best]) + line_bytes(&r[best + 1]);
		r[best].last = r[best + 1].last;
		bytes += line_bytes(&r[best]);
		memmove(&r[best + 1], &r[best + 2], (nr - best - 2) * sizeof(r[0]));
		nr--;
	}
	m->len = format(r, nr, root_id, m->text, sizeof(m->text));
	if (m->len != bytes || m->len >= sizeof(m->text))
		return -E2BIG; /* the count above and the text disagree: never write it */
	m->ranges = nr;
	return 0;
}
