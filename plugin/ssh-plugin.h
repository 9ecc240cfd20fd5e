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

/* What the files that call nbdkit and libssh2 share: struct ssh_conn
 * (one SSH connection per NBD connection) and the debug messages of
 * -D ssh.log=N.  Each module declares its functions in its own header,
 * NAME.h for NAME.c (config.c's is params.h, the SFTP layer's sftp.h).
 */

#ifndef SSH_PLUGIN_H
#define SSH_PLUGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <pthread.h>
#include <time.h>
#include <sys/types.h>

#include <libssh2.h>

#define NBDKIT_API_VERSION 2
#include <nbdkit-plugin.h>

/* ssh.c: -D ssh.log=N, 1 to 4 as in nbdkit's plugin, each level
 * adding to the one before (above 4 is 4): 1 the plugin's steps,
 * 2 protocol details, 3 every read and write on the SSH socket,
 * 4 libssh2's own trace.
 */
extern int ssh_debug_log;

#define ssh_debug_at(level, fs, ...)                    \
  do {                                                  \
    if (ssh_debug_log >= (level))                       \
      nbdkit_debug ((fs), ##__VA_ARGS__);               \
  } while (0)
#define ssh_debug(fs, ...) ssh_debug_at (1, (fs), ##__VA_ARGS__)

/* One SSH connection (session + SFTP + open file) per NBD connection. */
struct ssh_conn {
  /* Where this connection goes: the target, or one jump host. */
  const char *host;
  uint16_t port;
  const char *user;
  bool is_jump;                 /* a jump host: no pinning, no SFTP */
  struct jump_chain *jumps;     /* jump.c: hops to the target */
  pthread_mutex_t lock;         /* a request or the keepalive thread */
  struct timespec last_used;    /* CLOCK_MONOTONIC, for keepalives */
  unsigned reconnects;
  int sock;
  bool tcp;                     /* sock is a TCP connection */
  pid_t proxy_pid;              /* proxycmd.c: the ProxyCommand; 0 none */
  uint64_t recv_bytes;          /* bytes libssh2 read from sock */
  uint64_t sent_bytes;          /* bytes libssh2 wrote to sock */
  uint64_t alive_mark;          /* recv_bytes when the last keepalive
                                   was sent */
  unsigned alive_unanswered;    /* keepalives sent since the server
                                   last sent anything */
  LIBSSH2_SESSION *session;
  struct blockcache *blocks;    /* blockcache.c: the session's freed
                                   blocks, kept for reuse */
  struct sftp *sftp;            /* the SFTP layer's state (sftp-int.h) */
  struct writebehind *wb;       /* sftp-write.c: writes not yet
                                   acknowledged by the server (kept
                                   across reconnects) */
  uint64_t wb_lo, wb_hi;        /* atomic: the span of those writes
                                   (empty if lo >= hi) */
  unsigned pins;                /* keepalive.c, under its list lock:
                                   keepalive_for_each callers using it */
  bool readonly;
  bool broken;                  /* unusable after a timeout or I/O error */
  bool aborted;                 /* session_abort_if_broken cut sock */
  struct durable *dur;          /* durable.c: the remote file's flush
                                   honesty state (NULL: no file) */
  struct ssh_conn *dur_next;    /* durable.c: the file's connections */
  uint64_t dur_lo, dur_hi;      /* durable.c: ticks of the writes
                                   acknowledged by the server and not
                                   yet fsynced (none if lo > hi) */
  uint64_t dur_est;             /* durable.c: the tick when this
                                   session was established */
  uint64_t dur_seen;            /* durable.c: loss events reported to
                                   this connection's client */
  bool wait_failed;             /* the last wait timed out or failed */
  bool can_fsync;               /* server has fsync@openssh.com */
  int64_t size;
  char *path;                   /* remote file; NULL to list dir= */
  bool in_dir;                  /* path is a file of dir= */
  bool warm;                    /* closed by its client and kept for the
                                   next one (idle-keep=) */
  struct timespec warm_since;   /* CLOCK_MONOTONIC */
  bool create;                  /* create the file first (create=) */
  void *kbd;                    /* auth.c: keyboard-interactive state */
  char errbuf[256];
};

#endif /* SSH_PLUGIN_H */
