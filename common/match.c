// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Policies and matching: the match group's checks at load time, and at login
 * the first policy whose match holds for the user, merged over the defaults.
 */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cleanup.h"
#include "confparse.h"

bool cfg_name_valid(const char *s, size_t max, const char *extra)
{
	size_t len = strlen(s);

	if (len == 0 || len > max)
		return false;
	for (const char *p = s; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr(extra, *p))
			return false;
	return true;
}

/* A decimal id at *S, no sign, no leading zero, below 2^32 - 1; *S moves past it. */
static bool parse_id(const char **s, uint32_t *out)
{
	const char *p = *s;
	uint64_t v = 0;

	if (!isdigit((unsigned char)*p) || (p[0] == '0' && isdigit((unsigned char)p[1])))
		return false;
	for (; isdigit((unsigned char)*p); p++) {
		v = v * 10 + (uint64_t)(*p - '0');
		if (v >= UINT32_MAX) /* 4294967295 is the kernel's invalid id */
			return false;
	}
	*out = (uint32_t)v;
	*s = p;
	return true;
}

/* "N" or "FIRST-LAST" (FIRST <= LAST): an entry of match.uids or match.gids. */
static bool parse_id_range(const char *v, uint32_t *lo, uint32_t *hi)
{
	if (!parse_id(&v, lo))
		return false;
	if (*v == '\0') {
		*hi = *lo;
		return true;
	}
	if (*v++ != '-' || !parse_id(&v, hi) || *v != '\0')
		return false;
	return *lo <= *hi;
}

/*
 * A user or group name as NSS may give it (SSSD's "alice@corp.example",
 * Active Directory's "John Smith" and "domain users@corp.example"), with no
 * space at either end; a user name one the module takes, a group name
 * without control characters (compared, never a path).
 */
static bool nss_name_valid(const char *v, bool group)
{
	size_t len = strlen(v);

	if (len == 0 || len > 255 || v[0] == ' ' || v[len - 1] == ' ')
		return false;
	if (!group)
		return nsi_user_name_valid(v);
	for (const char *p = v; *p; p++)
		if ((unsigned char)*p < ' ' || *p == 0x7f)
			return false;
	return true;
}

static bool is_id_key(const char *name)
{
	return !strcmp(name, "uids") || !strcmp(name, "gids");
}

void cfg_check_match(struct ctx *c, const config_setting_t *m)
{
	for (int i = 0; i < config_setting_length(m); i++) {
		const config_setting_t *e = config_setting_get_elem(m, (unsigned)i);
		const char *name = config_setting_name(e);
		char key[CFG_KEYBUF];
		int n;

		cfg_keyname(key, "match", name);
		if (strcmp(name, "users") && strcmp(name, "groups") && strcmp(name, "services") &&
		    !is_id_key(name)) {
			cfg_unknown_key(c, e, key);
			continue;
		}
		n = cfg_get_strings(c, e, key, 256);
		if (n == 0)
			cfg_err(c, cfg_line(e), "%s: empty list matches nobody", key);
		for (int j = 0; j < n; j++) {
			const char *v = config_setting_get_string_elem(e, j);
			uint32_t lo, hi;

			if (is_id_key(name)) {
				if (!parse_id_range(v, &lo, &hi))
					cfg_err(c, cfg_elem_line(e, j),
						"%s: \"%s\" is not an id or a range \"FIRST-LAST\" "
						"(decimal, FIRST <= LAST < 4294967295)",
						key, v);
				else if (lo == 0)
					cfg_warn(c, cfg_elem_line(e, j),
						 "%s: \"%s\" includes 0 (root), which is never "
						 "isolated",
						 key, v);
				continue;
			}
			if (!strcmp(name, "services")
				    ? !cfg_name_valid(v, 64, "._-")
				    : !nss_name_valid(v, !strcmp(name, "groups"))) {
				cfg_err(c, cfg_elem_line(e, j), "%s: \"%s\" is not a valid name",
					key, v);
				continue;
			}
			if (!c->d || !c->d->check_names)
				continue;
			if (!strcmp(name, "users") && !nsi_nss_user(v, 0, NULL, 0))
				cfg_warn(c, cfg_elem_line(e, j), "%s: unknown user \"%s\"", key, v);
			else if (!strcmp(name, "groups") && !nsi_nss_group(v, 0, NULL, NULL, 0))
				cfg_warn(c, cfg_elem_line(e, j), "%s: unknown group \"%s\"", key,
					 v);
		}
	}
}

size_t nsi_config_npolicies(const struct nsi_config *cf)
{
	return cf->npol;
}

bool nsi_config_matches_groups(const struct nsi_config *cf)
{
	for (size_t i = 0; i < cf->npol; i++)
		if (cf->pol[i].match && (config_setting_get_member(cf->pol[i].match, "groups") ||
					 config_setting_get_member(cf->pol[i].match, "gids")))
			return true;
	return false;
}

