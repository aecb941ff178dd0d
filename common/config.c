// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The policy file: nsisolate.conf(5). Files are opened through fds and checked
 * before a byte is parsed; the libconfig tree stays in memory so that a policy
 * can be applied over the defaults leaf by leaf with the same code that
 * validated it.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libconfig.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "config.h"
#include "fsutil.h"
#include "lease.h"

struct nsi_source {
	char *path;
	char *text;
	config_t cfg;
	bool parsed;
};

struct nsi_policy_ref {
	const char *name;
	const char *file;
	int line;
	const config_setting_t *group;
	const config_setting_t *match;
};

struct nsi_config {
	struct nsi_source src[1 + NSI_MAX_DROPINS];
	size_t nsrc;
	const config_setting_t *defaults;
	const char *defaults_file;
	struct nsi_policy_ref pol[NSI_MAX_POLICIES];
	size_t npol;
};

/* Where messages go while applying a group: NULL diag = resolve time, silent. */
struct ctx {
	struct nsi_diag *d;
	const char *file;
	const char *text; /* the file's text, to check integer literals */
	const char *scan; /* where the last one was found (a token start), and its line */
	int scan_line;
};

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

static void diag_err(struct ctx *c, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void diag_err(struct ctx *c, int line, const char *fmt, ...)
{
	va_list ap;

	if (!c->d)
		return;
	va_start(ap, fmt);
	diag_vadd(c->d, true, c->file, line, fmt, ap);
	va_end(ap);
}

static void diag_warn(struct ctx *c, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void diag_warn(struct ctx *c, int line, const char *fmt, ...)
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

/* ---- small parsers ---- */

int nsi_parse_size(const char *s, uint64_t *ret)
{
	uint64_t v = 0, mult = 1;
	const char *p = s;

	if (!isdigit((unsigned char)*p))
		return -EINVAL;
	for (; isdigit((unsigned char)*p); p++) {
		if (v > (UINT64_MAX - 9) / 10)
			return -ERANGE;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	switch (*p) {
	case '\0':
		break;
	case 'k':
	case 'K':
		mult = 1ull << 10;
		p++;
		break;
	case 'm':
	case 'M':
		mult = 1ull << 20;
		p++;
		break;
	case 'g':
	case 'G':
		mult = 1ull << 30;
		p++;
		break;
	default:
		return -EINVAL;
	}
	if (*p)
		return -EINVAL;
	if (v > UINT64_MAX / mult)
		return -ERANGE;
	*ret = v * mult;
	return 0;
}

bool nsi_hostname_valid(const char *h)
{
	size_t len = strlen(h), label = 0;

	if (len == 0 || len > 63)
		return false;
	for (size_t i = 0; i < len; i++) {
		char ch = h[i];

		if (ch == '.') {
			if (label == 0 || h[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)ch) && ch != '-')
			return false;
		if (ch == '-' && label == 0)
			return false;
		label++;
	}
	return label > 0 && h[len - 1] != '-';
}

int nsi_hostname_expand(const char *tmpl, const char *user, char *out, size_t outlen)
{
	size_t o = 0;

	for (const char *p = tmpl; *p; p++) {
		const char *add = NULL;
		char one[2] = { *p, '\0' };

		if (p[0] == '%' && p[1] == 'u') {
			add = user;
			p++;
		} else if (p[0] == '%') {
			return -EINVAL;
		} else {
			add = one;
		}
		for (; *add; add++) {
			if (o + 1 >= outlen)
				return -ENAMETOOLONG;
			out[o++] = *add;
		}
	}
	if (outlen == 0)
		return -ENAMETOOLONG;
	out[o] = '\0';
	return 0;
}

static bool name_valid(const char *s, size_t max, const char *extra)
{
	size_t len = strlen(s);

	if (len == 0 || len > max)
		return false;
	for (const char *p = s; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr(extra, *p))
			return false;
	return true;
}

/*
 * NSS lookups through the reentrant calls only: the loader runs inside PAM
 * applications and the helper, and getpwnam()/getgrnam()/getpwuid()/getgrgid()
 * would overwrite the static result a caller may still hold (even a lookup that
 * finds nothing leaves the last entry parsed there). An NSS error counts as
 * not found.
 */
#define NSS_BUF_MAX (1u << 20)

static bool nss_user(const char *name, uid_t uid, char *nameout, size_t namelen)
{
	struct passwd pw, *res = NULL;
	char *buf = NULL;
	size_t len = 1024;
	int r = ERANGE;

	while (r == ERANGE && len <= NSS_BUF_MAX) {
		char *g = realloc(buf, len *= 2);

		if (!g)
			break;
		buf = g;
		res = NULL;
		r = name ? getpwnam_r(name, &pw, buf, len, &res)
			 : getpwuid_r(uid, &pw, buf, len, &res);
	}
	if (res && nameout)
		snprintf(nameout, namelen, "%s", pw.pw_name);
	free(buf);
	return res != NULL;
}

static bool nss_group(const char *name, gid_t gid, gid_t *gidout, char *nameout, size_t namelen)
{
	struct group gr, *res = NULL;
	char *buf = NULL;
	size_t len = 1024;
	int r = ERANGE;

	while (r == ERANGE && len <= NSS_BUF_MAX) {
		char *g = realloc(buf, len *= 2);

		if (!g)
			break;
		buf = g;
		res = NULL;
		r = name ? getgrnam_r(name, &gr, buf, len, &res)
			 : getgrgid_r(gid, &gr, buf, len, &res);
	}
	if (res && gidout)
		*gidout = gr.gr_gid;
	if (res && nameout)
		snprintf(nameout, namelen, "%s", gr.gr_name);
	free(buf);
	return res != NULL;
}

const char *nsi_tmp_method_name(enum nsi_tmp_method m)
{
	switch (m) {
	case NSI_TMP_TMPFS:
		return "tmpfs";
	case NSI_TMP_INSTANCE:
		return "instance";
	case NSI_TMP_SHARED:
		return "shared";
	}
	return "?";
}

const char *nsi_home_mode_name(enum nsi_home_mode m)
{
	switch (m) {
	case NSI_HOME_SHARED:
		return "shared";
	case NSI_HOME_PRIVATE:
		return "private";
	case NSI_HOME_EPHEMERAL:
		return "ephemeral";
	}
	return "?";
}

const char *nsi_net_mode_name(enum nsi_net_mode m)
{
	switch (m) {
	case NSI_NET_HOST:
		return "host";
	case NSI_NET_NONE:
		return "none";
	case NSI_NET_VETH:
		return "veth";
	}
	return "?";
}

/* ---- typed getters: each reports "KEY: expected ..." at the setting's line ---- */

static int line_of(const config_setting_t *s)
{
	return (int)config_setting_source_line(s);
}

static int get_bool(struct ctx *c, const config_setting_t *s, const char *key, bool *out)
{
	if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
		diag_err(c, line_of(s), "%s: expected a boolean (true or false)", key);
		return -EINVAL;
	}
	*out = config_setting_get_bool(s);
	return 0;
}

static bool is_ident_char(char ch)
{
	return isalnum((unsigned char)ch) || ch == '_' || ch == '-' || ch == '*';
}

/* Past blanks, newlines and comments (#, //, C style) from P, counting newlines in *LINE. */
static const char *skip_blank(const char *p, int *line)
{
	const char *e;

	for (;;) {
		if (*p == '\n')
			++*line;
		if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') {
			p++;
			continue;
		}
		if (*p == '#' || (p[0] == '/' && p[1] == '/')) {
			p += strcspn(p, "\n");
			continue;
		}
		if (p[0] != '/' || p[1] != '*')
			return p;
		e = strstr(p + 2, "*/");
		e = e ? e + 2 : p + strlen(p);
		for (; p < e; p++)
			*line += *p == '\n';
	}
}

/*
 * The integer literal written for setting S, read again from the file's text:
 * lexed from the top (so that strings and comments are known as such), the
 * first NAME on the line libconfig reports for it (its name's) followed by =
 * or :, and what follows. Settings come in file order, so the scan resumes
 * where the previous one was found: one pass over the file, not one per
 * integer. Returns 0 with *V set, -ERANGE when the literal exceeds 64 bits,
 * -ENOENT when no literal is found there.
 */
static int source_literal(struct ctx *c, const config_setting_t *s, long long *v, char *lit,
			  size_t litlen)
{
	const char *name = config_setting_name(s), *p = c->text, *q;
	size_t nlen = strlen(name), len;
	int line = 1, want = line_of(s), qline;
	char *end;

	if (c->scan && c->scan_line <= want) {
		p = c->scan;
		line = c->scan_line;
	}
	while (*(p = skip_blank(p, &line)) && line <= want) {
		if (*p == '"') { /* a string, with its escapes */
			for (p++; *p && *p != '"'; p++) {
				if (*p == '\\' && p[1])
					p++;
				line += *p == '\n';
			}
			p += *p == '"';
			continue;
		}
		len = 0;
		while (is_ident_char(p[len]))
			len++;
		if (len == 0) {
			p++;
			continue;
		}
		qline = line;
		q = skip_blank(p + len, &qline);
		if (line != want || len != nlen || strncmp(p, name, nlen) != 0 ||
		    (*q != '=' && *q != ':')) {
			p += len;
			continue;
		}
		c->scan = p;
		c->scan_line = line;
		q = skip_blank(q + 1, &qline);
		snprintf(lit, litlen, "%.*s", (int)strspn(q, "+-0123456789abcdefABCDEFxX"), q);
		if (*q != '-' && *q != '+' && !isdigit((unsigned char)*q))
			return -ENOENT;
		errno = 0;
		/* As libconfig reads them: decimal (a leading 0 is not octal) or 0x hex. */
		*v = strtoll(q, &end, strncasecmp(q + (*q == '-' || *q == '+'), "0x", 2) ? 10 : 16);
		if (end == q)
			return -ENOENT;
		return errno ? -ERANGE : 0;
	}
	return -ENOENT;
}

/*
 * An integer setting. libconfig 1.5 stores a literal without an L suffix in
 * an int, so 4294968296 silently becomes 1000: the value is checked against
 * the literal in the file and a mismatch is an error, never a wrapped value.
 */
static int get_int(struct ctx *c, const config_setting_t *s, const char *key, long long *out)
{
	char lit[32];
	long long v, src;
	int r;

	if (config_setting_type(s) == CONFIG_TYPE_INT)
		v = config_setting_get_int(s);
	else if (config_setting_type(s) == CONFIG_TYPE_INT64)
		v = config_setting_get_int64(s);
	else {
		diag_err(c, line_of(s), "%s: expected an integer", key);
		return -EINVAL;
	}
	/* Resolving (no text) applies settings the load has already checked. */
	if (!c->text) {
		*out = v;
		return 0;
	}
	lit[0] = '\0';
	r = source_literal(c, s, &src, lit, sizeof(lit));
	if (r == -ENOENT) {
		diag_err(c, line_of(s), "%s: its integer literal cannot be read back from the file",
			 key);
		return r;
	}
	if (r < 0) {
		diag_err(c, line_of(s), "%s: %s is out of range", key, lit);
		return r;
	}
	if (src != v) {
		diag_err(c, line_of(s), "%s: %s does not fit in an integer (write %sL)", key, lit,
			 lit);
		return -ERANGE;
	}
	*out = v;
	return 0;
}

static int get_string(struct ctx *c, const config_setting_t *s, const char *key, const char **out)
{
	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		diag_err(c, line_of(s), "%s: expected a string", key);
		return -EINVAL;
	}
	*out = config_setting_get_string(s);
	return 0;
}

