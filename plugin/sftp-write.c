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

/* Writes, two ways.
 *
 * - Synchronous (write-behind=0): a write sends all of its WRITE
 *   packets at once (up to WRITE_WINDOW bytes in flight) and returns
 *   when the server has acknowledged every one of them.
 * - Write-behind (the default): a write is copied into the
 *   connection's window (a ring buffer sized once), its WRITE packets
 *   are handed to the engine, and it returns; the server's replies
 *   release the window in order.  A failed WRITE is kept (wb->failed)
 *   and makes the next write, FUA write and flush fail until a flush
 *   has reported it.  A read or write overlapping a WRITE still in
 *   flight waits for its reply first, so nothing depends on the order
 *   in which the server applies requests.  The window lives in the
 *   connection (c->wb), not the session: after a reconnect the writes
 *   the server had not acknowledged are sent again (sftp_write_resume),
 *   unless another connection has written over them since (writelog),
 *   which fails the next flush instead.
 */

#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <inttypes.h>

#include "ssh-plugin.h"
#include "errors.h"
#include "durable.h"
#include "sftp.h"
#include "sftp-int.h"
#include "sftp-wire.h"
#include "writelog.h"

/* One WRITE of the window, in the order sent. */
struct wb_entry {
  uint64_t offset;
  uint32_t len;
  bool done;                    /* the server replied (or it was given up) */
  size_t pos;                   /* its bytes are at ring + pos */
  uint64_t gen;                 /* the file's writelog generation when
                                   it was queued */
  uint64_t sent;                /* durable_now when it was last sent */
  unsigned lane;                /* the channel it went on: 0 c->sftp,
                                   i the lane sftp->lanes[i - 1] */
};

struct writebehind {
  struct writelog *wlog;        /* a reference of its own: the window
                                   outlives the session */
  unsigned *busy_conns;         /* the caller's count (sftp_options),
                                   kept for the same reason */
  int pin;                      /* in wlog: the oldest write in flight */
  char *ring;
  size_t size;                  /* bytes in the ring: the window */
  uint32_t piece;               /* largest WRITE */
  struct wb_entry ents[WB_ENTRIES];
  unsigned first, count;        /* entries in flight, oldest first */
  uint64_t lane_bytes[SFTP_MAX_CHANNELS]; /* in flight per channel */
  bool busy;                    /* counted in *busy_conns */
  /* The first failure the client has not been told about by a flush. */
  bool failed;
  uint32_t status;
  char msg[STATUS_MSG];
  uint64_t err_offset;
  uint32_t err_len;
  int err;                      /* errno, 0 until first reported */
};

#define ENTRY(wb, i) (&(wb)->ents[((wb)->first + (i)) % WB_ENTRIES])

/* ---- The synchronous way ---- */

/* fstatvfs@openssh.com on the open file: bytes available to us. */
static int
fstatvfs_avail (struct ssh_conn *c, int64_t *avail)
{
  struct sync_reply r = { .done = false };
  static const char name[] = "fstatvfs@openssh.com";
  struct sftp_statvfs st;
  int ret = -1;

  if (sftp_call_extended (c, name, true, &r) == -1)
    return -1;
  if (r.type == SSH_FXP_EXTENDED_REPLY &&
      sftp_wire_statvfs (r.data, r.len, &st) == 0) {
    uint64_t frsize = st.frsize, bavail = st.bavail;

    *avail = bavail > (uint64_t) INT64_MAX / (frsize ? frsize : 1) ?
      INT64_MAX : (int64_t) (bavail * frsize);
    ssh_debug ("fstatvfs %s: %" PRIi64 " bytes available", c->path, *avail);
    ret = 0;
  }
  free (r.data);
  return ret;
}

/* The errno for a failed WRITE of len bytes.  SFTP v3 has no "no
 * space" status: OpenSSH says "failure", so ask the filesystem
 * (fstatvfs@openssh.com) whether it is full.  *avail is what it said
 * (-1 if not asked).
 */
static int
write_errno (struct ssh_conn *c, uint32_t status, uint64_t len,
             int64_t *avail)
{
  *avail = -1;
  if (status == SSH_FX_FAILURE && !c->broken && c->sftp &&
      c->sftp->has_fstatvfs && fstatvfs_avail (c, avail) == 0 &&
      (uint64_t) *avail < len)
    return ENOSPC;
  return sftp_wire_status_errno (status);
}

