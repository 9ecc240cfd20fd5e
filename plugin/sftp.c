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

/* The SFTP request engine: SFTP version 3 over a libssh2 channel
 * ("subsystem sftp"), framed by the plugin itself (the wire format is
 * sftp-wire.c's), so that it decides how large each request is and how
 * many are in flight.  Each request's id has a slot holding the
 * function that handles its reply; the pump moves bytes both ways and
 * hands every reply to its handler.  Synchronous requests (open, stat,
 * fsync...) wait for their reply with sftp_call; reads and writes
 * (sftp-read.c) keep many in flight.  Also the SFTP handshake.
 */

#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdarg.h>
#include <errno.h>
#include <inttypes.h>
#include <time.h>

#include "ssh-plugin.h"
#include "errors.h"
#include "session.h"
#include "sftp.h"
#include "sftp-int.h"
#include "sftp-wire.h"
#include "wire.h"

/* ---- Errors ---- */

/* Describe an SFTP status for a message, in c->errbuf. */
const char *
sftp_status_str (struct ssh_conn *c, uint32_t status, const char *msg)
{
  snprintf (c->errbuf, sizeof c->errbuf, "%s (SFTP status %" PRIu32 "%s%s)",
            sftp_wire_status_name (status), status,
            msg && *msg ? ": " : "", msg && *msg ? msg : "");
  return c->errbuf;
}

/* The transport failed: the session is unusable.  The reason (fs, or
 * already in c->errbuf if fs is NULL) stays in c->errbuf.  Returns -1.
 */
int
sftp_broken (struct ssh_conn *c, const char *fs, ...)
{
  va_list args;
  char msg[sizeof c->errbuf];

  c->broken = true;
  if (fs) {
    /* The arguments may point into c->errbuf (session_error). */
    va_start (args, fs);
    vsnprintf (msg, sizeof msg, fs, args);
    va_end (args);
    memcpy (c->errbuf, msg, sizeof msg);
  }
  return -1;
}

/* ---- Requests in flight ---- */

/* The slot of request id (ids are used in turn, so a slot is reused
 * NSLOTS requests later).
 */
static struct slot *
slot_for (struct sftp *s, uint32_t id)
{
  return &s->slots[id & (NSLOTS - 1)];
}

/* Is the slot of the next request free? */
bool
sftp_slot_available (struct sftp *s)
{
  return !slot_for (s, s->next_id)->busy;
}

/* Start a request packet of type with the next id.  The id's slot must
 * be free (callers wait for it, or check sftp_slot_available): if the
 * request NSLOTS ids earlier is still unanswered, the connection is
 * broken with an error saying so.
 */
int
sftp_request_begin (struct ssh_conn *c, uint8_t type, uint32_t *id)
{
  return sftp_lane_begin (c, c->sftp, type, id);
}

/* The same on channel s: c->sftp or one of its lanes. */
int
sftp_lane_begin (struct ssh_conn *c, struct sftp *s, uint8_t type,
                 uint32_t *id)
{
  if (!sftp_slot_available (s))
    return sftp_broken (c, "SFTP: request %" PRIu32 " still unanswered after "
                        "%u later requests", slot_for (s, s->next_id)->id,
                        NSLOTS);
  *id = s->next_id++;
  sftp_wire_begin (&s->out, type);
  sftp_wire_put_u32 (&s->out, *id);
  return 0;
}

/* Finish the packet of request id and register the request in its
 * slot: fn handles the reply (NULL: it is discarded), with arg.
 * Returns the slot (the caller may note len and offset there), or
 * NULL (connection broken) if the packet could not be built.
 */
static struct slot *
register_request (struct sftp *s, uint32_t id, sftp_reply_fn *fn, void *arg)
{
  struct slot *slot;

  slot = slot_for (s, id);
  slot->id = id;
  slot->busy = true;
  slot->fn = fn;
  slot->arg = arg;
  slot->dst = NULL;
  slot->dst_max = 0;
  s->nr_inflight++;
  return slot;
}

static struct slot *
request_end (struct ssh_conn *c, struct sftp *s, uint32_t id,
             sftp_reply_fn *fn, void *arg)
{
  if (sftp_wire_end (&s->out) == -1) {
    sftp_broken (c, "building an SFTP request: %m");
    return NULL;
  }
  return register_request (s, id, fn, arg);
}

struct slot *
sftp_request_end (struct ssh_conn *c, uint32_t id, sftp_reply_fn *fn,
                  void *arg)
{
  return request_end (c, c->sftp, id, fn, arg);
}

