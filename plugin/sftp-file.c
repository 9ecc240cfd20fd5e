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

/* SFTP and the remote file: starting SFTP on a session (channel,
 * handshake, limits) and opening the file (create=, dir= checks),
 * READDIR for dir=, fsync, and closing.
 */

#include <config.h>

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <inttypes.h>
#include <sys/stat.h>

#include "ssh-plugin.h"
#include "errors.h"
#include "durable.h"
#include "session.h"
#include "sftp.h"
#include "sftp-int.h"
#include "sftp-wire.h"
#include "writelog.h"

/* OPEN path with pflags, or OPENDIR when pflags is -1; the handle goes
 * to handle/hlen.  perms >= 0 sets the permissions of a created file.
 */
static int
open_send (struct ssh_conn *c, const char *path, long pflags, int perms,
           struct sync_reply *r)
{
  struct sftp *s = c->sftp;
  uint32_t id;

  if (sftp_sync_begin (c, pflags < 0 ? SSH_FXP_OPENDIR : SSH_FXP_OPEN, &id) == -1)
    return -1;
  sftp_wire_put_string (&s->out, path, strlen (path));
  if (pflags >= 0) {
    sftp_wire_put_u32 (&s->out, pflags);
    sftp_wire_put_u32 (&s->out,
                       perms >= 0 ? SSH_FILEXFER_ATTR_PERMISSIONS : 0);
    if (perms >= 0)
      sftp_wire_put_u32 (&s->out, perms);
  }
  return sftp_call_send (c, id, r);
}

/* Wait for the reply to open_send: the handle. */
static int
open_finish (struct ssh_conn *c, struct sync_reply *r, char *handle,
             uint32_t *hlen, int *err)
{
  const char *h;
  int ret = -1;

  *err = EIO;
  if (sftp_reply_wait (c, r) == -1)
    return -1;
  if (sftp_check_reply_type (c, r, SSH_FXP_HANDLE, "OPEN", err) == 0) {
    if (sftp_wire_handle (r->data, r->len, &h, hlen) == -1)
      sftp_broken (c, "SFTP protocol error: bad HANDLE reply");
    else {
      memcpy (handle, h, *hlen);
      ret = 0;
    }
  }
  free (r->data);
  r->data = NULL;
  return ret;
}

static int
open_handle (struct ssh_conn *c, const char *path, long pflags, int perms,
             char *handle, uint32_t *hlen, int *err)
{
  struct sync_reply r;

  *err = EIO;
  if (open_send (c, path, pflags, perms, &r) == -1)
    return -1;
  return open_finish (c, &r, handle, hlen, err);
}

static int
close_handle (struct ssh_conn *c, const char *handle, uint32_t hlen)
{
  struct sftp *s = c->sftp;
  struct sync_reply r = { .done = false };
  uint32_t id;
  int err, ret;

  if (sftp_sync_begin (c, SSH_FXP_CLOSE, &id) == -1)
    return -1;
  sftp_wire_put_string (&s->out, handle, hlen);
  if (sftp_call (c, id, &r) == -1)
    return -1;
  ret = sftp_expect_ok (c, &r, "CLOSE", &err);
  free (r.data);
  return ret;
}

/* STAT or LSTAT path, or FSTAT the open file (path NULL); the reply
 * goes to r.
 */
static int
stat_send (struct ssh_conn *c, uint8_t type, const char *path,
           struct sync_reply *r)
{
  struct sftp *s = c->sftp;
  uint32_t id;

  if (sftp_sync_begin (c, type, &id) == -1)
    return -1;
  if (path)
    sftp_wire_put_string (&s->out, path, strlen (path));
  else
    sftp_wire_put_string (&s->out, s->handle, s->handle_len);
  return sftp_call_send (c, id, r);
}

/* Wait for the reply to stat_send (what: STAT, LSTAT or FSTAT). */
static int
stat_finish (struct ssh_conn *c, struct sync_reply *r, const char *what,
             struct sftp_attrs *a, int *err)
{
  int ret = -1;

