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

/* The data path: SFTP version 3 framed by hand over a libssh2
 * channel ("subsystem sftp"), so that the plugin decides how large
 * each READ and WRITE is and how many are in flight.
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
#include <assert.h>

#include "ssh-plugin.h"

/* SFTP packet types (draft-ietf-secsh-filexfer-02). */
enum {
  FXP_INIT = 1, FXP_VERSION = 2, FXP_OPEN = 3, FXP_CLOSE = 4,
  FXP_READ = 5, FXP_WRITE = 6, FXP_LSTAT = 7, FXP_FSTAT = 8,
  FXP_FSETSTAT = 10, FXP_OPENDIR = 11, FXP_READDIR = 12,
  FXP_STATUS = 101, FXP_HANDLE = 102, FXP_DATA = 103, FXP_NAME = 104,
  FXP_ATTRS = 105,
  FXP_EXTENDED = 200, FXP_EXTENDED_REPLY = 201,
};
enum { FXF_READ = 1, FXF_WRITE = 2, FXF_CREAT = 8, FXF_TRUNC = 0x10 };
enum {
  ATTR_SIZE = 1, ATTR_UIDGID = 2, ATTR_PERMISSIONS = 4, ATTR_ACMODTIME = 8,
  ATTR_EXTENDED = 0x80000000,
};
enum { FX_OK = 0, FX_EOF = 1 };

#define SFTP_WINDOW   (16 * 1024 * 1024) /* credit only: >= RA_MAX */
#define SFTP_PACKET   32768              /* SSH channel max packet */
#define DEFAULT_CHUNK 32768              /* every server must take this */
#define MAX_CHUNK     (256 * 1024)
#define IBUF_SIZE     (MAX_CHUNK + 4096) /* holds one whole reply */
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
  unsigned long status;         /* SFTP error status if failed */
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
  unsigned long status;         /* first error, FX_OK if none */
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
  char handle[256];
  uint32_t handle_len;
  uint32_t next_id;
  unsigned version;
  bool has_fsync, has_limits, has_fstatvfs;
  uint32_t max_read, max_write;

  struct slot slots[NSLOTS];
  unsigned nr_inflight;

  /* Outgoing bytes not yet taken by libssh2. */
  char *obuf;
  size_t olen, osent, ocap;

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

static const char *
status_name (unsigned long status)
{
  static const char *names[] = {
    "ok", "end of file", "no such file", "permission denied", "failure",
    "bad message", "no connection", "connection lost",
    "operation unsupported", "invalid handle", "no such path",
    "file already exists", "write protected", "no media",
    "no space on filesystem", "quota exceeded", "unknown principal",
    "lock conflict", "directory not empty", "not a directory",
    "invalid filename", "link loop",
  };
  return status < sizeof names / sizeof names[0] ? names[status]
    : "unknown status";
}

static int
status_errno (unsigned long status)
{
  switch (status) {
  case 14: case 15:             /* no space, quota exceeded */
    return ENOSPC;
  case 3: case 12:              /* permission denied, write protect */
    /* EPERM, not EACCES: nbdkit sends EACCES to the client as EINVAL,
     * EPERM as NBD_EPERM.
     */
    return EPERM;
  case 8:                       /* operation unsupported */
    return ENOTSUP;
  case 2: case 10:              /* no such file, no such path */
    return ENOENT;
  }
  return EIO;
}

