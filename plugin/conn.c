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

/* A connection: the transport (TCP, ProxyCommand or a chain of jump
 * hosts), then on the resulting socket one SSH session whose host key
 * is verified and which authenticates (conn_login, the same for every
 * hop and the target), then SFTP and the remote file.  Also
 * reconnecting and closing.
 */

#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <inttypes.h>
#include <time.h>
#include <unistd.h>

#include "ssh-plugin.h"
#include "errors.h"
#include "auth.h"
#include "conn.h"
#include "durable.h"
#include "hostkey.h"
#include "jump.h"
#include "params.h"
#include "proxycmd.h"
#include "session.h"
#include "sftp.h"

/* Connections with write-behind writes in flight (atomic): each
 * connection's window counts itself here while it has some
 * (sftp_options.busy_conns).  While no other connection has any, a
 * read, write or flush need not look at them (ssh.c drain_others).
 */
static unsigned busy_conns;

/* Has any connection other than c writes in flight? */
bool
conn_others_busy (struct ssh_conn *c)
{
  unsigned n = __atomic_load_n (&busy_conns, __ATOMIC_SEQ_CST);

  return n > (sftp_write_busy (c) ? 1 : 0);
}

/* Connect (over TCP unless c->sock is already given), handshake,
 * verify the host key and authenticate.  Returns -1 after one
 * nbdkit_error.
 */
static int
conn_login (struct ssh_conn *c)
{
  char known[512];

  if (c->sock == -1 && session_tcp_connect (c) == -1)
    return -1;
  /* Key types known_hosts holds for this host go first. */
  hostkey_known_algorithms (c, known, sizeof known);
  if (session_open (c, known) == -1)
    return -1;
  if (session_handshake (c) == -1) {
    char how[128];

    proxy_command_status (c, how, sizeof how);
    ssh_error ("SSH handshake with %s port %u failed: %s%s%s",
               c->host, c->port, c->errbuf, *how ? "; " : "", how);
    ssh_set_error (EIO);
    return -1;
  }
  if (hostkey_verify (c) == -1 || auth_authenticate (c) == -1)
    return -1;
  return 0;
}

/* jump=: log in to each hop in turn, each one reached through the
 * forwarder of the one before; the target's socket is the last hop's
 * forwarder.
 */
static int
conn_via_jumps (struct ssh_conn *c)
{
  int sock = -1;
  size_t i;

  if (jump_init (c) == -1)
    return -1;
  for (i = 0; i < params->jumps.len; ++i) {
    struct ssh_conn *hop = jump_hop (c, i, sock);

    if (conn_login (hop) == -1)
      return -1;
    sock = jump_forward (c, i);
    if (sock == -1)
      return -1;
  }
  c->sock = sock;
  return 0;
}

/* Everything from the transport to the open remote file.  On failure
 * the connection is torn down again and -1 returned (after one
 * nbdkit_error saying why).
 */
int
conn_establish (struct ssh_conn *c)
{
  int r;

  if (c->host == NULL) {
    c->host = params->host;
    c->port = params->port;
    c->user = params->user;
  }
  c->sock = -1;
  c->broken = c->wait_failed = false;
  c->errbuf[0] = '\0';
  if (params->jumps.len > 0)
    r = conn_via_jumps (c);
  else if (params->proxy_command)
    r = proxy_command_open (c);
  else
    r = 0;                      /* conn_login connects over TCP */
  if (r == 0 && conn_login (c) == 0) {
    /* The SFTP layer's settings, from the parameters. */
    const struct sftp_options opts = {
      .timeout = params->timeout,
      .write_behind = params->write_behind,
      .channels = params->channels,
      .create_size = params->create_size,
      .create_mode = params->create_mode,
      .busy_conns = &busy_conns,
    };

    /* An fsync on this session covers only writes acknowledged from
     * now on (durable.c).
     */
    durable_session_start (c);
    r = sftp_start (c, &opts);
  }
  else
    r = -1;
  if (r == -1) {
    c->broken = true;
    conn_close (c);
    return -1;
  }
  clock_gettime (CLOCK_MONOTONIC, &c->last_used);
  return 0;
}

/* A flush: drain the window, report its failure, fsync
 * (sftp_flush); then tell the client of the loss events it has not
 * heard of (durable.c): a write acknowledged on any connection to the
 * file that may be missing.  One failed flush reports them all, as
 * fsync does on Linux.  Returns -1 after nbdkit_error.
 */
