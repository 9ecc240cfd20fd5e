/* nbdkit-ssh-plugin (libssh2)
 * Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
 *
 * Redistribution and use in source and binary forms, with or without
 * modification, are permitted provided that the following conditions are
 * met:
 *
 * * Redistributions of source code must retain the above copyright
 * notice, this list of conditions and the following disclaimer.
 *
 * * Redistributions in binary form must reproduce the above copyright
 * notice, this list of conditions and the following disclaimer in the
 * documentation and/or other materials provided with the distribution.
 *
 * * Neither the name of the copyright holder nor the names of its
 * contributors may be used to endorse or promote products derived from
 * this software without specific prior written permission.
 *
 * THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS
 * "AS IS" AND ANY EXPRESS OR IMPLIED WARRANTIES, INCLUDING, BUT NOT
 * LIMITED TO, THE IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS FOR
 * A PARTICULAR PURPOSE ARE DISCLAIMED. IN NO EVENT SHALL THE COPYRIGHT
 * HOLDER OR CONTRIBUTORS BE LIABLE FOR ANY DIRECT, INDIRECT, INCIDENTAL,
 * SPECIAL, EXEMPLARY, OR CONSEQUENTIAL DAMAGES (INCLUDING, BUT NOT
 * LIMITED TO, PROCUREMENT OF SUBSTITUTE GOODS OR SERVICES; LOSS OF USE,
 * DATA, OR PROFITS; OR BUSINESS INTERRUPTION) HOWEVER CAUSED AND ON ANY
 * THEORY OF LIABILITY, WHETHER IN CONTRACT, STRICT LIABILITY, OR TORT
 * (INCLUDING NEGLIGENCE OR OTHERWISE) ARISING IN ANY WAY OUT OF THE USE
 * OF THIS SOFTWARE, EVEN IF ADVISED OF THE POSSIBILITY OF SUCH DAMAGE.
 */

/* The data path: SFTP session, the open remote file, pread, pwrite
 * and flush.
 */

#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <inttypes.h>
#include <sys/stat.h>

#include "ssh-plugin.h"

static const char *
sftp_status_name (unsigned long status)
{
  switch (status) {
  case LIBSSH2_FX_OK: return "ok";
  case LIBSSH2_FX_EOF: return "end of file";
  case LIBSSH2_FX_NO_SUCH_FILE: return "no such file";
  case LIBSSH2_FX_PERMISSION_DENIED: return "permission denied";
  case LIBSSH2_FX_FAILURE: return "failure";
  case LIBSSH2_FX_BAD_MESSAGE: return "bad message";
  case LIBSSH2_FX_NO_CONNECTION: return "no connection";
  case LIBSSH2_FX_CONNECTION_LOST: return "connection lost";
  case LIBSSH2_FX_OP_UNSUPPORTED: return "operation unsupported";
  case LIBSSH2_FX_INVALID_HANDLE: return "invalid handle";
  case LIBSSH2_FX_NO_SUCH_PATH: return "no such path";
  case LIBSSH2_FX_FILE_ALREADY_EXISTS: return "file already exists";
  case LIBSSH2_FX_WRITE_PROTECT: return "write protected";
  case LIBSSH2_FX_NO_MEDIA: return "no media";
  case LIBSSH2_FX_NO_SPACE_ON_FILESYSTEM: return "no space on filesystem";
  case LIBSSH2_FX_QUOTA_EXCEEDED: return "quota exceeded";
  case LIBSSH2_FX_UNKNOWN_PRINCIPAL: return "unknown principal";
  case LIBSSH2_FX_LOCK_CONFLICT: return "lock conflict";
  case LIBSSH2_FX_DIR_NOT_EMPTY: return "directory not empty";
  case LIBSSH2_FX_NOT_A_DIRECTORY: return "not a directory";
  case LIBSSH2_FX_INVALID_FILENAME: return "invalid filename";
  case LIBSSH2_FX_LINK_LOOP: return "link loop";
  }
  return "unknown status";
}

