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

/* Internal to the SFTP rooms: sftp.c (the request engine),
 * sftp-lanes.c (more channels, channels=), sftp-read.c (reads,
 * read-ahead), sftp-write.c (writes, write-behind) and sftp-file.c
 * (starting SFTP, the file, dir=, fsync, closing).  Calls go one way:
 * sftp-file.c -> sftp-read.c -> sftp-write.c -> sftp.c and
 * sftp-lanes.c, except that sftp.c's pump steps the lanes
 * (sftp_lane_step, sftp_lane_replies), which send through sftp.c.
 * What the rest of the plugin calls is declared in sftp.h
 * (sftp_start, sftp_pread, ...).
 */

#ifndef SSH_PLUGIN_SFTP_INT_H
#define SSH_PLUGIN_SFTP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <libssh2.h>

#include "sftp.h"               /* SFTP_MAX_CHANNELS, sftp_options */
#include "sftp-wire.h"

struct ssh_conn;

#define SFTP_WINDOW   (32 * 1024 * 1024) /* credit only: >= RA_MAX */
#define SFTP_PACKET   32768              /* SSH channel max packet */
#define DEFAULT_CHUNK 32768              /* every server must take this */
#define MAX_CHUNK     SFTP_MAX_CHUNK
#define IBUF_SIZE     SFTP_MAX_PACKET    /* holds one whole reply */
#define NSLOTS        4096               /* requests in flight, power of 2 */
/* Read-ahead is sized to the link: about what RA_RATE bytes per second
 * keep in flight over the round trip measured at start-up, between
 * RA_FLOOR and RA_MAX.  Loopback gets RA_FLOOR (little memory per
 * connection), an 80 ms link gets RA_MAX.
 */
#define RA_FLOOR      (2 * 1024 * 1024)
#define RA_MAX        (32 * 1024 * 1024)
#define RA_RATE       (400 * 1024 * 1024) /* bytes per second */
/* Chunks are kept for reuse (not freed) while a connection's chunks
 * hold up to its read-ahead target and this much more: a request
 * beyond the read-ahead (nbdcopy asks 256 KiB, qemu 2 MiB).  Larger
 * requests allocate the difference and free it afterwards.
 */
#define CHUNK_SPARE   (4 * 1024 * 1024)
#define WRITE_WINDOW  (8 * 1024 * 1024) /* synchronous writes */
/* Write-behind: the window of a connection, unless write-behind= says
 * otherwise, is sized like read-ahead, between WB_FLOOR and WB_MAX,
 * and holds up to WB_ENTRIES writes.
 */
#define WB_FLOOR      (1024 * 1024)
#define WB_MAX        (16 * 1024 * 1024)
#define WB_ENTRIES    (NSLOTS / 2)
#define OBUF_HIGH     (1024 * 1024)      /* stop queueing writes above */
/* Lanes: more SFTP channels on the same SSH session for write-behind
 * WRITEs, when one channel's window (OpenSSH: 2 MiB) cannot keep the
 * link busy: from a round trip of LANE_MIN_RTT up, as many as
 * LANE_RATE bytes per second need over the round trip measured at
 * open (sftp_options.channels 0: channels=auto), at most LANES_AUTO,
 * or exactly the channels asked for (channels=N, up to
 * SFTP_MAX_CHANNELS in sftp.h).
 */
#define LANE_RATE     (64 * 1024 * 1024) /* bytes per second */
#define LANE_MIN_RTT  40000              /* microseconds */
#define LANES_AUTO    4
/* What a lane lets the server send ahead: replies to WRITEs are small,
 * and a lane not read yet (still being set up, or failed) holds no more
 * than this of what a server sends unasked.
 */
#define LANE_WINDOW   (256 * 1024)
#define OUT_EXT       WB_ENTRIES         /* data sent from where it is */
/* What the server chooses is bounded: */
#define STATUS_MSG    100                /* a STATUS message, escaped */
#define MAX_EXTENSIONS 64                /* VERSION extensions looked at */
#define DIR_MAX_ROUNDS 10000             /* READDIR replies for one dir= */
#define DIR_MAX_NAMES 100000             /* names in them */

/* A piece of the file being read, in file order in the read queue. */
struct chunk {
  struct chunk *next;
  uint64_t offset;
  uint32_t len;                 /* asked for */
  uint32_t got;                 /* received so far */
  bool done;                    /* all received, or failed */
  bool eof;                     /* the server said EOF at offset+got */
  uint32_t status;              /* SFTP error status if failed */
  uint64_t gen;                 /* writelog generation when asked for */
  char msg[STATUS_MSG];         /* and its message, escaped */
  char *buf;
};

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
  char msg[STATUS_MSG];         /* its message, escaped */
  uint64_t err_offset;
};

