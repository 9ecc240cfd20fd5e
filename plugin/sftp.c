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

/* The data path: SFTP version 3 over a libssh2 channel ("subsystem
 * sftp"), framed by the plugin itself (the wire format is
 * sftp-wire.c's), so that it decides how large each READ and WRITE is
 * and how many are in flight.  This file is the request engine: ids
 * and their slots, the pump, the read queue, writes, flush, open,
 * stat, close and READDIR.
 *
 * - A read is split into chunks of up to the server's maximum read
 *   length.  Once a client reads sequentially, chunks beyond the
 *   request are asked for ahead of time (read-ahead), up to a window
 *   that grows to a size set by the link's round trip (RA_FLOOR to
 *   RA_MAX); a request that does not continue the
 *   previous one drops the read-ahead, so random reads cost one round
 *   trip and no wasted transfer.
 * - A write sends all of its chunks at once (bounded by WRITE_WINDOW
 *   bytes in flight) and returns when the server has acknowledged
 *   every one of them.  Writes first drop the read-ahead, so no stale
 *   data is ever served.
 * - flush is fsync@openssh.com, used only if the server lists it.
 */

#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdarg.h>
#include <errno.h>
#include <inttypes.h>
#include <time.h>
#include <sys/stat.h>

#include "ssh-plugin.h"

#define SFTP_WINDOW   (16 * 1024 * 1024) /* credit only: >= RA_MAX */
#define SFTP_PACKET   32768              /* SSH channel max packet */
#define DEFAULT_CHUNK 32768              /* every server must take this */
#define MAX_CHUNK     SFTP_MAX_CHUNK
#define IBUF_SIZE     SFTP_MAX_PACKET    /* holds one whole reply */
#define NSLOTS        4096               /* requests in flight, power of 2 */
/* Read-ahead is sized to the link: about what RA_RATE bytes per second
 * keep in flight over the round trip measured at start-up, between
 * RA_FLOOR and RA_MAX.  Loopback gets RA_FLOOR (little memory per
 * connection), a 50 ms link gets RA_MAX.
 */
#define RA_FLOOR      (2 * 1024 * 1024)
#define RA_MAX        (16 * 1024 * 1024)
#define RA_RATE       (400 * 1024 * 1024) /* bytes per second */
#define WRITE_WINDOW  (8 * 1024 * 1024)
#define OBUF_HIGH     (1024 * 1024)      /* stop queueing writes above */

/* A piece of the file being read, in file order in the read queue. */
struct chunk {
  struct chunk *next;
  uint64_t offset;
  uint32_t len;                 /* asked for */
  uint32_t got;                 /* received so far */
  bool done;                    /* all received, or failed */
  bool eof;                     /* the server said EOF at offset+got */
  uint32_t status;              /* SFTP error status if failed */
  char *buf;
};

/* What a request in flight is for. */
enum slot_kind { SLOT_FREE = 0, SLOT_CHUNK, SLOT_WRITE, SLOT_SYNC,
                 SLOT_DISCARD };

struct sync_reply {
  bool done;
  uint8_t type;
  char *data;                   /* payload after type and id */
  uint32_t len;
};

struct write_op {
  unsigned inflight;
  uint64_t inflight_bytes;
  uint32_t status;              /* first error, SSH_FX_OK if none */
  uint64_t err_offset;
};

struct slot {
  uint32_t id;
  enum slot_kind kind;
  union {
    struct chunk *chunk;
    struct write_op *write;
    struct sync_reply *sync;
  } u;
  uint32_t len;                 /* WRITE: bytes */
  uint64_t offset;              /* WRITE: where */
};

struct sftp {
  LIBSSH2_CHANNEL *channel;
  char handle[SFTP_MAX_HANDLE];
  uint32_t handle_len;
  uint32_t next_id;
  unsigned version;
  bool has_fsync, has_limits, has_fstatvfs;
  uint32_t max_read, max_write;

  struct slot slots[NSLOTS];
  unsigned nr_inflight;

  /* Outgoing packets not yet taken by libssh2. */
  struct sftp_buf out;

  /* Incoming bytes not yet parsed. */
  char *ibuf;
  size_t ilen;

  /* Read queue and read-ahead state. */
  struct chunk *rq_head, *rq_tail;
  struct chunk *free_chunks;
  unsigned nr_free_chunks;
  uint64_t seq_next;            /* where a sequential read would start */
  uint32_t ra_window;           /* current read-ahead beyond a request */
  uint32_t ra_target;           /* read-ahead for this link (RTT based) */
  int64_t rtt_us;               /* smallest request round trip seen */
};

/* ---- Errors ---- */

/* Describe an SFTP status for a message, in c->errbuf. */
static const char *
status_str (struct ssh_conn *c, uint32_t status, const char *msg)
{
  snprintf (c->errbuf, sizeof c->errbuf, "%s (SFTP status %" PRIu32 "%s%s)",
            sftp_wire_status_name (status), status,
            msg && *msg ? ": " : "", msg && *msg ? msg : "");
  return c->errbuf;
}

/* The transport failed: the session is unusable. */
static int
broken (struct ssh_conn *c, const char *fs, ...)
  __attribute__ ((format (printf, 2, 3)));
static int
broken (struct ssh_conn *c, const char *fs, ...)
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
static bool
slot_available (struct sftp *s)
{
  return slot_for (s, s->next_id)->kind == SLOT_FREE;
}

/* Start a request packet of type with the next id.  The id's slot must
 * be free (callers wait for it, or check slot_available): if the
 * request NSLOTS ids earlier is still unanswered, the connection is
 * broken with an error saying so.
 */
