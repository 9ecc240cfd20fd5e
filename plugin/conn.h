/* nbdkit-ssh-plugin (libssh2)
 * Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
 * SPDX-License-Identifier: BSD-3-Clause
 */

/* conn.c: a connection: the transport, login (handshake, host key,
 * auth), SFTP open, reconnect, close, flush, drain, idle-keep=; the
 * count of connections with writes in flight (conn_others_busy).
 */

#ifndef SSH_PLUGIN_CONN_H
#define SSH_PLUGIN_CONN_H

#include <stdbool.h>

struct ssh_conn;

extern int conn_establish (struct ssh_conn *c);
extern int conn_reconnect (struct ssh_conn *c, const char *what,
                           unsigned attempt);
extern void conn_close (struct ssh_conn *c);
extern void conn_count_lost (struct ssh_conn *c);
extern int conn_flush (struct ssh_conn *c);
extern int conn_park (struct ssh_conn *c);
extern int conn_unpark (struct ssh_conn *c);
extern void conn_drain (struct ssh_conn *c);
extern void conn_free (struct ssh_conn *c);
extern bool conn_others_busy (struct ssh_conn *c);

#endif /* SSH_PLUGIN_CONN_H */
