/* nbdkit-ssh-plugin (libssh2)
 * Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
 * SPDX-License-Identifier: BSD-3-Clause
 */

/* uri.c: ssh:// URIs (uri=) and [user@]host[:port] (jump=,
 * ProxyJump).  Pure: no nbdkit or libssh2 calls (tests/test-uri.c,
 * fuzz/fuzz-uri.c).  Errors are written into the caller's err buffer
 * (errlen bytes, always NUL-terminated when errlen > 0).
 */

#ifndef SSH_PLUGIN_URI_H
#define SSH_PLUGIN_URI_H

#include <stddef.h>

/* ssh://[user@]host[:port]/path[?host_key_check=...] or sftp://...,
 * the form QEMU's ssh block driver accepts.
 */
struct ssh_uri {
  char *user;              /* NULL if absent; percent-decoded */
  char *host;              /* brackets removed for IPv6 literals;
                              percent-decoded ("%25" zone -> "%") */
  int port;                /* -1 if absent; else 1..65535 */
  char *path;              /* percent-decoded; begins with '/' */
  char *host_key_check;    /* NULL if absent, else the value of
                              ?host_key_check= (not validated here),
                              percent-decoded */
};

/* Returns 0, or -1 with a message in err quoting the URI (with any
 * password replaced by "****").  On error uri is left empty (all
 * NULL, port -1), so uri_free is safe either way.
 */
extern int uri_parse (const char *str, struct ssh_uri *uri,
                      char *err, size_t errlen);
extern void uri_free (struct ssh_uri *uri);

/* [user@]host[:port] as jump= and ssh_config's ProxyJump take it;
 * host may be an IPv6 address in brackets.  user is NULL if absent,
 * port 22 if absent.  Returns 0, or -1 with what is wrong in err (hs
 * left empty).  The caller frees user and host.
 */
struct ssh_hostspec {
  char *user;
  char *host;
  int port;
};
extern int uri_parse_hostspec (const char *spec, struct ssh_hostspec *hs,
                               char *err, size_t errlen);

#endif /* SSH_PLUGIN_URI_H */
