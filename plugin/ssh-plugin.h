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

#ifndef SSH_PLUGIN_H
#define SSH_PLUGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fingerprint.h"

#include <pthread.h>
#include <time.h>
#include <sys/types.h>

#include <libssh2.h>
#include <openssl/crypto.h>

#define NBDKIT_API_VERSION 2
#include <nbdkit-plugin.h>

/* A jump host (jump=[user@]host[:port]). */
struct jump_spec {
  char *user;                   /* NULL: the local user */
  char *host;
  uint16_t port;
};

/* config.c: the parsed parameters, set once before any connection. */
struct ssh_params {
  const char *host;
  unsigned port;
  const char *user;
  const char *path;
  char **known_hosts;           /* absolute paths */
  size_t nr_known_hosts;
  bool verify_remote_host;
  bool accept_unknown_host;     /* ssh_config StrictHostKeyChecking no:
                                   a host not in known_hosts is let in */
  bool have_host_key;
  struct fingerprint host_key;
  char **identities;            /* absolute paths */
  size_t nr_identities;
  unsigned timeout;             /* seconds; 0 = wait forever */
  unsigned retries;             /* reconnect attempts per request */
  unsigned keepalive;           /* seconds idle before a keepalive; 0 off */
  unsigned keepalive_count;     /* unanswered keepalives before giving
                                   up on the server; 0 never */
  bool create;                  /* create=true */
  int64_t create_size;          /* create-size= */
  int create_mode;              /* create-mode=, default 0600 */
  const char *dir;              /* dir=: one export per regular file */
  struct jump_spec *jumps;      /* jump=, in order */
  size_t nr_jumps;
  const char *local_user;       /* the local user name */
  bool identities_only;         /* IdentitiesOnly: skip the agent */
  const char *proxy_command;    /* ssh_config ProxyCommand, expanded */
  const char *ciphers;          /* ciphers=, macs=, kex=: overrides */
  const char *macs;
  const char *kex;
  bool compression;             /* compression=true: zlib */
  int64_t write_behind;         /* write-behind= bytes; -1 auto, 0 off */
  unsigned idle_keep;           /* idle-keep= seconds; 0 off */
  unsigned channels;            /* channels= SFTP channels for writes;
                                   0 auto (by the round trip) */
#define SFTP_MAX_CHANNELS 16
#define WRITE_BEHIND_MIN (64 * 1024)
#define WRITE_BEHIND_MAX (1024 * 1024 * 1024)
  char *password;               /* password= (never logged) */
  char *jump_password;          /* jump-password= (never logged) */
  char *passphrase;             /* identity-passphrase= (never logged) */
  const char *home;             /* local home directory, or NULL */
};
extern struct ssh_params params;
extern const char config_help[];
extern int config_param (const char *key, const char *value);
extern int config_complete (void);
extern void config_free (void);

/* ssh.c: -D ssh.log=N, 1 to 4 as in nbdkit's plugin, each level
 * adding to the one before (above 4 is 4): 1 the plugin's steps,
 * 2 protocol details, 3 every read and write on the SSH socket,
 * 4 libssh2's own trace.
 */
extern int ssh_debug_log;

