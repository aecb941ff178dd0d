// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The policy file, nsisolate.conf(5): loading it and its drop-ins, and the
 * diagnostics and typed getters every part of the loader reports through.
 * Files are opened through fds and checked before a byte is parsed; the
 * libconfig tree stays in memory so that a policy can be applied over the
 * defaults leaf by leaf with the same code that validated it
 * (settings.c), and matched at login (match.c).
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libconfig.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "confparse.h"
#include "fsutil.h"

/* ---- diagnostics ---- */

void nsi_diag_init(struct nsi_diag *d)
{
	memset(d, 0, sizeof(*d));
}

void nsi_diag_free(struct nsi_diag *d)
{
	for (size_t i = 0; i < d->nerrors; i++)
		free(d->errors[i]);
	for (size_t i = 0; i < d->nwarnings; i++)
		free(d->warnings[i]);
	free(d->errors);
	free(d->warnings);
	memset(d, 0, sizeof(*d));
}

static void diag_vadd(struct nsi_diag *d, bool error, const char *file, int line, const char *fmt,
		      va_list ap)
{
	char msg[1024], *full = NULL;
	char ***list = error ? &d->errors : &d->warnings;
	size_t *n = error ? &d->nerrors : &d->nwarnings;
	char **grown;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (line > 0) {
		if (asprintf(&full, "%s:%d: %s", file, line, msg) < 0)
			full = NULL;
	} else if (asprintf(&full, "%s: %s", file, msg) < 0) {
		full = NULL;
	}
	grown = realloc(*list, (*n + 1) * sizeof(char *));
	if (!grown) {
		free(full);
		/* Out of memory: still count the error so nothing fails open. */
		if (error)
			d->nerrors = d->nerrors ? d->nerrors : 1;
		return;
	}
	*list = grown;
	(*list)[(*n)++] = full ? full : strdup("out of memory");
}

void cfg_err(struct ctx *c, int line, const char *fmt, ...)
{
	va_list ap;

	if (!c->d)
		return;
	va_start(ap, fmt);
	diag_vadd(c->d, true, c->file, line, fmt, ap);
	va_end(ap);
}

void cfg_warn(struct ctx *c, int line, const char *fmt, ...)
{
	va_list ap;

	if (!c->d)
		return;
	va_start(ap, fmt);
	diag_vadd(c->d, false, c->file, line, fmt, ap);
	va_end(ap);
}

static void diag_file(struct nsi_diag *d, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void diag_file(struct nsi_diag *d, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_vadd(d, true, file, line, fmt, ap);
	va_end(ap);
}

/* ---- typed getters: each reports "KEY: expected ..." at the setting's line ---- */

int cfg_line(const config_setting_t *s)
{
	return (int)config_setting_source_line(s);
}

int cfg_get_bool(struct ctx *c, const config_setting_t *s, const char *key, bool *out)
{
	if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
		cfg_err(c, cfg_line(s), "%s: expected a boolean (true or false)", key);
		return -EINVAL;
	}
	*out = config_setting_get_bool(s);
	return 0;
}

/*
 * An integer setting. libconfig 1.5 stores a literal without an L suffix in
 * an int, so 4294968296 silently becomes 1000: the value is checked against
 * the literal in the file and a mismatch is an error, never a wrapped value.
 */
int cfg_get_int(struct ctx *c, const config_setting_t *s, const char *key, long long *out)
{
	char lit[32];
	long long v, src;
	int r;

	if (config_setting_type(s) == CONFIG_TYPE_INT)
		v = config_setting_get_int(s);
	else if (config_setting_type(s) == CONFIG_TYPE_INT64)
		v = config_setting_get_int64(s);
	else {
		cfg_err(c, cfg_line(s), "%s: expected an integer", key);
		return -EINVAL;
	}
	/* Resolving (no text) applies settings the load has already checked. */
	if (!c->text) {
		*out = v;
		return 0;
	}
	r = nsi_literal_find(&c->scan, config_setting_name(s), cfg_line(s), &src, lit, sizeof(lit));
	if (r == -ENOENT) {
		cfg_err(c, cfg_line(s), "%s: its integer literal cannot be read back from the file",
			key);
		return r;
	}
	if (r < 0) {
		cfg_err(c, cfg_line(s), "%s: %s is out of range", key, lit);
		return r;
	}
	if (src != v) {
		cfg_err(c, cfg_line(s), "%s: %s does not fit in an integer (write %sL)", key, lit,
			lit);
		return -ERANGE;
	}
	*out = v;
	return 0;
}

