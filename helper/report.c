// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The helper's one reply: die() with a reason, or success with the keeper
 * and any notices collected on the way. Written once to stdout (the
 * module's pipe), then the helper exits.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "fsutil.h"
#include "helper.h"
#include "proto.h"

static struct nsi_reply reply = { .magic = NSI_PROTO_MAGIC, .version = NSI_PROTO_VERSION };
static char notices[sizeof(reply.msg)];
static bool detached; /* nobody reads the reply: errors go to syslog */

void report_detached(void)
{
	detached = true;
	openlog("nsisolate-helper", LOG_PID, LOG_AUTHPRIV);
}

void notice(const char *fmt, ...)
{
	size_t len = strlen(notices);
	va_list ap;

	if (len && len + 2 < sizeof(notices)) {
		strcat(notices, "; ");
		len += 2;
	}
	va_start(ap, fmt);
	vsnprintf(notices + len, sizeof(notices) - len, fmt, ap);
	va_end(ap);
}

/*
 * Out of memory even a pipe write can fail (its buffer is charged to the
 * cgroup): then what the reply said goes to syslog, so the reason is not lost.
 */
static int send_reply(void)
{
	int r = nsi_write_all(1, &reply, sizeof(reply));

	if (r < 0) {
		openlog("nsisolate-helper", LOG_PID, LOG_AUTHPRIV);
		syslog(LOG_ERR, "the reply to pam_nsisolate could not be sent (%s): %s",
		       strerror(-r), reply.status < 0 ? reply.msg : "the work itself succeeded");
	}
	return r;
}

_Noreturn void die(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (detached) /* whole: syslog takes more than a reply's 256 bytes */
		vsyslog(LOG_ERR, fmt, ap);
	else
		vsnprintf(reply.msg, sizeof(reply.msg), fmt, ap);
	va_end(ap);
	reply.status = -(err > 0 ? err : EIO);
	_exit(detached || send_reply() == 0 ? 1 : NSI_EXIT_NO_REPLY);
}

int reply_created(pid_t keeper, uint64_t keeper_start)
{
	reply.status = 0;
	reply.keeper_pid = keeper;
	reply.keeper_start = keeper_start;
	memcpy(reply.msg, notices, sizeof(reply.msg));
	return send_reply();
}

_Noreturn void reply_done(int status, const char *why)
{
	if (status < 0)
		die(-status, "%s", why[0] ? why : strerror(-status));
	reply.status = 0;
	memcpy(reply.msg, notices, sizeof(reply.msg));
	_exit(send_reply() < 0 ? NSI_EXIT_NO_REPLY : 0);
}
