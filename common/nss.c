// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Users and groups from NSS (files, SSSD, LDAP...), and the check that
 * userns.root_id owns nothing.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "confparse.h"

/*
 * NSS lookups through the reentrant calls only: the loader runs inside PAM
 * applications and the helper, and getpwnam()/getgrnam()/getpwuid()/getgrgid()
 * would overwrite the static result a caller may still hold (even a lookup that
 * finds nothing leaves the last entry parsed there). An NSS error counts as
 * not found.
 */
#define NSS_BUF_MAX (1u << 20)

/*
 * One lookup (a user when PW, else a group; by NAME, or by ID when NAME is
 * NULL) into PW or GR, with a buffer grown on ERANGE up to NSS_BUF_MAX and
 * returned in *BUF for the caller to free: whether it was found.
 */
static bool nss_lookup(const char *name, unsigned id, struct passwd *pw, struct group *gr,
		       char **buf)
{
	struct passwd *pwres = NULL;
	struct group *grres = NULL;
	size_t len = 1024;
	int r = ERANGE;

	*buf = NULL;
	while (r == ERANGE && len <= NSS_BUF_MAX) {
		char *g = realloc(*buf, len *= 2);

		if (!g)
			break;
		*buf = g;
		pwres = NULL;
		grres = NULL;
		if (pw)
			r = name ? getpwnam_r(name, pw, g, len, &pwres)
				 : getpwuid_r((uid_t)id, pw, g, len, &pwres);
		else
			r = name ? getgrnam_r(name, gr, g, len, &grres)
				 : getgrgid_r((gid_t)id, gr, g, len, &grres);
	}
	return pwres || grres;
}

bool nsi_nss_user(const char *name, uid_t uid, char *nameout, size_t namelen)
{
	_cleanup_free_ char *buf = NULL;
	struct passwd pw;
	bool found = nss_lookup(name, uid, &pw, NULL, &buf);

	if (found && nameout)
		snprintf(nameout, namelen, "%s", pw.pw_name);
	return found;
}

bool nsi_nss_group(const char *name, gid_t gid, gid_t *gidout, char *nameout, size_t namelen)
{
	_cleanup_free_ char *buf = NULL;
	struct group gr;
	bool found = nss_lookup(name, gid, NULL, &gr, &buf);

	if (found && gidout)
		*gidout = gr.gr_gid;
	if (found && nameout)
		snprintf(nameout, namelen, "%s", gr.gr_name);
	return found;
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

	if (nsi_nss_user(NULL, (uid_t)id, name, sizeof(name))) {
		snprintf(why, whylen, "userns.root_id %u belongs to user \"%s\"", id, name);
		return -EEXIST;
	}
	if (nsi_nss_group(NULL, (gid_t)id, NULL, name, sizeof(name))) {
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