static int get_group(struct ctx *c, const config_setting_t *s, const char *key)
{
	if (config_setting_type(s) != CONFIG_TYPE_GROUP) {
		diag_err(c, line_of(s), "%s: expected a group { ... }", key);
		return -EINVAL;
	}
	return 0;
}

/* An array or list of strings, at most MAX entries. */
static int get_strings(struct ctx *c, const config_setting_t *s, const char *key, size_t max)
{
	int n;

	if (config_setting_type(s) != CONFIG_TYPE_ARRAY &&
	    config_setting_type(s) != CONFIG_TYPE_LIST) {
		diag_err(c, line_of(s), "%s: expected an array of strings [ ... ]", key);
		return -EINVAL;
	}
	n = config_setting_length(s);
	if ((size_t)n > max) {
		diag_err(c, line_of(s), "%s: more than %zu entries", key, max);
		return -EINVAL;
	}
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);

		if (config_setting_type(e) != CONFIG_TYPE_STRING) {
			diag_err(c, line_of(e) ? line_of(e) : line_of(s),
				 "%s: expected an array of strings [ ... ]", key);
			return -EINVAL;
		}
	}
	return n;
}

static int elem_line(const config_setting_t *arr, int i)
{
	const config_setting_t *e = config_setting_get_elem(arr, (unsigned)i);
	int l = e ? line_of(e) : 0;

	return l ? l : line_of(arr);
}