/* Describe an SFTP status for a message, in c->errbuf. */
static const char *
status_str (struct ssh_conn *c, unsigned long status, const char *msg)
{
  snprintf (c->errbuf, sizeof c->errbuf, "%s (SFTP status %lu%s%s)",
            status_name (status), status,
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

/* ---- Packet building ---- */

static int
obuf_reserve (struct sftp *s, size_t n)
{
  if (s->osent > 0 && s->osent == s->olen)
    s->osent = s->olen = 0;
  if (s->olen + n > s->ocap) {
    size_t cap = s->ocap ? s->ocap : 65536;
    char *p;

    /* Compact before growing. */
    if (s->osent > 0) {
      memmove (s->obuf, s->obuf + s->osent, s->olen - s->osent);
      s->olen -= s->osent;
      s->osent = 0;
    }
    while (s->olen + n > cap)
      cap *= 2;
    if (cap != s->ocap) {
      p = realloc (s->obuf, cap);
      if (p == NULL) {
        nbdkit_error ("realloc: %m");
        return -1;
      }
      s->obuf = p;
      s->ocap = cap;
    }
  }
  return 0;
}

static void
put_u8 (struct sftp *s, uint8_t v)
{
  s->obuf[s->olen++] = v;
}

static void
put_u32 (struct sftp *s, uint32_t v)
{
  s->obuf[s->olen++] = v >> 24;
  s->obuf[s->olen++] = v >> 16;
  s->obuf[s->olen++] = v >> 8;
  s->obuf[s->olen++] = v;
}

static void
put_u64 (struct sftp *s, uint64_t v)
{
  put_u32 (s, v >> 32);
  put_u32 (s, v & 0xffffffff);
}

static void
put_string (struct sftp *s, const void *p, uint32_t len)
{
  put_u32 (s, len);
  memcpy (s->obuf + s->olen, p, len);
  s->olen += len;
}

/* Start a packet of type with (if id_slot) a request id; body_len is
 * the size of what follows the id.  Returns the id.
 */
static uint32_t
begin_packet (struct sftp *s, uint8_t type, uint32_t body_len, bool has_id)
{
  uint32_t id = 0;

  put_u32 (s, 1 + (has_id ? 4 : 0) + body_len);
  put_u8 (s, type);
  if (has_id) {
    id = s->next_id++;
    put_u32 (s, id);
  }
  return id;
}

/* Take a free slot for a new request, or -1 if all are in use. */
static struct slot *
slot_for (struct sftp *s, uint32_t id)
{
  return &s->slots[id & (NSLOTS - 1)];
}

static bool
slot_available (struct sftp *s)
{
  return slot_for (s, s->next_id)->kind == SLOT_FREE;
}

/* ---- Reading the stream ---- */

static uint32_t
get_u32 (const char *p)
{
  const unsigned char *u = (const unsigned char *) p;
  return (uint32_t) u[0] << 24 | (uint32_t) u[1] << 16 |
    (uint32_t) u[2] << 8 | u[3];
}

static uint64_t
get_u64 (const char *p)
{
  return (uint64_t) get_u32 (p) << 32 | get_u32 (p + 4);
}

static void chunk_free (struct sftp *s, struct chunk *ch);
static int call_extended (struct ssh_conn *c, const char *name, bool on_file,
                          struct sync_reply *r);
static int send_read (struct ssh_conn *c, struct chunk *ch);

/* A STATUS reply: the status code and message. */
static int
parse_status (const char *p, uint32_t len, unsigned long *status,
              const char **msg, uint32_t *msglen)
{
  if (len < 4)
    return -1;
  *status = get_u32 (p);
  *msg = "";
  *msglen = 0;
  if (len >= 8) {
    uint32_t n = get_u32 (p + 4);
    if (n <= len - 8) {
      *msg = p + 8;
      *msglen = n;
    }
  }
  return 0;
}

/* Handle one complete reply: type, id, and the payload after them. */
static int
dispatch (struct ssh_conn *c, uint8_t type, uint32_t id,
          const char *p, uint32_t len)
{
  struct sftp *s = c->sftp;
  struct slot *slot = slot_for (s, id);
  unsigned long status;
  const char *msg;
  uint32_t msglen;

  if (slot->kind == SLOT_FREE || slot->id != id)
    return broken (c, "SFTP protocol error: reply (type %u) to unknown "
                   "request %" PRIu32, type, id);

  switch (slot->kind) {
  case SLOT_DISCARD:
    break;

  case SLOT_CHUNK: {
    struct chunk *ch = slot->u.chunk;

    if (type == FXP_DATA) {
      uint32_t n;

      if (len < 4 || (n = get_u32 (p)) > len - 4 || n > ch->len - ch->got)
        return broken (c, "SFTP protocol error: bad DATA reply");
      memcpy (ch->buf + ch->got, p + 4, n);
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
    else if (type == FXP_STATUS) {
      if (parse_status (p, len, &status, &msg, &msglen) == -1)
        return broken (c, "SFTP protocol error: bad STATUS reply");
      if (status == FX_EOF)
        ch->eof = true;
      else
        ch->status = status == FX_OK ? 4 /* failure */ : status;
      ch->done = true;
    }
    else
      return broken (c, "SFTP protocol error: unexpected reply type %u "
                     "to READ", type);
    break;
  }

  case SLOT_WRITE: {
    struct write_op *w = slot->u.write;

    if (type != FXP_STATUS ||
        parse_status (p, len, &status, &msg, &msglen) == -1)
      return broken (c, "SFTP protocol error: unexpected reply type %u "
                     "to WRITE", type);
    if (status != FX_OK && w->status == FX_OK) {
      w->status = status;
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

  case SLOT_FREE:
    abort ();
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
  size_t pos = 0;

  while (s->ilen - pos >= 4) {
    uint32_t plen = get_u32 (s->ibuf + pos);
    const char *p = s->ibuf + pos + 4;

    if (plen < 1 || plen > IBUF_SIZE - 4)
      return broken (c, "SFTP protocol error: packet of %" PRIu32
                     " bytes", plen);
    if (s->ilen - pos - 4 < plen)
      break;
    if ((uint8_t) p[0] == FXP_VERSION) {
      if (version_reply == NULL || version_reply->done)
        return broken (c, "SFTP protocol error: unexpected VERSION");
      version_reply->data = malloc (plen);
      if (version_reply->data == NULL)
        return broken (c, "out of memory");
      memcpy (version_reply->data, p + 1, plen - 1);
      version_reply->len = plen - 1;
      version_reply->type = FXP_VERSION;
      version_reply->done = true;
    }
    else {
      if (plen < 5)
        return broken (c, "SFTP protocol error: short packet");
      if (dispatch (c, (uint8_t) p[0], get_u32 (p + 1), p + 5, plen - 5)
          == -1)
        return -1;
    }
    pos += 4 + plen;
  }
  if (pos > 0) {
    memmove (s->ibuf, s->ibuf + pos, s->ilen - pos);
    s->ilen -= pos;
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

  while (s->osent < s->olen) {
    r = libssh2_channel_write (s->channel, s->obuf + s->osent,
                               s->olen - s->osent);
    if (r == LIBSSH2_ERROR_EAGAIN)
      break;
    if (r < 0)
      return broken (c, "sending to the server: %s", session_error (c));
    s->osent += r;
    moved = 1;
  }
  if (s->osent == s->olen)
    s->osent = s->olen = 0;

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
  struct slot *slot;
  uint32_t id;

  if (c->broken)
    return -1;
  if (s == NULL || s->handle_len == 0 || !slot_available (s))
    return 0;
  if (obuf_reserve (s, 64 + s->handle_len) == -1)
    return -1;
  id = begin_packet (s, FXP_FSTAT, 4 + s->handle_len, true);
  put_string (s, s->handle, s->handle_len);
  slot = slot_for (s, id);
  slot->id = id;
  slot->kind = SLOT_DISCARD;
  s->nr_inflight++;
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

/* Send a request and wait for its reply. */
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

/* Register the id just allocated by begin_packet as a sync request. */
static void
slot_sync (struct sftp *s, uint32_t id, struct sync_reply *r)
{
  struct slot *slot = slot_for (s, id);

  assert (slot->kind == SLOT_FREE);

  slot->id = id;
  slot->kind = SLOT_SYNC;
  slot->u.sync = r;
  s->nr_inflight++;
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
  ch->status = FX_OK;
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

  if (!slot_available (s))
    return broken (c, "SFTP: too many requests in flight");
  if (obuf_reserve (s, 64 + s->handle_len) == -1)
    return broken (c, "out of memory");
  id = begin_packet (s, FXP_READ, 4 + s->handle_len + 8 + 4, true);
  put_string (s, s->handle, s->handle_len);
  put_u64 (s, ch->offset + ch->got);
  put_u32 (s, ch->len - ch->got);
  slot = slot_for (s, id);
  slot->id = id;
  slot->kind = SLOT_CHUNK;
  slot->u.chunk = ch;
  s->nr_inflight++;
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
  unsigned long status;
  const char *msg;
  uint32_t msglen;

  *err = EIO;
  if (r->type == want)
    return 0;
  if (r->type == FXP_STATUS &&
      parse_status (r->data, r->len, &status, &msg, &msglen) == 0) {
    char m[128];

    snprintf (m, sizeof m, "%.*s", (int) (msglen < 100 ? msglen : 100), msg);
    status_str (c, status, m);
    *err = status_errno (status);
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
  size_t pos;

  if (obuf_reserve (s, 16) == -1)
    return -1;
  begin_packet (s, FXP_INIT, 4, false);
  put_u32 (s, 3);
  while (!v.done) {
    if (c->broken || pump_once (c, &v) == -1)
      return -1;
    if (!v.done && session_wait (c) == -1)
      return -1;
  }
  if (v.len < 4) {
    free (v.data);
    return broken (c, "SFTP protocol error: short VERSION");
  }
  s->version = get_u32 (v.data);
  for (pos = 4; pos + 4 <= v.len; ) {
    uint32_t nlen = get_u32 (v.data + pos), dlen;
    const char *name = v.data + pos + 4;

    if (nlen > v.len - pos - 4 - 4)
      break;
    dlen = get_u32 (name + nlen);
    if (dlen > v.len - pos - 8 - nlen)
      break;
    debug ("sftp: server extension %.*s (%.*s)", (int) nlen, name,
           (int) dlen, name + nlen + 4);
    if (nlen == 17 && memcmp (name, "fsync@openssh.com", 17) == 0)
      s->has_fsync = true;
    if (nlen == 18 && memcmp (name, "limits@openssh.com", 18) == 0)
      s->has_limits = true;
    if (nlen == 20 && memcmp (name, "fstatvfs@openssh.com", 20) == 0)
      s->has_fstatvfs = true;
    pos += 8 + nlen + dlen;
  }
  free (v.data);
  if (s->version < 3)
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
  uint64_t max_read, max_write;

  s->max_read = s->max_write = DEFAULT_CHUNK;
  if (!s->has_limits)
    return 0;
  if (call_extended (c, name, false, &r) == -1)
    return -1;
  if (r.type == FXP_EXTENDED_REPLY && r.len >= 32) {
    max_read = get_u64 (r.data + 8);
    max_write = get_u64 (r.data + 16);
    if (max_read >= 1024)
      s->max_read = max_read > MAX_CHUNK ? MAX_CHUNK : max_read;
    if (max_write >= 1024)
      s->max_write = max_write > MAX_CHUNK ? MAX_CHUNK : max_write;
  }
  free (r.data);
  return 0;
}

/* Send the request just built (id) and wait for its reply.  -1 means
 * the transport failed (c->broken, reason in c->errbuf).
 */
static int
call (struct ssh_conn *c, uint32_t id, struct sync_reply *r)
{
  slot_sync (c->sftp, id, r);
  return sync_request (c, r);
}

/* An EXTENDED request by name, on the open file if on_file. */
static int
call_extended (struct ssh_conn *c, const char *name, bool on_file,
               struct sync_reply *r)
{
  struct sftp *s = c->sftp;
  uint32_t id, nlen = strlen (name), hlen = on_file ? s->handle_len : 0;

  if (obuf_reserve (s, 64 + nlen + hlen) == -1)
    return -1;
  id = begin_packet (s, FXP_EXTENDED, 4 + nlen + (on_file ? 4 + hlen : 0),
                     true);
  put_string (s, name, nlen);
  if (on_file)
    put_string (s, s->handle, hlen);
  return call (c, id, r);
}

/* Parse ATTRS at p; returns the bytes used or -1. */
static int
parse_attrs (const char *p, uint32_t len, uint32_t *flags, uint64_t *size,
             uint32_t *perms)
{
  uint32_t pos = 4, n, i;

  if (len < 4)
    return -1;
  *flags = get_u32 (p);
  *size = 0;
  *perms = 0;
  if (*flags & ATTR_SIZE) {
    if (len - pos < 8)
      return -1;
    *size = get_u64 (p + pos);
    pos += 8;
  }
  if (*flags & ATTR_UIDGID) {
    if (len - pos < 8)
      return -1;
    pos += 8;
  }
  if (*flags & ATTR_PERMISSIONS) {
    if (len - pos < 4)
      return -1;
    *perms = get_u32 (p + pos);
    pos += 4;
  }
  if (*flags & ATTR_ACMODTIME) {
    if (len - pos < 8)
      return -1;
    pos += 8;
  }
  if (*flags & ATTR_EXTENDED) {
    if (len - pos < 4)
      return -1;
    n = get_u32 (p + pos);
    pos += 4;
    for (i = 0; i < n; ++i) {
      int k;

      for (k = 0; k < 2; ++k) {     /* type and data strings */
        uint32_t sl;

        if (len - pos < 4 || (sl = get_u32 (p + pos)) > len - pos - 4)
          return -1;
        pos += 4 + sl;
      }
    }
  }
  return pos;
}

/* The reply must be an OK STATUS: else -1 with the message in errbuf
 * and the errno in *err.
 */
static int
expect_ok (struct ssh_conn *c, struct sync_reply *r, const char *what,
           int *err)
{
  if (r->type == FXP_STATUS && r->len >= 4 && get_u32 (r->data) == FX_OK)
    return 0;
  /* Not a STATUS: a protocol error message; a failed STATUS: its text.
   * check_reply_type only explains a STATUS when it is not the type
   * wanted, so ask it for a type a STATUS can never be.
   */
  if (check_reply_type (c, r, FXP_HANDLE, what, err) == 0)
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
  uint32_t id, pathlen = strlen (path);
  int ret = -1;

  *err = EIO;
  if (obuf_reserve (s, 64 + pathlen) == -1)
    return -1;
  if (pflags < 0) {
    id = begin_packet (s, FXP_OPENDIR, 4 + pathlen, true);
    put_string (s, path, pathlen);
  }
  else {
    id = begin_packet (s, FXP_OPEN,
                       4 + pathlen + 4 + 4 + (perms >= 0 ? 4 : 0), true);
    put_string (s, path, pathlen);
    put_u32 (s, pflags);
    put_u32 (s, perms >= 0 ? ATTR_PERMISSIONS : 0);
    if (perms >= 0)
      put_u32 (s, perms);
  }
  if (call (c, id, &r) == -1)
    return -1;
  if (check_reply_type (c, &r, FXP_HANDLE, "OPEN", err) == 0) {
    if (r.len < 4 || get_u32 (r.data) > r.len - 4 ||
        get_u32 (r.data) > sizeof s->handle)
      broken (c, "SFTP protocol error: bad HANDLE reply");
    else {
      *hlen = get_u32 (r.data);
      memcpy (handle, r.data + 4, *hlen);
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

  if (obuf_reserve (s, 64 + hlen) == -1)
    return -1;
  id = begin_packet (s, FXP_CLOSE, 4 + hlen, true);
  put_string (s, handle, hlen);
  if (call (c, id, &r) == -1)
    return -1;
  ret = expect_ok (c, &r, "CLOSE", &err);
  free (r.data);
  return ret;
}

/* LSTAT path, or FSTAT the open file when path is NULL. */
static int
stat_attrs (struct ssh_conn *c, const char *path, uint32_t *flags,
            uint64_t *size, uint32_t *perms, int *err)
{
  struct sftp *s = c->sftp;
  struct sync_reply r = { .done = false };
  const char *what = path ? "LSTAT" : "FSTAT";
  const char *arg = path ? path : s->handle;
  uint32_t id, arglen = path ? strlen (path) : s->handle_len;
  int ret = -1;

  *err = EIO;
  if (obuf_reserve (s, 64 + arglen) == -1)
    return -1;
  id = begin_packet (s, path ? FXP_LSTAT : FXP_FSTAT, 4 + arglen, true);
  put_string (s, arg, arglen);
  if (call (c, id, &r) == -1)
    return -1;
  if (check_reply_type (c, &r, FXP_ATTRS, what, err) == 0) {
    if (parse_attrs (r.data, r.len, flags, size, perms) == -1)
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
  char handle[256];
  uint32_t hlen, id;
  int err, ret;

  if (open_handle (c, c->path, FXF_WRITE | FXF_CREAT | FXF_TRUNC,
                   params.create_mode, handle, &hlen, &err) == -1) {
    nbdkit_error ("cannot create remote file %s on %s: %s",
                  c->path, c->host, c->errbuf);
    nbdkit_set_error (err);
    return -1;
  }
  if (obuf_reserve (s, 64 + hlen) == -1)
    return -1;
  /* The mode again: OPEN applies it only to a file it creates. */
  id = begin_packet (s, FXP_FSETSTAT, 4 + hlen + 4 + 8 + 4, true);
  put_string (s, handle, hlen);
  put_u32 (s, ATTR_SIZE | ATTR_PERMISSIONS);
  put_u64 (s, params.create_size);
  put_u32 (s, params.create_mode);
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
  uint32_t flags, perms;
  uint64_t size;
  int err;

  /* dir=: only regular files inside the directory, never a symlink
   * that could lead out of it.
   */
  if (c->in_dir) {
    if (stat_attrs (c, c->path, &flags, &size, &perms, &err) == -1) {
      nbdkit_error ("cannot open remote file %s on %s: %s",
                    c->path, c->host, c->errbuf);
      nbdkit_set_error (err);
      return -1;
    }
    if ((flags & ATTR_PERMISSIONS) && !S_ISREG (perms)) {
      nbdkit_error ("remote %s is not a regular file (mode %o); dir= "
                    "exports only regular files", c->path, perms);
      nbdkit_set_error (EINVAL);
      return -1;
    }
  }

  if (open_handle (c, c->path, FXF_READ | (c->readonly ? 0 : FXF_WRITE),
                   -1, s->handle, &s->handle_len, &err) == -1) {
    nbdkit_error ("cannot open remote file %s on %s for %s: %s",
                  c->path, c->host,
                  c->readonly ? "reading" : "reading and writing",
                  c->errbuf);
    nbdkit_set_error (err);
    return -1;
  }

  if (stat_attrs (c, NULL, &flags, &size, &perms, &err) == -1) {
    nbdkit_error ("cannot get the size of remote file %s: %s",
                  c->path, c->errbuf);
    nbdkit_set_error (err);
    return -1;
  }
  if ((flags & ATTR_PERMISSIONS) && !S_ISREG (perms)) {
    nbdkit_error ("remote file %s is not a regular file (mode %o)",
                  c->path, perms);
    return -1;
  }
  if (!(flags & ATTR_SIZE) || size > INT64_MAX) {
    nbdkit_error ("the server did not report the size of remote file %s",
                  c->path);
    return -1;
  }
  c->size = size;
  return 0;
}

/* dir=: call fn for every regular file in dir (as lstat sees it). */
int
sftp_list_dir (struct ssh_conn *c, const char *dir,
               int (*fn) (void *opaque, const char *name, uint64_t size),
               void *opaque)
{
  struct sftp *s = c->sftp;
  char handle[256];
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
    uint32_t id, count, i, pos;

    if (obuf_reserve (s, 64 + hlen) == -1)
      return -1;
    id = begin_packet (s, FXP_READDIR, 4 + hlen, true);
    put_string (s, handle, hlen);
    if (call (c, id, &r) == -1)
      goto transport;
    if (r.type == FXP_STATUS && r.len >= 4 && get_u32 (r.data) == FX_EOF) {
      free (r.data);
      break;
    }
    if (check_reply_type (c, &r, FXP_NAME, "READDIR", &err) == -1 ||
        r.len < 4) {
      free (r.data);
      nbdkit_error ("cannot list remote directory %s: %s", dir, c->errbuf);
      nbdkit_set_error (err);
      goto out;
    }
    count = get_u32 (r.data);
    for (i = 0, pos = 4; i < count; ++i) {
      uint32_t nlen, llen, flags, perms;
      uint64_t size;
      char name[1024];
      const char *raw;
      int a;

      if (r.len - pos < 4 ||
          (nlen = get_u32 (r.data + pos)) > r.len - pos - 4)
        break;
      raw = r.data + pos + 4;
      snprintf (name, sizeof name, "%.*s", (int) nlen, raw);
      pos += 4 + nlen;
      if (r.len - pos < 4 ||
          (llen = get_u32 (r.data + pos)) > r.len - pos - 4)
        break;
      pos += 4 + llen;
      a = parse_attrs (r.data + pos, r.len - pos, &flags, &size, &perms);
      if (a == -1)
        break;
      pos += a;
      if (nlen >= sizeof name || memchr (raw, '\0', nlen) != NULL ||
          !(flags & ATTR_PERMISSIONS) || !S_ISREG (perms))
        continue;
      if (fn (opaque, name, size) == -1) {
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
  free (s->obuf);
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
    if (ch->status != FX_OK) {
      nbdkit_error ("read of %" PRIu32 " bytes at offset %" PRIu64
                    " from remote file %s failed: %s",
                    count, offset, c->path,
                    status_str (c, ch->status, NULL));
      nbdkit_set_error (status_errno (ch->status));
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
  int ret = -1;

  if (call_extended (c, name, true, &r) == -1)
    return -1;
  /* bsize, frsize, blocks, bfree, bavail, ... (uint64 each) */
  if (r.type == FXP_EXTENDED_REPLY && r.len >= 40) {
    uint64_t frsize = get_u64 (r.data + 8), bavail = get_u64 (r.data + 32);

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
  struct write_op w = { .status = FX_OK };
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
    while (pos < count && w.status == FX_OK &&
           w.inflight_bytes < WRITE_WINDOW &&
           s->olen - s->osent < OBUF_HIGH && slot_available (s)) {
      uint32_t n = count - pos > s->max_write ? s->max_write : count - pos;
      struct slot *slot;
      uint32_t id;

      if (obuf_reserve (s, 64 + s->handle_len + n) == -1)
        goto err;
      id = begin_packet (s, FXP_WRITE, 4 + s->handle_len + 8 + 4 + n, true);
      put_string (s, s->handle, s->handle_len);
      put_u64 (s, offset + pos);
      put_string (s, p + pos, n);
      slot = slot_for (s, id);
      slot->id = id;
      slot->kind = SLOT_WRITE;
      slot->u.write = &w;
      slot->len = n;
      slot->offset = offset + pos;
      s->nr_inflight++;
      w.inflight++;
      w.inflight_bytes += n;
      pos += n;
    }
    if (w.status != FX_OK && w.inflight == 0)
      break;
    if (pump (c, NULL) == -1)
      goto err;
  }
  if (w.status != FX_OK) {
    int err = status_errno (w.status);
    int64_t avail = -1;

    /* SFTP v3 has no "no space" status: OpenSSH says "failure".  Ask
     * the filesystem (fstatvfs@openssh.com) whether it is full.
     */
    if (w.status == 4 && s->has_fstatvfs && fstatvfs_avail (c, &avail) == 0 &&
        avail < (int64_t) count)
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
  int err;

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
  if (r.type != FXP_STATUS || r.len < 4 || get_u32 (r.data) != FX_OK) {
    if (r.type == FXP_STATUS && r.len >= 4)
      check_reply_type (c, &r, FXP_EXTENDED_REPLY, "fsync", &err);
    else {
      snprintf (c->errbuf, sizeof c->errbuf, "unexpected reply type %u",
                r.type);
      err = EIO;
    }
    nbdkit_error ("fsync of remote file %s failed: %s",
                  c->path, c->errbuf);
    nbdkit_set_error (err);
    free (r.data);
    return -1;
  }
  free (r.data);
  return 0;
}