/* The same, for a failure that another connection saw (conn.c). */
int
sftp_write_errno (struct ssh_conn *c, uint32_t status, uint64_t len)
{
  int64_t avail;

  return write_errno (c, status, len, &avail);
}

/* The reply to a WRITE must be a STATUS: else the connection is
 * broken (-1).
 */
static int
write_status (struct ssh_conn *c, uint8_t type, const char *p, uint32_t len,
              struct sftp_status *st)
{
  if (type != SSH_FXP_STATUS || sftp_wire_status (p, len, st) == -1)
    return sftp_broken (c, "SFTP protocol error: unexpected reply type %u "
                        "to WRITE", type);
  return 0;
}

/* A reply to WRITE, part of write_op slot->arg. */
static int
write_reply (struct ssh_conn *c, const struct slot *slot, uint8_t type,
             const char *p, uint32_t len)
{
  struct write_op *w = slot->arg;
  struct sftp_status st;

  if (write_status (c, type, p, len, &st) == -1)
    return -1;
  if (st.code != SSH_FX_OK && w->status == SSH_FX_OK) {
    w->status = st.code;
    w->err_offset = slot->offset;
    sftp_wire_escape (w->msg, sizeof w->msg, st.msg, st.msg_len);
  }
  w->inflight--;
  w->inflight_bytes -= slot->len;
  return 0;
}

int
sftp_write_sync (struct ssh_conn *c, const char *p, uint32_t count,
                 uint64_t offset)
{
  struct sftp *s = c->sftp;
  struct write_op w = { .status = SSH_FX_OK };
  uint64_t pos = 0;

  /* What write-behind left from an earlier session, whose server had
   * fsync@openssh.com (see sftp_pwrite), comes first.
   */
  if (sftp_write_drain (c) == -1)
    return -1;
  /* Reported once: without fsync there is no flush to report it. */
  if (sftp_write_failure (c, "write", true) == -1) {
    durable_seen (c);
    return -1;
  }

  while (pos < count || w.inflight > 0) {
    while (pos < count && w.status == SSH_FX_OK &&
           w.inflight_bytes < WRITE_WINDOW &&
           sftp_output_pending (s) < OBUF_HIGH && sftp_slot_available (s)) {
      uint32_t n = count - pos > s->max_write ? s->max_write : count - pos;
      struct slot *slot;
      uint32_t id;

      if (sftp_request_begin (c, SSH_FXP_WRITE, &id) == -1)
        goto err;
      sftp_wire_put_string (&s->out, s->handle, s->handle_len);
      sftp_wire_put_u64 (&s->out, offset + pos);
      sftp_wire_put_string (&s->out, p + pos, n);
      slot = sftp_request_end (c, id, write_reply, &w);
      if (slot == NULL)
        goto err;
      slot->len = n;
      slot->offset = offset + pos;
      w.inflight++;
      w.inflight_bytes += n;
      pos += n;
    }
    if (w.status != SSH_FX_OK && w.inflight == 0)
      break;
    if (sftp_pump (c, NULL) == -1)
      goto err;
  }
  /* Other connections' read-ahead must not serve what was there
   * before (also after a failure: part of it may have been written).
   */
  writelog_add (s->wlog, offset, pos);
  if (w.status != SSH_FX_OK) {
    int64_t avail;
    int err = write_errno (c, w.status, count, &avail);

    sftp_status_str (c, w.status, w.msg);
    if (err == ENOSPC)
      ssh_error ("write of %" PRIu32 " bytes at offset %" PRIu64
                 " to remote file %s failed at offset %" PRIu64 ": no "
                 "space left on the remote filesystem (%s; %" PRIi64
                 " bytes available)", count, offset, c->path,
                 w.err_offset, c->errbuf, avail);
    else
      ssh_error ("write of %" PRIu32 " bytes at offset %" PRIu64
                 " to remote file %s failed at offset %" PRIu64 ": %s",
                 count, offset, c->path, w.err_offset, c->errbuf);
    ssh_set_error (err);
    return -1;
  }
  return 0;

 err:
  /* w lives on this stack frame: no slot may point at it any more. */
  sftp_discard (s, write_reply, &w);
  writelog_add (s->wlog, offset, pos);
  ssh_error ("write of %" PRIu32 " bytes at offset %" PRIu64
             " to remote file %s failed: %s",
             count, offset, c->path, c->errbuf);
  ssh_set_error (EIO);
  return -1;
}