/* The same for a request ending with a string of len bytes at data,
 * sent from there rather than copied into the output buffer: data
 * must stay as it is until the reply comes (the write-behind ring).
 */
struct slot *
sftp_request_end_data (struct ssh_conn *c, uint32_t id, const char *data,
                       uint32_t len, sftp_reply_fn *fn, void *arg)
{
  return sftp_lane_end_data (c, c->sftp, id, data, len, fn, arg);
}

/* The same on channel s. */
struct slot *
sftp_lane_end_data (struct ssh_conn *c, struct sftp *s, uint32_t id,
                    const char *data, uint32_t len, sftp_reply_fn *fn,
                    void *arg)
{
  struct out_ext *e;

  if (s->ext_count == OUT_EXT || len == 0) {   /* copy it then */
    sftp_wire_put_string (&s->out, data, len);
    return request_end (c, s, id, fn, arg);
  }
  sftp_wire_put_u32 (&s->out, len);
  if (sftp_wire_end_extra (&s->out, len) == -1) {
    sftp_broken (c, "building an SFTP request: %m");
    return NULL;
  }
  e = &s->ext[(s->ext_first + s->ext_count) % OUT_EXT];
  e->at = s->out_pos + sftp_wire_pending (&s->out) + s->ext_pending;
  e->p = data;
  e->len = len;
  e->done = 0;
  s->ext_count++;
  s->ext_pending += len;
  return register_request (s, id, fn, arg);
}

/* CLOSE handle on channel s without waiting: the reply is dropped
 * when it comes (no handler).  -1 if the connection broke.
 */
int
sftp_close_nowait (struct ssh_conn *c, struct sftp *s, const char *handle,
                   uint32_t hlen)
{
  uint32_t id;

  if (sftp_lane_begin (c, s, SSH_FXP_CLOSE, &id) == -1)
    return -1;
  sftp_wire_put_string (&s->out, handle, hlen);
  return request_end (c, s, id, NULL, NULL) == NULL ? -1 : 0;
}

/* Bytes of requests not yet taken by libssh2. */
size_t
sftp_output_pending (struct sftp *s)
{
  return sftp_wire_pending (&s->out) + s->ext_pending;
}

/* Replies to the requests in flight handled by fn (with arg, or any
 * arg if NULL) will be discarded.  Returns how many there were.
 */
unsigned
sftp_discard (struct sftp *s, sftp_reply_fn *fn, void *arg)
{
  unsigned i, n = 0;

  for (i = 0; i < NSLOTS; ++i) {
    struct slot *slot = &s->slots[i];

    if (slot->busy && slot->fn == fn && (arg == NULL || slot->arg == arg)) {
      slot->fn = NULL;
      slot->dst = NULL;
      /* Its reply may be arriving into dst right now: drop the rest. */
      if (s->direct_left > 0 && s->direct_id == slot->id)
        s->direct_dst = NULL;
      n++;
    }
  }
  return n;
}

/* ---- Reading the stream ---- */

/* Handle one complete reply: type, id, and the payload after them.
 * The slot is freed before its handler runs, so that the handler may
 * send a request (the rest of a short read).
 */
static int
dispatch (struct ssh_conn *c, struct sftp *s, uint8_t type, uint32_t id,
          const char *p, uint32_t len)
{
  struct slot *slot = slot_for (s, id);
  struct slot done;

  if (!slot->busy || slot->id != id)
    return sftp_broken (c, "SFTP protocol error: reply (type %u) to "
                        "unknown request %" PRIu32, type, id);
  done = *slot;
  slot->busy = false;
  s->nr_inflight--;
  c->sftp->replies++;
  return done.fn ? done.fn (c, &done, type, p, len) : 0;
}

/* A DATA reply whose data is all in dst (or dropped). */
static int
direct_done (struct ssh_conn *c, struct sftp *s)
{
  struct slot *slot = slot_for (s, s->direct_id);
  struct slot done = *slot;

  slot->busy = false;
  s->nr_inflight--;
  c->sftp->replies++;
  if (s->direct_dst == NULL || done.fn == NULL)
    return 0;
  return done.fn (c, &done, SFTP_DATA_PLACED, done.dst, s->direct_len);
}

/* ibuf starts with the header of a packet not received yet: if it is
 * a DATA reply to a request with a dst that can take it, and exactly
 * as long as its data, read the data straight there (no copy through
 * ibuf).  Anything else, wrong or hostile, goes the usual way and
 * meets the usual checks.
 */
