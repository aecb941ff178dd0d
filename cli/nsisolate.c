// SPDX-License-Identifier: LGPL-2.1-or-later
/* nsisolate(8): check and explain policies; inspect and manage live sets. */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "config.h"

static const char *config_path = NSI_DEFAULT_CONFIG;

static void usage(FILE *f)
{
	fprintf(f, "usage: nsisolate check [--config FILE]\n"
		   "       nsisolate explain USER [--service NAME] [--config FILE]\n");
}

static void print_diag(const struct nsi_diag *d)
{
	for (size_t i = 0; i < d->nwarnings; i++)
		fprintf(stderr, "warning: %s\n", d->warnings[i]);
	for (size_t i = 0; i < d->nerrors; i++)
		fprintf(stderr, "%s\n", d->errors[i]);
}

/* Load and report; returns the config only when it has no error. */
static struct nsi_config *load_or_report(struct nsi_diag *d)
{
	struct nsi_config *cf = NULL;
	int r;

	r = nsi_config_load(config_path, &cf, d);
	if (r < 0) {
		fprintf(stderr, "nsisolate: %s: %s\n", config_path, strerror(-r));
		return NULL;
	}
	print_diag(d);
	if (d->nerrors > 0) {
		nsi_config_free(cf);
		return NULL;
	}
	return cf;
}

static int check_root_id(const struct nsi_settings *s, const char *where)
{
	char why[256];

	if (!s->isolate || !s->userns.enable)
		return 0;
	if (nsi_root_id_check(s->userns.root_id, why, sizeof(why)) < 0) {
		fprintf(stderr, "%s: %s\n", where, why);
		return -1;
	}
	return 0;
}

static int cmd_check(void)
{
	struct nsi_diag d;
	struct nsi_config *cf;
	struct nsi_settings def;
	int bad = 0;

	nsi_diag_init(&d);
	cf = load_or_report(&d);
	nsi_diag_free(&d);
	if (!cf)
		return 1;
	nsi_config_defaults(cf, &def);
	bad |= check_root_id(&def, config_path);
	for (size_t i = 0; i < nsi_config_npolicies(cf); i++) {
		struct nsi_resolved r;
		char where[NSI_PATH_LEN + 16];

		nsi_config_policy(cf, i, &r);
		snprintf(where, sizeof(where), "%s:%d", r.file, r.line);
		bad |= check_root_id(&r.settings, where);
	}
	if (!bad)
		printf("%s: ok, %zu %s\n", config_path, nsi_config_npolicies(cf),
		       nsi_config_npolicies(cf) == 1 ? "policy" : "policies");
	nsi_config_free(cf);
	return bad ? 1 : 0;
}

static int cmd_explain(const char *user, const char *service)
{
	struct nsi_diag d;
	struct nsi_config *cf;
	struct nsi_resolved res;
	struct passwd *pw;
	gid_t groups[NSI_MAX_GROUPS];
	int ngroups = NSI_MAX_GROUPS;
	char err[512];
	struct nsi_user u;

	pw = getpwnam(user);
	if (!pw) {
		fprintf(stderr, "nsisolate: %s: no such user\n", user);
		return 1;
	}
	if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &ngroups) < 0) {
		fprintf(stderr, "nsisolate: %s: more than %d groups\n", user, NSI_MAX_GROUPS);
		return 1;
	}
	nsi_diag_init(&d);
	cf = load_or_report(&d);
	nsi_diag_free(&d);
	if (!cf)
		return 1;
	u = (struct nsi_user){ .name = pw->pw_name, .uid = pw->pw_uid, .gid = pw->pw_gid,
			       .groups = groups, .ngroups = (size_t)ngroups, .service = service };
	if (nsi_config_resolve(cf, &u, &res, err, sizeof(err)) < 0) {
		fprintf(stderr, "nsisolate: %s\n", err);
		nsi_config_free(cf);
		return 1;
	}
	printf("user:     %s (uid %u, gid %u)\n", pw->pw_name, (unsigned)pw->pw_uid,
	       (unsigned)pw->pw_gid);
	printf("groups:  ");
	for (int i = 0; i < ngroups; i++) {
		struct group *g = getgrgid(groups[i]);

		printf(" %s(%u)", g ? g->gr_name : "?", (unsigned)groups[i]);
	}
	printf("\nservice:  %s\n", service ? service : "(any)");
	printf("policy:   %s\n", res.policy[0] ? res.policy : "(defaults)");
	printf("why:      %s\n", res.why);
	printf("isolated: %s\n", res.settings.isolate ? "yes" : "no");
	printf("effective settings:\n");
	nsi_settings_print(&res.settings, stdout);
	nsi_config_free(cf);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "service", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *service = NULL, *cmd;
	int o;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	cmd = argv[1];
	optind = 2;
	while ((o = getopt_long(argc, argv, "c:s:h", opts, NULL)) != -1) {
		switch (o) {
		case 'c':
			config_path = optarg;
			break;
		case 's':
			service = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!strcmp(cmd, "check") && optind == argc && !service)
		return cmd_check();
	if (!strcmp(cmd, "explain") && optind + 1 == argc)
		return cmd_explain(argv[optind], service);
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help")) {
		usage(stdout);
		return 0;
	}
	usage(stderr);
	return 2;
}
