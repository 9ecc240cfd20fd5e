/* nbdkit-ssh-plugin (libssh2)
 * Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
 * SPDX-License-Identifier: BSD-3-Clause
 */

/* errors.c: the errors of a request or of setting up a connection.
 * ssh_error is nbdkit_error, except while an attempt may be followed
 * by another (a request that reconnects and tries again, see
 * do_request, and conn_reconnect): an attempt that fails is then a
 * debug line (nbdkit's retry filter logs its
 * attempts the same way; libvirt and virt-v2v show every
 * nbdkit_error as an error), and its last error is kept for the
 * message of a request that finally fails.  Calls nothing of ours.
 */

#ifndef SSH_PLUGIN_ERRORS_H
#define SSH_PLUGIN_ERRORS_H

#include <stddef.h>

extern void ssh_error (const char *fs, ...)
  __attribute__ ((format (printf, 1, 2)));

/* Between these two (they nest), in this thread, ssh_error only logs
 * at debug level.  ssh_quiet_end copies the last error it held into
 * buf (len bytes; "" if none).
 */
extern void ssh_quiet_begin (void);
extern void ssh_quiet_end (char *buf, size_t len);

/* nbdkit_set_error, remembered per thread: ssh_last_error is the errno
 * the request will fail with, so that work done after the failure was
 * decided (ssh.c flush_failed) can put it back.
 */
extern void ssh_set_error (int err);
extern int ssh_last_error (void);

#endif /* SSH_PLUGIN_ERRORS_H */