  *err = EIO;
  if (sftp_reply_wait (c, r) == -1)
    return -1;
  if (sftp_check_reply_type (c, r, SSH_FXP_ATTRS, what, err) == 0) {
    if (sftp_wire_attrs (r->data, r->len, a) == -1)
      sftp_broken (c, "SFTP protocol error: bad ATTRS reply to %s", what);
    else
      ret = 0;
  }
  free (r->data);
  r->data = NULL;
  return ret;
}

/* create=true: make the remote file (replacing an existing one) with
 * the size and permissions of the options (create-size=,
 * create-mode=).
 */
static int
create_file (struct ssh_conn *c)
{
  struct sftp *s = c->sftp;
  const struct sftp_options *o = &s->opts;
  struct sync_reply r = { .done = false };
  char handle[SFTP_MAX_HANDLE];
  uint32_t hlen, id;
  int err, ret;

  if (open_handle (c, c->path, SSH_FXF_WRITE | SSH_FXF_CREAT | SSH_FXF_TRUNC,
                   o->create_mode, handle, &hlen, &err) == -1) {
    ssh_error ("cannot create remote file %s on %s: %s",
               c->path, c->host, c->errbuf);
    ssh_set_error (err);
    return -1;
  }
  /* The mode again: OPEN applies it only to a file it creates. */
  if (sftp_sync_begin (c, SSH_FXP_FSETSTAT, &id) == -1) {
    ssh_error ("cannot set the size of remote file %s: %s",
               c->path, c->errbuf);
    return -1;
  }
  sftp_wire_put_string (&s->out, handle, hlen);
  sftp_wire_put_u32 (&s->out,
                     SSH_FILEXFER_ATTR_SIZE | SSH_FILEXFER_ATTR_PERMISSIONS);
  sftp_wire_put_u64 (&s->out, o->create_size);
  sftp_wire_put_u32 (&s->out, o->create_mode);
  if (sftp_call (c, id, &r) == -1) {
    ssh_error ("cannot set the size of remote file %s: %s",
               c->path, c->errbuf);
    return -1;
  }
  ret = sftp_expect_ok (c, &r, "FSETSTAT", &err);
  free (r.data);
  if (ret == -1) {
    ssh_error ("cannot set the size of remote file %s to %" PRIi64
               ": %s", c->path, o->create_size, c->errbuf);
    ssh_set_error (err);
    return -1;
  }
  if (close_handle (c, handle, hlen) == -1) {
    ssh_error ("cannot close created remote file %s: %s",
               c->path, c->errbuf);
    return -1;
  }
  ssh_debug ("created %s: %" PRIi64 " bytes, mode %04o", c->path,
             o->create_size, (unsigned) o->create_mode);
  return 0;
}

/* Send the first requests of opening the file: OPEN and, in the same
 * round trip, STAT of the path for its size (an FSTAT would wait for
 * the handle).  For dir= only LSTAT (only regular files inside the
 * directory, never a symlink that could lead out of it: nothing else
 * is even opened).  The replies are read by sftp_open_file.
 */
static int
open_file_send (struct ssh_conn *c)
{
  struct sftp *s = c->sftp;

  if (c->in_dir)
    return stat_send (c, SSH_FXP_LSTAT, c->path, &s->start_lstat);
  if (open_send (c, c->path,
                 SSH_FXF_READ | (c->readonly ? 0 : SSH_FXF_WRITE), -1,
                 &s->start_open) == -1)
    return -1;
  return stat_send (c, SSH_FXP_STAT, c->path, &s->start_stat);
}

/* The size of the opened file from the STAT sent with its OPEN: true
 * if that reply says a regular file and its size.  STAT follows
 * symlinks as OPEN does, so it names the same file unless the file is
 * replaced in between, as it could be just after an FSTAT too.  A
 * failed STAT, or one that does not say a regular file, is not an
 * error: the FSTAT of the handle is asked then.
 */
