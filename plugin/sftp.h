/* nbdkit-ssh-plugin (libssh2)
 * Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
 * SPDX-License-Identifier: BSD-3-Clause
 */

/* The SFTP layer (sftp-file.c, sftp-read.c, sftp-write.c, sftp.c,
 * sftp-lanes.c) as the rest of the plugin calls it: ssh.c, conn.c and
 * keepalive.c.  What the layer's files share among themselves is in
 * sftp-int.h.  The layer reads no parameter itself: its caller hands
 * it its settings (struct sftp_options) at sftp_start.
 */

#ifndef SSH_PLUGIN_SFTP_H
#define SSH_PLUGIN_SFTP_H

#include <stdbool.h>
#include <stdint.h>

struct ssh_conn;

/* The layer's limits (config.c checks channels= and write-behind=
 * against them): SFTP channels per session, and the size of a
 * write-behind window.
 */
#define SFTP_MAX_CHANNELS 16
#define WRITE_BEHIND_MIN (64 * 1024)
#define WRITE_BEHIND_MAX (1024 * 1024 * 1024)

/* What the caller decides for a session, given to sftp_start and kept
 * with the session's SFTP state.
 */
struct sftp_options {
  unsigned timeout;             /* seconds a half-sent packet may stay
                                   stuck (as session_wait bounds
                                   silence); 0 forever */
  int64_t write_behind;         /* bytes in a connection's window:
                                   WRITE_BEHIND_MIN to WRITE_BEHIND_MAX,
                                   -1 sized by the round trip, 0 off
                                   (synchronous writes) */
  unsigned channels;            /* SFTP channels for write-behind
                                   writes, 1 to SFTP_MAX_CHANNELS; 0 as
                                   many as the round trip needs */
  int64_t create_size;          /* c->create: the new file's size */
  int create_mode;              /* and its permissions */
  unsigned *busy_conns;         /* atomic, the caller's count of
                                   connections with writes in flight:
                                   a connection's write-behind window
                                   counts itself there while it has
                                   some (sftp_write_busy), across
                                   reconnects; required, not NULL */
};

/* sftp-file.c: starting SFTP, the file, dir=, fsync, flush, closing. */
extern int sftp_start (struct ssh_conn *c, const struct sftp_options *opts);
extern void sftp_stop (struct ssh_conn *c);
extern int sftp_list_dir (struct ssh_conn *c, const char *dir,
                          int (*fn) (void *opaque, const char *name,
                                     uint64_t size),
                          void *opaque);
extern int sftp_flush (struct ssh_conn *c, bool clear_failure);
extern int sftp_fsync (struct ssh_conn *c, const char *what);
extern int sftp_refresh (struct ssh_conn *c);

/* sftp-read.c: reads and read-ahead; writes go on to sftp-write.c. */
extern int sftp_pread (struct ssh_conn *c, void *buf, uint32_t count,
                       uint64_t offset);
extern int sftp_pwrite (struct ssh_conn *c, const void *buf, uint32_t count,
                        uint64_t offset);
extern void sftp_park (struct ssh_conn *c);

/* sftp-write.c: write-behind and synchronous writes. */
extern int sftp_write_drain (struct ssh_conn *c);
extern bool sftp_write_pending (struct ssh_conn *c);
extern void sftp_write_abandon (struct ssh_conn *c);
extern int sftp_write_errno (struct ssh_conn *c, uint32_t status,
                             uint64_t len);
extern bool sftp_write_busy (struct ssh_conn *c);
extern int sftp_write_failure (struct ssh_conn *c, const char *what,
                               bool clear);
extern void sftp_write_free (struct ssh_conn *c);

/* sftp-lanes.c: the other channels (channels=). */
extern bool sftp_lanes_pending (struct ssh_conn *c);

/* sftp.c: the request engine; for the keepalive thread. */
extern int sftp_poll (struct ssh_conn *c);
extern int sftp_ping (struct ssh_conn *c);

#endif /* SSH_PLUGIN_SFTP_H */
