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

/* Reads, and the way in to writes.
 *
 * - A read is split into chunks of up to the server's maximum read
 *   length.  Once a client reads sequentially, chunks beyond the
 *   request are asked for ahead of time (read-ahead), up to a window
 *   that grows to a size set by the link's round trip (RA_FLOOR to
 *   RA_MAX); a request that does not continue the previous one drops
 *   the read-ahead, so random reads cost one round trip and no wasted
 *   transfer.
 * - A write first drops the read-ahead, so no stale data is ever
 *   served, then goes to sftp-write.c (write-behind or synchronous).
 *   A READ is not sent while a write of the same bytes is in flight.
 */

#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <inttypes.h>

#include "ssh-plugin.h"
#include "errors.h"
#include "sftp.h"
#include "sftp-int.h"
#include "sftp-wire.h"
#include "writelog.h"

/* A chunk for [offset, offset+len): a spare one, or a new one.  Spare
 * chunks are kept (chunk_free) up to the read-ahead window and a
 * request, so a sequential read reuses the same buffers and neither
 * allocates nor frees; they are made as needed, so a connection that
 * does not read has none.
 */
static struct chunk *
chunk_new (struct sftp *s, uint64_t offset, uint32_t len)
{
  struct chunk *ch = s->free_chunks;

  if (ch)
    s->free_chunks = ch->next;
  else {
    ch = malloc (sizeof *ch);
    if (ch == NULL)
      return NULL;
    ch->buf = malloc (s->max_read);
    if (ch->buf == NULL) {
      free (ch);
      return NULL;
    }
    s->nr_chunks++;
  }
  ch->next = NULL;
  ch->offset = offset;
  ch->len = len;
  ch->got = 0;
  ch->done = ch->eof = false;
  ch->status = SSH_FX_OK;
  /* Before the READ goes out: a write acknowledged after this may not
   * be in the reply.
   */
  ch->gen = writelog_gen (s->wlog);
  ch->msg[0] = '\0';
  return ch;
}

/* Keep the chunk for reuse while this connection's chunks hold no
 * more than its read-ahead target and CHUNK_SPARE.
 */
static void
chunk_free (struct sftp *s, struct chunk *ch)
{
  if ((uint64_t) s->nr_chunks * s->max_read <=
      (uint64_t) s->ra_target + CHUNK_SPARE) {
    ch->next = s->free_chunks;
    s->free_chunks = ch;
  }
  else {
    free (ch->buf);
    free (ch);
    s->nr_chunks--;
  }
}

static int send_read (struct ssh_conn *c, struct chunk *ch);

/* A reply to READ for chunk slot->arg. */
static int
chunk_reply (struct ssh_conn *c, const struct slot *slot, uint8_t type,
             const char *p, uint32_t len)
{
  struct chunk *ch = slot->arg;
  struct sftp_status st;

  if (type == SSH_FXP_DATA) {
    const char *data;
    uint32_t n;

    if (sftp_wire_data (p, len, ch->len - ch->got, &data, &n) == -1)
      return sftp_broken (c, "SFTP protocol error: bad DATA reply");
    memcpy (ch->buf + ch->got, data, n);
    ch->got += n;
    if (n == 0)
      return sftp_broken (c, "SFTP protocol error: empty DATA reply");
    if (ch->got < ch->len)
      return send_read (c, ch);   /* short read: ask for the rest */
    ch->done = true;
  }
  else if (type == SFTP_DATA_PLACED) {
    /* The engine read the data into ch->buf + ch->got (slot->dst),
     * having checked that it is not empty and fits.
     */
    ch->got += len;
    if (ch->got < ch->len)
      return send_read (c, ch);   /* short read: ask for the rest */
    ch->done = true;
  }
  else if (type == SSH_FXP_STATUS) {
    if (sftp_wire_status (p, len, &st) == -1)
      return sftp_broken (c, "SFTP protocol error: bad STATUS reply");
    if (st.code == SSH_FX_EOF)
      ch->eof = true;
    else {
      ch->status = st.code == SSH_FX_OK ? SSH_FX_FAILURE : st.code;
      sftp_wire_escape (ch->msg, sizeof ch->msg, st.msg, st.msg_len);
    }
    ch->done = true;
  }
  else
    return sftp_broken (c, "SFTP protocol error: unexpected reply type %u "
                        "to READ", type);
  return 0;
}

/* Ask for the part of the chunk not received yet. */
static int
send_read (struct ssh_conn *c, struct chunk *ch)
{
  struct sftp *s = c->sftp;
  struct slot *slot;
  uint32_t id;

  if (sftp_request_begin (c, SSH_FXP_READ, &id) == -1)
    return -1;
  sftp_wire_put_string (&s->out, s->handle, s->handle_len);
  sftp_wire_put_u64 (&s->out, ch->offset + ch->got);
  sftp_wire_put_u32 (&s->out, ch->len - ch->got);
  slot = sftp_request_end (c, id, chunk_reply, ch);
  if (slot == NULL)
    return -1;
  /* The DATA goes straight into the chunk. */
  slot->dst = ch->buf + ch->got;
  slot->dst_max = ch->len - ch->got;
  return 0;
}