int
conn_flush (struct ssh_conn *c)
{
  struct durable_event ev;
  int err;

  if (sftp_flush (c, true) == -1) {
    /* A failure reported to the client, unless the connection broke
     * (then the request is tried again on a new one).
     */
    if (!c->broken)
      durable_seen (c);
    return -1;
  }
  if (!durable_unseen (c, &ev))
    return 0;
  /* ENOSPC or not may take a question to the server (fstatvfs): if
   * the connection breaks then, the event stays unseen and the flush
   * is tried again on a new session (do_request), which reports it.
   */
  err = ev.err ? ev.err : sftp_write_errno (c, ev.status, ev.len);
  if (c->broken)
    return -1;
  durable_seen (c);
  nbdkit_error ("flush: the file is fsynced, but %s (multi-conn: the "
                "next flush on every connection to the file is told)",
                ev.text);
  ssh_set_error (err);
  return -1;
}

/* Writes the server acknowledged on a session that broke before an
 * fsync covered them may be gone (the server or its disk may have
 * dropped them); nothing can tell, and sending them again could undo
 * newer writes of other connections.  So they are a loss event
 * (durable.c), once: the count starts afresh.
 */
void
conn_count_lost (struct ssh_conn *c)
{
  char text[sizeof ((struct durable_event *) 0)->text];

  if (!c->broken || !durable_uncovered (c))
    return;
  durable_text (text, sizeof text, "writes to remote file %s acknowledged "
                "by the server on a connection to %s port %u that then broke "
                "(%s) were never fsynced and may be lost", c->path, c->host,
                c->port, c->errbuf[0] ? c->errbuf : "connection broken");
  if (durable_session_broke (c, text))
    nbdkit_error ("%s; the next flush on every connection to the file "
                  "fails", text);
}

/* Tear down whatever was set up, the target first, then the hops or
 * the ProxyCommand that carried it.
 */
void
conn_close (struct ssh_conn *c)
{
  conn_count_lost (c);
  session_abort_if_broken (c);
  sftp_stop (c);
  session_close (c);
  jump_close (c);
  proxy_command_close (c);
}

/* The client is gone (close, unload, or a warm session that expired):
 * finish its writes as a request would.  What the server has not
 * acknowledged is sent again after a reconnect (retries=), and writes
 * not yet fsynced are fsynced, since no flush of this client can
 * cover them any more and a flush on another connection would report
 * them durable (multi-conn).  Only when that fails is a loss logged,
 * and every connection's next flush fails (durable.c).  Called with
 * c->lock held; -1 if an acknowledged write may be lost.
 */
static int
finish (struct ssh_conn *c, const char *what)
{
  unsigned attempt = 0;
  int r = 0;

  for (;;) {
    if (!c->broken && c->sftp != NULL && sftp_write_drain (c) == 0) {
      /* A write the server refused: logged here, and a loss event
       * since it failed (sftp-write.c).
       */
      if (sftp_write_failure (c, what, true) == -1)
        r = -1;
      if (!durable_uncovered (c) || !c->can_fsync)
        return r;
      ssh_debug ("%s: fsync of remote file %s (writes since the last flush)",
                 what, c->path);
      if (sftp_fsync (c, what) == 0)
        return r;
      if (!c->broken)
        return -1;              /* a loss event (sftp_fsync) */
      /* Broken: those writes are lost with the session (conn_close
       * says so); only writes in flight can be sent again.
       */
    }
    if (!sftp_write_pending (c))
      return -1;
    if (attempt >= params->retries)
      break;
    conn_reconnect (c, what, ++attempt);
  }
  {
    char text[sizeof ((struct durable_event *) 0)->text];

    durable_text (text, sizeof text, "writes to remote file %s, already "
                  "acknowledged to the client, could not be sent to the "
                  "server (%s) and may be lost", c->path,
                  c->errbuf[0] ? c->errbuf : "connection broken");
    nbdkit_error ("%s: %s after %u reconnects (retries=%u)", what, text,
                  attempt, params->retries);
    durable_loss (c, EIO, 0, 0, text);
  }
  sftp_write_abandon (c);       /* counted: not tried again */
  return -1;
}

/* idle-keep=: the client closed the connection; keep its session
 * and open file warm for the next NBD connection to the same export
 * (it stays in keepalive.c's list, which expires it).  The writes in
 * flight are waited for first.  -1: not kept (the caller finishes and
 * closes it: conn_drain, conn_free).
 */