static bool
size_from_stat (struct ssh_conn *c, struct sftp_attrs *a)
{
  int err;

  if (stat_finish (c, &c->sftp->start_stat, "STAT", a, &err) == -1) {
    ssh_debug ("STAT of %s: %s; asking FSTAT", c->path, c->errbuf);
    if (!c->broken)
      c->errbuf[0] = '\0';     /* not an error of the connection */
    return false;
  }
  return (a->flags & SSH_FILEXFER_ATTR_PERMISSIONS) &&
    S_ISREG (a->permissions) &&
    (a->flags & SSH_FILEXFER_ATTR_SIZE) && a->size <= INT64_MAX;
}

static int
sftp_open_file (struct ssh_conn *c)
{
  struct sftp *s = c->sftp;
  struct sftp_attrs a, l;
  struct sync_reply fstat;
  int err;

  if (c->in_dir) {
    if (stat_finish (c, &s->start_lstat, "LSTAT", &l, &err) == -1) {
      ssh_error ("cannot open remote file %s on %s: %s",
                 c->path, c->host, c->errbuf);
      ssh_set_error (err);
      return -1;
    }
    if (!(l.flags & SSH_FILEXFER_ATTR_PERMISSIONS) ||
        !S_ISREG (l.permissions)) {
      ssh_error ("remote %s is not a regular file (mode %o); dir= "
                 "exports only regular files", c->path, l.permissions);
      ssh_set_error (EINVAL);
      return -1;
    }
  }

  if ((c->in_dir &&
       open_send (c, c->path,
                  SSH_FXF_READ | (c->readonly ? 0 : SSH_FXF_WRITE), -1,
                  &s->start_open) == -1) ||
      open_finish (c, &s->start_open, s->handle, &s->handle_len,
                   &err) == -1) {
    ssh_error ("cannot open remote file %s on %s for %s: %s",
               c->path, c->host,
               c->readonly ? "reading" : "reading and writing",
               c->errbuf);
    ssh_set_error (err);
    return -1;
  }

  if (!c->in_dir && size_from_stat (c, &a))
    ;
  else if (c->broken ||
           stat_send (c, SSH_FXP_FSTAT, NULL, &fstat) == -1 ||
           stat_finish (c, &fstat, "FSTAT", &a, &err) == -1) {
    ssh_error ("cannot get the size of remote file %s: %s",
               c->path, c->errbuf);
    ssh_set_error (err);
    return -1;
  }
  if ((a.flags & SSH_FILEXFER_ATTR_PERMISSIONS) && !S_ISREG (a.permissions)) {
    ssh_error ("remote file %s is not a regular file (mode %o)",
               c->path, a.permissions);
    return -1;
  }
  if (!(a.flags & SSH_FILEXFER_ATTR_SIZE) || a.size > INT64_MAX) {
    ssh_error ("the server did not report the size of remote file %s",
               c->path);
    return -1;
  }
  /* dir=: a symlink swapped in between LSTAT and OPEN would lead out
   * of the directory.  The open file must be the one checked: same
   * type and mode, owner and size (SFTP v3 has no inode number).
   */
  if (c->in_dir &&
      (!(a.flags & SSH_FILEXFER_ATTR_PERMISSIONS) ||
       a.permissions != l.permissions ||
       (a.flags & l.flags & SSH_FILEXFER_ATTR_UIDGID &&
        (a.uid != l.uid || a.gid != l.gid)) ||
       a.size != l.size)) {
    ssh_error ("remote file %s changed between its check and its "
               "opening (mode %o, %" PRIu64 " bytes, then mode %o, %"
               PRIu64 " bytes): refusing it (dir= exports only the "
               "regular files of the directory)", c->path,
               l.permissions, l.size, a.permissions, a.size);
    ssh_set_error (EINVAL);
    return -1;
  }
  c->size = a.size;
  return 0;
}

/* dir=: may the file be an export?  A regular file (as lstat sees
 * it) whose name is one that dir_path in ssh.c accepts and that can
 * be shown as it is: at most 255 bytes of UTF-8 without control
 * characters, no '/'.  Names with control characters are skipped, not
 * escaped: an escaped name is another file's name.
 */