int cfg_get_string(struct ctx *c, const config_setting_t *s, const char *key, const char **out)
{
	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		cfg_err(c, cfg_line(s), "%s: expected a string", key);
		return -EINVAL;
	}
	*out = config_setting_get_string(s);
	return 0;
}

int cfg_get_group(struct ctx *c, const config_setting_t *s, const char *key)
{
	if (config_setting_type(s) != CONFIG_TYPE_GROUP) {
		cfg_err(c, cfg_line(s), "%s: expected a group { ... }", key);
		return -EINVAL;
	}
	return 0;
}

/* An array or list of strings, at most MAX entries. */
int cfg_get_strings(struct ctx *c, const config_setting_t *s, const char *key, size_t max)
{
	int n;

	if (config_setting_type(s) != CONFIG_TYPE_ARRAY &&
	    config_setting_type(s) != CONFIG_TYPE_LIST) {
		cfg_err(c, cfg_line(s), "%s: expected an array of strings [ ... ]", key);
		return -EINVAL;
	}
	n = config_setting_length(s);
	if ((size_t)n > max) {
		cfg_err(c, cfg_line(s), "%s: more than %zu entries", key, max);
		return -EINVAL;
	}
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);

		if (config_setting_type(e) != CONFIG_TYPE_STRING) {
			cfg_err(c, cfg_line(e) ? cfg_line(e) : cfg_line(s),
				"%s: expected an array of strings [ ... ]", key);
			return -EINVAL;
		}
	}
	return n;
}

int cfg_elem_line(const config_setting_t *arr, int i)
{
	const config_setting_t *e = config_setting_get_elem(arr, (unsigned)i);
	int l = e ? cfg_line(e) : 0;

	return l ? l : cfg_line(arr);
}

int cfg_get_enum(struct ctx *c, const config_setting_t *s, const char *key,
		 const char *const *names, size_t n, const bool *supported, int *out)
{
	const char *v;
	char expected[256] = "";

	if (cfg_get_string(c, s, key, &v) < 0)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(v, names[i]) != 0)
			continue;
		if (supported && !supported[i]) {
			cfg_err(c, cfg_line(s), "%s: \"%s\" is not supported by this build", key,
				v);
			return -EOPNOTSUPP;
		}
		*out = (int)i;
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(expected);

		snprintf(expected + l, sizeof(expected) - l, "%s%s",
			 i == 0	      ? ""
			 : i + 1 == n ? " or "
				      : ", ",
			 names[i]);
	}
	cfg_err(c, cfg_line(s), "%s: invalid value \"%s\" (expected %s)", key, v, expected);
	return -EINVAL;
}

int cfg_get_size(struct ctx *c, const config_setting_t *s, const char *key, uint64_t *out)
{
	const char *v;
	uint64_t sz;

	if (cfg_get_string(c, s, key, &v) < 0)
		return -EINVAL;
	if (nsi_parse_size(v, &sz) < 0 || sz < (1ull << 20) || sz > (1ull << 40)) {
		cfg_err(c, cfg_line(s),
			"%s: invalid size \"%s\" (expected 1M to 1024G, e.g. \"256M\")", key, v);
		return -EINVAL;
	}
	*out = sz;
	return 0;
}

void cfg_unknown_key(struct ctx *c, const config_setting_t *s, const char *key)
{
	cfg_err(c, cfg_line(s), "%s: unknown key", key);
}

static void load_policies(struct nsi_config *cf, struct ctx *c, const config_setting_t *list)
{
	if (config_setting_type(list) != CONFIG_TYPE_LIST) {
		cfg_err(c, cfg_line(list), "policies: expected a list ( { ... }, ... )");
		return;
	}
	for (int i = 0; i < config_setting_length(list); i++) {
		const config_setting_t *p = config_setting_get_elem(list, (unsigned)i);
		const config_setting_t *name, *match;
		struct nsi_settings scratch;
		const char *n = NULL;

		if (config_setting_type(p) != CONFIG_TYPE_GROUP) {
			cfg_err(c, cfg_line(p), "policies: entry %d: expected a group { ... }",
				i + 1);
			continue;
		}
		name = config_setting_get_member(p, "name");
		match = config_setting_get_member(p, "match");
		if (!name) {
			cfg_err(c, cfg_line(p), "policies: entry %d: missing name", i + 1);
		} else if (cfg_get_string(c, name, "name", &n) == 0) {
			if (!cfg_name_valid(n, NSI_NAME_LEN - 1, "_-")) {
				cfg_err(c, cfg_line(name),
					"name: \"%s\" is not valid (1 to 32 letters, digits, '_' "
					"or '-')",
					n);
				n = NULL;
			}
			for (size_t j = 0; n && j < cf->npol; j++)
				if (!strcmp(cf->pol[j].name, n)) {
					cfg_err(c, cfg_line(name),
						"name: \"%s\" already defined at %s:%d", n,
						cf->pol[j].file, cf->pol[j].line);
					n = NULL;
				}
		}
		if (match && cfg_get_group(c, match, "match") == 0)
			cfg_check_match(c, match);
		nsi_settings_builtin(&scratch);
		cfg_apply_settings(c, p, &scratch, true);
		if (!n)
			continue;
		if (cf->npol >= NSI_MAX_POLICIES) {
			cfg_err(c, cfg_line(p), "more than %d policies", NSI_MAX_POLICIES);
			return;
		}
		cf->pol[cf->npol++] = (struct nsi_policy_ref){
			.name = n,
			.file = c->file,
			.line = cfg_line(p),
			.group = p,
			.match = match,
		};
	}
}

