// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * bench-resolve NPOLICIES NGROUPS RUNS [GROUP...]: the cost of resolving a
 * policy (common/match.c) for a user in NGROUPS groups against a file of
 * NPOLICIES policies, as a login does it. Policy I matches the group named
 * by the I-th GROUP argument (cycled; names NSS may or may not know), except
 * the last, which matches the uid range of the user; the user is in none of
 * the groups, so every policy is tried. Prints "parse US resolve US" (the
 * medians of RUNS, microseconds). Used by tests/bench.sh; not a test.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"

static long long now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000000000 + t.tv_nsec;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	int npol = argc > 3 ? atoi(argv[1]) : 0, ngroups = argc > 3 ? atoi(argv[2]) : 0;
	int runs = argc > 3 ? atoi(argv[3]) : 0;
	char **names = argv + 4;
	int nnames = argc - 4;
	long long *tparse, *tres;
	gid_t *groups;
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	if (npol < 1 || ngroups < 0 || ngroups > NSI_MAX_GROUPS || runs < 1 || nnames < 1) {
		fprintf(stderr, "usage: bench-resolve NPOLICIES NGROUPS RUNS GROUP...\n");
		return 2;
	}
	f = open_memstream(&text, &len);
	if (!f)
		return 1;
	fprintf(f, "version = 1;\npolicies = (\n");
	for (int i = 0; i < npol; i++) {
		if (i == npol - 1)
			fprintf(f,
				"  { name = \"p%d\"; match = { uids = [\"100000-199999\"]; }; }\n",
				i);
		else
			fprintf(f, "  { name = \"p%d\"; match = { groups = [\"%s\"]; }; },\n", i,
				names[i % nnames]);
	}
	fprintf(f, ");\n");
	fclose(f);

	groups = calloc((size_t)ngroups + 1, sizeof(*groups));
	tparse = calloc((size_t)runs, sizeof(*tparse));
	tres = calloc((size_t)runs, sizeof(*tres));
	if (!groups || !tparse || !tres)
		return 1;
	/* Scattered 10-digit gids, as directory id-mapping gives them. */
	for (int i = 0; i < ngroups; i++)
		groups[i] = 1000000000u + (gid_t)i * 2654435u % 1000000000u;
	for (int r = 0; r < runs; r++) {
		struct nsi_user u = { .name = "nsitbench",
				      .uid = 150000,
				      .gid = 150000,
				      .groups = groups,
				      .ngroups = (size_t)ngroups,
				      .service = "sshd" };
		struct nsi_config *cf = NULL;
		struct nsi_resolved res;
		struct nsi_diag d;
		char why[256];
		long long t0, t1, t2;

		nsi_diag_init(&d);
		t0 = now_ns();
		if (nsi_config_parse("/bench.conf", text, &cf, &d) < 0 || !cf) {
			fprintf(stderr, "bench-resolve: the generated file does not parse: %s\n",
				d.nerrors ? d.errors[0] : "?");
			return 1;
		}
		t1 = now_ns();
		if (nsi_config_resolve(cf, &u, &res, why, sizeof(why)) < 0 ||
		    strcmp(res.policy, "p0") == 0) {
			fprintf(stderr, "bench-resolve: resolution failed: %s\n", why);
			return 1;
		}
		t2 = now_ns();
		if (r == 0 && strcmp(res.policy, "") == 0)
			fprintf(stderr, "bench-resolve: no policy matched\n");
		tparse[r] = (t1 - t0) / 1000;
		tres[r] = (t2 - t1) / 1000;
		nsi_config_free(cf);
		nsi_diag_free(&d);
	}
	qsort(tparse, (size_t)runs, sizeof(*tparse), cmp_ll);
	qsort(tres, (size_t)runs, sizeof(*tres), cmp_ll);
	printf("parse %lld resolve %lld\n", tparse[runs / 2], tres[runs / 2]);
	free(text);
	free(groups);
	free(tparse);
	free(tres);
	return 0;
}