static void
try_direct (struct sftp *s)
{
  const unsigned char *h = (const unsigned char *) s->ibuf;
  uint32_t length, id, n;
  struct slot *slot;

  if (s->ilen < DATA_HEADER || h[4] != SSH_FXP_DATA)
    return;
  length = wire_get_be32 (h);
  id = wire_get_be32 (h + 5);
  n = wire_get_be32 (h + 9);
  slot = slot_for (s, id);
  if (!slot->busy || slot->id != id || slot->fn == NULL ||
      slot->dst == NULL || n == 0 || n > slot->dst_max ||
      length != DATA_HEADER - 4 + n || s->ilen - DATA_HEADER >= n)
    return;
  s->direct_id = id;
  s->direct_len = n;
  s->direct_left = n - (s->ilen - DATA_HEADER);
  memcpy (slot->dst, s->ibuf + DATA_HEADER, s->ilen - DATA_HEADER);
  s->direct_dst = slot->dst + (s->ilen - DATA_HEADER);
  s->ilen = 0;
}

/* How many bytes to read into ibuf: up to the end of the packet being
 * received once its length is known, else a DATA header's worth, so
 * that try_direct sees each header before the data behind it.
 */
static size_t
input_want (struct sftp *s)
{
  uint32_t length;

  if (s->ilen < DATA_HEADER) {
    if (s->ilen >= 4) {
      length = wire_get_be32 (s->ibuf);
      if (length + (size_t) 4 < DATA_HEADER)
        return length + (size_t) 4 - s->ilen;
    }
    return DATA_HEADER - s->ilen;
  }
  /* parse_input has checked the length and the packet is not all
   * here: the rest of it fits.
   */
  length = wire_get_be32 (s->ibuf);
  return length + (size_t) 4 - s->ilen;
}

/* Parse every complete packet in ibuf.  version_reply is set when a
 * VERSION packet (which has no id) arrives.
 */
static int
parse_input (struct ssh_conn *c, struct sftp *s,
             struct sync_reply *version_reply)
{
  struct sftp_reader in;
  struct sftp_packet pkt;
  int r;

  sftp_wire_reader (&in, s->ibuf, s->ilen);
  while ((r = sftp_wire_next_packet (&in, &pkt)) == SFTP_WIRE_PACKET) {
    if (pkt.type == SSH_FXP_VERSION) {
      if (version_reply == NULL || version_reply->done)
        return sftp_broken (c, "SFTP protocol error: unexpected VERSION");
      version_reply->data = malloc (pkt.len ? pkt.len : 1);
      if (version_reply->data == NULL)
        return sftp_broken (c, "out of memory");
      memcpy (version_reply->data, pkt.payload, pkt.len);
      version_reply->len = pkt.len;
      version_reply->type = SSH_FXP_VERSION;
      version_reply->done = true;
    }
    else if (dispatch (c, s, pkt.type, pkt.id, pkt.payload, pkt.len) == -1)
      return -1;
  }
  if (r == SFTP_WIRE_BAD_LENGTH)
    return sftp_broken (c, "SFTP protocol error: packet of %" PRIu32 " bytes",
                        wire_get_be32 (in.p));
  if (r == SFTP_WIRE_SHORT)
    return sftp_broken (c, "SFTP protocol error: short packet");
  /* What is left is less than a packet, usually nothing or a header
   * (see input_want): moving it is cheap.
   */
  if (in.left < s->ilen) {
    memmove (s->ibuf, in.p, in.left);
    s->ilen = in.left;
  }
  try_direct (s);
  return 0;
}

/* ---- Moving bytes ---- */

/* What a channel was doing when libssh2 kept a packet half sent. */

/* After a libssh2 call on channel s (kind: what it did) that returned
 * (eagain: LIBSSH2_ERROR_EAGAIN): when libssh2 is left with a packet
 * of it half sent (it then waits to send, BLOCK_OUTBOUND), no other
 * packet may be sent on the session until the same call is made again
 * and gets it out: libssh2 refuses any other (LIBSSH2_ERROR_BAD_USE),
 * even the window adjustment a read of another channel sends.
 */
void
sftp_note_call (struct ssh_conn *c, struct sftp *s, int kind, bool eagain)
{
  struct sftp *p = c->sftp;
  bool waits_to_send = eagain &&
    (libssh2_session_block_directions (c->session) &
     LIBSSH2_SESSION_BLOCK_OUTBOUND);

  /* A call made while another has a packet half sent (a read, which
   * sends nothing then) finds the direction still set: the packet is
   * that other call's, which is the one to make again.
   */
  if (p->stuck == NULL) {
    if (waits_to_send) {
      p->stuck = s;
      p->stuck_kind = kind;
    }
  }
  else if (p->stuck == s && p->stuck_kind == kind && !waits_to_send)
    p->stuck = NULL;
}