/* Append a chunk at the tail of the read queue and ask for it. */
static int
queue_read (struct ssh_conn *c, uint64_t offset, uint32_t len)
{
  struct sftp *s = c->sftp;
  struct chunk *ch;

  /* Read your writes: not before a write of these bytes is done. */
  if (sftp_write_wait (c, offset, len) == -1)
    return -1;
  if (sftp_slot_wait (c) == -1)
    return -1;
  ch = chunk_new (s, offset, len);
  if (ch == NULL) {
    ssh_error ("malloc: %m");
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
void
sftp_drop_queue (struct ssh_conn *c)
{
  struct sftp *s = c->sftp;
  struct chunk *ch, *next;
  unsigned n;

  if (s->rq_head == NULL)
    return;
  n = sftp_discard (s, chunk_reply, NULL);
  for (ch = s->rq_head; ch; ch = next) {
    next = ch->next;
    chunk_free (s, ch);
  }
  s->rq_head = s->rq_tail = NULL;
  ssh_debug ("read-ahead dropped (%u requests in flight discarded)", n);
}

int
sftp_pread (struct ssh_conn *c, void *buf, uint32_t count, uint64_t offset)
{
  struct sftp *s = c->sftp;
  char *p = buf;
  uint64_t end = offset + count;
  struct chunk *ch;

  if (sftp_check_usable (c, "read") == -1)
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
    ssh_debug ("read at %" PRIu64 " is not sequential (expected %" PRIu64
               "): read-ahead off", offset, s->seq_next);
    s->ra_window = 0;
  }
  s->seq_next = end;

  /* Keep the queue only if it starts exactly where we read. */
  if (s->rq_head && s->rq_head->offset != offset) {
    /* The head may cover the offset from an earlier partial use. */
    if (!(s->rq_head->offset < offset &&
          offset < s->rq_head->offset + s->rq_head->len))
      sftp_drop_queue (c);
  }
  if (extend_queue (c, offset, end + s->ra_window) == -1)
    goto err;
  ssh_debug ("pread %" PRIu32 " bytes at %" PRIu64 " (read-ahead %" PRIu32
             ", %u requests in flight)", count, offset, s->ra_window,
             s->nr_inflight);

  while (count > 0) {
    uint32_t skip, n;

    ch = s->rq_head;
    if (ch == NULL) {
      /* Nothing was asked for: the request goes past the size this
       * connection knows (c->size), which nbdkit's checks make
       * impossible unless that size changed.
       */
      ssh_error ("read of %" PRIu32 " bytes at offset %" PRIu64
                 " from remote file %s: beyond its size (%" PRIi64
                 " bytes)", count, offset, c->path, c->size);
      ssh_set_error (EIO);
      return -1;
    }
    /* Wait for the chunk holding offset. */
    while (!ch->done) {
      if (sftp_pump (c, NULL) == -1)
        goto err;
    }
    /* Another connection wrote over it since it was asked for: ask
     * again (multi-conn: a completed write is visible everywhere).
     */
    if (writelog_stale (s->wlog, ch->gen, ch->offset, ch->len)) {
      ssh_debug ("read-ahead at %" PRIu64 " is older than a write by another "
                 "connection: reading it again", ch->offset);
      sftp_drop_queue (c);
      if (extend_queue (c, offset, offset + count + s->ra_window) == -1)
        goto err;
      continue;
    }
    skip = offset - ch->offset;
    if (ch->status != SSH_FX_OK) {
      ssh_error ("read of %" PRIu32 " bytes at offset %" PRIu64
                 " from remote file %s failed: %s",
                 count, offset, c->path,
                 sftp_status_str (c, ch->status, ch->msg));
      ssh_set_error (sftp_wire_status_errno (ch->status));
      sftp_drop_queue (c);
      s->seq_next = UINT64_MAX;
      return -1;
    }
    if (ch->got <= skip) {
      ssh_error ("read from remote file %s at offset %" PRIu64
                 ": unexpected end of file (%" PRIu32 " bytes short; "
                 "was the file truncated?)", c->path, offset, count);
      ssh_set_error (EIO);
      sftp_drop_queue (c);
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
  if (sftp_pump_once (c, NULL) == -1)
    goto err;
  return 0;

 err:
  ssh_error ("read at offset %" PRIu64 " from remote file %s failed: %s",
             offset, c->path, c->errbuf);
  ssh_set_error (EIO);
  return -1;
}

int
sftp_pwrite (struct ssh_conn *c, const void *buf, uint32_t count,
             uint64_t offset)
{
  struct sftp *s = c->sftp;

  if (sftp_check_usable (c, "write") == -1)
    return -1;
  ssh_debug ("pwrite %" PRIu32 " bytes at %" PRIu64, count, offset);

  /* Read-ahead replies may hold data older than this write. */
  sftp_drop_queue (c);
  s->seq_next = UINT64_MAX;
  s->ra_window = 0;

  /* Without fsync@openssh.com the client cannot flush, and a flush is
   * what reports a failed write-behind write: write synchronously.
   */
  if (s->opts.write_behind != 0 && s->has_fsync)
    return sftp_write_behind (c, buf, count, offset);
  return sftp_write_sync (c, buf, count, offset);
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


/* idle-keep=: the connection waits for a new client; what was read
 * ahead for the old one is dropped.
 */
void
sftp_park (struct ssh_conn *c)
{
  struct sftp *s = c->sftp;

  sftp_drop_queue (c);
  s->seq_next = UINT64_MAX;
  s->ra_window = 0;
}

/* Read-ahead for this link: about what RA_RATE bytes per second keep
 * in flight over the round trip measured while opening the file.
 */
void
sftp_io_start (struct ssh_conn *c)
{
  struct sftp *s = c->sftp;
  int64_t ra = (int64_t) RA_RATE / 1000000 * s->rtt_us;

  s->ra_target = ra < RA_FLOOR ? RA_FLOOR : ra > RA_MAX ? RA_MAX : ra;
}

/* Free the read queue and the spare chunks (the connection is going). */
void
sftp_io_free (struct sftp *s)
{
  free_chunk_list (s->rq_head);
  free_chunk_list (s->free_chunks);
  s->rq_head = s->rq_tail = s->free_chunks = NULL;
  s->nr_chunks = 0;
}
