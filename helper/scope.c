// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * On a host booted with systemd, the keeper gets a unit of its own: a
 * transient scope in system.slice, made through PID 1's D-Bus API (as
 * "systemd-run --scope" does). Spawned from the opener, the keeper would
 * otherwise sit in the first login's session scope (or in user@UID.service),
 * keeping that scope "closing" after its logout, dying with it under
 * KillUserProcesses=yes, and within reach of "loginctl kill-session".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>

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

int keeper_scope(int procfd, pid_t keeper, uid_t uid, char *unit, size_t unitlen, char *why,
		 size_t len)
{
	sd_bus_error error = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	sd_bus *bus = NULL;
	int r;

	unit[0] = '\0';
	if (sd_booted() <= 0)
		return 0; /* no systemd: the keeper stays where it was started */
	snprintf(unit, unitlen, "nsisolate-%u-%d.scope", (unsigned)uid, (int)keeper);
	/* PID 1's own socket, root only: no bus daemon needed. */
	r = sd_bus_new(&bus);
	if (r >= 0)
		r = sd_bus_set_address(bus, "unix:path=/run/systemd/private");
	if (r >= 0)
		r = sd_bus_start(bus);
	if (r < 0) {
		snprintf(why, len, "connecting to systemd: %s", strerror(-r));
		goto out;
	}
	r = sd_bus_call_method(bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
			       "org.freedesktop.systemd1.Manager", "StartTransientUnit", &error,
			       &reply, "ssa(sv)a(sa(sv))", unit, "fail", 4, "PIDs", "au", 1,
			       (uint32_t)keeper, "Slice", "s", "system.slice", "Description", "s",
			       "pam_nsisolate: the namespaces of a user's sessions", "CollectMode",
			       "s", "inactive-or-failed", 0);
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
	sd_bus_error_free(&error);
	sd_bus_message_unref(reply);
	sd_bus_flush_close_unref(bus);
	return r;
}