static bool
dir_entry_ok (const struct sftp_name *e)
{
  char shown[80];

  if (!(e->attrs.flags & SSH_FILEXFER_ATTR_PERMISSIONS) ||
      !S_ISREG (e->attrs.permissions))
    return false;
  if (e->filename_len == 0 || e->filename_len > 255 ||
      memchr (e->filename, '/', e->filename_len) != NULL ||
      !sftp_wire_text_is_plain (e->filename, e->filename_len)) {
    ssh_debug ("dir=: skipping %s: not a name to serve (control characters, "
               "not UTF-8, '/' or longer than 255 bytes)",
               sftp_wire_escape (shown, sizeof shown, e->filename,
                                 e->filename_len));
    return false;
  }
  return true;
}

/* dir=: call fn for every regular file in dir that dir_entry_ok
 * accepts.  A server that never ends the listing is stopped after
 * DIR_MAX_ROUNDS replies or DIR_MAX_NAMES names.
 */
int
sftp_list_dir (struct ssh_conn *c, const char *dir,
               int (*fn) (void *opaque, const char *name, uint64_t size),
               void *opaque)
{
  struct sftp *s = c->sftp;
  char handle[SFTP_MAX_HANDLE];
  uint32_t hlen;
  unsigned rounds = 0;
  uint64_t names = 0;
  int err, ret = -1;

  if (open_handle (c, dir, -1, -1, handle, &hlen, &err) == -1) {
    ssh_error ("cannot list remote directory %s on %s: %s",
               dir, c->host, c->errbuf);
    ssh_set_error (err);
    return -1;
  }
  for (;;) {
    struct sync_reply r = { .done = false };
    struct sftp_reader entries;
    struct sftp_status st;
    uint32_t id, count, i;

    if (sftp_sync_begin (c, SSH_FXP_READDIR, &id) == -1)
      goto transport;
    sftp_wire_put_string (&s->out, handle, hlen);
    if (sftp_call (c, id, &r) == -1)
      goto transport;
    if (r.type == SSH_FXP_STATUS &&
        sftp_wire_status (r.data, r.len, &st) == 0 &&
        st.code == SSH_FX_EOF) {
      free (r.data);
      break;
    }
    if (sftp_check_reply_type (c, &r, SSH_FXP_NAME, "READDIR", &err) == -1) {
      free (r.data);
      ssh_error ("cannot list remote directory %s: %s", dir, c->errbuf);
      ssh_set_error (err);
      goto out;
    }
    if (sftp_wire_name (r.data, r.len, &count, &entries) == -1) {
      free (r.data);
      sftp_broken (c, "SFTP protocol error: short NAME reply");
      goto transport;
    }
    /* Bounded: a server may keep sending names forever. */
    if (++rounds > DIR_MAX_ROUNDS || count > DIR_MAX_NAMES - names) {
      free (r.data);
      ssh_error ("cannot list remote directory %s: the server sent more "
                 "than %s (dir= serves directories of up to %d entries, "
                 "read in up to %d replies)", dir,
                 rounds > DIR_MAX_ROUNDS ? "the replies allowed"
                 : "the names allowed", DIR_MAX_NAMES, DIR_MAX_ROUNDS);
      ssh_set_error (EIO);
      goto out;
    }
    names += count;
    for (i = 0; i < count; ++i) {
      struct sftp_name e;
      char name[256];

      if (sftp_wire_next_name (&entries, &e) == -1)
        break;
      if (!dir_entry_ok (&e))
        continue;
      memcpy (name, e.filename, e.filename_len);
      name[e.filename_len] = '\0';
      if (fn (opaque, name, e.attrs.size) == -1) {
        free (r.data);
        goto out;
      }
    }
    free (r.data);
    if (i < count) {
      sftp_broken (c, "SFTP protocol error: bad NAME reply");
      goto transport;
    }
  }
  ret = 0;
 out:
  if (!c->broken)
    close_handle (c, handle, hlen);
  return ret;

 transport:
  ssh_error ("cannot list remote directory %s: %s", dir, c->errbuf);
  return -1;
}

/* Microseconds from t0 to t1, at least 1. */
static int64_t
elapsed_us (const struct timespec *t0, const struct timespec *t1)
{
  int64_t us = (t1->tv_sec - t0->tv_sec) * INT64_C (1000000) +
    (t1->tv_nsec - t0->tv_nsec) / 1000;

  return us > 0 ? us : 1;
}