/* A request in flight: its id, and the function that handles its
 * reply (NULL: the reply is read and dropped), with its argument.
 * len and offset are for the handler (a WRITE's bytes and place).
 * dst, if set, is where the data of a DATA reply of up to dst_max
 * bytes goes: the engine reads it from the channel straight there,
 * then calls fn with type SFTP_DATA_PLACED, payload dst and len the
 * number of bytes (any other reply reaches fn as usual).
 */
#define SFTP_DATA_PLACED 0      /* not an SFTP packet type */
#define DATA_HEADER   13        /* length, type, id, data length */
struct slot;
typedef int sftp_reply_fn (struct ssh_conn *c, const struct slot *slot,
                           uint8_t type, const char *payload, uint32_t len);
struct slot {
  uint32_t id;
  bool busy;
  sftp_reply_fn *fn;
  void *arg;
  uint32_t len;
  uint64_t offset;
  char *dst;
  uint32_t dst_max;
};

struct sftp {
  struct sftp_options opts;     /* the caller's settings (sftp_start;
                                   in c->sftp only, not in lanes) */
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
  /* Data of those packets sent from where it is, not copied into out
   * (a write-behind WRITE's bytes, in the window's ring), in order:
   * each goes at stream position at, right after the bytes of out
   * that were pending when it was queued.  out_pos counts the bytes
   * libssh2 has taken, ext_pending those of ext not taken yet.
   */
  struct out_ext {
    uint64_t at;
    const char *p;
    uint32_t len, done;
  } ext[OUT_EXT];
  unsigned ext_first, ext_count;
  uint64_t out_pos;
  size_t ext_pending;

  /* Incoming bytes not yet parsed: at most one packet (and the start
   * of the next when it is shorter than a DATA header), as the pump
   * reads no further than the end of the packet being received.
   */
  char *ibuf;
  size_t ilen;

  /* A DATA reply being read straight to its slot's dst: the request
   * id, where the next bytes go (NULL: dropped, the request was
   * discarded meanwhile), how many are still to come, and how many
   * the reply has.
   */
  uint32_t direct_id;
  char *direct_dst;
  uint32_t direct_left, direct_len;

  /* The writes of every connection to the file (multi-conn). */
  struct writelog *wlog;

  /* Read queue and read-ahead state. */
  struct chunk *rq_head, *rq_tail;
  struct chunk *free_chunks;     /* spare chunks, kept for reuse */
  unsigned nr_chunks;           /* allocated: in the queue or spare */
  uint64_t seq_next;            /* where a sequential read would start */
  uint32_t ra_window;           /* current read-ahead beyond a request */
  uint32_t ra_target;           /* read-ahead for this link (RTT based) */
  int64_t rtt_us;               /* the round trip, measured by opening
                                   the channel */

  /* Set-up requests sent back to back (sftp_start); here so that a
   * late reply never lands in a stack frame that is gone.
   */
  struct sync_reply start_limits, start_lstat, start_open, start_stat;

  /* Lanes (in the connection's first channel, c->sftp, only): the
   * other channels, each a struct sftp of its own with its handle of
   * the file, set up while writes go on (sftp_lane_step in sftp-lanes.c).
   */
  struct sftp *lanes[SFTP_MAX_CHANNELS];
  unsigned nr_lanes;            /* lanes[0..nr_lanes-1] (not c->sftp) */
  unsigned ready_lanes;         /* of them ready for writes */
  /* A channel whose packet libssh2 has half sent: nothing else may
   * send on the session until that same call is made again and
   * finishes (libssh2 refuses any other packet meanwhile).
   */
  struct sftp *stuck;
  int stuck_kind;
  struct timespec stuck_since;  /* since when the pump moved nothing
                                   and sent no byte while stuck (0:
                                   it moved) */
  uint64_t stuck_sent;          /* c->sent_bytes then */
  /* Replies handled on every channel (in c->sftp), and their count
   * when the current sftp_pump_once began: a pump returns once one
   * came, so that a waiter gets its reply as soon as it is in, not
   * after everything a fast server keeps sending (up to the whole
   * read-ahead) was read too.
   */
  uint64_t replies;
  uint64_t pump_replies;
  bool window_shut;             /* stopped sending: no window left */
  /* In a lane: how far its set-up is, and its VERSION (version is
   * set once it came).  */
  enum { LANE_OPEN, LANE_SUBSYSTEM, LANE_INIT, LANE_HANDSHAKE,
         LANE_VERIFY, LANE_READY, LANE_FAILED } lane_state;
  struct sync_reply lane_version;
  bool lane_stale;              /* its OPEN was sent before a refresh */
};

