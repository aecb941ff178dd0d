// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The settings schema of nsisolate.conf(5): built-in defaults, applying a
 * group of settings leaf by leaf, the value parsers, the settings digest the
 * state records, and printing the effective settings.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "confparse.h"
#include "fsutil.h"
#include "lease.h"

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

/* The words of the enumerated settings, in the order of their enums (config.h). */
static const char *const tmp_methods[] = { "tmpfs", "instance", "shared" };
static const char *const home_modes[] = { "shared", "private", "ephemeral" };
static const char *const net_modes[] = { "host", "none", "veth" };

static const char *word_of(const char *const *words, size_t n, unsigned v)
{
	return v < n ? words[v] : "?";
}

const char *nsi_tmp_method_name(enum nsi_tmp_method m)
{
	return word_of(tmp_methods, NSI_ARRAY_SIZE(tmp_methods), m);
}

const char *nsi_home_mode_name(enum nsi_home_mode m)
{
	return word_of(home_modes, NSI_ARRAY_SIZE(home_modes), m);
}

const char *nsi_net_mode_name(enum nsi_net_mode m)
{
	return word_of(net_modes, NSI_ARRAY_SIZE(net_modes), m);
}

bool nsi_user_name_valid(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > 255 || !strcmp(name, ".") || !strcmp(name, ".."))
		return false;
	for (const char *c = name; *c; c++)
		if (*c == '/' || (unsigned char)*c < ' ' || *c == 0x7f)
			return false;
	return true;
}

int nsi_expand_path(const char *tmpl, const char *home, const char *user, char *out, size_t outlen)
{
	size_t o = 0;

	/* $USER is one path component, whatever NSS calls the user (a space is fine). */
	if (!nsi_user_name_valid(user))
		return -EINVAL;

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
	s->on_group_change = NSI_GRPCHG_REFUSE;
	s->on_error = NSI_ONERR_DENY;
}

void cfg_keyname(char *buf, const char *prefix, const char *name)
{
	snprintf(buf, CFG_KEYBUF, "%s%s%s", prefix, *prefix ? "." : "", name);
}