/* May channel s read, while another call has a packet half sent?
 * Only if the read cannot make libssh2 send a window adjustment: it
 * does when the window left is under 3/4 of the initial one plus what
 * is asked.
 */
static bool
read_allowed (struct ssh_conn *c, struct sftp *s, size_t want)
{
  unsigned long initial;
  unsigned long window;

  if (c->sftp->stuck == NULL ||
      (c->sftp->stuck == s && c->sftp->stuck_kind == STUCK_RECV))
    return true;
  window = libssh2_channel_window_read_ex (s->channel, NULL, &initial);
  return window >= initial / 4 * 3 + want;
}

/* Send what channel s has queued until libssh2 would block.  Returns
 * 1 if anything moved, 0 if not, -1 on error.
 */
static int
pump_out (struct ssh_conn *c, struct sftp *s)
{
  struct sftp *stuck = c->sftp->stuck;
  int moved = 0;
  ssize_t r;
  size_t n;

  if (stuck && stuck != s)
    return 0;
  for (;;) {
    struct out_ext *e = s->ext_count > 0 ? &s->ext[s->ext_first] : NULL;
    const char *p;

    /* The rest of the next data sent from where it is, or out's
     * bytes before it.
     */
    if (e && s->out_pos == e->at + e->done) {
      p = e->p + e->done;
      n = e->len - e->done;
    }
    else {
      p = sftp_wire_pending_data (&s->out);
      n = sftp_wire_pending (&s->out);
      if (e && n > e->at - s->out_pos)
        n = e->at - s->out_pos;
      e = NULL;
    }
    if (n == 0)
      break;
    /* No room in the server's window: wait for its adjustment (a
     * half-sent packet is finished whatever the window says).  The
     * adjustment may be read by any channel's read: the pump looks
     * again (window_opened).
     */
    if (c->sftp->stuck != s &&
        libssh2_channel_window_write (s->channel) == 0) {
      s->window_shut = true;
      break;
    }
    r = libssh2_channel_write (s->channel, p, n);
    sftp_note_call (c, s, STUCK_SEND, r == LIBSSH2_ERROR_EAGAIN);
    if (r == LIBSSH2_ERROR_EAGAIN || r == 0)
      break;
    if (r < 0)
      return sftp_broken (c, "sending to the server: %s", session_error (c));
    s->out_pos += r;
    if (e) {
      e->done += r;
      s->ext_pending -= r;
      if (e->done == e->len) {
        s->ext_first = (s->ext_first + 1) % OUT_EXT;
        s->ext_count--;
      }
    }
    else
      sftp_wire_sent (&s->out, r);
    moved = 1;
  }
  return moved;
}

/* Read what channel s has received until libssh2 would block, and
 * handle the replies.  Returns 1 if anything moved, 0 if not, -1 on
 * error.
 */
static int
pump_in (struct ssh_conn *c, struct sftp *s,
         struct sync_reply *version_reply)
{
  int moved = 0;
  ssize_t r;

  for (;;) {
    size_t want;
    char *dst;

    if (s->direct_left > 0) {   /* into dst, or dropped through ibuf */
      dst = s->direct_dst ? s->direct_dst : s->ibuf;
      want = s->direct_dst || s->direct_left < IBUF_SIZE
        ? s->direct_left : IBUF_SIZE;
    }
    else {
      dst = s->ibuf + s->ilen;
      want = input_want (s);
    }
    if (!read_allowed (c, s, want))
      break;
    r = libssh2_channel_read (s->channel, dst, want);
    sftp_note_call (c, s, STUCK_RECV, r == LIBSSH2_ERROR_EAGAIN);
    if (r == LIBSSH2_ERROR_EAGAIN)
      break;
    if (r < 0)
      return sftp_broken (c, "receiving from the server: %s", session_error (c));
    if (r == 0) {
      if (libssh2_channel_eof (s->channel))
        return sftp_broken (c, "the server closed the SFTP channel");
      break;
    }
    moved = 1;
    if (s->direct_left > 0) {
      s->direct_left -= r;
      if (s->direct_dst)
        s->direct_dst += r;
      if (s->direct_left == 0 && direct_done (c, s) == -1)
        return -1;
    }
    else {
      s->ilen += r;
      if (parse_input (c, s, version_reply) == -1)
        return -1;
    }
    if (c->sftp->replies != c->sftp->pump_replies)
      break;                    /* a reply came: let its waiter see it */
  }
  return moved;
}

