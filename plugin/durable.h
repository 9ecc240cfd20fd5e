/* nbdkit-ssh-plugin (libssh2)
 * Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
 * SPDX-License-Identifier: BSD-3-Clause
 */

/* durable.c: flush honesty, per remote file: which acknowledged writes
 * an fsync covers, loss events and who has heard of them.  The bottom
 * layer: calls nothing.
 */

#ifndef SSH_PLUGIN_DURABLE_H
#define SSH_PLUGIN_DURABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ssh_conn;

/* A write acknowledged to a client that may be missing. */
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

#endif /* SSH_PLUGIN_DURABLE_H */