static int
sftp_status_errno (unsigned long status)
{
  switch (status) {
  case LIBSSH2_FX_NO_SPACE_ON_FILESYSTEM:
  case LIBSSH2_FX_QUOTA_EXCEEDED:
    return ENOSPC;
  case LIBSSH2_FX_PERMISSION_DENIED:
  case LIBSSH2_FX_WRITE_PROTECT:
    return EACCES;
  case LIBSSH2_FX_OP_UNSUPPORTED:
    return ENOTSUP;
  case LIBSSH2_FX_NO_SUCH_FILE:
  case LIBSSH2_FX_NO_SUCH_PATH:
    return ENOENT;
  }
  return EIO;
}

/* Describe the last failure of an SFTP call (rc is what it returned)
 * and pick the errno for the client.  Returns the message.
 */
static const char *
sftp_failure (struct ssh_conn *c, long rc, int *err)
{
  if (rc == LIBSSH2_ERROR_SFTP_PROTOCOL && c->sftp) {
    unsigned long status = libssh2_sftp_last_error (c->sftp);

    *err = sftp_status_errno (status);
    snprintf (c->errbuf, sizeof c->errbuf, "%s (SFTP status %lu)",
              sftp_status_name (status), status);
    return c->errbuf;
  }
  /* Anything else is a transport failure: the session is unusable. */
  *err = EIO;
  c->broken = true;
  return conn_error (c);
}

static void
set_seek (struct ssh_conn *c, uint64_t offset, bool write)
{
  if (!c->offset_valid || c->offset != offset ||
      c->last_was_write != write) {
    debug ("seek to %" PRIu64 " for %s (previous %s ended at %" PRIu64 ")",
           offset, write ? "write" : "read",
           c->last_was_write ? "write" : "read", c->offset);
    libssh2_sftp_seek64 (c->handle, offset);
  }
  c->offset = offset;
  c->offset_valid = true;
  c->last_was_write = write;
}

int
sftp_start (struct ssh_conn *c)
{
  LIBSSH2_SFTP_ATTRIBUTES attrs;
  unsigned long flags;
  int rc, err;

  CALL_PTR (c, c->sftp, libssh2_sftp_init (c->session));
  if (c->sftp == NULL) {
    nbdkit_error ("cannot start SFTP on %s port %u (is the sftp subsystem "
                  "enabled on the server?): %s",
                  params.host, params.port, conn_error (c));
    return -1;
  }

  flags = LIBSSH2_FXF_READ | (c->readonly ? 0 : LIBSSH2_FXF_WRITE);
  CALL_PTR (c, c->handle,
            libssh2_sftp_open_ex (c->sftp, params.path, strlen (params.path),
                                  flags, 0, LIBSSH2_SFTP_OPENFILE));
  if (c->handle == NULL) {
    const char *msg =
      sftp_failure (c, libssh2_session_last_errno (c->session), &err);
    nbdkit_error ("cannot open remote file %s on %s for %s: %s",
                  params.path, params.host,
                  c->readonly ? "reading" : "reading and writing", msg);
    nbdkit_set_error (err);
    return -1;
  }

  CALL_INT (c, rc, libssh2_sftp_fstat_ex (c->handle, &attrs, 0));
  if (rc != 0) {
    nbdkit_error ("cannot get the size of remote file %s: %s",
                  params.path, sftp_failure (c, rc, &err));
    nbdkit_set_error (err);
    return -1;
  }
  if ((attrs.flags & LIBSSH2_SFTP_ATTR_PERMISSIONS) &&
      !S_ISREG (attrs.permissions)) {
    nbdkit_error ("remote file %s is not a regular file (mode %lo)",
                  params.path, attrs.permissions);
    return -1;
  }
  if (!(attrs.flags & LIBSSH2_SFTP_ATTR_SIZE) ||
      attrs.filesize > INT64_MAX) {
    nbdkit_error ("the server did not report the size of remote file %s",
                  params.path);
    return -1;
  }
  c->size = (int64_t) attrs.filesize;

  /* Probe fsync@openssh.com once, so that can_flush tells the truth. */
  CALL_INT (c, rc, libssh2_sftp_fsync (c->handle));
  if (rc == 0)
    c->can_fsync = true;
  else {
    const char *msg = sftp_failure (c, rc, &err);
    if (c->broken) {
      nbdkit_error ("fsync of remote file %s failed: %s", params.path, msg);
      return -1;
    }
    debug ("server cannot fsync %s: %s: flush is not available",
           params.path, msg);
  }
  debug ("opened %s%s: %" PRIi64 " bytes, fsync %s",
         params.path, c->readonly ? " read-only" : "", c->size,
         c->can_fsync ? "available" : "not available");
  return 0;
}