/* Send what the first channel has queued, without waiting and without
 * reading (sftp_start, while the subsystem request waits for its
 * reply).  Returns -1 if the connection broke.
 */
int
sftp_send_queued (struct ssh_conn *c)
{
  return pump_out (c, c->sftp) == -1 ? -1 : 0;
}

/* Both ways on channel s. */
static int
pump_channel (struct ssh_conn *c, struct sftp *s,
              struct sync_reply *version_reply)
{
  int out, in;

  out = pump_out (c, s);
  if (out == -1)
    return -1;
  in = pump_in (c, s, version_reply);
  if (in == -1)
    return -1;
  return out | in;
}

/* Has a channel that stopped sending for want of window got some since
 * (an adjustment read by any channel's read)?
 */
static bool
window_opened (struct sftp *s)
{
  if (!s->window_shut)
    return false;
  s->window_shut = false;
  return libssh2_channel_window_write (s->channel) > 0 &&
    sftp_output_pending (s) > 0;
}

static bool
windows_opened (struct ssh_conn *c)
{
  struct sftp *p = c->sftp;
  bool any = window_opened (p);
  unsigned i;

  for (i = 0; i < p->nr_lanes; ++i)
    if (sftp_lane_active (p->lanes[i]) && window_opened (p->lanes[i]))
      any = true;
  return any;
}

/* Has libssh2 received data for a lane that was not read yet?  A read
 * of one channel reads the socket for all of them.
 */
static bool
lanes_have_input (struct ssh_conn *c)
{
  struct sftp *p = c->sftp;
  unsigned long avail = 0;
  unsigned i;

  libssh2_channel_window_read_ex (p->channel, &avail, NULL);
  if (avail > 0)
    return true;
  for (i = 0; i < p->nr_lanes; ++i) {
    if (!sftp_lane_active (p->lanes[i]))
      continue;
    libssh2_channel_window_read_ex (p->lanes[i]->channel, &avail, NULL);
    if (avail > 0)
      return true;
  }
  return false;
}

/* Resume the call that left a packet half sent. */
static int
pump_stuck (struct ssh_conn *c, struct sync_reply *version_reply)
{
  struct sftp *s = c->sftp->stuck;

  switch (c->sftp->stuck_kind) {
  case STUCK_SEND:
    return pump_out (c, s);
  case STUCK_RECV:
    return pump_in (c, s, s == c->sftp ? version_reply :
                    sftp_lane_version_reply (s));
  default:
    return sftp_lane_step (c, s);
  }
}

/* Move bytes both ways on every channel until libssh2 would block or
 * a reply came (its waiter goes on at once; the caller pumps again).
 * Returns 1 if anything moved, 0 if not, -1 on error.
 */
int
sftp_pump_once (struct ssh_conn *c, struct sync_reply *version_reply)
{
  struct sftp *p = c->sftp;
  int moved = 0, m, r;
  unsigned i;

  p->pump_replies = p->replies;
  for (;;) {
    m = 0;
    if (p->stuck) {
      if ((r = pump_stuck (c, version_reply)) == -1)
        return -1;
      m |= r;
    }
    if (p->stuck) {
      /* Nothing else may be sent, but what can be read without
       * sending is read: a peer that waits for us to read before it
       * reads more (a ProxyCommand) would otherwise never take the
       * rest of the half-sent packet.
       */
      if ((r = pump_in (c, p, version_reply)) == -1)
        return -1;
      m |= r;
      for (i = 0; i < p->nr_lanes; ++i) {
        struct sftp *l = p->lanes[i];

        if (!sftp_lane_active (l))
          continue;
        if ((r = pump_in (c, l, sftp_lane_version_reply (l))) == -1)
          return -1;
        m |= r;
      }
      moved |= m;
      if (m == 0 || p->replies != p->pump_replies)
        break;
      continue;
    }
    /* Lanes being set up first: their packets are small, and they
     * would wait behind the data otherwise.
     */
    for (i = 0; i < p->nr_lanes && !p->stuck; ++i) {
      struct sftp *l = p->lanes[i];

      /* One channel opening at a time. */
      if (l->lane_state == LANE_SUBSYSTEM || l->lane_state == LANE_INIT ||
          (l->lane_state == LANE_OPEN &&
           (i == 0 || p->lanes[i - 1]->lane_state != LANE_OPEN))) {
        if ((r = sftp_lane_step (c, l)) == -1)
          return -1;
        m |= r;
      }
    }
    if ((r = pump_channel (c, p, version_reply)) == -1)
      return -1;
    m |= r;
    for (i = 0; i < p->nr_lanes; ++i) {
      struct sftp *l = p->lanes[i];

      if (!sftp_lane_active (l))
        continue;
      if ((r = pump_channel (c, l, sftp_lane_version_reply (l))) == -1)
        return -1;
      m |= r;
      sftp_lane_replies (c, l);
    }
    moved |= m;
    /* Again until nothing moves, no channel whose window opened has
     * output, and (several channels) nothing received is left for any
     * of them.
     */
    if (p->stuck || p->replies != p->pump_replies)
      break;
    if (windows_opened (c))
      continue;
    if (p->nr_lanes == 0 || (m == 0 && !lanes_have_input (c)))
      break;
  }
  return moved;
}

