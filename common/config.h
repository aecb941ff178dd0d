/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef NSI_CONFIG_H
#define NSI_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define NSI_DEFAULT_CONFIG "/etc/security/nsisolate.conf"
#define NSI_CONFIG_MAX_SIZE (256 * 1024)
#define NSI_MAX_DROPINS 64
#define NSI_MAX_POLICIES 1024
#define NSI_MAX_DIRS 8
#define NSI_MAX_PATHS 16
#define NSI_MAX_DNS 4
#define NSI_PATH_LEN 256
#define NSI_NAME_LEN 33 /* policy names: 32 chars + NUL */
#define NSI_HOSTNAME_LEN 65
#define NSI_DEFAULT_ROOT_ID 2147483646u
#define NSI_MAX_GROUPS 1024

enum nsi_tmp_method { NSI_TMP_TMPFS, NSI_TMP_INSTANCE, NSI_TMP_SHARED };
enum nsi_home_mode { NSI_HOME_SHARED, NSI_HOME_PRIVATE, NSI_HOME_EPHEMERAL };
enum nsi_net_mode { NSI_NET_HOST, NSI_NET_NONE, NSI_NET_VETH };
enum nsi_last_logout { NSI_LAST_KILL, NSI_LAST_LINGER };
enum nsi_on_error { NSI_ONERR_DENY, NSI_ONERR_ALLOW };
/* A joining login whose group list differs from the live set's. */
enum nsi_group_change { NSI_GRPCHG_REFUSE, NSI_GRPCHG_JOIN };

/*
 * The effective settings of one login. Plain data with fixed-size fields: it is
 * hashed to detect a live set made under other settings, and zeroed before use
 * so that padding never differs.
 */
struct nsi_settings {
	bool isolate;
	struct {
		unsigned ndirs;
		char dirs[NSI_MAX_DIRS][NSI_PATH_LEN];
		enum nsi_tmp_method method;
		uint64_t size;
	} tmp;
	struct {
		enum nsi_home_mode mode;
		char skel[NSI_PATH_LEN];
		uint64_t size;
	} home;
	struct {
		enum nsi_net_mode mode;
		char subnet[32];
		bool host_access;
		bool nat;
		unsigned ndns;
		char dns[NSI_MAX_DNS][48];
	} network;
	bool pid;
	bool ipc;
	char hostname[NSI_HOSTNAME_LEN];
	struct {
		bool enable;
		bool nested;
		uint32_t root_id;
	} userns;
	unsigned nhide;
	char hide[NSI_MAX_PATHS][NSI_PATH_LEN];
	unsigned nreadonly;
	char readonly[NSI_MAX_PATHS][NSI_PATH_LEN];
	enum nsi_last_logout on_last_logout;
	enum nsi_on_error on_error;
	enum nsi_group_change on_group_change;
};

/* Messages collected while loading: "FILE:LINE: text", errors and warnings apart. */
struct nsi_diag {
	char **errors;
	size_t nerrors;
	char **warnings;
	size_t nwarnings;
	/*
	 * Also warn about users and groups of match that NSS does not know:
	 * for nsisolate check and explain. A login skips it (one lookup per
	 * name, 1000 policies naming groups cost 60 ms through libnss_systemd).
	 */
	bool check_names;
};

struct nsi_config;

/* Who is logging in: resolved from NSS by the caller. */
struct nsi_user {
	const char *name;
	uid_t uid;
	gid_t gid;
	const gid_t *groups; /* every gid getgrouplist() returns */
	size_t ngroups;
	const char *service; /* PAM service, may be NULL */
};

/* The outcome of matching a user against a loaded configuration. */
struct nsi_resolved {
	struct nsi_settings settings;
	char policy[NSI_NAME_LEN]; /* "" when only the defaults apply */
	char file[NSI_PATH_LEN]; /* where the policy was defined */
	int line;
	char why[1024]; /* which match selected it, for explain */
};

