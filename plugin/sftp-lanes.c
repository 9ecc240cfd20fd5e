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

/* Lanes: more SFTP channels of the session for write-behind WRITEs
 * (channels=), each a struct sftp in c->sftp->lanes[] with its own
 * sftp-server and its own handle of the file.  They are set up in the
 * background by the pump (sftp.c), one step at a time and without
 * waiting: open the channel, start the subsystem and send INIT, OPEN
 * the path once the first channel has the file open, then check with
 * an FSTAT of both handles that it is the same file.  Writes use the
 * lanes that are ready (sftp-write.c pick_lane); a lane that cannot be
 * set up is not used, and is not an error.
 */

#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <inttypes.h>

#include "ssh-plugin.h"
#include "session.h"
#include "sftp.h"
#include "sftp-int.h"
#include "sftp-wire.h"

/* Is lane l pumped?  Once set up, and a retired one while replies to
 * it are due.
 */
bool
sftp_lane_active (const struct sftp *l)
{
  return l->lane_state == LANE_INIT || l->lane_state == LANE_HANDSHAKE ||
    l->lane_state == LANE_VERIFY || l->lane_state == LANE_READY ||
    (l->lane_state == LANE_FAILED && l->channel && l->nr_inflight > 0);
}

/* Where lane l's VERSION goes while it may come. */
struct sync_reply *
sftp_lane_version_reply (struct sftp *l)
{
  return l->lane_state == LANE_INIT || l->lane_state == LANE_HANDSHAKE ?
    &l->lane_version : NULL;
}

/* Lane l cannot be set up (the server may refuse more channels:
 * OpenSSH's MaxSessions): writes go to the others.
 */
static void
lane_failed (struct ssh_conn *c, struct sftp *l, const char *what,
             const char *why)
{
  ssh_debug ("another SFTP channel for writes to %s: %s failed (%s); not "
             "used", c->path, what, why);
  l->lane_state = LANE_FAILED;
}

/* One step of setting up lane l, without waiting: open its channel
 * (one lane at a time: libssh2 opens one channel at a time), start
 * the sftp subsystem and send INIT, then, once the first channel has
 * the file open (which create= may have had to make), OPEN (the
 * replies are read by the pump, see lane_ready).  Returns 1 if it
 * moved.
 */
int
sftp_lane_step (struct ssh_conn *c, struct sftp *l)
{
  int rc;
  uint32_t id;

  if (l->lane_state == LANE_OPEN) {
    l->channel = libssh2_channel_open_ex (c->session, "session",
                                          sizeof "session" - 1,
                                          LANE_WINDOW, SFTP_PACKET, NULL, 0);
    if (l->channel == NULL) {
      rc = libssh2_session_last_errno (c->session);
      sftp_note_call (c, l, STUCK_SETUP, rc == LIBSSH2_ERROR_EAGAIN);
      if (rc != LIBSSH2_ERROR_EAGAIN)
        lane_failed (c, l, "opening an SSH channel", session_error (c));
      return 0;
    }
    sftp_note_call (c, l, STUCK_SETUP, false);
    /* Nothing has come on the channel yet: sends nothing. */
    libssh2_channel_handle_extended_data2 (l->channel,
                                           LIBSSH2_CHANNEL_EXTENDED_DATA_IGNORE);
    l->lane_state = LANE_SUBSYSTEM;
  }
  if (l->lane_state == LANE_SUBSYSTEM) {
    rc = libssh2_channel_process_startup (l->channel, "subsystem",
                                          sizeof "subsystem" - 1,
                                          "sftp", sizeof "sftp" - 1);
    sftp_note_call (c, l, STUCK_SETUP, rc == LIBSSH2_ERROR_EAGAIN);
    if (rc == LIBSSH2_ERROR_EAGAIN)
      return 0;
    if (rc != 0) {
      lane_failed (c, l, "starting the sftp subsystem", session_error (c));
      return 0;
    }
    sftp_wire_begin (&l->out, SSH_FXP_INIT);
    sftp_wire_put_u32 (&l->out, SFTP_VERSION);
    if (sftp_wire_end (&l->out) == -1)
      return sftp_broken (c, "building an SFTP request: %m");
    l->lane_state = LANE_INIT;
  }
  if (l->lane_state == LANE_INIT && c->sftp->handle_len > 0) {
    if (sftp_lane_begin (c, l, SSH_FXP_OPEN, &id) == -1)
      return -1;
    sftp_wire_put_string (&l->out, c->path, strlen (c->path));
    sftp_wire_put_u32 (&l->out, SSH_FXF_WRITE);
    sftp_wire_put_u32 (&l->out, 0);
    if (sftp_lane_call_send (c, l, id, &l->start_open) == -1)
      return -1;
    l->lane_state = LANE_HANDSHAKE;
    return 1;
  }
  return 0;
}

