/* nbdkit-ssh-plugin (libssh2)
 * Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
 * SPDX-License-Identifier: BSD-3-Clause
 */

/* auth.c: user authentication (ssh-agent, identity files,
 * keyboard-interactive, password).
 */

#ifndef SSH_PLUGIN_AUTH_H
#define SSH_PLUGIN_AUTH_H

struct ssh_conn;

extern int auth_authenticate (struct ssh_conn *c);
extern void auth_free (void);

#endif /* SSH_PLUGIN_AUTH_H */
