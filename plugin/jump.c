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

/* Jump hosts (jump=, like ssh -J): the target's SSH connection runs
 * through a direct-tcpip channel of each hop in turn.  Every hop gets
 * full host key verification and authentication.  A libssh2 session
 * needs a socket, so each hop's channel is joined to a socketpair by a
 * forwarding thread that owns the hop's session; the next hop (or the
 * target) uses the other end of the socketpair as its socket.
 */

#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>
#include <sys/socket.h>

#include "ssh-plugin.h"
#include "errors.h"
#include "jump.h"
#include "params.h"
#include "session.h"

struct hop {
  struct ssh_conn conn;         /* the hop's own session */
  LIBSSH2_CHANNEL *channel;     /* direct-tcpip to the next host */
  int fd;                       /* forwarder's end of the socketpair */
  pthread_t thread;
  bool running;
};

struct jump_chain {
  size_t n;
  struct hop hops[];
};

/* Move bytes between the hop's channel and the socketpair until either
 * side closes.  Closing fd tells the next session the link is gone.
 */
static void *
forward (void *arg)
{
  struct hop *h = arg;
  struct ssh_conn *c = &h->conn;
  char down[32768], up[32768];   /* channel → fd, fd → channel */
  size_t dlen = 0, doff = 0, ulen = 0, uoff = 0;
  bool up_blocked = false;      /* the channel took no more of up */
  /* A read or a write that left a packet half sent in libssh2, which
   * refuses any other packet until the same call gets it out (even the
   * window adjustment a read sends): only that call is made again.
   */
  bool recv_pending = false, send_pending = false;
  ssize_t r;

  for (;;) {
    bool moved = false;
    struct pollfd pfd[2];
    int dir;

    if (dlen == 0 && !send_pending) {
      r = libssh2_channel_read (h->channel, down, sizeof down);
      recv_pending = r == LIBSSH2_ERROR_EAGAIN &&
        (libssh2_session_block_directions (c->session) &
         LIBSSH2_SESSION_BLOCK_OUTBOUND);
      if (r > 0) {
        dlen = r;
        doff = 0;
        moved = true;
      }
      else if (r != LIBSSH2_ERROR_EAGAIN &&
               (r < 0 || libssh2_channel_eof (h->channel)))
        break;
    }
    if (dlen > 0) {
      r = write (h->fd, down + doff, dlen);
      if (r > 0) {
        doff += r;
        dlen -= r;
        moved = true;
      }
      else if (r == -1 && errno != EAGAIN && errno != EINTR)
        break;
    }
    if (ulen == 0) {
      r = read (h->fd, up, sizeof up);
      if (r > 0) {
        ulen = r;
        uoff = 0;
        moved = true;
      }
      else if (r == 0)
        break;                  /* the next session closed: we are done */
      else if (errno != EAGAIN && errno != EINTR)
        break;
    }
    up_blocked = false;
    if (ulen > 0 && !recv_pending) {
      r = libssh2_channel_write (h->channel, up + uoff, ulen);
      send_pending = r == LIBSSH2_ERROR_EAGAIN &&
        (libssh2_session_block_directions (c->session) &
         LIBSSH2_SESSION_BLOCK_OUTBOUND);
      if (r > 0) {
        uoff += r;
        ulen -= r;
        moved = true;
      }
      else if (r == LIBSSH2_ERROR_EAGAIN)
        up_blocked = true;
      else
        break;
    }
    if (moved)
      continue;

    /* Wait only for what can make progress.  The hop's socket is read
     * when there is room for what the channel brings (dlen == 0), or
     * when the channel must hear from the server (a window adjust)
     * before it takes more of up; waiting for a readable socket while
     * down is full would wake at once, again and again.
     */
    dir = libssh2_session_block_directions (c->session);
    pfd[0].fd = c->sock;
    pfd[0].events =
      (dlen == 0 || (up_blocked && (dir & LIBSSH2_SESSION_BLOCK_INBOUND)) ?
       POLLIN : 0) |
      (dir & LIBSSH2_SESSION_BLOCK_OUTBOUND ? POLLOUT : 0);
    /* A packet half sent: only the socket taking more can help (what
     * arrives is not read meanwhile, so waiting for it would spin).
     */
    if (send_pending || recv_pending)
      pfd[0].events = POLLOUT;
    pfd[1].fd = h->fd;
    pfd[1].events = (ulen == 0 ? POLLIN : 0) | (dlen > 0 ? POLLOUT : 0);
    if (poll (pfd, 2, 1000) == -1 && errno != EINTR)
      break;
  }
  ssh_debug ("jump %s port %u: forwarding ended", c->host, c->port);
  shutdown (h->fd, SHUT_RDWR);
  return NULL;
}