/* ---- Write-behind ---- */

/* Publish the span of the window for other connections' writes and
 * flushes (ssh.c's drain_one); empty when lo >= hi.  The connection
 * is counted in the caller's busy_conns while it has writes in flight.
 */
static void
publish_span (struct ssh_conn *c)
{
  struct writebehind *wb = c->wb;
  uint64_t lo = UINT64_MAX, hi = 0;
  unsigned i;

  if (wb->count > 0 && !wb->busy) {
    wb->busy = true;
    __atomic_add_fetch (wb->busy_conns, 1, __ATOMIC_SEQ_CST);
  }
  else if (wb->count == 0 && wb->busy) {
    wb->busy = false;
    __atomic_sub_fetch (wb->busy_conns, 1, __ATOMIC_SEQ_CST);
  }

  for (i = 0; i < wb->count; ++i) {
    struct wb_entry *e = ENTRY (wb, i);

    if (e->offset < lo)
      lo = e->offset;
    if (e->offset + e->len > hi)
      hi = e->offset + e->len;
  }
  __atomic_store_n (&c->wb_lo, lo, __ATOMIC_SEQ_CST);
  __atomic_store_n (&c->wb_hi, hi, __ATOMIC_SEQ_CST);
  /* The log keeps every write since the oldest one in flight, for
   * sftp_write_resume.
   */
  if (wb->pin >= 0)
    writelog_pin (wb->wlog, wb->pin,
                  wb->count > 0 ? ENTRY (wb, 0)->gen : WRITELOG_NO_PIN);
}

/* Room for n bytes in the ring at *pos?  Entries leave the ring in the
 * order they entered it, so the bytes in use run from the oldest
 * entry to the end of the newest, perhaps wrapping round.
 */
static bool
ring_room (struct writebehind *wb, uint32_t n, size_t *pos)
{
  struct wb_entry *oldest, *newest;
  size_t head;

  if (wb->count == WB_ENTRIES)
    return false;
  if (wb->count == 0) {
    *pos = 0;
    return n <= wb->size;
  }
  oldest = ENTRY (wb, 0);
  newest = ENTRY (wb, wb->count - 1);
  head = newest->pos + newest->len;
  if (newest->pos >= oldest->pos) {     /* not wrapped */
    if (wb->size - head >= n)
      *pos = head;
    else if (oldest->pos >= n)
      *pos = 0;
    else
      return false;
    return true;
  }
  if (oldest->pos - head >= n) {
    *pos = head;
    return true;
  }
  return false;
}

/* Does a write in flight overlap [offset, offset+len)? */
static bool
overlaps (struct writebehind *wb, uint64_t offset, uint64_t len)
{
  unsigned i;

  for (i = 0; i < wb->count; ++i) {
    struct wb_entry *e = ENTRY (wb, i);

    if (!e->done && e->offset < offset + len && offset < e->offset + e->len)
      return true;
  }
  return false;
}

/* Keep the first failure, for the next write or flush to report.
 * Every failure is a loss event (durable.c): the client was told the
 * write was done, and with multi-conn every connection's next flush
 * covers it.
 */
static void
note_failure (struct ssh_conn *c, const struct wb_entry *e, uint32_t status,
              const char *msg, size_t msg_len)
{
  struct writebehind *wb = c->wb;
  char shown[STATUS_MSG], text[sizeof ((struct durable_event *) 0)->text];

  durable_text (text, sizeof text, "a write of %" PRIu32 " bytes at offset %"
                PRIu64 " to remote file %s made on another connection, "
                "already acknowledged to its client, failed: %s (SFTP status %"
                PRIu32 "%s%s)", e->len, e->offset, c->path,
                sftp_wire_status_name (status), status, msg_len ? ": " : "",
                sftp_wire_escape (shown, sizeof shown, msg, msg_len));
  durable_loss (c, 0, status, e->len, text);
  if (wb->failed) {
    ssh_debug ("write of %" PRIu32 " bytes at offset %" PRIu64 " failed too "
               "(SFTP status %" PRIu32 ")", e->len, e->offset, status);
    return;
  }
  wb->failed = true;
  wb->status = status;
  wb->err_offset = e->offset;
  wb->err_len = e->len;
  wb->err = 0;
  sftp_wire_escape (wb->msg, sizeof wb->msg, msg, msg_len);
  ssh_debug ("write of %" PRIu32 " bytes at offset %" PRIu64 " failed: %s "
             "(reported by the next write or flush)",
             e->len, e->offset, wb->msg);
  publish_span (c);
}