static int
request_begin (struct ssh_conn *c, uint8_t type, uint32_t *id)
{
  struct sftp *s = c->sftp;

  if (!slot_available (s))
    return broken (c, "SFTP: request %" PRIu32 " still unanswered after "
                   "%u later requests", slot_for (s, s->next_id)->id,
                   NSLOTS);
  *id = s->next_id++;
  sftp_wire_begin (&s->out, type);
  sftp_wire_put_u32 (&s->out, *id);
  return 0;
}

/* Finish the packet of request id and register the request in its
 * slot as kind.  NULL (connection broken) if the packet could not be
 * built.
 */
static struct slot *
request_end (struct ssh_conn *c, uint32_t id, enum slot_kind kind)
{
  struct sftp *s = c->sftp;
  struct slot *slot;

  if (sftp_wire_end (&s->out) == -1) {
    broken (c, "building an SFTP request: %m");
    return NULL;
  }
  slot = slot_for (s, id);
  slot->id = id;
  slot->kind = kind;
  s->nr_inflight++;
  return slot;
}

static void chunk_free (struct sftp *s, struct chunk *ch);
static int call_extended (struct ssh_conn *c, const char *name, bool on_file,
                          struct sync_reply *r);
static int send_read (struct ssh_conn *c, struct chunk *ch);

/* ---- Reading the stream ---- */

/* Handle one complete reply: type, id, and the payload after them. */
static int
dispatch (struct ssh_conn *c, uint8_t type, uint32_t id,
          const char *p, uint32_t len)
{
  struct sftp *s = c->sftp;
  struct slot *slot = slot_for (s, id);
  struct sftp_status st;

  if (slot->kind == SLOT_FREE || slot->id != id)
    return broken (c, "SFTP protocol error: reply (type %u) to unknown "
                   "request %" PRIu32, type, id);

  switch (slot->kind) {
  case SLOT_DISCARD:
    break;

  case SLOT_CHUNK: {
    struct chunk *ch = slot->u.chunk;

    if (type == SSH_FXP_DATA) {
      const char *data;
      uint32_t n;

      if (sftp_wire_data (p, len, ch->len - ch->got, &data, &n) == -1)
        return broken (c, "SFTP protocol error: bad DATA reply");
      memcpy (ch->buf + ch->got, data, n);
      ch->got += n;
      if (n == 0)
        return broken (c, "SFTP protocol error: empty DATA reply");
      if (ch->got < ch->len) {
        /* Short read: ask for the rest. */
        slot->kind = SLOT_FREE;
        s->nr_inflight--;
        return send_read (c, ch);
      }
      ch->done = true;
    }
    else if (type == SSH_FXP_STATUS) {
      if (sftp_wire_status (p, len, &st) == -1)
        return broken (c, "SFTP protocol error: bad STATUS reply");
      if (st.code == SSH_FX_EOF)
        ch->eof = true;
      else
        ch->status = st.code == SSH_FX_OK ? SSH_FX_FAILURE : st.code;
      ch->done = true;
    }
    else
      return broken (c, "SFTP protocol error: unexpected reply type %u "
                     "to READ", type);
    break;
  }

  case SLOT_WRITE: {
    struct write_op *w = slot->u.write;

    if (type != SSH_FXP_STATUS || sftp_wire_status (p, len, &st) == -1)
      return broken (c, "SFTP protocol error: unexpected reply type %u "
                     "to WRITE", type);
    if (st.code != SSH_FX_OK && w->status == SSH_FX_OK) {
      w->status = st.code;
      w->err_offset = slot->offset;
    }
    w->inflight--;
    w->inflight_bytes -= slot->len;
    break;
  }

  case SLOT_SYNC: {
    struct sync_reply *r = slot->u.sync;

    r->data = malloc (len ? len : 1);
    if (r->data == NULL)
      return broken (c, "out of memory");
    memcpy (r->data, p, len);
    r->len = len;
    r->type = type;
    r->done = true;
    break;
  }

  case SLOT_FREE:               /* excluded above */
  default:
    return broken (c, "SFTP: reply to request %" PRIu32 " in a slot "
                   "of unknown kind %d", id, (int) slot->kind);
  }

  slot->kind = SLOT_FREE;
  s->nr_inflight--;
  return 0;
}

/* Parse every complete packet in ibuf.  version_reply is set when a
 * VERSION packet (which has no id) arrives.
 */
static int
parse_input (struct ssh_conn *c, struct sync_reply *version_reply)
{
  struct sftp *s = c->sftp;
  struct sftp_reader in;
  struct sftp_packet pkt;
  int r;

  sftp_wire_reader (&in, s->ibuf, s->ilen);
  while ((r = sftp_wire_next_packet (&in, &pkt)) == SFTP_WIRE_PACKET) {
    if (pkt.type == SSH_FXP_VERSION) {
      if (version_reply == NULL || version_reply->done)
        return broken (c, "SFTP protocol error: unexpected VERSION");
      version_reply->data = malloc (pkt.len ? pkt.len : 1);
      if (version_reply->data == NULL)
        return broken (c, "out of memory");
      memcpy (version_reply->data, pkt.payload, pkt.len);
      version_reply->len = pkt.len;
      version_reply->type = SSH_FXP_VERSION;
      version_reply->done = true;
    }
    else if (dispatch (c, pkt.type, pkt.id, pkt.payload, pkt.len) == -1)
      return -1;
  }
  if (r == SFTP_WIRE_BAD_LENGTH)
    return broken (c, "SFTP protocol error: packet of %" PRIu32 " bytes",
                   wire_get_be32 (in.p));
  if (r == SFTP_WIRE_SHORT)
    return broken (c, "SFTP protocol error: short packet");
  if (in.left < s->ilen) {
    memmove (s->ibuf, in.p, in.left);
    s->ilen = in.left;
  }
  return 0;
}

/* Move bytes both ways until libssh2 would block.  Returns 1 if
 * anything moved, 0 if not, -1 on error.
 */
