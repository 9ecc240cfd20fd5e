/* nbdkit-ssh-plugin (libssh2)
 * Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
 * SPDX-License-Identifier: BSD-3-Clause
 */

/* proxycmd.c: ssh_config's ProxyCommand, run with /bin/sh on one end
 * of a socketpair whose other end is the connection's socket.
 */

#ifndef SSH_PLUGIN_PROXYCMD_H
#define SSH_PLUGIN_PROXYCMD_H

#include <stddef.h>

struct ssh_conn;

extern int proxy_command_open (struct ssh_conn *c);
extern const char *proxy_command_status (struct ssh_conn *c, char *buf,
                                         size_t len);
extern void proxy_command_close (struct ssh_conn *c);

#endif /* SSH_PLUGIN_PROXYCMD_H */