int
conn_park (struct ssh_conn *c)
{
  int r = -1;

  pthread_mutex_lock (&c->lock);
  /* Not kept after a failure: the next client starts afresh. */
  if (!c->broken && c->sftp != NULL && sftp_write_drain (c) == 0 &&
      sftp_write_failure (c, "close", true) == 0) {
    sftp_park (c);
    clock_gettime (CLOCK_MONOTONIC, &c->warm_since);
    c->warm = true;
    r = 0;
    ssh_debug ("idle-keep: keeping the session to %s port %u (%s) for %u "
               "seconds", c->host, c->port, c->path, params->idle_keep);
  }
  pthread_mutex_unlock (&c->lock);
  return r;
}

/* A warm connection (claimed by keepalive_claim_warm) serves a new
 * NBD connection: is it alive?  Reads what arrived, and opens the
 * path again (sftp_refresh).  -1: discard it (conn_free).
 */
int
conn_unpark (struct ssh_conn *c)
{
  int r;

  pthread_mutex_lock (&c->lock);
  r = c->broken ? -1 : sftp_refresh (c);
  if (r == 0) {
    durable_new_client (c);
    clock_gettime (CLOCK_MONOTONIC, &c->last_used);
    ssh_debug ("idle-keep: reusing the warm session to %s port %u (%s "
               "opened again)", c->host, c->port, c->path);
  }
  else
    ssh_debug ("idle-keep: the warm session to %s port %u is dead (%s): "
               "connecting again", c->host, c->port,
               c->errbuf[0] ? c->errbuf : "broken");
  pthread_mutex_unlock (&c->lock);
  return r;
}

/* The client closed the connection, which is still in keepalive.c's
 * list: finish its writes there, so that the other connections'
 * reads and flushes see them until they are done.
 */
void
conn_drain (struct ssh_conn *c)
{
  pthread_mutex_lock (&c->lock);
  if (c->path != NULL)
    finish (c, "close");
  pthread_mutex_unlock (&c->lock);
}

/* Close and free a connection that is no longer in keepalive.c's
 * list: its writes are finished first (a no-op after conn_drain),
 * then everything is torn down.
 */
void
conn_free (struct ssh_conn *c)
{
  pthread_mutex_lock (&c->lock);
  if (c->path != NULL)
    finish (c, "close");
  conn_close (c);
  sftp_write_free (c);
  durable_leave (c);
  pthread_mutex_unlock (&c->lock);
  pthread_mutex_destroy (&c->lock);
  free (c->path);
  free (c);
}

/* The connection broke: connect again (same host key checks and
 * authentication) and reopen the file.  attempt counts from 1 within
 * one request; later attempts wait 1, 2, 4, 8 ... 8 seconds first.
 * Returns 0 when the file is open again.
 */
int
conn_reconnect (struct ssh_conn *c, const char *what, unsigned attempt)
{
  int64_t old_size = c->size;
  char reason[sizeof c->errbuf], last[sizeof c->errbuf];
  int r;

  snprintf (reason, sizeof reason, "%s",
            c->errbuf[0] ? c->errbuf : "connection broken");
  conn_close (c);
  if (attempt > 1)
    sleep (attempt - 2 < 3 ? 1u << (attempt - 2) : 8);
  /* A debug line, as is each error of the attempt (errors.c): only a
   * request that finally fails is an error, and its message says why
   * the last attempt failed (c->errbuf).
   */
  nbdkit_debug ("ssh: %s: the connection to %s port %u failed (%s); "
                "reconnecting (attempt %u of %u)",
                what, c->host, c->port, reason,
                attempt, params->retries);
  ssh_quiet_begin ();
  r = conn_establish (c);
  ssh_quiet_end (last, sizeof last);
  if (r == -1) {
    /* The attempt's own message says most (what failed, where). */
    if (last[0])
      snprintf (c->errbuf, sizeof c->errbuf, "%s", last);
    else if (c->errbuf[0] == '\0')
      snprintf (c->errbuf, sizeof c->errbuf, "could not reconnect");
    c->broken = true;
    /* The attempt may have opened the file before it failed: the
     * size served stays the one the client was given.
     */
    c->size = old_size;
    return -1;
  }
  __atomic_add_fetch (&c->reconnects, 1, __ATOMIC_SEQ_CST);
  nbdkit_debug ("ssh: reconnected to %s port %u (%u reconnects so far)",
                c->host, c->port, c->reconnects);
  if (c->size != old_size) {
    nbdkit_error ("%s: after reconnecting, remote file %s has %" PRIi64
                  " bytes instead of %" PRIi64 "; serving the old size",
                  what, c->path, c->size, old_size);
    c->size = old_size;
  }
  return 0;
}
