// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer target for the policy loader: each input becomes a root-owned 0644
 * file in a private directory, which is loaded, resolved for a fixed user and
 * for root, merged policy by policy, printed and freed. Built with ASan and
 * UBSan (Makefile: build/fuzz-config); tests/fuzz/run-fuzz.sh runs it.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "fsutil.h"

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

static char dir[PATH_MAX];
static char path[PATH_MAX];
static FILE *devnull;

static void remove_dir(void)
{
	if (path[0])
		unlink(path);
	if (dir[0])
		rmdir(dir);
}

static void write_input(const uint8_t *data, size_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);

	/* The loader insists on a root-owned file nobody else can write. */
	if (fd < 0 || fchmod(fd, 0644) < 0 || nsi_write_all(fd, data, size) < 0) {
		perror(path);
		abort();
	}
	close(fd);
}

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
	char err[512];

	for (size_t i = 0; i < sizeof(users) / sizeof(users[0]); i++) {
		if (nsi_config_resolve(cf, &users[i], &res, err, sizeof(err)) == 0) {
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

static void setup(void)
{
	const char *tmp = getenv("TMPDIR");
	struct nsi_config *cf = NULL;
	struct nsi_diag d;

	snprintf(dir, sizeof(dir), "%s/nsi-fuzz-config-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		perror(dir);
		abort();
	}
	atexit(remove_dir);
	snprintf(path, sizeof(path), "%s/fuzz.conf", dir);
	devnull = fopen("/dev/null", "we");
	if (!devnull)
		abort();

	/* A good file must load cleanly here, or every input would stop at the file checks. */
	write_input((const uint8_t *)"version = 1;\n", 13);
	nsi_diag_init(&d);
	if (nsi_config_load(path, &cf, &d) < 0 || d.nerrors) {
		fprintf(stderr,
			"fuzz-config: %s does not load: %s (run as root, TMPDIR root-only)\n", path,
			d.nerrors ? d.errors[0] : "error");
		abort();
	}
	nsi_config_free(cf);
	nsi_diag_free(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct nsi_config *cf = NULL;
	struct nsi_diag d;

	if (!ready) {
		setup();
		ready = 1;
	}
	write_input(data, size);
	nsi_diag_init(&d);
	/* Resolve even a file with errors: nothing may crash on what load accepted into memory. */
	if (nsi_config_load(path, &cf, &d) == 0) {
		exercise(cf);
		nsi_config_free(cf);
	}
	nsi_diag_free(&d);
	return 0;
}
