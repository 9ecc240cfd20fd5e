/* nbdkit-ssh-plugin (libssh2)
 * Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
 * SPDX-License-Identifier: BSD-3-Clause
 */

/* keepalive.c: the list of open connections (warm ones included)
 * and the keepalive thread.
 */

#ifndef SSH_PLUGIN_KEEPALIVE_H
#define SSH_PLUGIN_KEEPALIVE_H

#include <stdbool.h>

struct ssh_conn;

extern int keepalive_register (struct ssh_conn *c);
extern void keepalive_unregister (struct ssh_conn *c);
extern struct ssh_conn *keepalive_any_registered (void);
extern int keepalive_start (void);
extern void keepalive_stop (void);
extern struct ssh_conn *keepalive_claim_warm (const char *path,
                                              bool readonly);
extern int keepalive_for_each (int (*fn) (struct ssh_conn *c, void *arg),
                               void *arg);

#endif /* SSH_PLUGIN_KEEPALIVE_H */
