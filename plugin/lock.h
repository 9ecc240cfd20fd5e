/* nbdkit-ssh-plugin (libssh2)
 * Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
 * SPDX-License-Identifier: BSD-3-Clause
 */

/* LOCK_FOR_SCOPE (mutex): take mutex, and release it wherever the
 * enclosing block is left (return, end of block), so that no early
 * return can forget to.  Uses the cleanup attribute (GCC, Clang).
 */

#ifndef SSH_PLUGIN_LOCK_H
#define SSH_PLUGIN_LOCK_H

#include <pthread.h>

static inline void
lock_release (pthread_mutex_t **m)
{
  pthread_mutex_unlock (*m);
}

#define LOCK_CAT_(a, b) a##b
#define LOCK_CAT(a, b) LOCK_CAT_ (a, b)
#define LOCK_FOR_SCOPE(mutex)                                           \
  pthread_mutex_t *LOCK_CAT (lock_held_, __LINE__)                      \
    __attribute__ ((cleanup (lock_release), unused)) = (mutex);         \
  pthread_mutex_lock (LOCK_CAT (lock_held_, __LINE__))

#endif /* SSH_PLUGIN_LOCK_H */