static int
pump_once (struct ssh_conn *c, struct sync_reply *version_reply)
{
  struct sftp *s = c->sftp;
  int moved = 0;
  ssize_t r;
  size_t n;

  while ((n = sftp_wire_pending (&s->out)) > 0) {
    r = libssh2_channel_write (s->channel, sftp_wire_pending_data (&s->out),
                               n);
    if (r == LIBSSH2_ERROR_EAGAIN)
      break;
    if (r < 0)
      return broken (c, "sending to the server: %s", session_error (c));
    sftp_wire_sent (&s->out, r);
    moved = 1;
  }

  for (;;) {
    r = libssh2_channel_read (s->channel, s->ibuf + s->ilen,
                              IBUF_SIZE - s->ilen);
    if (r == LIBSSH2_ERROR_EAGAIN)
      break;
    if (r < 0)
      return broken (c, "receiving from the server: %s", session_error (c));
    if (r == 0) {
      if (libssh2_channel_eof (s->channel))
        return broken (c, "the server closed the SFTP channel");
      break;
    }
    s->ilen += r;
    moved = 1;
    if (parse_input (c, version_reply) == -1)
      return -1;
  }
  return moved;
}

/* For the keepalive thread, on an idle connection: move what can move
 * without waiting.  Returns -1 if the connection broke.
 */
int
sftp_poll (struct ssh_conn *c)
{
  if (c->broken || c->sftp == NULL)
    return c->broken ? -1 : 0;
  return pump_once (c, NULL) < 0 ? -1 : 0;
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
  if (s == NULL || s->handle_len == 0 || !slot_available (s))
    return 0;
  if (request_begin (c, SSH_FXP_FSTAT, &id) == -1)
    return -1;
  sftp_wire_put_string (&s->out, s->handle, s->handle_len);
  if (request_end (c, id, SLOT_DISCARD) == NULL)
    return -1;
  return pump_once (c, NULL) < 0 ? -1 : 1;
}

/* Pump, waiting on the socket when nothing moves (bounded by the
 * timeout of each wait).
 */
static int
pump (struct ssh_conn *c, struct sync_reply *version_reply)
{
  int r = pump_once (c, version_reply);

  if (r == 0) {
    if (session_wait (c) == -1)
      return broken (c, NULL);
  }
  return r < 0 ? -1 : 0;
}

