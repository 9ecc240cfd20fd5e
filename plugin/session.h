/* nbdkit-ssh-plugin (libssh2)
 * Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
 * SPDX-License-Identifier: BSD-3-Clause
 */

/* session.c: one SSH session: the timeout= deadline and the poll
 * wait (session_wait, and CALL_INT/CALL_PTR, which loop on libssh2's
 * EAGAIN with it), libssh2's error text, TCP connect, algorithm
 * preferences, the handshake, abortive close, teardown.
 */

#ifndef SSH_PLUGIN_SESSION_H
#define SSH_PLUGIN_SESSION_H

#include <stddef.h>

#include <libssh2.h>

struct ssh_conn;

extern int session_wait (struct ssh_conn *c);
extern const char *session_error (struct ssh_conn *c);
extern int session_tcp_connect (struct ssh_conn *c);
extern int session_open (struct ssh_conn *c, const char *known_hostkeys);
extern int session_handshake (struct ssh_conn *c);
extern void session_abort_if_broken (struct ssh_conn *c);
extern void session_close (struct ssh_conn *c);

/* Call a libssh2 function returning int until it stops saying EAGAIN,
 * waiting on the socket in between.  A wait that times out leaves
 * rc == LIBSSH2_ERROR_TIMEOUT and c->wait_failed set.
 */
#define CALL_INT(c, rc, call)                                   \
  do {                                                          \
    while (((rc) = (call)) == LIBSSH2_ERROR_EAGAIN) {           \
      if (session_wait (c) == -1) {                             \
        (rc) = LIBSSH2_ERROR_TIMEOUT;                           \
        break;                                                  \
      }                                                         \
    }                                                           \
  } while (0)

/* The same for functions returning a pointer (NULL + EAGAIN). */
#define CALL_PTR(c, p, call)                                            \
  do {                                                                  \
    while (((p) = (call)) == NULL &&                                    \
           libssh2_session_last_errno ((c)->session) ==                 \
           LIBSSH2_ERROR_EAGAIN) {                                      \
      if (session_wait (c) == -1)                                       \
        break;                                                          \
    }                                                                   \
  } while (0)

#endif /* SSH_PLUGIN_SESSION_H */
