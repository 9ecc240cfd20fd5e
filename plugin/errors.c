/* nbdkit-ssh-plugin (libssh2)
 * Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
 * SPDX-License-Identifier: BSD-3-Clause
 */

/* The errors of setting up a connection (see errors.h). */

#include <config.h>

#include <stdarg.h>
#include <stdio.h>

#define NBDKIT_API_VERSION 2
#include <nbdkit-plugin.h>

#include "errors.h"

/* Per thread: conn_reconnect runs in the thread of the request (or of
 * the keepalive) that found the connection broken, with the
 * connection's lock held.
 */
static __thread unsigned quiet;     /* depth of begin/end pairs */
static __thread char last[4096];
static __thread int last_errno;

void
ssh_error (const char *fs, ...)
{
  va_list args;
  char msg[4096];

  va_start (args, fs);
  vsnprintf (msg, sizeof msg, fs, args);
  va_end (args);
  if (quiet) {
    nbdkit_debug ("ssh: error of an attempt that may be retried: %s", msg);
    snprintf (last, sizeof last, "%s", msg);
  }
  else
    nbdkit_error ("%s", msg);
}

void
ssh_quiet_begin (void)
{
  if (quiet++ == 0)
    last[0] = '\0';
}

void
ssh_quiet_end (char *buf, size_t len)
{
  if (len > 0)
    snprintf (buf, len, "%s", last);
  if (quiet > 0 && --quiet == 0)
    last[0] = '\0';
}

void
ssh_set_error (int err)
{
  last_errno = err;
  nbdkit_set_error (err);
}

int
ssh_last_error (void)
{
  return last_errno;
}