/* For the keepalive thread, on an idle connection: move what can move
 * without waiting.  Returns -1 if the connection broke.
 */
int
sftp_poll (struct ssh_conn *c)
{
  int r;

  if (c->broken || c->sftp == NULL)
    return c->broken ? -1 : 0;
  /* Each pass returns after a reply; replies are bounded by the
   * requests in flight.
   */
  while ((r = sftp_pump_once (c, NULL)) > 0)
    ;
  return r < 0 ? -1 : 0;
}

/* For the keepalive thread, on an idle connection: ask the SFTP server
 * something harmless (FSTAT of the open file) without waiting; the
 * reply, dropped when it arrives, shows that the server is alive, and
 * the traffic keeps NATs open.  Unlike an SSH keepalive it also
 * notices an sftp-server that hangs behind a live sshd, and it leaves
 * nothing behind in libssh2 (1.10 keeps every reply to an SSH
 * keepalive on the session's packet list).  Returns 1 if sent, 0 if
 * there is no open file (the caller sends an SSH keepalive), -1 if
 * the connection broke.
 */
int
sftp_ping (struct ssh_conn *c)
{
  struct sftp *s = c->sftp;
  uint32_t id;

  if (c->broken)
    return -1;
  if (s == NULL || s->handle_len == 0 || !sftp_slot_available (s))
    return 0;
  if (sftp_request_begin (c, SSH_FXP_FSTAT, &id) == -1)
    return -1;
  sftp_wire_put_string (&s->out, s->handle, s->handle_len);
  if (sftp_request_end (c, id, NULL, NULL) == NULL)
    return -1;
  return sftp_pump_once (c, NULL) < 0 ? -1 : 1;
}

/* Pump, waiting on the socket when nothing moves (bounded by the
 * timeout of each wait).
 */
int
sftp_pump (struct ssh_conn *c, struct sync_reply *version_reply)
{
  struct sftp *p = c->sftp;
  int r = sftp_pump_once (c, version_reply);
  struct timespec now;

  if (r == 0) {
    /* A half-sent packet that never goes out (the socket takes bytes
     * but libssh2 keeps saying it waits to send): bounded like any
     * silence, by timeout=.
     */
    if (p->stuck && p->opts.timeout > 0) {
      clock_gettime (CLOCK_MONOTONIC, &now);
      if (p->stuck_since.tv_sec == 0 || c->sent_bytes != p->stuck_sent) {
        p->stuck_since = now;
        p->stuck_sent = c->sent_bytes;
      }
      else if (now.tv_sec - p->stuck_since.tv_sec > (time_t) p->opts.timeout)
        return sftp_broken (c, "timed out after %u seconds sending to the "
                            "server (timeout=%u)", p->opts.timeout,
                            p->opts.timeout);
    }
    if (session_wait (c) == -1)
      return sftp_broken (c, NULL);
  }
  else
    p->stuck_since.tv_sec = 0;
  return r < 0 ? -1 : 0;
}

/* Wait for a reply. */
static int
sync_request (struct ssh_conn *c, struct sync_reply *r)
{
  while (!r->done) {
    if (c->broken)
      return -1;
    if (sftp_pump (c, NULL) == -1)
      return -1;
  }
  return 0;
}

/* Wait until the slot of the next request on the first channel is
 * free (requests in flight may hold every slot).  -1 if the
 * connection broke.
 */
