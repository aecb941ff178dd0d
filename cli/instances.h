/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef NSI_INSTANCES_H
#define NSI_INSTANCES_H

#include <stdio.h>

/* Where tmp.method = "instance" keeps each user's directories: UID/NAME (nsisolate.conf(5)). */
#define NSI_INSTANCE_DIR "/var/lib/nsisolate"

/*
 * Remove the directory NAME in DIRFD and everything below it, through fds:
 * no symlink is followed, no other file system entered (a mount point there
 * is an error and stays). Returns 0 or the first -errno; what could be
 * removed is gone either way.
 */
int nsi_remove_tree_at(int dirfd, const char *name);

/*
 * Remove the instances of every uid in the store STORE (an fd of
 * NSI_INSTANCE_DIR) that NSS does not know and that has no set in RUN (an fd
 * of /run/nsisolate, or -1 when there is none), under the uid's lock. One line
 * per uid removed goes to OUT, problems to standard error. Returns how many
 * uids were removed, or -errno when the store cannot be read.
 */
int nsi_gc_instances_at(int store, int run, FILE *out);

/* The same for NSI_INSTANCE_DIR, checked like the helper makes it; 0 if it does not exist. */
int nsi_gc_instances(int run, FILE *out);

#endif
