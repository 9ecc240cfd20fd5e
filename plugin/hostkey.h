/* nbdkit-ssh-plugin (libssh2)
 * Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
 * SPDX-License-Identifier: BSD-3-Clause
 */

/* hostkey.c: the server's host key checked against known_hosts and
 * host-key= (fingerprint pinning), and the host key algorithms
 * known_hosts holds for a host.
 */

#ifndef SSH_PLUGIN_HOSTKEY_H
#define SSH_PLUGIN_HOSTKEY_H

#include <stddef.h>

struct ssh_conn;

extern int hostkey_verify (struct ssh_conn *c);
extern void hostkey_known_algorithms (struct ssh_conn *c, char *out,
                                      size_t len);

#endif /* SSH_PLUGIN_HOSTKEY_H */