int
sftp_slot_wait (struct ssh_conn *c)
{
  while (!sftp_slot_available (c->sftp)) {
    if (c->broken || sftp_pump (c, NULL) == -1)
      return -1;
  }
  return 0;
}

/* Start a request that call will wait for, once its slot is free. */
int
sftp_sync_begin (struct ssh_conn *c, uint8_t type, uint32_t *id)
{
  if (sftp_slot_wait (c) == -1)
    return -1;
  return sftp_request_begin (c, type, id);
}

/* ---- Synchronous requests, set-up ---- */

/* The reply must be of type want: else -1 with the reason (the
 * server's STATUS, or a protocol error) in c->errbuf and the errno in
 * *err.
 */
int
sftp_check_reply_type (struct ssh_conn *c, struct sync_reply *r, uint8_t want,
                       const char *what, int *err)
{
  struct sftp_status st;

  *err = EIO;
  if (r->type == want)
    return 0;
  if (r->type == SSH_FXP_STATUS &&
      sftp_wire_status (r->data, r->len, &st) == 0) {
    char m[STATUS_MSG];

    sftp_wire_escape (m, sizeof m, st.msg, st.msg_len);
    sftp_status_str (c, st.code, m);
    *err = sftp_wire_status_errno (st.code);
    return -1;
  }
  snprintf (c->errbuf, sizeof c->errbuf,
            "SFTP protocol error: reply type %u to %s", r->type, what);
  return -1;
}

/* Queue INIT.  Requests may follow it at once: a server reads its
 * input in order, so they reach it after INIT (OpenSSH's sftp-server
 * refuses only requests that come before INIT).
 */
int
sftp_init_send (struct ssh_conn *c)
{
  struct sftp *s = c->sftp;

  sftp_wire_begin (&s->out, SSH_FXP_INIT);
  sftp_wire_put_u32 (&s->out, SFTP_VERSION);
  if (sftp_wire_end (&s->out) == -1)
    return sftp_broken (c, "building an SFTP request: %m");
  return 0;
}

/* Wait for VERSION (INIT was queued by sftp_init_send): the server's
 * version and the extensions we use.
 */
int
sftp_handshake (struct ssh_conn *c)
{
  struct sftp *s = c->sftp;
  struct sync_reply v = { .done = false };
  struct sftp_reader exts;
  struct sftp_ext ext;
  unsigned n = 0, ignored = 0;

  while (!v.done) {
    /* VERSION may have come with a bad packet after it. */
    if (c->broken || sftp_pump_once (c, &v) == -1) {
      free (v.data);
      return -1;
    }
    if (!v.done && session_wait (c) == -1)
      return -1;
  }
  if (sftp_wire_version (v.data, v.len, &s->version, &exts) == -1) {
    free (v.data);
    return sftp_broken (c, "SFTP protocol error: short VERSION");
  }
  while (sftp_wire_next_ext (&exts, &ext)) {
    char name[80], data[40];

    if (n >= MAX_EXTENSIONS) {
      ignored++;
      continue;
    }
    n++;
    ssh_debug ("sftp: server extension %s (%s)",
               sftp_wire_escape (name, sizeof name, ext.name, ext.name_len),
               sftp_wire_escape (data, sizeof data, ext.data, ext.data_len));
    if (sftp_wire_ext_is (&ext, "fsync@openssh.com"))
      s->has_fsync = true;
    if (sftp_wire_ext_is (&ext, "limits@openssh.com"))
      s->has_limits = true;
    if (sftp_wire_ext_is (&ext, "fstatvfs@openssh.com"))
      s->has_fstatvfs = true;
  }
  free (v.data);
  if (ignored > 0)
    ssh_debug ("sftp: %u more server extensions ignored (the first %d are "
               "used)", ignored, MAX_EXTENSIONS);
  if (s->version < SFTP_VERSION)
    return sftp_broken (c, "the server speaks SFTP version %u; version 3 is "
                        "needed", s->version);
  return 0;
}

/* Ask limits@openssh.com how large a READ and WRITE may be, before
 * VERSION says whether the server has it (a server without it says
 * so, and the reply is not used); the reply goes to r.
 */
int
sftp_limits_send (struct ssh_conn *c, struct sync_reply *r)
{
  struct sftp *s = c->sftp;
  static const char name[] = "limits@openssh.com";
  uint32_t id;

  if (sftp_sync_begin (c, SSH_FXP_EXTENDED, &id) == -1)
    return -1;
  sftp_wire_put_string (&s->out, name, sizeof name - 1);
  return sftp_call_send (c, id, r);
}