/* Release the entries at the front whose replies came. */
static void
release_done (struct ssh_conn *c)
{
  struct writebehind *wb = c->wb;
  bool any = false;

  while (wb->count > 0 && ENTRY (wb, 0)->done) {
    wb->first = (wb->first + 1) % WB_ENTRIES;
    wb->count--;
    any = true;
  }
  if (any)
    publish_span (c);
}

/* A reply to a WRITE of the window, entry slot->arg. */
static int
wb_reply (struct ssh_conn *c, const struct slot *slot, uint8_t type,
          const char *p, uint32_t len)
{
  struct wb_entry *e = slot->arg;
  struct sftp_status st;

  if (write_status (c, type, p, len, &st) == -1)
    return -1;
  e->done = true;
  if (c->wb->lane_bytes[e->lane] >= e->len)
    c->wb->lane_bytes[e->lane] -= e->len;
  /* Also after a failure: part of it may have been written. */
  writelog_add (c->wb->wlog, e->offset, e->len);
  if (st.code != SSH_FX_OK)
    note_failure (c, e, st.code, st.msg, st.msg_len);
  else
    durable_write_done (c, e->sent);
  release_done (c);
  return 0;
}

/* The channel for the next WRITE: the one ready with the fewest bytes
 * in flight (c->sftp, or a lane).  The order in which the server
 * applies WRITEs sent on different channels does not matter: a write
 * never overlaps one still in flight (see overlaps).
 */
static unsigned
pick_lane (struct ssh_conn *c, struct sftp **sp)
{
  struct sftp *p = c->sftp;
  struct writebehind *wb = c->wb;
  unsigned i, best = 0;

  *sp = p;
  for (i = 0; i < p->nr_lanes; ++i) {
    if (p->lanes[i]->lane_state == LANE_READY &&
        wb->lane_bytes[i + 1] < wb->lane_bytes[best]) {
      best = i + 1;
      *sp = p->lanes[i];
    }
  }
  return best;
}

static int
wb_send (struct ssh_conn *c, struct wb_entry *e)
{
  struct sftp *s;
  uint32_t id;

  e->lane = pick_lane (c, &s);
  if (sftp_lane_begin (c, s, SSH_FXP_WRITE, &id) == -1)
    return -1;
  e->sent = durable_now (c);
  sftp_wire_put_string (&s->out, s->handle, s->handle_len);
  sftp_wire_put_u64 (&s->out, e->offset);
  c->wb->lane_bytes[e->lane] += e->len;
  /* The data goes from the ring, where it stays until the reply. */
  return sftp_lane_end_data (c, s, id, c->wb->ring + e->pos, e->len,
                             wb_reply, e) == NULL ? -1 : 0;
}

/* How many channels writes use on this session: the options' channels
 * (channels=N), or as many as keep LANE_RATE bytes per second in
 * flight over the round trip measured at open, each carrying the
 * server's window (OpenSSH: 2 MiB), at most LANES_AUTO: one on a LAN.
 */
unsigned
sftp_write_channels (struct ssh_conn *c)
{
  struct sftp *s = c->sftp;
  unsigned long initial = 0;
  uint64_t need;

  if (s->opts.channels > 0)
    return s->opts.channels;
  /* Below LANE_MIN_RTT one channel: a busy machine can make loopback
   * look like a few tens of milliseconds.
   */
  if (s->rtt_us < LANE_MIN_RTT)
    return 1;
  libssh2_channel_window_write_ex (s->channel, &initial);
  if (initial < SFTP_PACKET)
    initial = SFTP_PACKET;
  need = (uint64_t) LANE_RATE * (uint64_t) s->rtt_us / 1000000;
  need = (need + initial - 1) / initial;
  return need < 1 ? 1 : need > LANES_AUTO ? LANES_AUTO : need;
}

/* The window of this connection, made at its first write: the size
 * from the options (write-behind=), or what keeps a link with the
 * round trip measured at open busy (WB_FLOOR to WB_MAX).
 */