/* libconfig 1.5 cannot police @include, so a line that starts with it is refused before parsing. */
static bool reject_includes(struct nsi_diag *d, const char *file, const char *text)
{
	bool bad = false;
	int line = 1;

	for (const char *p = text; *p; line++) {
		const char *q = p;

		while (*q == ' ' || *q == '\t')
			q++;
		if (!strncmp(q, "@include", 8)) {
			diag_file(d, file, line, "@include is not allowed");
			bad = true;
		}
		p = strchr(p, '\n');
		if (!p)
			break;
		p++;
	}
	return bad;
}

/* The file NAME of DIRFD, known as PATH; or, when TEXT is not NULL, that text. */
static int parse_source(struct nsi_config *cf, struct nsi_diag *d, int dirfd, const char *name,
			const char *path, const char *text, bool dropin)
{
	struct nsi_source *src = &cf->src[cf->nsrc];
	char why[512];
	struct ctx c;
	int r;

	memset(src, 0, sizeof(*src));
	src->path = strdup(path);
	if (!src->path)
		return -ENOMEM;
	cf->nsrc++;
	config_init(&src->cfg);
	src->parsed = true;
	if (text) {
		src->text = strdup(text);
		if (!src->text)
			return -ENOMEM;
	} else {
		r = nsi_read_trusted_file(dirfd, name, NSI_CONFIG_MAX_SIZE, &src->text, why,
					  sizeof(why));
		if (r == -ENOMEM)
			return r;
		if (r < 0) {
			diag_file(d, src->path, 0, "%s", why);
			return 0;
		}
	}
	if (reject_includes(d, src->path, src->text))
		return 0;
	/* Defence in depth: includes resolve nowhere. */
	config_set_include_dir(&src->cfg, "/nonexistent/nsisolate-no-include");
	if (config_read_string(&src->cfg, src->text) != CONFIG_TRUE) {
		diag_file(d, src->path, config_error_line(&src->cfg), "syntax error: %s",
			  config_error_text(&src->cfg));
		return 0;
	}

	c = (struct ctx){ .d = d, .file = src->path, .text = src->text };
	nsi_literal_scan_init(&c.scan, src->text);
	{
		const config_setting_t *root = config_root_setting(&src->cfg);
		bool have_version = false;

		for (int i = 0; i < config_setting_length(root); i++) {
			const config_setting_t *e = config_setting_get_elem(root, (unsigned)i);
			const char *key = config_setting_name(e);

			if (!strcmp(key, "policies")) {
				load_policies(cf, &c, e);
			} else if (dropin) {
				cfg_err(&c, cfg_line(e),
					"%s: only 'policies' is allowed in a drop-in", key);
			} else if (!strcmp(key, "version")) {
				long long v = 0;

				have_version = true;
				if (config_setting_type(e) != CONFIG_TYPE_INT)
					cfg_err(&c, cfg_line(e), "version: must be 1");
				else if (cfg_get_int(&c, e, key, &v) == 0 && v != 1)
					cfg_err(&c, cfg_line(e), "version: must be 1");
			} else if (!strcmp(key, "defaults")) {
				struct nsi_settings scratch;

				if (cfg_get_group(&c, e, key) < 0)
					continue;
				nsi_settings_builtin(&scratch);
				cfg_apply_settings(&c, e, &scratch, false);
				cf->defaults = e;
				cf->defaults_file = src->path;
			} else {
				cfg_unknown_key(&c, e, key);
			}
		}
		if (!dropin && !have_version)
			diag_file(d, src->path, 0, "version: missing (add \"version = 1;\")");
	}
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool dropin_name_valid(const char *n)
{
	size_t len = strlen(n);

	if (len <= 5 || strcmp(n + len - 5, ".conf"))
		return false;
	for (size_t i = 0; i < len - 5; i++)
		if (!isalnum((unsigned char)n[i]) && n[i] != '_' && n[i] != '-')
			return false;
	return true;
}

static int load_dropins(struct nsi_config *cf, struct nsi_diag *d, const char *dirpath)
{
	_cleanup_close_ int dfd = -1;
	char *names[NSI_MAX_DROPINS];
	size_t n = 0;
	char why[512];
	DIR *dir;
	struct dirent *de;
	struct stat st;
	int r = 0;

	dfd = nsi_walk_root(dirpath, NSI_WALK_DIR, why, sizeof(why));
	if (dfd == -ENOENT)
		return 0;
	if (dfd < 0) {
		diag_file(d, dirpath, 0, "%s", why);
		return dfd == -ENOMEM ? -ENOMEM : 0;
	}
	if (fstat(dfd, &st) < 0)
		return -errno;
	if (!nsi_stat_trusted(&st)) {
		diag_file(d, dirpath, 0, "not owned by root or writable by group or others");
		return 0;
	}
	dir = nsi_opendir_at(dfd);
	if (!dir)
		return -errno;
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		if (!dropin_name_valid(de->d_name))
			continue;
		if (n >= NSI_MAX_DROPINS) {
			diag_file(d, dirpath, 0, "more than %d drop-in files", NSI_MAX_DROPINS);
			break;
		}
		names[n] = strdup(de->d_name);
		if (!names[n]) {
			r = -ENOMEM;
			break;
		}
		n++;
	}
	closedir(dir);
	qsort(names, n, sizeof(char *), cmp_str);
	for (size_t i = 0; i < n; i++) {
		char path[PATH_MAX];
		int len = snprintf(path, sizeof(path), "%s/%s", dirpath, names[i]);

		if (r == 0 && (len < 0 || (size_t)len >= sizeof(path)))
			diag_file(d, dirpath, 0, "%s: path too long", names[i]);
		else if (r == 0)
			r = parse_source(cf, d, dfd, names[i], path, NULL, true);
		free(names[i]);
	}
	return r;
}