static void apply_tmp(struct ctx *c, const config_setting_t *g, struct nsi_settings *s)
{
	for (int i = 0; i < config_setting_length(g); i++) {
		const config_setting_t *e = config_setting_get_elem(g, (unsigned)i);
		const char *name = config_setting_name(e);
		char key[CFG_KEYBUF];

		cfg_keyname(key, "tmp", name);
		if (!strcmp(name, "dirs")) {
			char dirs[NSI_MAX_DIRS][NSI_PATH_LEN] = { { 0 } };
			int n = cfg_get_strings(c, e, key, NSI_MAX_DIRS);
			bool ok = n >= 0;

			for (int j = 0; j < n; j++) {
				const char *d = config_setting_get_string_elem(e, j);

				if (strcmp(d, "/") != 0 && !path_template_ok(d)) {
					cfg_err(c, cfg_elem_line(e, j),
						"%s: \"%s\" is not a normalized absolute path", key,
						d);
					ok = false;
					continue;
				}
				if (!strcmp(d, "/") || !strcmp(d, "/proc") ||
				    !strncmp(d, "/proc/", 6) || !strcmp(d, "/run/nsisolate") ||
				    !strncmp(d, "/run/nsisolate/", 15)) {
					cfg_err(c, cfg_elem_line(e, j),
						"%s: \"%s\" cannot be polyinstantiated", key, d);
					ok = false;
					continue;
				}
				for (int k = 0; k < j; k++)
					if (!strcmp(dirs[k], d)) {
						cfg_err(c, cfg_elem_line(e, j),
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

			if (cfg_get_enum(c, e, key, tmp_methods, NSI_ARRAY_SIZE(tmp_methods), NULL,
					 &m) == 0)
				s->tmp.method = (enum nsi_tmp_method)m;
		} else if (!strcmp(name, "size")) {
			(void)cfg_get_size(c, e, key, &s->tmp.size);
		} else {
			cfg_unknown_key(c, e, key);
		}
	}
}

static void apply_home(struct ctx *c, const config_setting_t *g, struct nsi_settings *s)
{
	for (int i = 0; i < config_setting_length(g); i++) {
		const config_setting_t *e = config_setting_get_elem(g, (unsigned)i);
		const char *name = config_setting_name(e);
		char key[CFG_KEYBUF];
		const char *v;
		int m;

		cfg_keyname(key, "home", name);
		if (!strcmp(name, "mode")) {
			if (cfg_get_enum(c, e, key, home_modes, NSI_ARRAY_SIZE(home_modes), NULL,
					 &m) == 0)
				s->home.mode = (enum nsi_home_mode)m;
		} else if (!strcmp(name, "skel")) {
			if (cfg_get_string(c, e, key, &v) < 0)
				continue;
			if (*v && (!nsi_path_is_normal(v) || strlen(v) >= NSI_PATH_LEN)) {
				cfg_err(c, cfg_line(e),
					"%s: \"%s\" is not a normalized absolute path", key, v);
				continue;
			}
			if (strchr(v, '$')) {
				cfg_err(c, cfg_line(e),
					"%s: \"%s\": no $ expansion in the skeleton path", key, v);
				continue;
			}
			memset(s->home.skel, 0, sizeof(s->home.skel));
			snprintf(s->home.skel, sizeof(s->home.skel), "%s", v);
		} else if (!strcmp(name, "size")) {
			(void)cfg_get_size(c, e, key, &s->home.size);
		} else {
			cfg_unknown_key(c, e, key);
		}
	}
}

static void apply_network(struct ctx *c, const config_setting_t *g, struct nsi_settings *s)
{
	for (int i = 0; i < config_setting_length(g); i++) {
		const config_setting_t *e = config_setting_get_elem(g, (unsigned)i);
		const char *name = config_setting_name(e);
		char key[CFG_KEYBUF];
		int m;

		cfg_keyname(key, "network", name);
		if (!strcmp(name, "mode")) {
			if (cfg_get_enum(c, e, key, net_modes, NSI_ARRAY_SIZE(net_modes), NULL,
					 &m) == 0)
				s->network.mode = (enum nsi_net_mode)m;
		} else if (!strcmp(name, "subnet")) {
			struct nsi_cidr cidr;
			char why[256];
			const char *v;

			if (cfg_get_string(c, e, key, &v) < 0)
				continue;
			if (nsi_cidr_parse(v, &cidr, why, sizeof(why)) < 0) {
				cfg_err(c, cfg_line(e), "%s: %s", key, why);
				continue;
			}
			/* Stored canonical: the same pool always hashes the same. */
			memset(s->network.subnet, 0, sizeof(s->network.subnet));
			nsi_cidr_format(cidr.net, cidr.prefix, s->network.subnet,
					sizeof(s->network.subnet));
		} else if (!strcmp(name, "host_access")) {
			(void)cfg_get_bool(c, e, key, &s->network.host_access);
		} else if (!strcmp(name, "nat")) {
			(void)cfg_get_bool(c, e, key, &s->network.nat);
		} else if (!strcmp(name, "dns")) {
			char dns[NSI_MAX_DNS][sizeof(s->network.dns[0])] = { { 0 } };
			int n = cfg_get_strings(c, e, key, NSI_MAX_DNS);
			bool ok = n >= 0;

			for (int j = 0; j < n; j++) {
				const char *d = config_setting_get_string_elem(e, j);

				if (nsi_dns_parse(d, dns[j], sizeof(dns[j])) < 0) {
					cfg_err(c, cfg_elem_line(e, j),
						"%s: \"%s\" is not an IPv4 or IPv6 address", key,
						d);
					ok = false;
					continue;
				}
				for (int k = 0; k < j; k++)
					if (!strcmp(dns[k], dns[j])) {
						cfg_err(c, cfg_elem_line(e, j),
							"%s: \"%s\" listed twice", key, d);
						ok = false;
					}
			}
			if (ok) {
				memcpy(s->network.dns, dns, sizeof(dns));
				s->network.ndns = (unsigned)n;
			}
		} else {
			cfg_unknown_key(c, e, key);
		}
	}
}

static void apply_userns(struct ctx *c, const config_setting_t *g, struct nsi_settings *s)
{
	for (int i = 0; i < config_setting_length(g); i++) {
		const config_setting_t *e = config_setting_get_elem(g, (unsigned)i);
		const char *name = config_setting_name(e);
		char key[CFG_KEYBUF];

		cfg_keyname(key, "userns", name);
		if (!strcmp(name, "enable")) {
			(void)cfg_get_bool(c, e, key, &s->userns.enable);
		} else if (!strcmp(name, "nested")) {
			(void)cfg_get_bool(c, e, key, &s->userns.nested);
		} else if (!strcmp(name, "root_id")) {
			long long v;

			if (cfg_get_int(c, e, key, &v) < 0)
				continue;
			if (v < 1 || v > 4294967294ll) {
				cfg_err(c, cfg_line(e),
					"%s: %lld is out of range (1 to 4294967294)", key, v);
				continue;
			}
			s->userns.root_id = (uint32_t)v;
		} else {
			cfg_unknown_key(c, e, key);
		}
	}
}

static void apply_paths(struct ctx *c, const config_setting_t *e, const char *key, unsigned *np,
			char (*paths)[NSI_PATH_LEN])
{
	char list[NSI_MAX_PATHS][NSI_PATH_LEN] = { { 0 } };
	int n = cfg_get_strings(c, e, key, NSI_MAX_PATHS);
	bool ok = n >= 0;

	for (int j = 0; j < n; j++) {
		const char *v = config_setting_get_string_elem(e, j);

		if (!path_template_ok(v)) {
			cfg_err(c, cfg_elem_line(e, j),
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
void cfg_apply_settings(struct ctx *c, const config_setting_t *g, struct nsi_settings *s,
			bool is_policy)
{
	static const char *const last[] = { "kill", "linger" };
	static const char *const onerr[] = { "deny", "allow" };
	static const char *const grpchg[] = { "refuse", "join" };

	for (int i = 0; i < config_setting_length(g); i++) {
		const config_setting_t *e = config_setting_get_elem(g, (unsigned)i);
		const char *name = config_setting_name(e);
		int m;

		if (!name) {
			cfg_err(c, cfg_line(e), "unnamed setting");
			continue;
		}
		if (is_policy && (!strcmp(name, "name") || !strcmp(name, "match")))
			continue;
		if (!strcmp(name, "isolate")) {
			(void)cfg_get_bool(c, e, name, &s->isolate);
		} else if (!strcmp(name, "tmp")) {
			if (cfg_get_group(c, e, name) == 0)
				apply_tmp(c, e, s);
		} else if (!strcmp(name, "home")) {
			if (cfg_get_group(c, e, name) == 0)
				apply_home(c, e, s);
		} else if (!strcmp(name, "network")) {
			if (cfg_get_group(c, e, name) == 0)
				apply_network(c, e, s);
		} else if (!strcmp(name, "userns")) {
			if (cfg_get_group(c, e, name) == 0)
				apply_userns(c, e, s);
		} else if (!strcmp(name, "pid")) {
			bool v;

			if (cfg_get_bool(c, e, name, &v) == 0)
				s->pid = v;
		} else if (!strcmp(name, "ipc")) {
			(void)cfg_get_bool(c, e, name, &s->ipc);
		} else if (!strcmp(name, "hostname")) {
			const char *v;
			char probe[NSI_HOSTNAME_LEN];

			if (cfg_get_string(c, e, name, &v) < 0)
				continue;
			if (*v && (nsi_hostname_expand(v, "u", probe, sizeof(probe)) < 0 ||
				   !nsi_hostname_valid(probe))) {
				cfg_err(c, cfg_line(e),
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
			if (cfg_get_enum(c, e, name, last, 2, NULL, &m) == 0)
				s->on_last_logout = (enum nsi_last_logout)m;
		} else if (!strcmp(name, "on_error")) {
			if (cfg_get_enum(c, e, name, onerr, 2, NULL, &m) == 0)
				s->on_error = (enum nsi_on_error)m;
		} else if (!strcmp(name, "on_group_change")) {
			if (cfg_get_enum(c, e, name, grpchg, 2, NULL, &m) == 0)
				s->on_group_change = (enum nsi_group_change)m;
		} else {
			cfg_unknown_key(c, e, name);
		}
	}
}

/* ---- digests ---- */

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
_Static_assert(sizeof(struct nsi_settings) == 10872,
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
	h = hash_u64(h, s->on_group_change);
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

/* ---- printing ---- */

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
	fprintf(f, "on_group_change = \"%s\";\n",
		s->on_group_change == NSI_GRPCHG_REFUSE ? "refuse" : "join");
}
