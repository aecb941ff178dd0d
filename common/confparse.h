/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef NSI_CONFPARSE_H
#define NSI_CONFPARSE_H

/*
 * Inside the policy loader, shared by its files and by nothing else:
 * config.c (loading, drop-ins, diagnostics, typed getters), settings.c
 * (the settings schema), match.c (policies and matching) and nss.c.
 */
#include <libconfig.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "config.h"
#include "literal.h"

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

/*
 * Where messages go while applying a group. A zeroed ctx (no diag, no text)
 * is resolve time: the load has checked everything, nothing is reported.
 */
struct ctx {
	struct nsi_diag *d;
	const char *file;
	const char *text; /* the file's text, to check integer literals */
	struct nsi_literal_scan scan;
};

/* config.c: messages naming the file and LINE. */
void cfg_err(struct ctx *c, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void cfg_warn(struct ctx *c, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* config.c: typed getters; each reports "KEY: expected ..." at the setting's line. */
int cfg_line(const config_setting_t *s);
int cfg_elem_line(const config_setting_t *arr, int i);
int cfg_get_bool(struct ctx *c, const config_setting_t *s, const char *key, bool *out);
int cfg_get_int(struct ctx *c, const config_setting_t *s, const char *key, long long *out);
int cfg_get_string(struct ctx *c, const config_setting_t *s, const char *key, const char **out);
int cfg_get_group(struct ctx *c, const config_setting_t *s, const char *key);
/* An array or list of strings, at most MAX entries: the count, or -EINVAL. */
int cfg_get_strings(struct ctx *c, const config_setting_t *s, const char *key, size_t max);
int cfg_get_enum(struct ctx *c, const config_setting_t *s, const char *key,
		 const char *const *names, size_t n, const bool *supported, int *out);
/* A size string ("256M") between 1M and 1024G. */
int cfg_get_size(struct ctx *c, const config_setting_t *s, const char *key, uint64_t *out);
void cfg_unknown_key(struct ctx *c, const config_setting_t *s, const char *key);

/* settings.c */
#define CFG_KEYBUF 96
/* "PREFIX.NAME" into BUF (CFG_KEYBUF bytes), for messages. */
void cfg_keyname(char *buf, const char *prefix, const char *name);
/* Apply one settings group (defaults, or a policy minus name/match) onto S. */
void cfg_apply_settings(struct ctx *c, const config_setting_t *g, struct nsi_settings *s,
			bool is_policy);

/* match.c */
/* 1 to MAX letters or digits, or characters of EXTRA. */
bool cfg_name_valid(const char *s, size_t max, const char *extra);
/* A policy's match group: known keys, valid names; unknown users and groups warn. */
void cfg_check_match(struct ctx *c, const config_setting_t *m);

/* nss.c: the reentrant NSS calls only (a caller may hold getpw*'s static result). */
bool nsi_nss_user(const char *name, uid_t uid, char *nameout, size_t namelen);
bool nsi_nss_group(const char *name, gid_t gid, gid_t *gidout, char *nameout, size_t namelen);

#endif