#define debug_at(level, fs, ...)                        \
  do {                                                  \
    if (ssh_debug_log >= (level))                       \
      nbdkit_debug ((fs), ##__VA_ARGS__);               \
  } while (0)
#define debug(fs, ...) debug_at (1, (fs), ##__VA_ARGS__)

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
  struct sftp *sftp;            /* sftp.c's state */
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

/* session.c */
extern int session_wait (struct ssh_conn *c);
extern const char *session_error (struct ssh_conn *c);
extern int session_tcp_connect (struct ssh_conn *c);
extern int session_open (struct ssh_conn *c, const char *known_hostkeys);
extern int session_handshake (struct ssh_conn *c);
extern void session_abort_if_broken (struct ssh_conn *c);
extern void session_close (struct ssh_conn *c);

/* Call a libssh2 function returning int until it stops saying EAGAIN,
 * waiting on the socket in between.  A wait that times out leaves
 * rc == LIBSSH2_ERROR_TIMEOUT and c->wait_failed set.
 */
#define CALL_INT(c, rc, call)                                   \
  do {                                                          \
    while (((rc) = (call)) == LIBSSH2_ERROR_EAGAIN) {           \
      if (session_wait (c) == -1) {                                \
        (rc) = LIBSSH2_ERROR_TIMEOUT;                           \
        break;                                                  \
      }                                                         \
    }                                                           \
  } while (0)

/* The same for functions returning a pointer (NULL + EAGAIN). */
#define CALL_PTR(c, p, call)                                            \
  do {                                                                  \
    while (((p) = (call)) == NULL &&                                    \
           libssh2_session_last_errno ((c)->session) ==                 \
           LIBSSH2_ERROR_EAGAIN) {                                      \
      if (session_wait (c) == -1)                                          \
        break;                                                          \
    }                                                                   \
  } while (0)

/* blockcache.c: libssh2's allocator for a session (abstract is the
 * ssh_conn); blockcache_free after libssh2_session_free.
 */
extern void *blockcache_alloc (size_t n, void **abstract);
extern void blockcache_release (void *ptr, void **abstract);
extern void *blockcache_realloc (void *ptr, size_t n, void **abstract);
extern void blockcache_free (struct ssh_conn *c);

/* conn.c */
extern int conn_establish (struct ssh_conn *c);
extern int conn_reconnect (struct ssh_conn *c, const char *what,
                           unsigned attempt);
extern void conn_close (struct ssh_conn *c);
extern void conn_count_lost (struct ssh_conn *c);
extern int conn_flush (struct ssh_conn *c);
extern int conn_park (struct ssh_conn *c);
extern int conn_unpark (struct ssh_conn *c);
extern void conn_drain (struct ssh_conn *c);
extern void conn_free (struct ssh_conn *c);

/* durable.c: a write acknowledged to a client that may be missing. */
struct durable_event {
  int err;                      /* errno, or 0: from status */
  uint32_t status;              /* SFTP status, or 0 */
  uint32_t len;                 /* the write's length, or 0 */
  char text[512];               /* what happened, for the message */
};
extern int durable_join (struct ssh_conn *c);
extern void durable_leave (struct ssh_conn *c);
extern void durable_free_all (void);
extern void durable_new_client (struct ssh_conn *c);
extern void durable_session_start (struct ssh_conn *c);
extern bool durable_session_broke (struct ssh_conn *c, const char *text);
extern void durable_loss (struct ssh_conn *c, int err, uint32_t status,
                          uint32_t len, const char *text);
extern void durable_write_done (struct ssh_conn *c, uint64_t sent);
extern bool durable_uncovered (struct ssh_conn *c);
extern uint64_t durable_now (struct ssh_conn *c);
extern void durable_fsync_done (struct ssh_conn *c, uint64_t t);
extern bool durable_needs_fsync (struct ssh_conn *o, struct ssh_conn *c);
extern bool durable_others_need_fsync (struct ssh_conn *c);
extern bool durable_unseen (struct ssh_conn *c, struct durable_event *ev);
extern void durable_seen (struct ssh_conn *c);
extern void durable_text (char *text, size_t len, const char *fs, ...)
  __attribute__ ((format (printf, 3, 4)));

/* keepalive.c */
extern int keepalive_register (struct ssh_conn *c);
extern void keepalive_unregister (struct ssh_conn *c);
extern struct ssh_conn *keepalive_any_registered (void);
extern int keepalive_start (void);
extern void keepalive_stop (void);
extern struct ssh_conn *keepalive_claim_warm (const char *path,
                                              bool readonly);
extern int keepalive_for_each (int (*fn) (struct ssh_conn *c, void *arg),
                               void *arg);

/* hostkey.c */
extern int hostkey_verify (struct ssh_conn *c);
extern void hostkey_known_algorithms (struct ssh_conn *c, char *out,
                                      size_t len);

/* jump.c */
extern int jump_init (struct ssh_conn *c);
extern struct ssh_conn *jump_hop (struct ssh_conn *c, size_t i, int sock);
extern int jump_forward (struct ssh_conn *c, size_t i);
extern void jump_close (struct ssh_conn *c);

/* proxycmd.c */
extern int proxy_command_open (struct ssh_conn *c);
extern const char *proxy_command_status (struct ssh_conn *c, char *buf,
                                         size_t len);
extern void proxy_command_close (struct ssh_conn *c);

/* auth.c */
extern int auth_authenticate (struct ssh_conn *c);
extern void auth_free (void);

/* sftp.c */
extern int sftp_start (struct ssh_conn *c);
extern void sftp_stop (struct ssh_conn *c);
extern int sftp_list_dir (struct ssh_conn *c, const char *dir,
                          int (*fn) (void *opaque, const char *name,
                                     uint64_t size),
                          void *opaque);
extern int sftp_pread (struct ssh_conn *c, void *buf, uint32_t count,
                       uint64_t offset);
extern int sftp_pwrite (struct ssh_conn *c, const void *buf, uint32_t count,
                        uint64_t offset);
extern int sftp_flush (struct ssh_conn *c, bool clear_failure);
extern int sftp_fsync (struct ssh_conn *c, const char *what);
extern void sftp_park (struct ssh_conn *c);
extern int sftp_refresh (struct ssh_conn *c);
extern int sftp_write_drain (struct ssh_conn *c);
extern bool sftp_write_pending (struct ssh_conn *c);
extern bool sftp_lanes_pending (struct ssh_conn *c);
extern void sftp_write_abandon (struct ssh_conn *c);
extern int sftp_write_errno (struct ssh_conn *c, uint32_t status,
                             uint64_t len);
extern bool sftp_write_others_busy (struct ssh_conn *c);
extern int sftp_write_failure (struct ssh_conn *c, const char *what,
                               bool clear);
extern void sftp_write_free (struct ssh_conn *c);
extern int sftp_poll (struct ssh_conn *c);
extern int sftp_ping (struct ssh_conn *c);

#endif /* SSH_PLUGIN_H */