/* Lane l has had its VERSION and its OPEN reply: ready, or failed. */
static void
lane_ready (struct ssh_conn *c, struct sftp *l)
{
  struct sftp_reader exts;
  const char *h;
  uint32_t hlen;
  int err;
  char saved[sizeof c->errbuf];

  if (l->lane_state != LANE_HANDSHAKE ||
      (l->version == 0 && !l->lane_version.done) || !l->start_open.done)
    return;
  /* c->errbuf holds the lane's error for a moment only. */
  memcpy (saved, c->errbuf, sizeof saved);
  c->errbuf[0] = '\0';
  if (l->version == 0 &&
      (sftp_wire_version (l->lane_version.data, l->lane_version.len,
                          &l->version, &exts) == -1 ||
       l->version < SFTP_VERSION)) {
    l->version = 0;
    snprintf (c->errbuf, sizeof c->errbuf, "bad VERSION");
  }
  else if (sftp_check_reply_type (c, &l->start_open, SSH_FXP_HANDLE, "OPEN",
                                  &err) == 0 &&
           sftp_wire_handle (l->start_open.data, l->start_open.len,
                             &h, &hlen) == -1)
    snprintf (c->errbuf, sizeof c->errbuf, "bad HANDLE reply");
  else if (!c->sftp->has_fsync)
    snprintf (c->errbuf, sizeof c->errbuf, "the server has no "
              "fsync@openssh.com, so there is no write-behind");
  else if (l->start_open.type == SSH_FXP_HANDLE) {
    /* Is it the file the first channel has open?  FSTAT of both
     * handles, in the same round trip (see lane_verified).
     */
    uint32_t id;
    struct sftp *p = c->sftp;

    memcpy (l->handle, h, hlen);
    l->handle_len = hlen;
    l->start_stat.done = l->start_lstat.done = false;
    if (sftp_lane_begin (c, l, SSH_FXP_FSTAT, &id) == 0) {
      sftp_wire_put_string (&l->out, l->handle, l->handle_len);
      sftp_lane_call_send (c, l, id, &l->start_stat);
    }
    if (!c->broken && sftp_slot_available (p) &&
        sftp_lane_begin (c, p, SSH_FXP_FSTAT, &id) == 0) {
      sftp_wire_put_string (&p->out, p->handle, p->handle_len);
      sftp_lane_call_send (c, p, id, &l->start_lstat);
    }
    else
      snprintf (c->errbuf, sizeof c->errbuf, "no request slot free");
    if (!c->broken && c->errbuf[0] == '\0')
      l->lane_state = LANE_VERIFY;
  }
  if (l->lane_state == LANE_HANDSHAKE)
    lane_failed (c, l, "the SFTP handshake", c->errbuf);
  free (l->lane_version.data);
  l->lane_version.data = NULL;
  free (l->start_open.data);
  l->start_open.data = NULL;
  if (!c->broken)
    memcpy (c->errbuf, saved, sizeof saved);
}

/* Lane l has the FSTAT replies of its handle and of the first
 * channel's: the same file (as far as SFTP v3 can tell: type, size,
 * owner, permissions, modification time), or the lane is not used.
 * The file may have been replaced at the path between the first
 * channel's OPEN and the lane's.
 */