/* Wait for the limits reply, and use it if the server has the
 * extension.
 */
int
sftp_limits (struct ssh_conn *c, struct sync_reply *r)
{
  struct sftp *s = c->sftp;
  struct sftp_limits lim;

  s->max_read = s->max_write = DEFAULT_CHUNK;
  if (sftp_reply_wait (c, r) == -1)
    return -1;
  if (s->has_limits && r->type == SSH_FXP_EXTENDED_REPLY &&
      sftp_wire_limits (r->data, r->len, &lim) == 0) {
    if (lim.max_read >= 1024)
      s->max_read = lim.max_read > MAX_CHUNK ? MAX_CHUNK : lim.max_read;
    if (lim.max_write >= 1024)
      s->max_write = lim.max_write > MAX_CHUNK ? MAX_CHUNK : lim.max_write;
  }
  free (r->data);
  r->data = NULL;
  return 0;
}

/* A reply to a request that sftp_call waits for: keep a copy. */
static int
sync_reply (struct ssh_conn *c, const struct slot *slot, uint8_t type,
            const char *p, uint32_t len)
{
  struct sync_reply *r = slot->arg;

  r->data = malloc (len ? len : 1);
  if (r->data == NULL)
    return sftp_broken (c, "out of memory");
  memcpy (r->data, p, len);
  r->len = len;
  r->type = type;
  r->done = true;
  return 0;
}

/* Finish the request being built (begun by sftp_sync_begin as id);
 * its reply will be copied to r, which must live until it came (or
 * the session is gone).  -1 means the connection broke.
 */
int
sftp_call_send (struct ssh_conn *c, uint32_t id, struct sync_reply *r)
{
  return sftp_lane_call_send (c, c->sftp, id, r);
}

/* The same on channel s (c->sftp or a lane), for a request begun by
 * sftp_lane_begin.
 */
int
sftp_lane_call_send (struct ssh_conn *c, struct sftp *s, uint32_t id,
                     struct sync_reply *r)
{
  r->done = false;
  r->data = NULL;
  return request_end (c, s, id, sync_reply, r) == NULL ? -1 : 0;
}

/* Wait for the reply of a request sent by sftp_call_send. */
int
sftp_reply_wait (struct ssh_conn *c, struct sync_reply *r)
{
  return sync_request (c, r);
}

/* Send the request being built (begun by sftp_sync_begin as id) and
 * wait for its reply.  -1 means the transport failed (c->broken,
 * reason in c->errbuf).
 */
int
sftp_call (struct ssh_conn *c, uint32_t id, struct sync_reply *r)
{
  if (sftp_call_send (c, id, r) == -1)
    return -1;
  return sync_request (c, r);
}

/* An EXTENDED request by name, on the open file if on_file. */
int
sftp_call_extended (struct ssh_conn *c, const char *name, bool on_file,
                    struct sync_reply *r)
{
  struct sftp *s = c->sftp;
  uint32_t id;

  if (sftp_sync_begin (c, SSH_FXP_EXTENDED, &id) == -1)
    return -1;
  sftp_wire_put_string (&s->out, name, strlen (name));
  if (on_file)
    sftp_wire_put_string (&s->out, s->handle, s->handle_len);
  return sftp_call (c, id, r);
}

/* The reply must be an OK STATUS: else -1 with the message in errbuf
 * and the errno in *err.
 */
int
sftp_expect_ok (struct ssh_conn *c, struct sync_reply *r, const char *what,
                int *err)
{
  struct sftp_status st;

  if (r->type == SSH_FXP_STATUS &&
      sftp_wire_status (r->data, r->len, &st) == 0 && st.code == SSH_FX_OK)
    return 0;
  /* Not a STATUS: a protocol error message; a failed STATUS: its text.
   * sftp_check_reply_type only explains a STATUS when it is not the type
   * wanted, so ask it for a type a STATUS can never be.
   */
  if (sftp_check_reply_type (c, r, SSH_FXP_HANDLE, what, err) == 0)
    snprintf (c->errbuf, sizeof c->errbuf,
              "SFTP protocol error: reply type %u to %s", r->type, what);
  return -1;
}


/* A request on a connection that broke earlier fails at once. */
int
sftp_check_usable (struct ssh_conn *c, const char *what)
{
  if (c->broken) {
    ssh_error ("%s: the connection to %s port %u failed earlier "
               "(%s)", what, c->host, c->port,
               c->errbuf[0] ? c->errbuf : "broken");
    ssh_set_error (EIO);
    return -1;
  }
  return 0;
}