/* Close the file and the SFTP session.  On a broken connection the
 * caller has shut the socket down first, so these fail at once; they
 * are still called so that libssh2 frees what it holds.
 */
void
sftp_stop (struct ssh_conn *c)
{
  int rc;

  if (c->handle) {
    CALL_INT (c, rc, libssh2_sftp_close_handle (c->handle));
    c->handle = NULL;
  }
  if (c->sftp) {
    CALL_INT (c, rc, libssh2_sftp_shutdown (c->sftp));
    c->sftp = NULL;
  }
  (void) rc;
}

static int
check_usable (struct ssh_conn *c, const char *what)
{
  if (c->broken) {
    nbdkit_error ("%s: the connection to %s port %u failed earlier "
                  "(%s); reconnect", what, params.host, params.port,
                  c->errbuf[0] ? c->errbuf : "broken");
    nbdkit_set_error (EIO);
    return -1;
  }
  return 0;
}

int
sftp_pread (struct ssh_conn *c, void *buf, uint32_t count, uint64_t offset)
{
  char *p = buf;
  ssize_t r;
  int err;

  if (check_usable (c, "read") == -1)
    return -1;
  debug ("pread %" PRIu32 " bytes at %" PRIu64, count, offset);
  set_seek (c, offset, false);
  while (count > 0) {
    CALL_INT (c, r, libssh2_sftp_read (c->handle, p, count));
    if (r < 0) {
      c->offset_valid = false;
      nbdkit_error ("read of %" PRIu32 " bytes at offset %" PRIu64
                    " from remote file %s failed: %s",
                    count, offset, params.path, sftp_failure (c, r, &err));
      nbdkit_set_error (err);
      return -1;
    }
    if (r == 0) {
      c->offset_valid = false;
      nbdkit_error ("read from remote file %s at offset %" PRIu64
                    ": unexpected end of file (%" PRIu32 " bytes short; "
                    "was the file truncated?)", params.path, offset, count);
      nbdkit_set_error (EIO);
      return -1;
    }
    p += r;
    count -= r;
    offset += r;
    c->offset = offset;
  }
  return 0;
}

int
sftp_pwrite (struct ssh_conn *c, const void *buf, uint32_t count,
             uint64_t offset)
{
  const char *p = buf;
  ssize_t r;
  int err, zeros = 0;

  if (check_usable (c, "write") == -1)
    return -1;
  debug ("pwrite %" PRIu32 " bytes at %" PRIu64, count, offset);
  set_seek (c, offset, true);
  while (count > 0) {
    CALL_INT (c, r, libssh2_sftp_write (c->handle, p, count));
    if (r < 0) {
      c->offset_valid = false;
      nbdkit_error ("write of %" PRIu32 " bytes at offset %" PRIu64
                    " to remote file %s failed: %s",
                    count, offset, params.path, sftp_failure (c, r, &err));
      nbdkit_set_error (err);
      return -1;
    }
    if (r == 0) {
      /* Nothing acknowledged yet; libssh2 keeps what is in flight. */
      if (++zeros > 1000) {
        c->offset_valid = false;
        c->broken = true;
        nbdkit_error ("write to remote file %s at offset %" PRIu64
                      ": the server acknowledges nothing",
                      params.path, offset);
        nbdkit_set_error (EIO);
        return -1;
      }
      continue;
    }
    zeros = 0;
    p += r;
    count -= r;
    offset += r;
    c->offset = offset;
  }
  return 0;
}

int
sftp_flush (struct ssh_conn *c)
{
  int rc, err;

  if (check_usable (c, "flush") == -1)
    return -1;
  CALL_INT (c, rc, libssh2_sftp_fsync (c->handle));
  if (rc != 0) {
    nbdkit_error ("fsync of remote file %s failed: %s",
                  params.path, sftp_failure (c, rc, &err));
    nbdkit_set_error (err);
    return -1;
  }
  return 0;
}