/*
 * The gids of the group names one resolution looked up: a file of many
 * policies names the same groups again and again, and each lookup is an NSS
 * call (a miss through libnss_systemd costs about 150 us here).
 */
#define GCACHE_SLOTS 2048
struct gcache {
	size_t used; /* at most half the slots: probes stay short, one is always free */
	struct {
		const char *name; /* NULL: free */
		gid_t gid;
		bool found;
	} slot[GCACHE_SLOTS];
};

static bool group_gid(struct gcache *cache, const char *name, gid_t *gid)
{
	uint32_t h = 2166136261u;
	size_t i;
	bool found;

	if (!cache)
		return nsi_nss_group(name, 0, gid, NULL, 0);
	for (const char *p = name; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	for (i = h % GCACHE_SLOTS; cache->slot[i].name; i = (i + 1) % GCACHE_SLOTS)
		if (!strcmp(cache->slot[i].name, name)) {
			*gid = cache->slot[i].gid;
			return cache->slot[i].found;
		}
	found = nsi_nss_group(name, 0, gid, NULL, 0);
	if (cache->used < GCACHE_SLOTS / 2) {
		cache->slot[i].name = name;
		cache->slot[i].gid = found ? *gid : 0;
		cache->slot[i].found = found;
		cache->used++;
	}
	return found;
}

/* Which alternative of KEY holds, or NULL. */
static const char *match_key(const config_setting_t *m, const char *key, const struct nsi_user *u,
			     struct gcache *cache)
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
		if (is_id_key(key)) {
			uint32_t lo, hi;

			if (!parse_id_range(v, &lo, &hi))
				continue;
			if (!strcmp(key, "uids") && u->uid >= lo && u->uid <= hi)
				return v;
			if (!strcmp(key, "gids")) {
				if (u->gid >= lo && u->gid <= hi)
					return v;
				for (size_t j = 0; j < u->ngroups; j++)
					if (u->groups[j] >= lo && u->groups[j] <= hi)
						return v;
			}
		}
		if (!strcmp(key, "groups")) {
			gid_t gid;

			if (!group_gid(cache, v, &gid))
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
		       struct nsi_resolved *out, char *why, size_t whylen)
{
	struct ctx silent = { 0 };
	const struct nsi_policy_ref *hit = NULL;
	char matched[256] = "";

	_cleanup_free_ struct gcache *cache = calloc(1, sizeof(*cache));

	memset(out, 0, sizeof(*out));
	nsi_settings_builtin(&out->settings);
	if (cf->defaults)
		cfg_apply_settings(&silent, cf->defaults, &out->settings, false);

	/* Without memory for the cache, every name is looked up (still correct). */
	for (size_t i = 0; i < cf->npol && !hit; i++) {
		const struct nsi_policy_ref *p = &cf->pol[i];
		static const char *const keys[] = { "users", "uids", "groups", "gids", "services" };
		static const char *const what[] = { "user", "uid", "group", "gid", "service" };
		/* Tried cheapest first: each name of "groups" costs an NSS lookup. */
		static const size_t order[] = { 0, 1, 4, 3, 2 };
		const char *v[NSI_ARRAY_SIZE(keys)] = { 0 };
		size_t len = 0;
		bool ok = true;

		for (size_t o = 0; o < NSI_ARRAY_SIZE(order) && ok; o++) {
			size_t k = order[o];

			v[k] = p->match ? match_key(p->match, keys[k], u, cache) : "";
			ok = v[k] != NULL;
		}
		/* What matched, in the order of the keys above. */
		matched[0] = '\0';
		for (size_t k = 0; k < NSI_ARRAY_SIZE(keys) && ok; k++)
			if (*v[k])
				len += (size_t)snprintf(
					matched + len,
					len < sizeof(matched) ? sizeof(matched) - len : 0,
					"%s%s \"%s\"", len ? ", " : "", what[k], v[k]);
		if (ok)
			hit = p;
	}
	if (hit) {
		cfg_apply_settings(&silent, hit->group, &out->settings, true);
		snprintf(out->policy, sizeof(out->policy), "%s", hit->name);
		snprintf(out->file, sizeof(out->file), "%s", hit->file);
		out->line = hit->line;
		snprintf(out->why, sizeof(out->why), "policy \"%s\" (%s:%d) matched: %s", hit->name,
			 hit->file, hit->line,
			 *matched ? matched : "it has no match, so it matches everyone");
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
			snprintf(why, whylen,
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
		cfg_apply_settings(&silent, cf->defaults, &out->settings, false);
	cfg_apply_settings(&silent, cf->pol[idx].group, &out->settings, true);
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
		cfg_apply_settings(&silent, cf->defaults, out, false);
}
