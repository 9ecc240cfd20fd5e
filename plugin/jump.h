/* nbdkit-ssh-plugin (libssh2)
 * Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
 * SPDX-License-Identifier: BSD-3-Clause
 */

/* jump.c: jump hosts: each hop opens a direct-tcpip channel to the
 * next host, joined to a socketpair by a forwarding thread.
 */

#ifndef SSH_PLUGIN_JUMP_H
#define SSH_PLUGIN_JUMP_H

#include <stddef.h>

struct ssh_conn;

extern int jump_init (struct ssh_conn *c);
extern struct ssh_conn *jump_hop (struct ssh_conn *c, size_t i, int sock);
extern int jump_forward (struct ssh_conn *c, size_t i);
extern void jump_close (struct ssh_conn *c);

#endif /* SSH_PLUGIN_JUMP_H */
