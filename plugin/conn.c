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
    nbdkit_error ("SSH handshake with %s port %u failed: %s%s%s",
                  c->host, c->port, c->errbuf, *how ? "; " : "", how);
    nbdkit_set_error (EIO);
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
  for (i = 0; i < params.nr_jumps; ++i) {
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
    c->host = params.host;
    c->port = params.port;
    c->user = params.user;
  }
  c->sock = -1;
  c->broken = c->wait_failed = false;
  c->errbuf[0] = '\0';
  if (params.nr_jumps > 0)
    r = conn_via_jumps (c);
  else if (params.proxy_command)
    r = proxy_command_open (c);
  else
    r = 0;                      /* conn_login connects over TCP */
  if (r == -1 || conn_login (c) == -1 || sftp_start (c) == -1) {
    c->broken = true;
    conn_close (c);
    return -1;
  }
  clock_gettime (CLOCK_MONOTONIC, &c->last_used);
  return 0;
}

/* A flush: the server has fsynced the file.  0 if every write
 * acknowledged before is known to be durable, else -1 after
 * nbdkit_error (EIO).
 */
int
conn_flush_done (struct ssh_conn *c)
{
  uint64_t lost = durable_lost ();

  durable_fsync_done (c);
  if (lost == c->lost_seen)
    return 0;
  c->lost_seen = lost;
  nbdkit_error ("flush: the file is fsynced, but writes acknowledged "
                "earlier on a connection to %s port %u that then broke, "
                "or closed with writes that failed, were never fsynced "
                "and may be lost (the server or its disk may have "
                "dropped them; the log says which)", c->host, c->port);
  nbdkit_set_error (EIO);
  return -1;
}

/* Tear down whatever was set up, the target first, then the hops or
 * the ProxyCommand that carried it.
 */
void
conn_close (struct ssh_conn *c)
{
  if (c->broken && c->unflushed) {
    durable_count_loss ();
    nbdkit_debug ("ssh: connection to %s port %u broke with writes not "
                  "yet fsynced: the next flush fails", c->host, c->port);
  }
  durable_fsync_done (c);       /* whatever was not fsynced is gone */
  session_abort_if_broken (c);
  sftp_stop (c);
  session_close (c);
  jump_close (c);
  proxy_command_close (c);
}

/* The client closed the connection: wait for its write-behind window.
 * A write in it that failed, or could not be completed, was
 * acknowledged to the client, who is gone and cannot be told; with
 * multi-conn a flush on another connection covers it, so the next
 * flush on every connection fails once (EIO), as after a reconnect
 * that may have lost writes.
 */
static int
close_window (struct ssh_conn *c)
{
  if (sftp_write_close (c) == 0)
    return 0;
  durable_count_loss ();
  return -1;
}

/* idle-keep=: the client closed the connection; keep its session
 * and open file warm for the next NBD connection to the same export
 * (it stays in keepalive.c's list, which expires it).  The writes in
 * flight are waited for first.  -1: not kept (close it).
 */
int
conn_park (struct ssh_conn *c)
{
  int r = -1;

  pthread_mutex_lock (&c->lock);
  /* Not kept after a failure: the next client starts afresh. */
  if (close_window (c) == 0 && !c->broken && c->sftp != NULL) {
    sftp_park (c);
    clock_gettime (CLOCK_MONOTONIC, &c->warm_since);
    c->warm = true;
    r = 0;
    debug ("idle-keep: keeping the session to %s port %u (%s) for %u "
           "seconds", c->host, c->port, c->path, params.idle_keep);
  }
  pthread_mutex_unlock (&c->lock);
  return r;
}

/* A warm connection (claimed by keepalive_claim_warm) serves a new
 * NBD connection: is it alive?  Reads what arrived, and the file's
 * size now.  -1: discard it (conn_free).
 */
int
conn_unpark (struct ssh_conn *c)
{
  int r;

  pthread_mutex_lock (&c->lock);
  r = c->broken ? -1 : sftp_refresh (c);
  if (r == 0) {
    c->lost_seen = durable_lost ();
    clock_gettime (CLOCK_MONOTONIC, &c->last_used);
    debug ("idle-keep: reusing the warm session to %s port %u (%s)",
           c->host, c->port, c->path);
  }
  else
    debug ("idle-keep: the warm session to %s port %u is dead (%s): "
           "connecting again", c->host, c->port,
           c->errbuf[0] ? c->errbuf : "broken");
  pthread_mutex_unlock (&c->lock);
  return r;
}

/* The client closed the connection, which is still in keepalive.c's
 * list: wait for its writes in flight there, so that the other
 * connections' reads and flushes see them until they are done.
 */
void
conn_drain (struct ssh_conn *c)
{
  pthread_mutex_lock (&c->lock);
  if (!c->broken)
    sftp_write_drain (c);
  pthread_mutex_unlock (&c->lock);
}

/* Close and free a connection that is no longer in keepalive.c's
 * list: what the write-behind window still holds is waited for (and
 * logged if it fails), then everything is torn down.  Writes the
 * server acknowledged since the last flush are fsynced first: once
 * the session is gone no flush can cover them, and a later flush on
 * another connection would report them durable (multi-conn) without
 * knowing whether the server kept them.
 */
void
conn_free (struct ssh_conn *c)
{
  pthread_mutex_lock (&c->lock);
  if (close_window (c) == 0 && c->unflushed && !c->broken &&
      c->sftp != NULL && c->can_fsync) {
    debug ("close: fsync of remote file %s (writes since the last flush)",
           c->path);
    if (sftp_flush (c, true) == 0)
      durable_fsync_done (c);
    else
      durable_count_loss ();    /* as close_window */
  }
  conn_close (c);
  sftp_write_free (c);
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
  char reason[sizeof c->errbuf];

  snprintf (reason, sizeof reason, "%s",
            c->errbuf[0] ? c->errbuf : "connection broken");
  if (durable_any_unflushed ()) {
    durable_count_loss ();
    nbdkit_debug ("ssh: reconnecting while writes are not yet fsynced: "
                  "the next flush fails");
  }
  conn_close (c);
  if (attempt > 1)
    sleep (attempt - 2 < 3 ? 1u << (attempt - 2) : 8);
  nbdkit_error ("%s: the connection to %s port %u failed (%s); "
                "reconnecting (attempt %u of %u)",
                what, c->host, c->port, reason,
                attempt, params.retries);
  if (conn_establish (c) == -1) {
    if (c->errbuf[0] == '\0')
      snprintf (c->errbuf, sizeof c->errbuf, "could not reconnect");
    c->broken = true;
    return -1;
  }
  c->reconnects++;
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