static struct writebehind *
wb_get (struct ssh_conn *c)
{
  struct sftp *s = c->sftp;
  struct writebehind *wb;
  int64_t size = s->opts.write_behind;

  if (c->wb)
    return c->wb;
  if (size < 0) {
    size = (int64_t) RA_RATE / 1000000 * s->rtt_us;
    size = size < WB_FLOOR ? WB_FLOOR : size > WB_MAX ? WB_MAX : size;
  }
  wb = calloc (1, sizeof *wb);
  if (wb == NULL || (wb->ring = malloc (size)) == NULL ||
      (wb->wlog = writelog_open (c->path)) == NULL) {
    if (wb)
      free (wb->ring);
    free (wb);
    ssh_error ("write-behind window of %" PRIi64 " bytes: %m", size);
    return NULL;
  }
  wb->size = size;
  wb->busy_conns = s->opts.busy_conns;
  wb->pin = writelog_pin_new (wb->wlog);
  /* At least two WRITEs in flight. */
  wb->piece = s->max_write < size / 2 ? s->max_write : size / 2;
  c->wb = wb;
  ssh_debug ("write-behind window of %" PRIi64 " bytes, WRITEs of up to %"
             PRIu32, size, wb->piece);
  return wb;
}

/* Tell the client about the failure kept in the window (what: the
 * request that reports it); a flush (clear) has then reported it.
 */
static int
report_failure (struct ssh_conn *c, const char *what, bool clear)
{
  struct writebehind *wb = c->wb;
  int64_t avail = -1;

  if (wb->err == 0)
    wb->err = write_errno (c, wb->status, wb->err_len, &avail);
  sftp_status_str (c, wb->status, wb->msg);
  ssh_error ("%s: an earlier write of %" PRIu32 " bytes at offset %"
             PRIu64 " to remote file %s failed%s: %s", what, wb->err_len,
             wb->err_offset, c->path,
             wb->err == ENOSPC ? " (no space left on the remote "
             "filesystem)" : "", c->errbuf);
  ssh_set_error (wb->err);
  if (clear) {
    wb->failed = false;
    publish_span (c);
  }
  return -1;
}

int
sftp_write_behind (struct ssh_conn *c, const char *buf, uint32_t count,
                   uint64_t offset)
{
  struct writebehind *wb = wb_get (c);
  uint64_t pos = 0;

  if (wb == NULL) {
    ssh_set_error (ENOMEM);
    return -1;
  }
  if (wb->failed)
    return report_failure (c, "write", false);
  while (pos < count) {
    uint32_t n = count - pos > wb->piece ? wb->piece : count - pos;
    struct wb_entry *e;
    struct sftp *l;
    size_t at;

    /* Wait until the window has room, a request slot is free, the
     * output is not backed up, and no write in flight overlaps.
     */
    while (overlaps (wb, offset + pos, n) || !ring_room (wb, n, &at) ||
           (pick_lane (c, &l), !sftp_slot_available (l)) ||
           sftp_output_pending (l) >= OBUF_HIGH) {
      if (sftp_pump (c, NULL) == -1)
        goto err;
    }
    e = ENTRY (wb, wb->count);
    e->offset = offset + pos;
    e->len = n;
    e->pos = at;
    e->done = false;
    e->gen = writelog_gen (wb->wlog);
    memcpy (wb->ring + at, buf + pos, n);
    wb->count++;
    if (wb_send (c, e) == -1)
      goto err;
    pos += n;
  }
  publish_span (c);
  /* Send without waiting; replies are read by the next request, or
   * by the keepalive thread while the client is quiet.
   */
  if (sftp_pump_once (c, NULL) == -1)
    goto err;
  return 0;

 err:
  /* What was queued stays in the window and is sent again after the
   * reconnect; do_request then sends this write again as a whole.
   */
  publish_span (c);
  ssh_error ("write of %" PRIu32 " bytes at offset %" PRIu64
             " to remote file %s failed: %s",
             count, offset, c->path, c->errbuf);
  ssh_set_error (EIO);
  return -1;
}

/* Wait until no write in flight overlaps [offset, offset+len) (read
 * your writes).
 */
int
sftp_write_wait (struct ssh_conn *c, uint64_t offset, uint64_t len)
{
  while (c->wb && overlaps (c->wb, offset, len)) {
    if (sftp_pump (c, NULL) == -1)
      return -1;
  }
  return 0;
}

