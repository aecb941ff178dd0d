// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * On a host booted with systemd, the keeper gets a unit of its own: a
 * transient scope in system.slice, made through PID 1's D-Bus API (as
 * "systemd-run --scope" does). Spawned from the opener, the keeper would
 * otherwise sit in the first login's session scope (or in user@UID.service),
 * keeping that scope "closing" after its logout, dying with it under
 * KillUserProcesses=yes, and within reach of "loginctl kill-session".
 *
 * libsystemd is loaded only then: linked in, it (and the libraries it pulls
 * in: libgcrypt, liblzma, libzstd, liblz4) costs every helper about 1.4 ms
 * of loading and relocation, on hosts that never need it too.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/stat.h>
#include <systemd/sd-bus.h>

#include "cleanup.h"
#include "fsutil.h"
#include "helper.h"

#define SCOPE_WAIT_MS 5000

/* Does /proc/PID/cgroup (v2, or the unified line of a hybrid host) name UNIT? */
static int in_unit(int procfd, pid_t pid, const char *unit)
{
	_cleanup_close_ int fd = -1;
	char path[64], buf[4096];
	ssize_t n;

	snprintf(path, sizeof(path), "%d/cgroup", (int)pid);
	fd = openat(procfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = nsi_read_full(fd, buf, sizeof(buf) - 1);
	if (n < 0)
		return (int)n;
	buf[n] = '\0';
	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
		const char *base = strrchr(line, '/');

		if (base && !strcmp(base + 1, unit))
			return 1;
	}
	return 0;
}

/* What is used of libsystemd, resolved by load_sd_bus(). */
struct sd_bus_api {
	void *lib;
	int (*bus_new)(sd_bus **);
	int (*set_address)(sd_bus *, const char *);
	int (*start)(sd_bus *);
	int (*call_method)(sd_bus *, const char *, const char *, const char *, const char *,
			   sd_bus_error *, sd_bus_message **, const char *, ...);
	void (*error_free)(sd_bus_error *);
	sd_bus_message *(*message_unref)(sd_bus_message *);
	sd_bus *(*flush_close_unref)(sd_bus *);
};

static int load_sd_bus(struct sd_bus_api *api, char *why, size_t len)
{
	/* The soname of the ABI built against: the one the package depends on. */
	api->lib = dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL);
	if (!api->lib) {
		snprintf(why, len, "loading libsystemd.so.0: %s", dlerror());
		return -ELIBACC;
	}
	*(void **)&api->bus_new = dlsym(api->lib, "sd_bus_new");
	*(void **)&api->set_address = dlsym(api->lib, "sd_bus_set_address");
	*(void **)&api->start = dlsym(api->lib, "sd_bus_start");
	*(void **)&api->call_method = dlsym(api->lib, "sd_bus_call_method");
	*(void **)&api->error_free = dlsym(api->lib, "sd_bus_error_free");
	*(void **)&api->message_unref = dlsym(api->lib, "sd_bus_message_unref");
	*(void **)&api->flush_close_unref = dlsym(api->lib, "sd_bus_flush_close_unref");
	if (!api->bus_new || !api->set_address || !api->start || !api->call_method ||
	    !api->error_free || !api->message_unref || !api->flush_close_unref) {
		snprintf(why, len, "libsystemd.so.0 lacks the sd-bus calls used");
		dlclose(api->lib);
		return -ELIBBAD;
	}
	return 0;
}

/* As sd_booted(3): PID 1 is systemd when it made /run/systemd/system. */
static bool systemd_booted(void)
{
	struct stat st;

	return lstat("/run/systemd/system/", &st) == 0 && S_ISDIR(st.st_mode);
}

int keeper_scope(int procfd, pid_t keeper, uid_t uid, char *unit, size_t unitlen, char *why,
		 size_t len)
{
	sd_bus_error error = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	struct sd_bus_api sd;
	sd_bus *bus = NULL;
	int r;

	unit[0] = '\0';
	if (!systemd_booted())
		return 0; /* no systemd: the keeper stays where it was started */
	r = load_sd_bus(&sd, why, len);
	if (r < 0)
		return r;
	snprintf(unit, unitlen, "nsisolate-%u-%d.scope", (unsigned)uid, (int)keeper);
	/* PID 1's own socket, root only: no bus daemon needed. */
	r = sd.bus_new(&bus);
	if (r >= 0)
		r = sd.set_address(bus, "unix:path=/run/systemd/private");
	if (r >= 0)
		r = sd.start(bus);
	if (r < 0) {
		snprintf(why, len, "connecting to systemd: %s", strerror(-r));
		goto out;
	}
	r = sd.call_method(bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
			   "org.freedesktop.systemd1.Manager", "StartTransientUnit", &error, &reply,
			   "ssa(sv)a(sa(sv))", unit, "fail", 4, "PIDs", "au", 1, (uint32_t)keeper,
			   "Slice", "s", "system.slice", "Description", "s",
			   "pam_nsisolate: the namespaces of a user's sessions", "CollectMode", "s",
			   "inactive-or-failed", 0);
	if (r < 0) {
		snprintf(why, len, "starting %s: %s", unit,
			 error.message ? error.message : strerror(-r));
		goto out;
	}
	/* The job runs after the reply: wait until the keeper is in the scope. */
	for (int waited = 0;; waited++) {
		r = in_unit(procfd, keeper, unit);
		if (r != 0)
			break;
		if (waited >= SCOPE_WAIT_MS) {
			r = -ETIMEDOUT;
			break;
		}
		nanosleep(&(struct timespec){ .tv_nsec = 1000 * 1000 }, NULL);
	}
	if (r < 0)
		snprintf(why, len, "moving the keeper into %s: %s", unit, strerror(-r));
	else
		r = 0;
out:
	sd.error_free(&error);
	sd.message_unref(reply);
	sd.flush_close_unref(bus);
	dlclose(sd.lib);
	return r;
}
