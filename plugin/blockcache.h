/* nbdkit-ssh-plugin (libssh2)
 * Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
 * SPDX-License-Identifier: BSD-3-Clause
 */

/* blockcache.c: libssh2's allocator, per session (abstract is the
 * ssh_conn): freed blocks kept by size class for reuse;
 * blockcache_free after libssh2_session_free.
 */

#ifndef SSH_PLUGIN_BLOCKCACHE_H
#define SSH_PLUGIN_BLOCKCACHE_H

#include <stddef.h>

struct ssh_conn;

extern void *blockcache_alloc (size_t n, void **abstract);
extern void blockcache_release (void *ptr, void **abstract);
extern void *blockcache_realloc (void *ptr, size_t n, void **abstract);
extern void blockcache_free (struct ssh_conn *c);

#endif /* SSH_PLUGIN_BLOCKCACHE_H */
