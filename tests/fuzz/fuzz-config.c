// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer target for the policy loader: each input is parsed as the text
 * of a policy file (nsi_config_parse: the loader without the file checks,
 * which the unit tests cover), resolved for a fixed user and for root,
 * merged policy by policy, printed and freed. No root, no files. Built with
 * ASan and UBSan (make fuzz: build/fuzz-config); tests/fuzz/run-fuzz.sh
 * runs it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__lsan_default_suppressions(void);

/*
 * libconfig 1.5 (Debian 12) leaks a string token that bison discards while
 * recovering from a syntax error (hyperrealm/libconfig#142, fixed upstream by
 * PR #155 in 1.7): the scanner allocates it in strbuf_append, or directly in
 * libconfig_yylex when the string is empty. Nothing the loader can free. The
 * settings tree itself is allocated by the parser, so a missing
 * config_destroy() is still reported.
 */
const char *__lsan_default_suppressions(void)
{
	return "leak:strbuf_append\nleak:libconfig_yylex\n";
}

static FILE *devnull;

static void exercise(const struct nsi_config *cf)
{
	static const gid_t groups[] = { 1000, 27, 100, 4 };
	const struct nsi_user users[] = {
		{ .name = "fuzzuser",
		  .uid = 1000,
		  .gid = 1000,
		  .groups = groups,
		  .ngroups = sizeof(groups) / sizeof(groups[0]),
		  .service = "sshd" },
		{ .name = "root",
		  .uid = 0,
		  .gid = 0,
		  .groups = groups,
		  .ngroups = 0,
		  .service = NULL },
	};
	struct nsi_resolved res;
	struct nsi_settings s;
	char why[512];

	for (size_t i = 0; i < sizeof(users) / sizeof(users[0]); i++) {
		if (nsi_config_resolve(cf, &users[i], &res, why, sizeof(why)) == 0) {
			nsi_settings_print(&res.settings, devnull);
			(void)nsi_settings_hash(&res.settings);
		}
	}
	nsi_config_defaults(cf, &s);
	nsi_settings_print(&s, devnull);
	for (size_t i = 0; i < nsi_config_npolicies(cf); i++)
		if (nsi_config_policy(cf, i, &res) == 0)
			nsi_settings_print(&res.settings, devnull);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nsi_config *cf = NULL;
	struct nsi_diag d;
	char *text;

	if (!devnull)
		devnull = fopen("/dev/null", "we");
	if (!devnull)
		abort();
	/* The loader reads a file into a NUL-terminated buffer: so does this. */
	text = malloc(size + 1);
	if (!text)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	nsi_diag_init(&d);
	/* Resolve even a file with errors: nothing may crash on what load accepted into memory. */
	if (nsi_config_parse("/fuzz/nsisolate.conf", text, &cf, &d) == 0) {
		exercise(cf);
		nsi_config_free(cf);
	}
	nsi_diag_free(&d);
	free(text);
	return 0;
}