/* Make room for the hops of jump= in c->jumps. */
int
jump_init (struct ssh_conn *c)
{
  c->jumps = calloc (1, sizeof *c->jumps +
                     params->jumps.len * sizeof c->jumps->hops[0]);
  if (c->jumps == NULL) {
    ssh_error ("calloc: %m");
    return -1;
  }
  return 0;
}

/* Hop i of target c, set up to log in through sock (-1: over TCP).
 * The caller logs in (conn.c), then calls jump_forward.
 */
struct ssh_conn *
jump_hop (struct ssh_conn *c, size_t i, int sock)
{
  struct hop *h = &c->jumps->hops[i];
  struct ssh_conn *hc = &h->conn;
  const struct jump_spec *j = &params->jumps.ptr[i];

  c->jumps->n = i + 1;
  h->fd = -1;
  hc->host = j->host;
  hc->port = j->port;
  hc->user = j->user ? j->user : params->local_user;
  hc->is_jump = true;
  hc->sock = sock;
  ssh_debug ("jump %zu: %s@%s port %u", i + 1, hc->user, hc->host, hc->port);
  return hc;
}

/* Hop i is logged in: open its direct-tcpip channel to the next host
 * (the next hop, or the target) and start its forwarder.  Returns the
 * socket the next session must use, or -1 after nbdkit_error.
 */
int
jump_forward (struct ssh_conn *c, size_t i)
{
  struct hop *h = &c->jumps->hops[i];
  struct ssh_conn *hc = &h->conn;
  const char *next_host = i + 1 < params->jumps.len ?
    params->jumps.ptr[i + 1].host : c->host;
  unsigned next_port = i + 1 < params->jumps.len ?
    params->jumps.ptr[i + 1].port : c->port;
  int sv[2], err;

  CALL_PTR (hc, h->channel,
            libssh2_channel_direct_tcpip_ex (hc->session, next_host,
                                             next_port, "127.0.0.1", 22));
  if (h->channel == NULL) {
    ssh_error ("jump host %s port %u cannot open a connection to %s "
               "port %u (is AllowTcpForwarding enabled there?): %s",
               hc->host, hc->port, next_host, next_port,
               session_error (hc));
    return -1;
  }
  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
    ssh_error ("socketpair: %m");
    return -1;
  }
  fcntl (sv[1], F_SETFL, fcntl (sv[1], F_GETFL) | O_NONBLOCK);
  h->fd = sv[1];
  err = pthread_create (&h->thread, NULL, forward, h);
  if (err != 0) {
    errno = err;
    ssh_error ("pthread_create: %m");
    close (sv[0]);
    return -1;
  }
  h->running = true;
  return sv[0];
}

/* Stop the forwarders (the target's socket is already closed, so each
 * sees EOF in turn) and free the hops, last first.
 */
void
jump_close (struct ssh_conn *c)
{
  struct jump_chain *chain = c->jumps;
  size_t i;

  if (chain == NULL)
    return;
  for (i = chain->n; i-- > 0; ) {
    struct hop *h = &chain->hops[i];

    if (h->running) {
      /* Wake the forwarder if the next session has not closed yet. */
      shutdown (h->fd, SHUT_RDWR);
      pthread_join (h->thread, NULL);
      h->running = false;
    }
    if (h->fd >= 0)
      close (h->fd);
    if (h->channel) {
      int rc = 0;

      while (rc++ < 100 &&
             libssh2_channel_free (h->channel) == LIBSSH2_ERROR_EAGAIN)
        ;
    }
    h->conn.broken = true;
    session_close (&h->conn);
  }
  free (chain);
  c->jumps = NULL;
}