/* Start SFTP on the session of c, with the caller's settings opts
 * (kept with the session), and open the file c->path (creating it
 * first if c->create); no file for a dir= listing (c->path NULL).
 */
int
sftp_start (struct ssh_conn *c, const struct sftp_options *opts)
{
  struct sftp *s;
  int rc;
  struct timespec t0, t1;

  assert (opts->busy_conns != NULL);
  s = c->sftp = calloc (1, sizeof *s);
  if (s == NULL) {
    ssh_error ("calloc: %m");
    return -1;
  }
  s->opts = *opts;
  s->next_id = 1;
  s->ibuf = malloc (IBUF_SIZE);
  if (s->ibuf == NULL) {
    ssh_error ("malloc: %m");
    return -1;
  }

  clock_gettime (CLOCK_MONOTONIC, &t0);
  CALL_PTR (c, s->channel,
            libssh2_channel_open_ex (c->session, "session",
                                     sizeof "session" - 1,
                                     SFTP_WINDOW, SFTP_PACKET, NULL, 0));
  if (s->channel == NULL) {
    ssh_error ("cannot open an SSH channel to %s port %u: %s",
               c->host, c->port, session_error (c));
    return -1;
  }
  clock_gettime (CLOCK_MONOTONIC, &t1);
  s->rtt_us = elapsed_us (&t0, &t1);
  CALL_INT (c, rc, libssh2_channel_handle_extended_data2
            (s->channel, LIBSSH2_CHANNEL_EXTENDED_DATA_IGNORE));

  /* INIT, limits and (unless the file is to be created first) opening
   * the file, queued back to back and sent right behind the subsystem
   * request: sshd hands them to sftp-server once it has started it.
   * One round trip for all, counting the subsystem's.
   */
  if (sftp_init_send (c) == -1 ||
      sftp_limits_send (c, &s->start_limits) == -1 ||
      (c->path && !c->create && open_file_send (c) == -1)) {
    ssh_error ("SFTP handshake with %s port %u failed: %s",
               c->host, c->port, c->errbuf);
    return -1;
  }
  clock_gettime (CLOCK_MONOTONIC, &t0);
  while ((rc = libssh2_channel_process_startup (s->channel, "subsystem",
                                                sizeof "subsystem" - 1,
                                                "sftp",
                                                sizeof "sftp" - 1)) ==
         LIBSSH2_ERROR_EAGAIN) {
    /* The request is out (not half sent): the queued packets follow. */
    if ((!(libssh2_session_block_directions (c->session) &
           LIBSSH2_SESSION_BLOCK_OUTBOUND) || s->stuck == s) &&
        sftp_send_queued (c) == -1)
      break;
    if (session_wait (c) == -1) {
      rc = LIBSSH2_ERROR_TIMEOUT;
      break;
    }
  }
  if (rc != 0) {
    ssh_error ("cannot start the sftp subsystem on %s port %u (is it "
               "enabled in sshd_config?): %s",
               c->host, c->port, c->broken ? c->errbuf : session_error (c));
    return -1;
  }
  /* The round trip: opening a channel is one, to sshd alone, and so
   * is starting the subsystem (sshd answers once it has forked); the
   * shorter of the two, as a busy host can delay either.  The replies
   * to the SFTP requests also wait for sftp-server to start, so they
   * cannot say what the link is.
   */
  clock_gettime (CLOCK_MONOTONIC, &t1);
  if (elapsed_us (&t0, &t1) < s->rtt_us)
    s->rtt_us = elapsed_us (&t0, &t1);
  /* Writes on a long link need more channels: they are set up while
   * the rest goes on (write-behind only).
   */
  if (s->opts.write_behind != 0)
    sftp_lanes_start (c, sftp_write_channels (c) - 1);
  if (sftp_handshake (c) == -1) {
    ssh_error ("SFTP handshake with %s port %u failed: %s",
               c->host, c->port, c->errbuf);
    return -1;
  }
  if (sftp_limits (c, &s->start_limits) == -1) {
    ssh_error ("SFTP limits request to %s port %u failed: %s",
               c->host, c->port, c->errbuf);
    return -1;
  }
  if (c->path == NULL)          /* dir= listing: no file */
    return 0;
  if (c->create && create_file (c) == -1)
    return -1;
  if (c->create && open_file_send (c) == -1) {
    ssh_error ("cannot open remote file %s on %s: %s",
               c->path, c->host, c->errbuf);
    return -1;
  }
  if (sftp_open_file (c) == -1)
    return -1;
  s->wlog = writelog_open (c->path);
  if (s->wlog == NULL) {
    ssh_error ("malloc: %m");
    return -1;
  }
  c->can_fsync = s->has_fsync;
  sftp_io_start (c);
  /* After a reconnect: the writes the old session left unanswered. */
  if (sftp_write_resume (c) == -1) {
    ssh_error ("cannot send writes again to remote file %s: %s",
               c->path, c->errbuf);
    return -1;
  }
  ssh_debug ("opened %s%s: %" PRIi64 " bytes; SFTP version %u, READ up to %"
             PRIu32 ", WRITE up to %" PRIu32 ", fsync %s; round trip %" PRIi64
             " us, read-ahead up to %" PRIu32 " bytes",
             c->path, c->readonly ? " read-only" : "", c->size,
             s->version, s->max_read, s->max_write,
             s->has_fsync ? "available" : "not available", s->rtt_us,
             s->ra_target);
  return 0;
}