static int64_t
now_us (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

/* Wait for a reply; the fastest round trip seen sizes read-ahead. */
static int
sync_request (struct ssh_conn *c, struct sync_reply *r)
{
  int64_t start = now_us (), t;

  while (!r->done) {
    if (c->broken)
      return -1;
    if (pump (c, NULL) == -1)
      return -1;
  }
  t = now_us () - start;
  if (c->sftp->rtt_us == 0 || t < c->sftp->rtt_us)
    c->sftp->rtt_us = t > 0 ? t : 1;
  return 0;
}

/* Start a request that call will wait for: first wait until its slot
 * is free (requests in flight may hold every slot).
 */
static int
sync_begin (struct ssh_conn *c, uint8_t type, uint32_t *id)
{
  while (!slot_available (c->sftp)) {
    if (c->broken || pump (c, NULL) == -1)
      return -1;
  }
  return request_begin (c, type, id);
}

/* ---- Chunks and read-ahead ---- */

static struct chunk *
chunk_new (struct sftp *s, uint64_t offset, uint32_t len)
{
  struct chunk *ch = s->free_chunks;

  if (ch) {
    s->free_chunks = ch->next;
    s->nr_free_chunks--;
  }
  else {
    ch = malloc (sizeof *ch);
    if (ch == NULL)
      return NULL;
    ch->buf = malloc (s->max_read);
    if (ch->buf == NULL) {
      free (ch);
      return NULL;
    }
  }
  ch->next = NULL;
  ch->offset = offset;
  ch->len = len;
  ch->got = 0;
  ch->done = ch->eof = false;
  ch->status = SSH_FX_OK;
  return ch;
}

static void
chunk_free (struct sftp *s, struct chunk *ch)
{
  if (s->nr_free_chunks < 8) {
    ch->next = s->free_chunks;
    s->free_chunks = ch;
    s->nr_free_chunks++;
  }
  else {
    free (ch->buf);
    free (ch);
  }
}

/* Ask for the part of the chunk not received yet. */
static int
send_read (struct ssh_conn *c, struct chunk *ch)
{
  struct sftp *s = c->sftp;
  struct slot *slot;
  uint32_t id;

  if (request_begin (c, SSH_FXP_READ, &id) == -1)
    return -1;
  sftp_wire_put_string (&s->out, s->handle, s->handle_len);
  sftp_wire_put_u64 (&s->out, ch->offset + ch->got);
  sftp_wire_put_u32 (&s->out, ch->len - ch->got);
  slot = request_end (c, id, SLOT_CHUNK);
  if (slot == NULL)
    return -1;
  slot->u.chunk = ch;
  return 0;
}

/* Append a chunk at the tail of the read queue and ask for it. */
static int
queue_read (struct ssh_conn *c, uint64_t offset, uint32_t len)
{
  struct sftp *s = c->sftp;
  struct chunk *ch;

  while (!slot_available (s)) {
    if (pump (c, NULL) == -1)
      return -1;
  }
  ch = chunk_new (s, offset, len);
  if (ch == NULL) {
    nbdkit_error ("malloc: %m");
    return -1;
  }
  if (send_read (c, ch) == -1) {
    chunk_free (s, ch);
    return -1;
  }
  if (s->rq_tail)
    s->rq_tail->next = ch;
  else
    s->rq_head = ch;
  s->rq_tail = ch;
  return 0;
}

/* Ask for [queue end, end), clipped to the file, in chunks. */
static int
extend_queue (struct ssh_conn *c, uint64_t start, uint64_t end)
{
  struct sftp *s = c->sftp;
  uint64_t pos = s->rq_tail ? s->rq_tail->offset + s->rq_tail->len : start;

  if (end > (uint64_t) c->size)
    end = c->size;
  while (pos < end) {
    uint32_t n = end - pos > s->max_read ? s->max_read : end - pos;
    if (queue_read (c, pos, n) == -1)
      return -1;
    pos += n;
  }
  return 0;
}

/* Drop the read queue.  Replies still to come are discarded. */
static void
drop_queue (struct ssh_conn *c)
{
  struct sftp *s = c->sftp;
  struct chunk *ch, *next;
  unsigned i, n = 0;

  if (s->rq_head == NULL)
    return;
  for (i = 0; i < NSLOTS; ++i) {
    if (s->slots[i].kind == SLOT_CHUNK) {
      s->slots[i].kind = SLOT_DISCARD;
      n++;
    }
  }
  for (ch = s->rq_head; ch; ch = next) {
    next = ch->next;
    chunk_free (s, ch);
  }
  s->rq_head = s->rq_tail = NULL;
  debug ("read-ahead dropped (%u requests in flight discarded)", n);
}

/* ---- Setup ---- */

static int
check_reply_type (struct ssh_conn *c, struct sync_reply *r, uint8_t want,
                  const char *what, int *err)
{
  struct sftp_status st;

  *err = EIO;
  if (r->type == want)
    return 0;
  if (r->type == SSH_FXP_STATUS &&
      sftp_wire_status (r->data, r->len, &st) == 0) {
    char m[128];

    snprintf (m, sizeof m, "%.*s",
              (int) (st.msg_len < 100 ? st.msg_len : 100), st.msg);
    status_str (c, st.code, m);
    *err = sftp_wire_status_errno (st.code);
    return -1;
  }
  snprintf (c->errbuf, sizeof c->errbuf,
            "SFTP protocol error: reply type %u to %s", r->type, what);
  return -1;
}

static int
sftp_handshake (struct ssh_conn *c)
{
  struct sftp *s = c->sftp;
  struct sync_reply v = { .done = false };
  struct sftp_reader exts;
  struct sftp_ext ext;

  sftp_wire_begin (&s->out, SSH_FXP_INIT);
  sftp_wire_put_u32 (&s->out, SFTP_VERSION);
  if (sftp_wire_end (&s->out) == -1)
    return broken (c, "building an SFTP request: %m");
  while (!v.done) {
    if (c->broken || pump_once (c, &v) == -1)
      return -1;
    if (!v.done && session_wait (c) == -1)
      return -1;
  }
  if (sftp_wire_version (v.data, v.len, &s->version, &exts) == -1) {
    free (v.data);
    return broken (c, "SFTP protocol error: short VERSION");
  }
  while (sftp_wire_next_ext (&exts, &ext)) {
    debug ("sftp: server extension %.*s (%.*s)", (int) ext.name_len,
           ext.name, (int) ext.data_len, ext.data);
    if (sftp_wire_ext_is (&ext, "fsync@openssh.com"))
      s->has_fsync = true;
    if (sftp_wire_ext_is (&ext, "limits@openssh.com"))
      s->has_limits = true;
    if (sftp_wire_ext_is (&ext, "fstatvfs@openssh.com"))
      s->has_fstatvfs = true;
  }
  free (v.data);
  if (s->version < SFTP_VERSION)
    return broken (c, "the server speaks SFTP version %u; version 3 is "
                   "needed", s->version);
  return 0;
}

/* Ask limits@openssh.com how large a READ and WRITE may be. */
static int
sftp_limits (struct ssh_conn *c)
{
  struct sftp *s = c->sftp;
  struct sync_reply r = { .done = false };
  static const char name[] = "limits@openssh.com";
  struct sftp_limits lim;

  s->max_read = s->max_write = DEFAULT_CHUNK;
  if (!s->has_limits)
    return 0;
  if (call_extended (c, name, false, &r) == -1)
    return -1;
  if (r.type == SSH_FXP_EXTENDED_REPLY &&
      sftp_wire_limits (r.data, r.len, &lim) == 0) {
    if (lim.max_read >= 1024)
      s->max_read = lim.max_read > MAX_CHUNK ? MAX_CHUNK : lim.max_read;
    if (lim.max_write >= 1024)
      s->max_write = lim.max_write > MAX_CHUNK ? MAX_CHUNK : lim.max_write;
  }
  free (r.data);
  return 0;
}

/* Send the request being built (begun by sync_begin as id) and wait
 * for its reply.  -1 means the transport failed (c->broken, reason in
 * c->errbuf).
 */
static int
call (struct ssh_conn *c, uint32_t id, struct sync_reply *r)
{
  struct slot *slot = request_end (c, id, SLOT_SYNC);

  if (slot == NULL)
    return -1;
  slot->u.sync = r;
  return sync_request (c, r);
}

/* An EXTENDED request by name, on the open file if on_file. */
static int
call_extended (struct ssh_conn *c, const char *name, bool on_file,
               struct sync_reply *r)
{
  struct sftp *s = c->sftp;
  uint32_t id;

  if (sync_begin (c, SSH_FXP_EXTENDED, &id) == -1)
    return -1;
  sftp_wire_put_string (&s->out, name, strlen (name));
  if (on_file)
    sftp_wire_put_string (&s->out, s->handle, s->handle_len);
  return call (c, id, r);
}

/* The reply must be an OK STATUS: else -1 with the message in errbuf
 * and the errno in *err.
 */
static int
expect_ok (struct ssh_conn *c, struct sync_reply *r, const char *what,
           int *err)
{
  struct sftp_status st;

  if (r->type == SSH_FXP_STATUS &&
      sftp_wire_status (r->data, r->len, &st) == 0 && st.code == SSH_FX_OK)
    return 0;
  /* Not a STATUS: a protocol error message; a failed STATUS: its text.
   * check_reply_type only explains a STATUS when it is not the type
   * wanted, so ask it for a type a STATUS can never be.
   */
  if (check_reply_type (c, r, SSH_FXP_HANDLE, what, err) == 0)
    snprintf (c->errbuf, sizeof c->errbuf,
              "SFTP protocol error: reply type %u to %s", r->type, what);
  return -1;
}

/* OPEN path with pflags, or OPENDIR when pflags is -1; the handle goes
 * to handle/hlen.  perms >= 0 sets the permissions of a created file.
 */
static int
open_handle (struct ssh_conn *c, const char *path, long pflags, int perms,
             char *handle, uint32_t *hlen, int *err)
{
  struct sftp *s = c->sftp;
  struct sync_reply r = { .done = false };
  const char *h;
  uint32_t id;
  int ret = -1;

  *err = EIO;
  if (sync_begin (c, pflags < 0 ? SSH_FXP_OPENDIR : SSH_FXP_OPEN, &id) == -1)
    return -1;
  sftp_wire_put_string (&s->out, path, strlen (path));
  if (pflags >= 0) {
    sftp_wire_put_u32 (&s->out, pflags);
    sftp_wire_put_u32 (&s->out,
                       perms >= 0 ? SSH_FILEXFER_ATTR_PERMISSIONS : 0);
    if (perms >= 0)
      sftp_wire_put_u32 (&s->out, perms);
  }
  if (call (c, id, &r) == -1)
    return -1;
  if (check_reply_type (c, &r, SSH_FXP_HANDLE, "OPEN", err) == 0) {
    if (sftp_wire_handle (r.data, r.len, &h, hlen) == -1)
      broken (c, "SFTP protocol error: bad HANDLE reply");
    else {
      memcpy (handle, h, *hlen);
      ret = 0;
    }
  }
  free (r.data);
  return ret;
}

static int
close_handle (struct ssh_conn *c, const char *handle, uint32_t hlen)
{
  struct sftp *s = c->sftp;
  struct sync_reply r = { .done = false };
  uint32_t id;
  int err, ret;

  if (sync_begin (c, SSH_FXP_CLOSE, &id) == -1)
    return -1;
  sftp_wire_put_string (&s->out, handle, hlen);
  if (call (c, id, &r) == -1)
    return -1;
  ret = expect_ok (c, &r, "CLOSE", &err);
  free (r.data);
  return ret;
}

/* LSTAT path, or FSTAT the open file when path is NULL. */
static int
stat_attrs (struct ssh_conn *c, const char *path, struct sftp_attrs *a,
            int *err)
{
  struct sftp *s = c->sftp;
  struct sync_reply r = { .done = false };
  const char *what = path ? "LSTAT" : "FSTAT";
  uint32_t id;
  int ret = -1;

  *err = EIO;
  if (sync_begin (c, path ? SSH_FXP_LSTAT : SSH_FXP_FSTAT, &id) == -1)
    return -1;
  if (path)
    sftp_wire_put_string (&s->out, path, strlen (path));
  else
    sftp_wire_put_string (&s->out, s->handle, s->handle_len);
  if (call (c, id, &r) == -1)
    return -1;
  if (check_reply_type (c, &r, SSH_FXP_ATTRS, what, err) == 0) {
    if (sftp_wire_attrs (r.data, r.len, a) == -1)
      broken (c, "SFTP protocol error: bad ATTRS reply to %s", what);
    else
      ret = 0;
  }
  free (r.data);
  return ret;
}

/* create=true: make the remote file (replacing an existing one) with
 * create-size bytes and create-mode permissions.
 */
static int
create_file (struct ssh_conn *c)
{
  struct sftp *s = c->sftp;
  struct sync_reply r = { .done = false };
  char handle[SFTP_MAX_HANDLE];
  uint32_t hlen, id;
  int err, ret;

  if (open_handle (c, c->path, SSH_FXF_WRITE | SSH_FXF_CREAT | SSH_FXF_TRUNC,
                   params.create_mode, handle, &hlen, &err) == -1) {
    nbdkit_error ("cannot create remote file %s on %s: %s",
                  c->path, c->host, c->errbuf);
    nbdkit_set_error (err);
    return -1;
  }
  /* The mode again: OPEN applies it only to a file it creates. */
  if (sync_begin (c, SSH_FXP_FSETSTAT, &id) == -1) {
    nbdkit_error ("cannot set the size of remote file %s: %s",
                  c->path, c->errbuf);
    return -1;
  }
  sftp_wire_put_string (&s->out, handle, hlen);
  sftp_wire_put_u32 (&s->out,
                     SSH_FILEXFER_ATTR_SIZE | SSH_FILEXFER_ATTR_PERMISSIONS);
  sftp_wire_put_u64 (&s->out, params.create_size);
  sftp_wire_put_u32 (&s->out, params.create_mode);
  if (call (c, id, &r) == -1) {
    nbdkit_error ("cannot set the size of remote file %s: %s",
                  c->path, c->errbuf);
    return -1;
  }
  ret = expect_ok (c, &r, "FSETSTAT", &err);
  free (r.data);
  if (ret == -1) {
    nbdkit_error ("cannot set the size of remote file %s to %" PRIi64
                  ": %s", c->path, params.create_size, c->errbuf);
    nbdkit_set_error (err);
    return -1;
  }
  if (close_handle (c, handle, hlen) == -1) {
    nbdkit_error ("cannot close created remote file %s: %s",
                  c->path, c->errbuf);
    return -1;
  }
  debug ("created %s: %" PRIi64 " bytes, mode %04o", c->path,
         params.create_size, (unsigned) params.create_mode);
  return 0;
}

static int
sftp_open_file (struct ssh_conn *c)
{
  struct sftp *s = c->sftp;
  struct sftp_attrs a;
  int err;

  /* dir=: only regular files inside the directory, never a symlink
   * that could lead out of it.
   */
  if (c->in_dir) {
    if (stat_attrs (c, c->path, &a, &err) == -1) {
      nbdkit_error ("cannot open remote file %s on %s: %s",
                    c->path, c->host, c->errbuf);
      nbdkit_set_error (err);
      return -1;
    }
    if ((a.flags & SSH_FILEXFER_ATTR_PERMISSIONS) &&
        !S_ISREG (a.permissions)) {
      nbdkit_error ("remote %s is not a regular file (mode %o); dir= "
                    "exports only regular files", c->path, a.permissions);
      nbdkit_set_error (EINVAL);
      return -1;
    }
  }

  if (open_handle (c, c->path,
                   SSH_FXF_READ | (c->readonly ? 0 : SSH_FXF_WRITE),
                   -1, s->handle, &s->handle_len, &err) == -1) {
    nbdkit_error ("cannot open remote file %s on %s for %s: %s",
                  c->path, c->host,
                  c->readonly ? "reading" : "reading and writing",
                  c->errbuf);
    nbdkit_set_error (err);
    return -1;
  }

  if (stat_attrs (c, NULL, &a, &err) == -1) {
    nbdkit_error ("cannot get the size of remote file %s: %s",
                  c->path, c->errbuf);
    nbdkit_set_error (err);
    return -1;
  }
  if ((a.flags & SSH_FILEXFER_ATTR_PERMISSIONS) && !S_ISREG (a.permissions)) {
    nbdkit_error ("remote file %s is not a regular file (mode %o)",
                  c->path, a.permissions);
    return -1;
  }
  if (!(a.flags & SSH_FILEXFER_ATTR_SIZE) || a.size > INT64_MAX) {
    nbdkit_error ("the server did not report the size of remote file %s",
                  c->path);
    return -1;
  }
  c->size = a.size;
  return 0;
}

/* dir=: call fn for every regular file in dir (as lstat sees it). */
int
sftp_list_dir (struct ssh_conn *c, const char *dir,
               int (*fn) (void *opaque, const char *name, uint64_t size),
               void *opaque)
{
  struct sftp *s = c->sftp;
  char handle[SFTP_MAX_HANDLE];
  uint32_t hlen;
  int err, ret = -1;

  if (open_handle (c, dir, -1, -1, handle, &hlen, &err) == -1) {
    nbdkit_error ("cannot list remote directory %s on %s: %s",
                  dir, c->host, c->errbuf);
    nbdkit_set_error (err);
    return -1;
  }
  for (;;) {
    struct sync_reply r = { .done = false };
    struct sftp_reader entries;
    struct sftp_status st;
    uint32_t id, count, i;

    if (sync_begin (c, SSH_FXP_READDIR, &id) == -1)
      goto transport;
    sftp_wire_put_string (&s->out, handle, hlen);
    if (call (c, id, &r) == -1)
      goto transport;
    if (r.type == SSH_FXP_STATUS &&
        sftp_wire_status (r.data, r.len, &st) == 0 &&
        st.code == SSH_FX_EOF) {
      free (r.data);
      break;
    }
    if (check_reply_type (c, &r, SSH_FXP_NAME, "READDIR", &err) == -1 ||
        sftp_wire_name (r.data, r.len, &count, &entries) == -1) {
      free (r.data);
      nbdkit_error ("cannot list remote directory %s: %s", dir, c->errbuf);
      nbdkit_set_error (err);
      goto out;
    }
    for (i = 0; i < count; ++i) {
      struct sftp_name e;
      char name[1024];

      if (sftp_wire_next_name (&entries, &e) == -1)
        break;
      if (e.filename_len >= sizeof name ||
          memchr (e.filename, '\0', e.filename_len) != NULL ||
          !(e.attrs.flags & SSH_FILEXFER_ATTR_PERMISSIONS) ||
          !S_ISREG (e.attrs.permissions))
        continue;
      snprintf (name, sizeof name, "%.*s", (int) e.filename_len, e.filename);
      if (fn (opaque, name, e.attrs.size) == -1) {
        free (r.data);
        goto out;
      }
    }
    free (r.data);
    if (i < count) {
      broken (c, "SFTP protocol error: bad NAME reply");
      goto transport;
    }
  }
  ret = 0;
 out:
  if (!c->broken)
    close_handle (c, handle, hlen);
  return ret;

 transport:
  nbdkit_error ("cannot list remote directory %s: %s", dir, c->errbuf);
  return -1;
}

int
sftp_start (struct ssh_conn *c)
{
  struct sftp *s;
  int rc;

  s = c->sftp = calloc (1, sizeof *s);
  if (s == NULL) {
    nbdkit_error ("calloc: %m");
    return -1;
  }
  s->next_id = 1;
  s->ibuf = malloc (IBUF_SIZE);
  if (s->ibuf == NULL) {
    nbdkit_error ("malloc: %m");
    return -1;
  }

  CALL_PTR (c, s->channel,
            libssh2_channel_open_ex (c->session, "session",
                                     sizeof "session" - 1,
                                     SFTP_WINDOW, SFTP_PACKET, NULL, 0));
  if (s->channel == NULL) {
    nbdkit_error ("cannot open an SSH channel to %s port %u: %s",
                  c->host, c->port, session_error (c));
    return -1;
  }
  CALL_INT (c, rc, libssh2_channel_process_startup (s->channel, "subsystem",
                                                    sizeof "subsystem" - 1,
                                                    "sftp",
                                                    sizeof "sftp" - 1));
  if (rc != 0) {
    nbdkit_error ("cannot start the sftp subsystem on %s port %u (is it "
                  "enabled in sshd_config?): %s",
                  c->host, c->port, session_error (c));
    return -1;
  }
  CALL_INT (c, rc, libssh2_channel_handle_extended_data2
            (s->channel, LIBSSH2_CHANNEL_EXTENDED_DATA_IGNORE));

  if (sftp_handshake (c) == -1) {
    nbdkit_error ("SFTP handshake with %s port %u failed: %s",
                  c->host, c->port, c->errbuf);
    return -1;
  }
  if (sftp_limits (c) == -1) {
    nbdkit_error ("SFTP limits request to %s port %u failed: %s",
                  c->host, c->port, c->errbuf);
    return -1;
  }
  if (c->path == NULL)          /* dir= listing: no file */
    return 0;
  if (c->create && create_file (c) == -1)
    return -1;
  if (sftp_open_file (c) == -1)
    return -1;
  c->can_fsync = s->has_fsync;
  {
    int64_t ra = (int64_t) RA_RATE / 1000000 * s->rtt_us;

    s->ra_target = ra < RA_FLOOR ? RA_FLOOR : ra > RA_MAX ? RA_MAX : ra;
  }
  debug ("opened %s%s: %" PRIi64 " bytes; SFTP version %u, READ up to %"
         PRIu32 ", WRITE up to %" PRIu32 ", fsync %s; round trip %" PRIi64
         " us, read-ahead up to %" PRIu32 " bytes",
         c->path, c->readonly ? " read-only" : "", c->size,
         s->version, s->max_read, s->max_write,
         s->has_fsync ? "available" : "not available", s->rtt_us,
         s->ra_target);
  return 0;
}

static void
free_chunk_list (struct chunk *ch)
{
  struct chunk *next;

  for (; ch; ch = next) {
    next = ch->next;
    free (ch->buf);
    free (ch);
  }
}

/* Close the file and the channel.  On a broken connection the
 * socket is already shut down and only memory is freed.
 */
void
sftp_stop (struct ssh_conn *c)
{
  struct sftp *s = c->sftp;
  int rc;

  if (s == NULL)
    return;
  if (!c->broken && s->handle_len > 0) {
    drop_queue (c);
    if (close_handle (c, s->handle, s->handle_len) == -1)
      debug ("close of %s: %s", c->path, c->errbuf);
  }
  if (s->channel) {
    if (!c->broken) {
      CALL_INT (c, rc, libssh2_channel_close (s->channel));
      (void) rc;
    }
    /* Bounded: libssh2 only waits here for a live connection. */
    for (rc = 0; rc < 100; ++rc)
      if (libssh2_channel_free (s->channel) != LIBSSH2_ERROR_EAGAIN)
        break;
  }
  free_chunk_list (s->rq_head);
  free_chunk_list (s->free_chunks);
  sftp_wire_buf_free (&s->out);
  free (s->ibuf);
  free (s);
  c->sftp = NULL;
}

/* ---- Requests ---- */

static int
check_usable (struct ssh_conn *c, const char *what)
{
  if (c->broken) {
    nbdkit_error ("%s: the connection to %s port %u failed earlier "
                  "(%s)", what, c->host, c->port,
                  c->errbuf[0] ? c->errbuf : "broken");
    nbdkit_set_error (EIO);
    return -1;
  }
  return 0;
}

int
sftp_pread (struct ssh_conn *c, void *buf, uint32_t count, uint64_t offset)
{
  struct sftp *s = c->sftp;
  char *p = buf;
  uint64_t end = offset + count;
  struct chunk *ch;

  if (check_usable (c, "read") == -1)
    return -1;

  /* Sequential?  Grow the read-ahead window; otherwise drop it. */
  if (offset == s->seq_next && offset != 0) {
    /* Ramp up to the link's target, so a short sequential run stays
     * cheap.
     */
    s->ra_window = s->ra_window == 0 ? s->ra_target / 4
      : s->ra_window * 2 > s->ra_target ? s->ra_target : s->ra_window * 2;
  }
  else if (s->ra_window > 0 || s->rq_head) {
    debug ("read at %" PRIu64 " is not sequential (expected %" PRIu64
           "): read-ahead off", offset, s->seq_next);
    s->ra_window = 0;
  }
  s->seq_next = end;

  /* Keep the queue only if it starts exactly where we read. */
  if (s->rq_head && s->rq_head->offset != offset) {
    /* The head may cover the offset from an earlier partial use. */
    if (!(s->rq_head->offset < offset &&
          offset < s->rq_head->offset + s->rq_head->len))
      drop_queue (c);
  }
  if (extend_queue (c, offset, end + s->ra_window) == -1)
    goto err;
  debug ("pread %" PRIu32 " bytes at %" PRIu64 " (read-ahead %" PRIu32
         ", %u requests in flight)", count, offset, s->ra_window,
         s->nr_inflight);

  while (count > 0) {
    uint32_t skip, n;

    ch = s->rq_head;
    /* Wait for the chunk holding offset. */
    while (!ch->done) {
      if (pump (c, NULL) == -1)
        goto err;
    }
    skip = offset - ch->offset;
    if (ch->status != SSH_FX_OK) {
      nbdkit_error ("read of %" PRIu32 " bytes at offset %" PRIu64
                    " from remote file %s failed: %s",
                    count, offset, c->path,
                    status_str (c, ch->status, NULL));
      nbdkit_set_error (sftp_wire_status_errno (ch->status));
      drop_queue (c);
      s->seq_next = UINT64_MAX;
      return -1;
    }
    if (ch->got <= skip) {
      nbdkit_error ("read from remote file %s at offset %" PRIu64
                    ": unexpected end of file (%" PRIu32 " bytes short; "
                    "was the file truncated?)", c->path, offset, count);
      nbdkit_set_error (EIO);
      drop_queue (c);
      s->seq_next = UINT64_MAX;
      return -1;
    }
    n = ch->got - skip;
    if (n > count)
      n = count;
    memcpy (p, ch->buf + skip, n);
    p += n;
    count -= n;
    offset += n;
    if (offset == ch->offset + ch->len) {
      s->rq_head = ch->next;
      if (s->rq_head == NULL)
        s->rq_tail = NULL;
      chunk_free (s, ch);
    }
  }

  /* Top the read-ahead up again before returning. */
  if (s->ra_window > 0 && extend_queue (c, end, end + s->ra_window) == -1)
    goto err;
  /* Send what was queued without waiting for the reply. */
  if (pump_once (c, NULL) == -1)
    goto err;
  return 0;

 err:
  nbdkit_error ("read at offset %" PRIu64 " from remote file %s failed: %s",
                offset, c->path, c->errbuf);
  nbdkit_set_error (EIO);
  return -1;
}

/* fstatvfs@openssh.com on the open file: bytes available to us. */
static int
fstatvfs_avail (struct ssh_conn *c, int64_t *avail)
{
  struct sync_reply r = { .done = false };
  static const char name[] = "fstatvfs@openssh.com";
  struct sftp_statvfs st;
  int ret = -1;

  if (call_extended (c, name, true, &r) == -1)
    return -1;
  if (r.type == SSH_FXP_EXTENDED_REPLY &&
      sftp_wire_statvfs (r.data, r.len, &st) == 0) {
    uint64_t frsize = st.frsize, bavail = st.bavail;

    *avail = bavail > (uint64_t) INT64_MAX / (frsize ? frsize : 1) ?
      INT64_MAX : (int64_t) (bavail * frsize);
    debug ("fstatvfs %s: %" PRIi64 " bytes available", c->path, *avail);
    ret = 0;
  }
  free (r.data);
  return ret;
}

int
sftp_pwrite (struct ssh_conn *c, const void *buf, uint32_t count,
             uint64_t offset)
{
  struct sftp *s = c->sftp;
  struct write_op w = { .status = SSH_FX_OK };
  const char *p = buf;
  uint64_t pos = 0;
  unsigned i;

  if (check_usable (c, "write") == -1)
    return -1;
  debug ("pwrite %" PRIu32 " bytes at %" PRIu64, count, offset);

  /* Read-ahead replies may hold data older than this write. */
  drop_queue (c);
  s->seq_next = UINT64_MAX;
  s->ra_window = 0;

  while (pos < count || w.inflight > 0) {
    while (pos < count && w.status == SSH_FX_OK &&
           w.inflight_bytes < WRITE_WINDOW &&
           sftp_wire_pending (&s->out) < OBUF_HIGH && slot_available (s)) {
      uint32_t n = count - pos > s->max_write ? s->max_write : count - pos;
      struct slot *slot;
      uint32_t id;

      if (request_begin (c, SSH_FXP_WRITE, &id) == -1)
        goto err;
      sftp_wire_put_string (&s->out, s->handle, s->handle_len);
      sftp_wire_put_u64 (&s->out, offset + pos);
      sftp_wire_put_string (&s->out, p + pos, n);
      slot = request_end (c, id, SLOT_WRITE);
      if (slot == NULL)
        goto err;
      slot->u.write = &w;
      slot->len = n;
      slot->offset = offset + pos;
      w.inflight++;
      w.inflight_bytes += n;
      pos += n;
    }
    if (w.status != SSH_FX_OK && w.inflight == 0)
      break;
    if (pump (c, NULL) == -1)
      goto err;
  }
  if (w.status != SSH_FX_OK) {
    int err = sftp_wire_status_errno (w.status);
    int64_t avail = -1;

    /* SFTP v3 has no "no space" status: OpenSSH says "failure".  Ask
     * the filesystem (fstatvfs@openssh.com) whether it is full.
     */
    if (w.status == SSH_FX_FAILURE && s->has_fstatvfs &&
        fstatvfs_avail (c, &avail) == 0 && avail < (int64_t) count)
      err = ENOSPC;
    status_str (c, w.status, NULL);
    if (err == ENOSPC)
      nbdkit_error ("write of %" PRIu32 " bytes at offset %" PRIu64
                    " to remote file %s failed at offset %" PRIu64 ": no "
                    "space left on the remote filesystem (%s; %" PRIi64
                    " bytes available)", count, offset, c->path,
                    w.err_offset, c->errbuf, avail);
    else
      nbdkit_error ("write of %" PRIu32 " bytes at offset %" PRIu64
                    " to remote file %s failed at offset %" PRIu64 ": %s",
                    count, offset, c->path, w.err_offset, c->errbuf);
    nbdkit_set_error (err);
    return -1;
  }
  return 0;

 err:
  /* w lives on this stack frame: no slot may point at it any more. */
  for (i = 0; i < NSLOTS; ++i)
    if (s->slots[i].kind == SLOT_WRITE && s->slots[i].u.write == &w)
      s->slots[i].kind = SLOT_DISCARD;
  nbdkit_error ("write of %" PRIu32 " bytes at offset %" PRIu64
                " to remote file %s failed: %s",
                count, offset, c->path, c->errbuf);
  nbdkit_set_error (EIO);
  return -1;
}

int
sftp_flush (struct ssh_conn *c)
{
  struct sftp *s = c->sftp;
  struct sync_reply r = { .done = false };
  static const char name[] = "fsync@openssh.com";
  int err, ret;

  if (check_usable (c, "flush") == -1)
    return -1;
  if (!s->has_fsync) {
    nbdkit_error ("flush: the server does not support fsync@openssh.com");
    nbdkit_set_error (ENOTSUP);
    return -1;
  }
  if (call_extended (c, name, true, &r) == -1) {
    nbdkit_error ("fsync of remote file %s failed: %s",
                  c->path, c->errbuf);
    nbdkit_set_error (EIO);
    return -1;
  }
  ret = expect_ok (c, &r, "fsync", &err);
  free (r.data);
  if (ret == -1) {
    nbdkit_error ("fsync of remote file %s failed: %s",
                  c->path, c->errbuf);
    nbdkit_set_error (err);
  }
  return ret;
}