/* sftp.c */
extern const char *sftp_status_str (struct ssh_conn *c, uint32_t status,
                                    const char *msg);
extern int sftp_broken (struct ssh_conn *c, const char *fs, ...)
  __attribute__ ((format (printf, 2, 3)));
extern bool sftp_slot_available (struct sftp *s);
extern int sftp_request_begin (struct ssh_conn *c, uint8_t type,
                               uint32_t *id);
extern struct slot *sftp_request_end (struct ssh_conn *c, uint32_t id,
                                      sftp_reply_fn *fn, void *arg);
extern struct slot *sftp_request_end_data (struct ssh_conn *c, uint32_t id,
                                           const char *data, uint32_t len,
                                           sftp_reply_fn *fn, void *arg);
extern int sftp_lane_begin (struct ssh_conn *c, struct sftp *s, uint8_t type,
                            uint32_t *id);
extern struct slot *sftp_lane_end_data (struct ssh_conn *c, struct sftp *s,
                                        uint32_t id, const char *data,
                                        uint32_t len, sftp_reply_fn *fn,
                                        void *arg);
extern int sftp_close_nowait (struct ssh_conn *c, struct sftp *s,
                              const char *handle, uint32_t hlen);
/* The call that may leave a packet half sent (sftp_note_call). */
enum { STUCK_SEND, STUCK_RECV, STUCK_SETUP };
extern void sftp_note_call (struct ssh_conn *c, struct sftp *s, int kind,
                            bool eagain);
extern size_t sftp_output_pending (struct sftp *s);
extern unsigned sftp_discard (struct sftp *s, sftp_reply_fn *fn, void *arg);
extern int sftp_pump_once (struct ssh_conn *c,
                           struct sync_reply *version_reply);
extern int sftp_pump (struct ssh_conn *c, struct sync_reply *version_reply);
extern int sftp_send_queued (struct ssh_conn *c);
extern int sftp_slot_wait (struct ssh_conn *c);
extern bool sftp_write_failed (struct ssh_conn *c);
extern int sftp_sync_begin (struct ssh_conn *c, uint8_t type, uint32_t *id);
extern int sftp_call (struct ssh_conn *c, uint32_t id, struct sync_reply *r);
extern int sftp_call_extended (struct ssh_conn *c, const char *name,
                               bool on_file, struct sync_reply *r);
extern int sftp_check_reply_type (struct ssh_conn *c, struct sync_reply *r,
                                  uint8_t want, const char *what, int *err);
extern int sftp_expect_ok (struct ssh_conn *c, struct sync_reply *r,
                           const char *what, int *err);
extern int sftp_call_send (struct ssh_conn *c, uint32_t id,
                           struct sync_reply *r);
extern int sftp_lane_call_send (struct ssh_conn *c, struct sftp *s,
                                uint32_t id, struct sync_reply *r);
extern int sftp_reply_wait (struct ssh_conn *c, struct sync_reply *r);
extern int sftp_init_send (struct ssh_conn *c);
extern int sftp_handshake (struct ssh_conn *c);
extern int sftp_limits_send (struct ssh_conn *c, struct sync_reply *r);
extern int sftp_limits (struct ssh_conn *c, struct sync_reply *r);
extern int sftp_check_usable (struct ssh_conn *c, const char *what);

/* sftp-lanes.c */
extern bool sftp_lane_active (const struct sftp *l);
extern struct sync_reply *sftp_lane_version_reply (struct sftp *l);
extern int sftp_lane_step (struct ssh_conn *c, struct sftp *l);
extern void sftp_lane_replies (struct ssh_conn *c, struct sftp *l);
extern void sftp_lanes_start (struct ssh_conn *c, unsigned n);
extern int sftp_lanes_refresh (struct ssh_conn *c);
extern void sftp_lanes_free (struct sftp *s);

/* sftp-write.c */
extern int sftp_write_sync (struct ssh_conn *c, const char *buf,
                            uint32_t count, uint64_t offset);
extern int sftp_write_behind (struct ssh_conn *c, const char *buf,
                              uint32_t count, uint64_t offset);
extern int sftp_write_wait (struct ssh_conn *c, uint64_t offset,
                            uint64_t len);
extern int sftp_write_resume (struct ssh_conn *c);
extern unsigned sftp_write_channels (struct ssh_conn *c);

/* sftp-read.c */
extern void sftp_drop_queue (struct ssh_conn *c);
extern void sftp_io_start (struct ssh_conn *c);
extern void sftp_io_free (struct sftp *s);

#endif /* SSH_PLUGIN_SFTP_INT_H */