/* idle-keep=: a warm connection is handed to a new client.  It must
 * serve the file that is at the path now, which attributes cannot
 * tell apart from the one it has open (SFTP v3 has no inode number:
 * a copy put in place by rename can have the same size, mode, owner
 * and mtime).  So the path is opened again, as at the start (OPEN
 * with a STAT for the size: one round trip), and then the old handle
 * is closed without waiting for the reply.  Reads what arrived
 * meanwhile first (a dead server shows there).  -1 if the connection
 * is not usable (after nbdkit_error if the file cannot be opened any
 * more); the old handle is then kept, for the fsync at close.
 */
int
sftp_refresh (struct ssh_conn *c)
{
  struct sftp *s = c->sftp;
  char old[SFTP_MAX_HANDLE];
  uint32_t old_len;

  if (s == NULL || s->handle_len == 0 || sftp_poll (c) == -1 ||
      open_file_send (c) == -1)
    return -1;
  /* The other channels open the path again too. */
  if (sftp_lanes_refresh (c) == -1)
    return -1;
  old_len = s->handle_len;
  memcpy (old, s->handle, old_len);
  s->handle_len = 0;
  if (sftp_open_file (c) == -1) {
    memcpy (s->handle, old, old_len);
    s->handle_len = old_len;
    return -1;
  }
  return sftp_close_nowait (c, s, old, old_len);
}

/* Forget the SFTP state of a session about to be closed: the file is
 * not closed, nor the channels, one round trip each that nothing waits
 * for (the writes were finished first, see conn.c finish): the
 * server's sftp-servers close the file when the session goes, and
 * libssh2 frees the channels with the session (session_close).
 */
void
sftp_stop (struct ssh_conn *c)
{
  struct sftp *s = c->sftp;

  if (s == NULL)
    return;
  /* A packet libssh2 has half sent goes out first: the session's
   * DISCONNECT is sent next.
   */
  while (!c->broken && s->stuck)
    if (sftp_pump (c, NULL) == -1)
      break;
  sftp_io_free (s);
  sftp_lanes_free (s);
  free (s->start_limits.data);
  free (s->start_lstat.data);
  free (s->start_open.data);
  free (s->start_stat.data);
  writelog_close (s->wlog);
  sftp_wire_buf_free (&s->out);
  free (s->ibuf);
  free (s);
  c->sftp = NULL;
}

/* fsync@openssh.com on channel s's handle of the open file, reply to
 * r.  -1 if the connection broke.
 */