static void
lane_verified (struct ssh_conn *c, struct sftp *l)
{
  struct sftp_attrs a, b;
  const char *why = NULL;

  if (l->lane_state != LANE_VERIFY || !l->start_stat.done ||
      !l->start_lstat.done)
    return;
  if (l->start_stat.type != SSH_FXP_ATTRS ||
      l->start_lstat.type != SSH_FXP_ATTRS ||
      sftp_wire_attrs (l->start_stat.data, l->start_stat.len, &a) == -1 ||
      sftp_wire_attrs (l->start_lstat.data, l->start_lstat.len, &b) == -1)
    why = "FSTAT failed";
  else if (a.flags != b.flags ||
           ((a.flags & SSH_FILEXFER_ATTR_SIZE) && a.size != b.size) ||
           ((a.flags & SSH_FILEXFER_ATTR_UIDGID) &&
            (a.uid != b.uid || a.gid != b.gid)) ||
           ((a.flags & SSH_FILEXFER_ATTR_PERMISSIONS) &&
            a.permissions != b.permissions) ||
           ((a.flags & SSH_FILEXFER_ATTR_ACMODTIME) &&
            (a.mtime > b.mtime ? a.mtime - b.mtime : b.mtime - a.mtime) > 2))
    why = "it opened another file than the first channel (the file at "
      "the path was replaced)";
  free (l->start_stat.data);
  free (l->start_lstat.data);
  l->start_stat.data = l->start_lstat.data = NULL;
  if (l->lane_stale) {
    /* Opened before sftp_lanes_refresh: the file at the path may be
     * another one now.  Closed, opened again.
     */
    l->lane_stale = false;
    l->lane_state = LANE_INIT;
    sftp_close_nowait (c, l, l->handle, l->handle_len);
    l->handle_len = 0;
    return;
  }
  if (why) {
    lane_failed (c, l, "checking the file", why);
    return;
  }
  l->max_write = c->sftp->max_write;
  l->max_read = c->sftp->max_read;
  l->lane_state = LANE_READY;
  c->sftp->ready_lanes++;
  ssh_debug ("SFTP channel %u for writes to %s ready",
             c->sftp->ready_lanes + 1, c->path);
}

/* After the pump read lane l's input: take the next set-up step its
 * replies allow.
 */
void
sftp_lane_replies (struct ssh_conn *c, struct sftp *l)
{
  lane_ready (c, l);
  lane_verified (c, l);
}

/* Set up n more channels for writes to the file: without waiting,
 * the pump does it while other requests go on.  Not for dir=: a
 * channel opening the path later could meet a symlink swapped in
 * after the checks (see sftp_open_file).
 */
void
sftp_lanes_start (struct ssh_conn *c, unsigned n)
{
  struct sftp *p = c->sftp;

  if (c->readonly || c->in_dir || c->path == NULL)
    return;
  if (n > SFTP_MAX_CHANNELS - 1)
    n = SFTP_MAX_CHANNELS - 1;
  while (p->nr_lanes < n) {
    struct sftp *l = calloc (1, sizeof *l);

    if (l == NULL || (l->ibuf = malloc (IBUF_SIZE)) == NULL) {
      free (l);
      ssh_debug ("no memory for another SFTP channel");
      break;
    }
    l->next_id = 1;
    l->lane_state = LANE_OPEN;
    p->lanes[p->nr_lanes++] = l;
  }
  if (n > 0)
    ssh_debug ("opening %u more SFTP channels for writes to %s (round trip %"
               PRIi64 " us)", n, c->path, p->rtt_us);
}

/* The file is opened again (sftp_refresh, before the first channel
 * sends its OPEN): each ready lane closes its handle (the reply is
 * dropped) and opens the path again once the first channel has it
 * open (sftp_lane_step), so that every channel writes to the same file.
 */
int
sftp_lanes_refresh (struct ssh_conn *c)
{
  struct sftp *p = c->sftp;
  unsigned i;

  for (i = 0; i < p->nr_lanes; ++i) {
    struct sftp *l = p->lanes[i];

    /* An OPEN in flight may meet the old file: done again. */
    if (l->lane_state == LANE_HANDSHAKE || l->lane_state == LANE_VERIFY)
      l->lane_stale = true;
    if (l->lane_state != LANE_READY)
      continue;
    if (sftp_close_nowait (c, l, l->handle, l->handle_len) == -1)
      return -1;
    l->handle_len = 0;
    l->lane_state = LANE_INIT;
    p->ready_lanes--;
  }
  return 0;
}

/* Are lanes being set up?  (The keepalive thread pumps then.) */
bool
sftp_lanes_pending (struct ssh_conn *c)
{
  struct sftp *p = c->sftp;
  unsigned i;

  if (p == NULL)
    return false;
  for (i = 0; i < p->nr_lanes; ++i)
    if (p->lanes[i]->lane_state < LANE_READY)
      return true;
  return false;
}

/* Free the lanes' memory; their channels go with the session. */
void
sftp_lanes_free (struct sftp *p)
{
  unsigned i;

  for (i = 0; i < p->nr_lanes; ++i) {
    struct sftp *l = p->lanes[i];

    free (l->lane_version.data);
    free (l->start_open.data);
    free (l->start_stat.data);
    free (l->start_lstat.data);
    sftp_wire_buf_free (&l->out);
    free (l->ibuf);
    free (l);
  }
  p->nr_lanes = p->ready_lanes = 0;
}