/* Wait until the server has replied to every write of the window.
 * -1 if the connection broke (reason in c->errbuf).
 */
int
sftp_write_drain (struct ssh_conn *c)
{
  while (c->wb && c->wb->count > 0) {
    if (c->broken || c->sftp == NULL)
      return -1;
    if (sftp_pump (c, NULL) == -1)
      return -1;
  }
  return 0;
}

/* Is c counted in the caller's busy_conns (sftp_options): writes in
 * flight, as last published?
 */
bool
sftp_write_busy (struct ssh_conn *c)
{
  return c->wb && c->wb->busy;
}

/* Writes waiting for the server's reply? */
bool
sftp_write_pending (struct ssh_conn *c)
{
  return c->wb && c->wb->count > 0;
}

/* The client is gone and its writes in flight cannot be completed
 * (conn.c finish gave up and counted them lost): forget them, so that
 * nothing tries again.
 */
void
sftp_write_abandon (struct ssh_conn *c)
{
  if (c->wb == NULL)
    return;
  c->wb->count = 0;
  publish_span (c);
}

/* Is a failed write kept for the next write or flush to report? */
bool
sftp_write_failed (struct ssh_conn *c)
{
  return c->wb && c->wb->failed;
}

/* The failure of an earlier write, if any: reported (after one
 * nbdkit_error) as what's failure, and forgotten if clear (a flush).
 */
int
sftp_write_failure (struct ssh_conn *c, const char *what, bool clear)
{
  if (c->wb && c->wb->failed)
    return report_failure (c, what, clear);
  return 0;
}

/* On a new session: send again the writes the server had not
 * acknowledged on the old one.  A write another connection has
 * written over since is not sent (it would undo that newer write);
 * as it may not have reached the file, it counts as failed.  The
 * log keeps every write since the oldest in flight (publish_span pins
 * it), so the check is exact; one check of the whole span comes
 * first, as usually nothing overlaps it.
 */
int
sftp_write_resume (struct ssh_conn *c)
{
  struct writebehind *wb = c->wb;
  uint64_t lo = UINT64_MAX, hi = 0, since = UINT64_MAX;
  unsigned i, n = 0, first, count;
  struct sftp *l;
  bool check;

  if (wb == NULL || wb->count == 0)
    return 0;
  for (i = 0; i < wb->count; ++i) {
    struct wb_entry *e = ENTRY (wb, i);

    if (e->done)
      continue;
    if (e->gen < since)
      since = e->gen;
    if (e->offset < lo)
      lo = e->offset;
    if (e->offset + e->len > hi)
      hi = e->offset + e->len;
  }
  check = hi > lo && writelog_stale (wb->wlog, since, lo, hi - lo);
  memset (wb->lane_bytes, 0, sizeof wb->lane_bytes);
  /* By the window as it is now: a reply read while waiting for a slot
   * may release entries at its start (release_done moves wb->first),
   * and none is added meanwhile.
   */
  first = wb->first;
  count = wb->count;
  for (i = 0; i < count; ++i) {
    struct wb_entry *e = &wb->ents[(first + i) % WB_ENTRIES];
    static const char lost[] = "lost with the connection, and another "
      "connection has written over it since";

    if (e->done)
      continue;
    if (check && writelog_stale (wb->wlog, e->gen, e->offset, e->len)) {
      e->done = true;
      note_failure (c, e, SSH_FX_CONNECTION_LOST, lost, sizeof lost - 1);
      continue;
    }
    while (pick_lane (c, &l), !sftp_slot_available (l)) {
      if (sftp_pump (c, NULL) == -1)
        return -1;
    }
    if (wb_send (c, e) == -1)
      return -1;
    n++;
  }
  release_done (c);
  nbdkit_debug ("ssh: sending again %u writes the server had not "
                "acknowledged before the connection broke", n);
  return 0;
}

void
sftp_write_free (struct ssh_conn *c)
{
  if (c->wb) {
    if (c->wb->busy)
      __atomic_sub_fetch (c->wb->busy_conns, 1, __ATOMIC_SEQ_CST);
    writelog_pin_free (c->wb->wlog, c->wb->pin);
    writelog_close (c->wb->wlog);
    free (c->wb->ring);
    free (c->wb);
    c->wb = NULL;
  }
}