int nsi_config_load(const char *path, struct nsi_config **ret, struct nsi_diag *d)
{
	struct nsi_config *cf;
	_cleanup_free_ char *parent = NULL;
	_cleanup_close_ int pfd = -1;
	const char *base;
	char why[512];
	int r;

	cf = calloc(1, sizeof(*cf));
	if (!cf)
		return -ENOMEM;
	r = nsi_path_split(path, &parent, &base);
	if (r < 0 || !nsi_path_is_normal(path)) {
		diag_file(d, path, 0, "not a normalized absolute path");
		*ret = cf;
		return 0;
	}
	pfd = nsi_walk_root(parent, NSI_WALK_DIR, why, sizeof(why));
	if (pfd == -ENOMEM) {
		nsi_config_free(cf);
		return -ENOMEM;
	}
	if (pfd < 0) {
		diag_file(d, path, 0, "%s", why);
		*ret = cf;
		return 0;
	}
	r = parse_source(cf, d, pfd, base, path, NULL, false);
	if (r == 0 && d->nerrors == 0) {
		char dropdir[PATH_MAX];
		size_t len = strlen(path);

		if (len > 5 && !strcmp(path + len - 5, ".conf"))
			len -= 5;
		snprintf(dropdir, sizeof(dropdir), "%.*s.d", (int)len, path);
		r = load_dropins(cf, d, dropdir);
	}
	if (r < 0) {
		nsi_config_free(cf);
		return r;
	}
	*ret = cf;
	return 0;
}

int nsi_config_parse(const char *name, const char *text, struct nsi_config **ret,
		     struct nsi_diag *d)
{
	struct nsi_config *cf = calloc(1, sizeof(*cf));
	int r;

	if (!cf)
		return -ENOMEM;
	r = parse_source(cf, d, -1, name, name, text, false);
	if (r < 0) {
		nsi_config_free(cf);
		return r;
	}
	*ret = cf;
	return 0;
}

void nsi_config_free(struct nsi_config *cf)
{
	if (!cf)
		return;
	for (size_t i = 0; i < cf->nsrc; i++) {
		if (cf->src[i].parsed)
			config_destroy(&cf->src[i].cfg);
		free(cf->src[i].text);
		free(cf->src[i].path);
	}
	free(cf);
}