static int get_enum(struct ctx *c, const config_setting_t *s, const char *key,
		    const char *const *names, size_t n, const bool *supported, int *out)
{
	const char *v;
	char expected[256] = "";

	if (get_string(c, s, key, &v) < 0)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(v, names[i]) != 0)
			continue;
		if (supported && !supported[i]) {
			diag_err(c, line_of(s), "%s: \"%s\" is not supported by this build", key,
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
	diag_err(c, line_of(s), "%s: invalid value \"%s\" (expected %s)", key, v, expected);
	return -EINVAL;
}

static void unknown_key(struct ctx *c, const config_setting_t *s, const char *key)
{
	diag_err(c, line_of(s), "%s: unknown key", key);
}

int nsi_expand_path(const char *tmpl, const char *home, const char *user, char *out, size_t outlen)
{
	size_t o = 0;

	for (const char *p = tmpl; *p;) {
		const char *add;
		size_t alen;

		if (!strncmp(p, "$HOME", 5)) {
			/* Only as the first component: "$HOME/x", and only an absolute home. */
			if (p != tmpl || (p[5] && p[5] != '/') || home[0] != '/')
				return -EINVAL;
			add = home;
			alen = strlen(home);
			p += 5;
		} else if (!strncmp(p, "$USER", 5)) {
			add = user;
			alen = strlen(user);
			p += 5;
		} else if (*p == '$') {
			return -EINVAL;
		} else {
			add = p;
			alen = 1;
			p++;
		}
		if (o + alen >= outlen)
			return -ENAMETOOLONG;
		memcpy(out + o, add, alen);
		o += alen;
	}
	if (outlen == 0)
		return -ENAMETOOLONG;
	out[o] = '\0';
	return nsi_path_is_normal(out) && strcmp(out, "/") != 0 ? 0 : -EINVAL;
}

/* A path template is valid when it expands for a plausible user to a normal path. */
static bool path_template_ok(const char *t)
{
	char probe[NSI_PATH_LEN * 2];

	return strlen(t) < NSI_PATH_LEN && (t[0] == '/' || !strncmp(t, "$HOME", 5)) &&
	       nsi_expand_path(t, "/home/u", "u", probe, sizeof(probe)) == 0;
}

/* ---- the settings schema ---- */

void nsi_settings_builtin(struct nsi_settings *s)
{
	memset(s, 0, sizeof(*s));
	s->isolate = true;
	s->tmp.ndirs = 3;
	strcpy(s->tmp.dirs[0], "/tmp");
	strcpy(s->tmp.dirs[1], "/var/tmp");
	strcpy(s->tmp.dirs[2], "/dev/shm");
	s->tmp.method = NSI_TMP_TMPFS;
	s->tmp.size = 256ull << 20;
	s->home.mode = NSI_HOME_SHARED;
	strcpy(s->home.skel, "/etc/skel");
	s->home.size = 256ull << 20;
	s->network.mode = NSI_NET_HOST;
	strcpy(s->network.subnet, NSI_DEFAULT_SUBNET);
	s->pid = false;
	s->ipc = true;
	s->userns.enable = true;
	s->userns.nested = false;
	s->userns.root_id = NSI_DEFAULT_ROOT_ID;
	s->on_last_logout = NSI_LAST_KILL;
	s->on_error = NSI_ONERR_DENY;
}

#define KEYBUF 96
static void keyname(char *buf, const char *prefix, const char *name)
{
	snprintf(buf, KEYBUF, "%s%s%s", prefix, *prefix ? "." : "", name);
}

static void apply_tmp(struct ctx *c, const config_setting_t *g, struct nsi_settings *s)
{
	static const char *const methods[] = { "tmpfs", "instance", "shared" };

	for (int i = 0; i < config_setting_length(g); i++) {
		const config_setting_t *e = config_setting_get_elem(g, (unsigned)i);
		const char *name = config_setting_name(e);
		char key[KEYBUF];

		keyname(key, "tmp", name);
		if (!strcmp(name, "dirs")) {
			char dirs[NSI_MAX_DIRS][NSI_PATH_LEN] = { { 0 } };
			int n = get_strings(c, e, key, NSI_MAX_DIRS);
			bool ok = n >= 0;

			for (int j = 0; j < n; j++) {
				const char *d = config_setting_get_string_elem(e, j);

				if (strcmp(d, "/") != 0 && !path_template_ok(d)) {
					diag_err(c, elem_line(e, j),
						 "%s: \"%s\" is not a normalized absolute path",
						 key, d);
					ok = false;
					continue;
				}
				if (!strcmp(d, "/") || !strcmp(d, "/proc") ||
				    !strncmp(d, "/proc/", 6) || !strcmp(d, "/run/nsisolate") ||
				    !strncmp(d, "/run/nsisolate/", 15)) {
					diag_err(c, elem_line(e, j),
						 "%s: \"%s\" cannot be polyinstantiated", key, d);
					ok = false;
					continue;
				}
				for (int k = 0; k < j; k++)
					if (!strcmp(dirs[k], d)) {
						diag_err(c, elem_line(e, j),
							 "%s: \"%s\" listed twice", key, d);
						ok = false;
					}
				snprintf(dirs[j], NSI_PATH_LEN, "%s", d);
			}
			if (ok) {
				memset(s->tmp.dirs, 0, sizeof(s->tmp.dirs));
				memcpy(s->tmp.dirs, dirs, (size_t)n * NSI_PATH_LEN);
				s->tmp.ndirs = (unsigned)n;
			}
		} else if (!strcmp(name, "method")) {
			int m;

			if (get_enum(c, e, key, methods, 3, NULL, &m) == 0)
				s->tmp.method = (enum nsi_tmp_method)m;
		} else if (!strcmp(name, "size")) {
			const char *v;
			uint64_t sz;

			if (get_string(c, e, key, &v) < 0)
				continue;
			if (nsi_parse_size(v, &sz) < 0 || sz < (1ull << 20) || sz > (1ull << 40)) {
				diag_err(c, line_of(e),
					 "%s: invalid size \"%s\" (expected 1M to 1024G, e.g. "
					 "\"256M\")",
					 key, v);
				continue;
			}
			s->tmp.size = sz;
		} else {
			unknown_key(c, e, key);
		}
	}
}

static void apply_home(struct ctx *c, const config_setting_t *g, struct nsi_settings *s)
{
	static const char *const modes[] = { "shared", "private", "ephemeral" };

	for (int i = 0; i < config_setting_length(g); i++) {
		const config_setting_t *e = config_setting_get_elem(g, (unsigned)i);
		const char *name = config_setting_name(e);
		char key[KEYBUF];
		const char *v;
		uint64_t sz;
		int m;

		keyname(key, "home", name);
		if (!strcmp(name, "mode")) {
			if (get_enum(c, e, key, modes, 3, NULL, &m) == 0)
				s->home.mode = (enum nsi_home_mode)m;
		} else if (!strcmp(name, "skel")) {
			if (get_string(c, e, key, &v) < 0)
				continue;
			if (*v && (!nsi_path_is_normal(v) || strlen(v) >= NSI_PATH_LEN)) {
				diag_err(c, line_of(e),
					 "%s: \"%s\" is not a normalized absolute path", key, v);
				continue;
			}
			if (strchr(v, '$')) {
				diag_err(c, line_of(e),
					 "%s: \"%s\": no $ expansion in the skeleton path", key, v);
				continue;
			}
			memset(s->home.skel, 0, sizeof(s->home.skel));
			snprintf(s->home.skel, sizeof(s->home.skel), "%s", v);
		} else if (!strcmp(name, "size")) {
			if (get_string(c, e, key, &v) < 0)
				continue;
			if (nsi_parse_size(v, &sz) < 0 || sz < (1ull << 20) || sz > (1ull << 40)) {
				diag_err(c, line_of(e),
					 "%s: invalid size \"%s\" (expected 1M to 1024G, e.g. "
					 "\"256M\")",
					 key, v);
				continue;
			}
			s->home.size = sz;
		} else {
			unknown_key(c, e, key);
		}
	}
}

static void apply_network(struct ctx *c, const config_setting_t *g, struct nsi_settings *s)
{
	static const char *const modes[] = { "host", "none", "veth" };

	for (int i = 0; i < config_setting_length(g); i++) {
		const config_setting_t *e = config_setting_get_elem(g, (unsigned)i);
		const char *name = config_setting_name(e);
		char key[KEYBUF];
		int m;

		keyname(key, "network", name);
		if (!strcmp(name, "mode")) {
			if (get_enum(c, e, key, modes, 3, NULL, &m) == 0)
				s->network.mode = (enum nsi_net_mode)m;
		} else if (!strcmp(name, "subnet")) {
			struct nsi_cidr cidr;
			char why[256];
			const char *v;

			if (get_string(c, e, key, &v) < 0)
				continue;
			if (nsi_cidr_parse(v, &cidr, why, sizeof(why)) < 0) {
				diag_err(c, line_of(e), "%s: %s", key, why);
				continue;
			}
			/* Stored canonical: the same pool always hashes the same. */
			memset(s->network.subnet, 0, sizeof(s->network.subnet));
			nsi_cidr_format(cidr.net, cidr.prefix, s->network.subnet,
					sizeof(s->network.subnet));
		} else if (!strcmp(name, "host_access")) {
			(void)get_bool(c, e, key, &s->network.host_access);
		} else if (!strcmp(name, "nat")) {
			(void)get_bool(c, e, key, &s->network.nat);
		} else if (!strcmp(name, "dns")) {
			char dns[NSI_MAX_DNS][sizeof(s->network.dns[0])] = { { 0 } };
			int n = get_strings(c, e, key, NSI_MAX_DNS);
			bool ok = n >= 0;

			for (int j = 0; j < n; j++) {
				const char *d = config_setting_get_string_elem(e, j);

				if (nsi_dns_parse(d, dns[j], sizeof(dns[j])) < 0) {
					diag_err(c, elem_line(e, j),
						 "%s: \"%s\" is not an IPv4 or IPv6 address", key,
						 d);
					ok = false;
					continue;
				}
				for (int k = 0; k < j; k++)
					if (!strcmp(dns[k], dns[j])) {
						diag_err(c, elem_line(e, j),
							 "%s: \"%s\" listed twice", key, d);
						ok = false;
					}
			}
			if (ok) {
				memcpy(s->network.dns, dns, sizeof(dns));
				s->network.ndns = (unsigned)n;
			}
		} else {
			unknown_key(c, e, key);
		}
	}
}

static void apply_userns(struct ctx *c, const config_setting_t *g, struct nsi_settings *s)
{
	for (int i = 0; i < config_setting_length(g); i++) {
		const config_setting_t *e = config_setting_get_elem(g, (unsigned)i);
		const char *name = config_setting_name(e);
		char key[KEYBUF];

		keyname(key, "userns", name);
		if (!strcmp(name, "enable")) {
			(void)get_bool(c, e, key, &s->userns.enable);
		} else if (!strcmp(name, "nested")) {
			(void)get_bool(c, e, key, &s->userns.nested);
		} else if (!strcmp(name, "root_id")) {
			long long v;

			if (get_int(c, e, key, &v) < 0)
				continue;
			if (v < 1 || v > 4294967294ll) {
				diag_err(c, line_of(e),
					 "%s: %lld is out of range (1 to 4294967294)", key, v);
				continue;
			}
			s->userns.root_id = (uint32_t)v;
		} else {
			unknown_key(c, e, key);
		}
	}
}

static void apply_paths(struct ctx *c, const config_setting_t *e, const char *key, unsigned *np,
			char (*paths)[NSI_PATH_LEN])
{
	char list[NSI_MAX_PATHS][NSI_PATH_LEN] = { { 0 } };
	int n = get_strings(c, e, key, NSI_MAX_PATHS);
	bool ok = n >= 0;

	for (int j = 0; j < n; j++) {
		const char *v = config_setting_get_string_elem(e, j);

		if (!path_template_ok(v)) {
			diag_err(c, elem_line(e, j),
				 "%s: \"%s\" is not an absolute path (\"$HOME/...\" and $USER "
				 "allowed)",
				 key, v);
			ok = false;
			continue;
		}
		snprintf(list[j], NSI_PATH_LEN, "%s", v);
	}
	if (ok) {
		memset(paths, 0, NSI_MAX_PATHS * NSI_PATH_LEN);
		memcpy(paths, list, (size_t)n * NSI_PATH_LEN);
		*np = (unsigned)n;
	}
}

/* Apply one settings group (defaults, or a policy minus name/match) onto S. */
static void apply_settings(struct ctx *c, const config_setting_t *g, struct nsi_settings *s,
			   bool is_policy)
{
	static const char *const last[] = { "kill", "linger" };
	static const char *const onerr[] = { "deny", "allow" };

	for (int i = 0; i < config_setting_length(g); i++) {
		const config_setting_t *e = config_setting_get_elem(g, (unsigned)i);
		const char *name = config_setting_name(e);
		int m;

		if (!name) {
			diag_err(c, line_of(e), "unnamed setting");
			continue;
		}
		if (is_policy && (!strcmp(name, "name") || !strcmp(name, "match")))
			continue;
		if (!strcmp(name, "isolate")) {
			(void)get_bool(c, e, name, &s->isolate);
		} else if (!strcmp(name, "tmp")) {
			if (get_group(c, e, name) == 0)
				apply_tmp(c, e, s);
		} else if (!strcmp(name, "home")) {
			if (get_group(c, e, name) == 0)
				apply_home(c, e, s);
		} else if (!strcmp(name, "network")) {
			if (get_group(c, e, name) == 0)
				apply_network(c, e, s);
		} else if (!strcmp(name, "userns")) {
			if (get_group(c, e, name) == 0)
				apply_userns(c, e, s);
		} else if (!strcmp(name, "pid")) {
			bool v;

			if (get_bool(c, e, name, &v) == 0)
				s->pid = v;
		} else if (!strcmp(name, "ipc")) {
			(void)get_bool(c, e, name, &s->ipc);
		} else if (!strcmp(name, "hostname")) {
			const char *v;
			char probe[NSI_HOSTNAME_LEN];

			if (get_string(c, e, name, &v) < 0)
				continue;
			if (*v && (nsi_hostname_expand(v, "u", probe, sizeof(probe)) < 0 ||
				   !nsi_hostname_valid(probe))) {
				diag_err(c, line_of(e),
					 "hostname: \"%s\" is not a valid host name (letters, "
					 "digits, '-', '.', %%u; at most 63)",
					 v);
				continue;
			}
			/* Clear what a longer value of the defaults left: the struct is hashed. */
			memset(s->hostname, 0, sizeof(s->hostname));
			snprintf(s->hostname, sizeof(s->hostname), "%s", v);
		} else if (!strcmp(name, "hide") || !strcmp(name, "readonly")) {
			if (!strcmp(name, "hide"))
				apply_paths(c, e, name, &s->nhide, s->hide);
			else
				apply_paths(c, e, name, &s->nreadonly, s->readonly);
		} else if (!strcmp(name, "on_last_logout")) {
			if (get_enum(c, e, name, last, 2, NULL, &m) == 0)
				s->on_last_logout = (enum nsi_last_logout)m;
		} else if (!strcmp(name, "on_error")) {
			if (get_enum(c, e, name, onerr, 2, NULL, &m) == 0)
				s->on_error = (enum nsi_on_error)m;
		} else {
			unknown_key(c, e, name);
		}
	}
}

/* ---- policies and matching ---- */

static void check_match(struct ctx *c, const config_setting_t *m)
{
	for (int i = 0; i < config_setting_length(m); i++) {
		const config_setting_t *e = config_setting_get_elem(m, (unsigned)i);
		const char *name = config_setting_name(e);
		char key[KEYBUF];
		int n;

		keyname(key, "match", name);
		if (strcmp(name, "users") && strcmp(name, "groups") && strcmp(name, "services")) {
			unknown_key(c, e, key);
			continue;
		}
		n = get_strings(c, e, key, 256);
		if (n == 0)
			diag_err(c, line_of(e), "%s: empty list matches nobody", key);
		for (int j = 0; j < n; j++) {
			const char *v = config_setting_get_string_elem(e, j);

			if (!name_valid(v, 64, "._-")) {
				diag_err(c, elem_line(e, j), "%s: \"%s\" is not a valid name", key,
					 v);
				continue;
			}
			if (!strcmp(name, "users") && !nss_user(v, 0, NULL, 0))
				diag_warn(c, elem_line(e, j), "%s: unknown user \"%s\"", key, v);
			else if (!strcmp(name, "groups") && !nss_group(v, 0, NULL, NULL, 0))
				diag_warn(c, elem_line(e, j), "%s: unknown group \"%s\"", key, v);
		}
	}
}

static void load_policies(struct nsi_config *cf, struct ctx *c, const config_setting_t *list)
{
	if (config_setting_type(list) != CONFIG_TYPE_LIST) {
		diag_err(c, line_of(list), "policies: expected a list ( { ... }, ... )");
		return;
	}
	for (int i = 0; i < config_setting_length(list); i++) {
		const config_setting_t *p = config_setting_get_elem(list, (unsigned)i);
		const config_setting_t *name, *match;
		struct nsi_settings scratch;
		const char *n = NULL;

		if (config_setting_type(p) != CONFIG_TYPE_GROUP) {
			diag_err(c, line_of(p), "policies: entry %d: expected a group { ... }",
				 i + 1);
			continue;
		}
		name = config_setting_get_member(p, "name");
		match = config_setting_get_member(p, "match");
		if (!name) {
			diag_err(c, line_of(p), "policies: entry %d: missing name", i + 1);
		} else if (get_string(c, name, "name", &n) == 0) {
			if (!name_valid(n, NSI_NAME_LEN - 1, "_-")) {
				diag_err(c, line_of(name),
					 "name: \"%s\" is not valid (1 to 32 letters, digits, '_' "
					 "or '-')",
					 n);
				n = NULL;
			}
			for (size_t j = 0; n && j < cf->npol; j++)
				if (!strcmp(cf->pol[j].name, n)) {
					diag_err(c, line_of(name),
						 "name: \"%s\" already defined at %s:%d", n,
						 cf->pol[j].file, cf->pol[j].line);
					n = NULL;
				}
		}
		if (match && get_group(c, match, "match") == 0)
			check_match(c, match);
		nsi_settings_builtin(&scratch);
		apply_settings(c, p, &scratch, true);
		if (!n)
			continue;
		if (cf->npol >= NSI_MAX_POLICIES) {
			diag_err(c, line_of(p), "more than %d policies", NSI_MAX_POLICIES);
			return;
		}
		cf->pol[cf->npol++] = (struct nsi_policy_ref){
			.name = n,
			.file = c->file,
			.line = line_of(p),
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

static int parse_source(struct nsi_config *cf, struct nsi_diag *d, int dirfd, const char *name,
			const char *path, bool dropin)
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
	r = nsi_read_trusted_file(dirfd, name, NSI_CONFIG_MAX_SIZE, &src->text, why, sizeof(why));
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		diag_file(d, src->path, 0, "%s", why);
		return 0;
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
	{
		const config_setting_t *root = config_root_setting(&src->cfg);
		bool have_version = false;

		for (int i = 0; i < config_setting_length(root); i++) {
			const config_setting_t *e = config_setting_get_elem(root, (unsigned)i);
			const char *key = config_setting_name(e);

			if (!strcmp(key, "policies")) {
				load_policies(cf, &c, e);
			} else if (dropin) {
				diag_err(&c, line_of(e),
					 "%s: only 'policies' is allowed in a drop-in", key);
			} else if (!strcmp(key, "version")) {
				long long v = 0;

				have_version = true;
				if (config_setting_type(e) != CONFIG_TYPE_INT)
					diag_err(&c, line_of(e), "version: must be 1");
				else if (get_int(&c, e, key, &v) == 0 && v != 1)
					diag_err(&c, line_of(e), "version: must be 1");
			} else if (!strcmp(key, "defaults")) {
				struct nsi_settings scratch;

				if (get_group(&c, e, key) < 0)
					continue;
				nsi_settings_builtin(&scratch);
				apply_settings(&c, e, &scratch, false);
				cf->defaults = e;
				cf->defaults_file = src->path;
			} else {
				unknown_key(&c, e, key);
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
	{
		int rfd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (rfd < 0)
			return -errno;
		dir = fdopendir(rfd);
		if (!dir) {
			close(rfd);
			return -errno;
		}
	}
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

		snprintf(path, sizeof(path), "%s/%s", dirpath, names[i]);
		if (r == 0)
			r = parse_source(cf, d, dfd, names[i], path, true);
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
	r = parse_source(cf, d, pfd, base, path, false);
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

size_t nsi_config_npolicies(const struct nsi_config *cf)
{
	return cf->npol;
}

bool nsi_config_matches_groups(const struct nsi_config *cf)
{
	for (size_t i = 0; i < cf->npol; i++)
		if (cf->pol[i].match && config_setting_get_member(cf->pol[i].match, "groups"))
			return true;
	return false;
}

/* Which alternative of KEY holds, or NULL. */
static const char *match_key(const config_setting_t *m, const char *key, const struct nsi_user *u)
{
	const config_setting_t *list = config_setting_get_member(m, key);

	if (!list)
		return "";
	for (int i = 0; i < config_setting_length(list); i++) {
		const char *v = config_setting_get_string_elem(list, i);

		if (!v)
			continue;
		if (!strcmp(key, "users") && !strcmp(v, u->name))
			return v;
		if (!strcmp(key, "services") && u->service && !strcmp(v, u->service))
			return v;
		if (!strcmp(key, "groups")) {
			gid_t gid;

			if (!nss_group(v, 0, &gid, NULL, 0))
				continue;
			for (size_t j = 0; j < u->ngroups; j++)
				if (u->groups[j] == gid)
					return v;
			if (gid == u->gid)
				return v;
		}
	}
	return NULL;
}

int nsi_config_resolve(const struct nsi_config *cf, const struct nsi_user *u,
		       struct nsi_resolved *out, char *err, size_t errlen)
{
	struct ctx silent = { 0 };
	const struct nsi_policy_ref *hit = NULL;
	char why[256] = "";

	memset(out, 0, sizeof(*out));
	nsi_settings_builtin(&out->settings);
	if (cf->defaults)
		apply_settings(&silent, cf->defaults, &out->settings, false);

	for (size_t i = 0; i < cf->npol && !hit; i++) {
		const struct nsi_policy_ref *p = &cf->pol[i];
		static const char *const keys[] = { "users", "groups", "services" };
		size_t len = 0;
		bool ok = true;

		why[0] = '\0';
		for (size_t k = 0; k < NSI_ARRAY_SIZE(keys) && ok; k++) {
			const char *v = p->match ? match_key(p->match, keys[k], u) : "";

			if (!v)
				ok = false;
			else if (*v)
				len += (size_t)snprintf(why + len,
							len < sizeof(why) ? sizeof(why) - len : 0,
							"%s%s \"%s\"", len ? ", " : "",
							k == 0	 ? "user"
							: k == 1 ? "group"
								 : "service",
							v);
		}
		if (ok)
			hit = p;
	}
	if (hit) {
		apply_settings(&silent, hit->group, &out->settings, true);
		snprintf(out->policy, sizeof(out->policy), "%s", hit->name);
		snprintf(out->file, sizeof(out->file), "%s", hit->file);
		out->line = hit->line;
		snprintf(out->why, sizeof(out->why), "policy \"%s\" (%s:%d) matched: %s", hit->name,
			 hit->file, hit->line,
			 *why ? why : "it has no match, so it matches everyone");
	} else {
		snprintf(out->why, sizeof(out->why), "no policy matched; the defaults apply");
	}
	if (u->uid == 0) {
		out->settings.isolate = false;
		snprintf(out->why + strlen(out->why), sizeof(out->why) - strlen(out->why),
			 "; uid 0 is never isolated");
	}
	if (out->settings.isolate && out->settings.hostname[0]) {
		char h[NSI_HOSTNAME_LEN];

		if (nsi_hostname_expand(out->settings.hostname, u->name, h, sizeof(h)) < 0 ||
		    !nsi_hostname_valid(h)) {
			snprintf(err, errlen,
				 "hostname \"%s\" expands to an invalid host name for user %s",
				 out->settings.hostname, u->name);
			return -EINVAL;
		}
	}
	return 0;
}

int nsi_config_policy(const struct nsi_config *cf, size_t idx, struct nsi_resolved *out)
{
	struct ctx silent = { 0 };

	if (idx >= cf->npol)
		return -ENOENT;
	memset(out, 0, sizeof(*out));
	nsi_settings_builtin(&out->settings);
	if (cf->defaults)
		apply_settings(&silent, cf->defaults, &out->settings, false);
	apply_settings(&silent, cf->pol[idx].group, &out->settings, true);
	snprintf(out->policy, sizeof(out->policy), "%s", cf->pol[idx].name);
	snprintf(out->file, sizeof(out->file), "%s", cf->pol[idx].file);
	out->line = cf->pol[idx].line;
	return 0;
}

void nsi_config_defaults(const struct nsi_config *cf, struct nsi_settings *out)
{
	struct ctx silent = { 0 };

	nsi_settings_builtin(out);
	if (cf->defaults)
		apply_settings(&silent, cf->defaults, out, false);
}

static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static uint64_t hash_u64(uint64_t h, uint64_t v)
{
	return fnv1a(h, &v, sizeof(v));
}

/* Its length first: "ab","c" and "a","bc" differ. */
static uint64_t hash_str(uint64_t h, const char *str, size_t max)
{
	size_t n = strnlen(str, max);

	return fnv1a(hash_u64(h, n), str, n);
}

static uint64_t hash_strs(uint64_t h, unsigned n, const char (*v)[NSI_PATH_LEN], unsigned max)
{
	h = hash_u64(h, n);
	for (unsigned i = 0; i < n && i < max; i++)
		h = hash_str(h, v[i], NSI_PATH_LEN);
	return h;
}

/*
 * Every setting, and only what is in use (not the unused tail of the arrays,
 * 10 KiB that a joining login used to hash byte by byte). A new field of
 * struct nsi_settings must be added here: the size check below is a
 * reminder, and tests/unit/test-config.c checks that each field counts.
 */
_Static_assert(sizeof(struct nsi_settings) == 10864,
	       "struct nsi_settings changed: update nsi_settings_hash()");

uint64_t nsi_settings_hash(const struct nsi_settings *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	h = hash_u64(h, s->isolate);
	h = hash_strs(h, s->tmp.ndirs, s->tmp.dirs, NSI_MAX_DIRS);
	h = hash_u64(h, s->tmp.method);
	h = hash_u64(h, s->tmp.size);
	h = hash_u64(h, s->home.mode);
	h = hash_str(h, s->home.skel, sizeof(s->home.skel));
	h = hash_u64(h, s->home.size);
	h = hash_u64(h, s->network.mode);
	h = hash_str(h, s->network.subnet, sizeof(s->network.subnet));
	h = hash_u64(h, s->network.host_access);
	h = hash_u64(h, s->network.nat);
	h = hash_u64(h, s->network.ndns);
	for (unsigned i = 0; i < s->network.ndns && i < NSI_MAX_DNS; i++)
		h = hash_str(h, s->network.dns[i], sizeof(s->network.dns[i]));
	h = hash_u64(h, s->pid);
	h = hash_u64(h, s->ipc);
	h = hash_str(h, s->hostname, sizeof(s->hostname));
	h = hash_u64(h, s->userns.enable);
	h = hash_u64(h, s->userns.nested);
	h = hash_u64(h, s->userns.root_id);
	h = hash_strs(h, s->nhide, s->hide, NSI_MAX_PATHS);
	h = hash_strs(h, s->nreadonly, s->readonly, NSI_MAX_PATHS);
	h = hash_u64(h, s->on_last_logout);
	return hash_u64(h, s->on_error);
}

static int cmp_gid(const void *a, const void *b)
{
	gid_t x = *(const gid_t *)a, y = *(const gid_t *)b;

	return x < y ? -1 : x > y;
}

uint64_t nsi_groups_hash(const gid_t *groups, size_t n)
{
	gid_t sorted[NSI_MAX_GROUPS];
	uint64_t h = 0xcbf29ce484222325ull;
	size_t m = 0;

	if (n > NSI_MAX_GROUPS)
		n = NSI_MAX_GROUPS;
	memcpy(sorted, groups, n * sizeof(gid_t));
	qsort(sorted, n, sizeof(gid_t), cmp_gid);
	for (size_t i = 0; i < n; i++)
		if (i == 0 || sorted[i] != sorted[i - 1])
			sorted[m++] = sorted[i];
	return fnv1a(h, sorted, m * sizeof(gid_t));
}

uint64_t nsi_set_groups_hash(const struct nsi_settings *s, const gid_t *groups, size_t n)
{
	return s->userns.enable ? nsi_groups_hash(groups, n) : 0;
}

static bool in_subid_file(const char *path, uint32_t id)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	char line[512];

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		char *c1 = strchr(line, ':'), *c2, *end;
		unsigned long long start, count;

		if (!c1)
			continue;
		c2 = strchr(c1 + 1, ':');
		if (!c2)
			continue;
		errno = 0;
		start = strtoull(c1 + 1, &end, 10);
		if (errno || end != c2)
			continue;
		count = strtoull(c2 + 1, &end, 10);
		if (errno)
			continue;
		if (id >= start && id - start < count)
			return true;
	}
	return false;
}

int nsi_root_id_check(uint32_t id, char *why, size_t whylen)
{
	char name[256];

	if (nss_user(NULL, (uid_t)id, name, sizeof(name))) {
		snprintf(why, whylen, "userns.root_id %u belongs to user \"%s\"", id, name);
		return -EEXIST;
	}
	if (nss_group(NULL, (gid_t)id, NULL, name, sizeof(name))) {
		snprintf(why, whylen, "userns.root_id %u belongs to group \"%s\"", id, name);
		return -EEXIST;
	}
	if (in_subid_file("/etc/subuid", id) || in_subid_file("/etc/subgid", id)) {
		snprintf(why, whylen,
			 "userns.root_id %u lies inside a range of /etc/subuid or /etc/subgid", id);
		return -EEXIST;
	}
	return 0;
}

static void print_strings(FILE *f, const char *indent, const char *key,
			  const char (*v)[NSI_PATH_LEN], unsigned n)
{
	fprintf(f, "%s%s = [", indent, key);
	for (unsigned i = 0; i < n; i++)
		fprintf(f, "%s\"%s\"", i ? ", " : " ", v[i]);
	fprintf(f, "%s];\n", n ? " " : "");
}

static void print_size(FILE *f, uint64_t sz)
{
	if (sz % (1ull << 30) == 0)
		fprintf(f, "\"%lluG\"", (unsigned long long)(sz >> 30));
	else if (sz % (1ull << 20) == 0)
		fprintf(f, "\"%lluM\"", (unsigned long long)(sz >> 20));
	else if (sz % (1ull << 10) == 0)
		fprintf(f, "\"%lluK\"", (unsigned long long)(sz >> 10));
	else
		fprintf(f, "\"%llu\"", (unsigned long long)sz);
}

void nsi_settings_print(const struct nsi_settings *s, void *file)
{
	FILE *f = file;

	fprintf(f, "isolate = %s;\n", s->isolate ? "true" : "false");
	fprintf(f, "tmp = {\n");
	print_strings(f, "  ", "dirs", s->tmp.dirs, s->tmp.ndirs);
	fprintf(f, "  method = \"%s\";\n  size = ", nsi_tmp_method_name(s->tmp.method));
	print_size(f, s->tmp.size);
	fprintf(f, ";\n};\n");
	fprintf(f, "home = {\n  mode = \"%s\";\n  skel = \"%s\";\n  size = ",
		nsi_home_mode_name(s->home.mode), s->home.skel);
	print_size(f, s->home.size);
	fprintf(f, ";\n};\n");
	if (s->network.mode == NSI_NET_VETH || s->network.ndns > 0) {
		fprintf(f, "network = {\n  mode = \"%s\";\n  subnet = \"%s\";\n",
			nsi_net_mode_name(s->network.mode), s->network.subnet);
		fprintf(f, "  host_access = %s;\n  nat = %s;\n",
			s->network.host_access ? "true" : "false",
			s->network.nat ? "true" : "false");
		fprintf(f, "  dns = [");
		for (unsigned i = 0; i < s->network.ndns; i++)
			fprintf(f, "%s\"%s\"", i ? ", " : " ", s->network.dns[i]);
		fprintf(f, "%s];\n};\n", s->network.ndns ? " " : "");
	} else {
		fprintf(f, "network = { mode = \"%s\"; };\n", nsi_net_mode_name(s->network.mode));
	}
	fprintf(f, "pid = %s;\nipc = %s;\nhostname = \"%s\";\n", s->pid ? "true" : "false",
		s->ipc ? "true" : "false", s->hostname);
	fprintf(f, "userns = { enable = %s; nested = %s; root_id = %u; };\n",
		s->userns.enable ? "true" : "false", s->userns.nested ? "true" : "false",
		s->userns.root_id);
	print_strings(f, "", "hide", s->hide, s->nhide);
	print_strings(f, "", "readonly", s->readonly, s->nreadonly);
	fprintf(f, "on_last_logout = \"%s\";\n",
		s->on_last_logout == NSI_LAST_KILL ? "kill" : "linger");
	fprintf(f, "on_error = \"%s\";\n", s->on_error == NSI_ONERR_DENY ? "deny" : "allow");
}