void nsi_diag_init(struct nsi_diag *d);
void nsi_diag_free(struct nsi_diag *d);

/*
 * Load PATH and its drop-in directory (PATH without ".conf", plus ".d").
 * Returns 0 and sets *ret, or -errno. On a bad file, *ret is still set when
 * d->nerrors > 0 is all that is wrong, so check can print everything; callers
 * that log in must refuse whenever d->nerrors > 0.
 */
int nsi_config_load(const char *path, struct nsi_config **ret, struct nsi_diag *d);
/*
 * TEXT as the main policy file NAME, without reading any file or drop-in
 * and without the file checks: for the fuzzer and tests. As nsi_config_load.
 */
int nsi_config_parse(const char *name, const char *text, struct nsi_config **ret,
		     struct nsi_diag *d);
void nsi_config_free(struct nsi_config *c);
size_t nsi_config_npolicies(const struct nsi_config *c);
/* Whether any policy matches on groups (only then does resolving need the user's groups). */
bool nsi_config_matches_groups(const struct nsi_config *c);

/* Built-in defaults, before the file's "defaults" group. */
void nsi_settings_builtin(struct nsi_settings *s);

/*
 * Select the first matching policy for U and merge it over the defaults.
 * Returns 0, or -EINVAL with a message in err for a merged result that
 * cannot be used (WHY then names file and line).
 */
int nsi_config_resolve(const struct nsi_config *c, const struct nsi_user *u,
		       struct nsi_resolved *out, char *why, size_t whylen);

/* Policy IDX merged over the defaults, without matching (for check). */
int nsi_config_policy(const struct nsi_config *c, size_t idx, struct nsi_resolved *out);
/* The defaults alone, merged over the built-in values. */
void nsi_config_defaults(const struct nsi_config *c, struct nsi_settings *out);

/* Stable 64-bit digest of the settings (FNV-1a), for state comparisons. */
uint64_t nsi_settings_hash(const struct nsi_settings *s);
uint64_t nsi_groups_hash(const gid_t *groups, size_t n);
/*
 * The group list a set depends on: its user namespace's gid_map. Without a
 * user namespace nothing of the set depends on the groups, so this is 0.
 */
uint64_t nsi_set_groups_hash(const struct nsi_settings *s, const gid_t *groups, size_t n);

/*
 * userns.root_id must own nothing: no user, no group, no subordinate id range.
 * Returns 0 or -EEXIST with the reason in why.
 */
int nsi_root_id_check(uint32_t id, char *why, size_t whylen);

/* Print every effective setting in libconfig syntax. */
void nsi_settings_print(const struct nsi_settings *s, void *file);

const char *nsi_tmp_method_name(enum nsi_tmp_method m);
const char *nsi_home_mode_name(enum nsi_home_mode m);
const char *nsi_net_mode_name(enum nsi_net_mode m);

/*
 * Expand "$HOME" (first component only) and "$USER" in a path template.
 * Returns 0 for a normalized absolute result other than "/", else -EINVAL or
 * -ENAMETOOLONG.
 */
int nsi_expand_path(const char *tmpl, const char *home, const char *user, char *out, size_t outlen);
/*
 * A user name the project takes, as NSS may give it ("alice@corp.example",
 * "John Smith"): 1 to 255 bytes, no '/', no control character, not "." or
 * "..", so that $USER is always one path component.
 */
bool nsi_user_name_valid(const char *name);

/* Parse "256M" style sizes (K, M, G; binary). Returns 0 or -EINVAL/-ERANGE. */
int nsi_parse_size(const char *s, uint64_t *ret);
/* Hostname per RFC 1123 (letters, digits, '-', dots between labels). */
bool nsi_hostname_valid(const char *h);
/* Expand "%u" in a hostname template. Returns 0 or -EINVAL/-ENAMETOOLONG. */
int nsi_hostname_expand(const char *tmpl, const char *user, char *out, size_t outlen);

#endif