static int
fsync_send (struct ssh_conn *c, struct sftp *s, struct sync_reply *r)
{
  static const char name[] = "fsync@openssh.com";
  uint32_t id;

  if (sftp_lane_begin (c, s, SSH_FXP_EXTENDED, &id) == -1)
    return -1;
  sftp_wire_put_string (&s->out, name, sizeof name - 1);
  sftp_wire_put_string (&s->out, s->handle, s->handle_len);
  return sftp_lane_call_send (c, s, id, r);
}

/* fsync@openssh.com on the open file, on every channel that may have
 * written to it (the first one and the lanes ready for writes), all in
 * one round trip: on Linux one fsync covers the file whichever handle
 * wrote, but a server's file system may flush per handle (FUSE passes
 * the handle along).  what: the request that asks, for the messages.
 * Success makes every write the server acknowledged before it durable,
 * on every connection (durable.c); a failed fsync may have lost some
 * of them, which every connection's next flush is told.
 */
int
sftp_fsync (struct ssh_conn *c, const char *what)
{
  struct sftp *p = c->sftp;
  struct sync_reply r[1 + SFTP_MAX_CHANNELS];
  struct sftp *on[1 + SFTP_MAX_CHANNELS];
  unsigned i, n = 0;
  uint64_t t;
  int err = 0, ret = 0, broke;

  if (!p->has_fsync) {
    ssh_error ("%s: the server does not support fsync@openssh.com",
               what);
    ssh_set_error (ENOTSUP);
    return -1;
  }
  t = durable_now (c);
  /* The first channel's slot may be taken by a request in flight. */
  broke = sftp_slot_wait (c) == -1;
  on[n++] = p;
  for (i = 0; i < p->nr_lanes; ++i)
    if (p->lanes[i]->lane_state == LANE_READY)
      on[n++] = p->lanes[i];
  for (i = 0; i < n; ++i)
    r[i].data = NULL;
  for (i = 0; i < n && !broke; ++i)
    if (fsync_send (c, on[i], &r[i]) == -1)
      broke = 1;
  for (i = 0; i < n && !broke; ++i)
    if (sftp_reply_wait (c, &r[i]) == -1)
      broke = 1;
  if (broke) {
    for (i = 0; i < n; ++i)
      free (r[i].data);
    ssh_error ("fsync of remote file %s failed: %s",
               c->path, c->errbuf);
    ssh_set_error (EIO);
    return -1;
  }
  for (i = 0; i < n; ++i) {
    if (ret == 0 && sftp_expect_ok (c, &r[i], "fsync", &err) == -1)
      ret = -1;
    free (r[i].data);
  }
  if (ret == -1) {
    char text[sizeof ((struct durable_event *) 0)->text];

    durable_text (text, sizeof text, "fsync of remote file %s failed: %s",
                  c->path, c->errbuf);
    durable_loss (c, err, 0, 0, text);
    ssh_error ("%s", text);
    ssh_set_error (err);
    return -1;
  }
  durable_fsync_done (c, t);
  return 0;
}

/* Wait for the writes in flight (write-behind), report a failure of
 * one of them (and forget it if clear_failure: a flush, not a FUA
 * write), then fsync the file.
 */
int
sftp_flush (struct ssh_conn *c, bool clear_failure)
{
  const char *what = clear_failure ? "flush" : "FUA write";

  if (sftp_check_usable (c, what) == -1)
    return -1;
  if (sftp_write_drain (c) == -1) {
    ssh_error ("%s: writes to remote file %s still in flight: %s",
               what, c->path, c->errbuf);
    ssh_set_error (EIO);
    return -1;
  }
  if (sftp_write_failed (c)) {
    /* A failed write to report.  The file is fsynced all the same, as
     * fsync(2) writes back every page even when it reports an error:
     * the other writes are then durable, and a fault after this flush
     * cannot count them lost once more (a second report to a client
     * just told).  The fsync's own failure is a debug line: a session
     * that broke makes the request try again on a new one (the
     * failure is still kept), and a refused fsync is a loss event.
     */
    ssh_quiet_begin ();
    sftp_fsync (c, what);
    ssh_quiet_end (NULL, 0);
    if (c->broken)
      return -1;
    return sftp_write_failure (c, what, clear_failure);
  }
  return sftp_fsync (c, what);
}
