/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef NSI_CAPBSET_H
#define NSI_CAPBSET_H

#include <stdint.h>

/* Bit C of a keep mask stands for capability C. */
#define NSI_CAP_BIT(c) (UINT64_C(1) << (c))

/*
 * The one rule for the capability bounding set, used by the module's fork
 * handler, the helper, the keeper and nsisolate(8): drop every capability
 * the kernel knows except those in KEEP, CAP_SETPCAP (which dropping needs)
 * last. Async-signal-safe (prctl only): the fork handler calls it.
 * 0, or -errno of the first drop that failed: the set is then not what the
 * caller asked for, and it must fail.
 */
int nsi_capbset_drop(uint64_t keep);

#endif
