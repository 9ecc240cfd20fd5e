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

/* One SSH session: waiting on its socket with poll and a deadline,
 * its errors, the TCP connection, algorithm preferences, the
 * handshake, and tearing it down.  It does not know what the session
 * is for (a jump host or the target) nor how its socket was made.
 */

#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "ssh-plugin.h"
#include "errors.h"
#include "blockcache.h"
#include "match.h"
#include "params.h"
#include "session.h"

/* Preferred algorithms.  libssh2 drops names it does not know, so
 * newer libraries get AES-GCM while 1.10 falls back to AES-CTR.
 */
static const char prefs_crypt[] =
  "aes128-gcm@openssh.com,aes256-gcm@openssh.com,"
  "aes128-ctr,aes192-ctr,aes256-ctr";
/* OpenSSH's host key order, so that the key a user pins or finds in
 * known_hosts is the one ssh(1) would have seen (libssh2 1.10 would
 * otherwise prefer ECDSA).
 */
static const char prefs_hostkey[] =
  "ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,"
  "ecdsa-sha2-nistp521,rsa-sha2-512,rsa-sha2-256,ssh-rsa";
/* compression=true: OpenSSH's order (ssh -C), delayed compression
 * (after authentication) first.
 */
static const char prefs_comp[] = "zlib@openssh.com,zlib,none";
static const char prefs_mac[] =
  "hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,"
  "hmac-sha2-256,hmac-sha2-512,hmac-sha1";

static int
remaining_ms (const struct timespec *deadline)
{
  struct timespec now;
  long long ms;

  clock_gettime (CLOCK_MONOTONIC, &now);
  ms = (deadline->tv_sec - now.tv_sec) * 1000LL +
    (deadline->tv_nsec - now.tv_nsec) / 1000000;
  return ms < 0 ? 0 : ms > 0x7fffffff ? 0x7fffffff : (int) ms;
}

static void
make_deadline (struct timespec *deadline)
{
  clock_gettime (CLOCK_MONOTONIC, deadline);
  deadline->tv_sec += params->timeout;
}

/* poll one fd for events until the timeout= deadline.  Returns 1 if
 * ready, 0 on timeout, -1 on error (errno set).
 */
static int
poll_deadline (int fd, short events, const struct timespec *deadline)
{
  struct pollfd pfd = { .fd = fd, .events = events };
  int r;

  for (;;) {
    int ms = params->timeout == 0 ? -1 : remaining_ms (deadline);
    r = poll (&pfd, 1, ms);
    if (r == -1 && errno == EINTR)
      continue;
    if (r == -1)
      return -1;
    if (r == 0)
      return params->timeout == 0 ? 1 : 0;
    return 1;
  }
}

int
session_wait (struct ssh_conn *c)
{
  struct timespec deadline;
  int dir = libssh2_session_block_directions (c->session);
  short events = 0;
  int r;

  if (dir & LIBSSH2_SESSION_BLOCK_INBOUND)
    events |= POLLIN;
  if (dir & LIBSSH2_SESSION_BLOCK_OUTBOUND)
    events |= POLLOUT;
  if (events == 0) {
    /* libssh2 gave no direction: retry after a short pause. */
    struct pollfd pfd = { .fd = c->sock, .events = POLLIN };
    poll (&pfd, 1, 10);
    return 0;
  }
  /* Acknowledge at once what comes next: OpenSSH's sshd leaves Nagle
   * on for sessions without a terminal, so a small reply that follows
   * another small packet (a global request after authentication, the
   * reply to a request) waits for our ACK, which Linux delays up to
   * 40 ms otherwise.  Not a TCP socket (ProxyCommand, jump hops):
   * nothing to do.
   */
#ifdef TCP_QUICKACK
  if (c->tcp) {
    int one = 1;

    setsockopt (c->sock, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
  }
#endif
  make_deadline (&deadline);
  r = poll_deadline (c->sock, events, &deadline);
  if (r == 1)
    return 0;
  c->wait_failed = true;
  if (r == 0)
    snprintf (c->errbuf, sizeof c->errbuf,
              "timed out after %u seconds waiting for the server "
              "(timeout=%u)", params->timeout, params->timeout);
  else
    snprintf (c->errbuf, sizeof c->errbuf, "poll: %s", strerror (errno));
  c->broken = true;
  return -1;
}

const char *
session_error (struct ssh_conn *c)
{
  char *msg = NULL;

  if (c->wait_failed || c->session == NULL)
    return c->errbuf;
  libssh2_session_last_error (c->session, &msg, NULL, 0);
  snprintf (c->errbuf, sizeof c->errbuf, "%s",
            msg && *msg ? msg : "unknown libssh2 error");
  return c->errbuf;
}

/* Connect one address with a timeout.  Returns the socket or -1 with
 * errno set.
 */
static int
connect_one (const struct addrinfo *ai)
{
  struct timespec deadline;
  int fd, r, err = 0;
  socklen_t len = sizeof err;

  fd = socket (ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
               ai->ai_protocol);
  if (fd == -1)
    return -1;
  if (connect (fd, ai->ai_addr, ai->ai_addrlen) == -1) {
    if (errno != EINPROGRESS)
      goto err;
    make_deadline (&deadline);
    r = poll_deadline (fd, POLLOUT, &deadline);
    if (r == -1)
      goto err;
    if (r == 0) {
      errno = ETIMEDOUT;
      goto err;
    }
    if (getsockopt (fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
      goto err;
    if (err != 0) {
      errno = err;
      goto err;
    }
  }
  return fd;

 err:
  err = errno;
  close (fd);
  errno = err;
  return -1;
}

/* Resolve c->host and connect to the first address that answers,
 * within timeout= for each; c->sock is the socket.  Returns -1 after
 * nbdkit_error.
 */
int
session_tcp_connect (struct ssh_conn *c)
{
  struct addrinfo hints = {
    .ai_family = AF_UNSPEC,
    .ai_socktype = SOCK_STREAM,
  };
  struct addrinfo *res, *ai;
  char portstr[16], addr[NI_MAXHOST];
  char errs[512] = "";
  size_t n = 0;
  int r, one = 1;

  snprintf (portstr, sizeof portstr, "%u", c->port);
  r = getaddrinfo (c->host, portstr, &hints, &res);
  if (r != 0) {
    ssh_error ("cannot resolve host %s: %s", c->host,
               r == EAI_SYSTEM ? strerror (errno) : gai_strerror (r));
    return -1;
  }

  for (ai = res; ai != NULL; ai = ai->ai_next) {
    if (getnameinfo (ai->ai_addr, ai->ai_addrlen, addr, sizeof addr,
                     NULL, 0, NI_NUMERICHOST) != 0)
      snprintf (addr, sizeof addr, "?");
    ssh_debug ("connecting to %s port %u (%s)", c->host, c->port, addr);
    c->sock = connect_one (ai);
    if (c->sock >= 0)
      break;
    if (n < sizeof errs)
      n += snprintf (errs + n, sizeof errs - n, "%s%s: %s",
                     n ? "; " : "", addr,
                     errno == ETIMEDOUT ? "connection timed out" :
                     strerror (errno));
  }
  freeaddrinfo (res);

  if (c->sock == -1) {
    ssh_error ("cannot connect to %s port %u: %s",
               c->host, c->port, errs);
    ssh_set_error (EIO);
    return -1;
  }
  if (setsockopt (c->sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == -1)
    ssh_debug ("setsockopt TCP_NODELAY: %m (ignored)");
  c->tcp = true;
  return 0;
}

static const char *
method_name (int method)
{
  switch (method) {
  case LIBSSH2_METHOD_KEX: return "kex";
  case LIBSSH2_METHOD_HOSTKEY: return "host key";
  case LIBSSH2_METHOD_CRYPT_CS: return "cipher client to server";
  case LIBSSH2_METHOD_CRYPT_SC: return "cipher server to client";
  case LIBSSH2_METHOD_MAC_CS: return "MAC client to server";
  case LIBSSH2_METHOD_MAC_SC: return "MAC server to client";
  case LIBSSH2_METHOD_COMP_CS: return "compression client to server";
  case LIBSSH2_METHOD_COMP_SC: return "compression server to client";
  default: return "?";
  }
}

/* Set an algorithm preference, keeping only the names this libssh2
 * supports: libssh2 1.10 strips unknown names itself with an
 * overlapping memcpy, and a newer library offers more.  A failure
 * leaves libssh2's defaults, which work too.
 */
static void
set_prefs (struct ssh_conn *c, int method, const char *wanted)
{
  const char **algs = NULL;
  char list[512] = "";
  size_t n = 0, len;
  const char *p, *elem;
  int i, nr;

  nr = libssh2_session_supported_algs (c->session, method, &algs);
  if (nr <= 0) {
    ssh_debug ("cannot list supported algorithms (method %d): %s",
               method, session_error (c));
    return;
  }
  for (p = wanted; match_list_next (&p, &elem, &len); ) {
    char name[128];

    snprintf (name, sizeof name, "%.*s", (int) len, elem);
    if (match_list_has (list, name))
      continue;                 /* given twice */
    for (i = 0; i < nr; ++i) {
      if (strlen (algs[i]) == len && strncmp (algs[i], elem, len) == 0 &&
          n + len + 2 < sizeof list) {
        n += snprintf (list + n, sizeof list - n, "%s%.*s",
                       n ? "," : "", (int) len, elem);
        break;
      }
    }
  }
  libssh2_free (c->session, algs);
  if (n == 0 ||
      libssh2_session_method_pref (c->session, method, list) != 0)
    ssh_debug ("cannot set algorithm preference %s (method %d): %s",
               list, method, session_error (c));
  else
    ssh_debug_at (2, "%s port %u: offering %s: %s", c->host, c->port,
                  method_name (method), list);
}

/* libssh2 reads the socket through this, so that the keepalive
 * thread can tell whether the server has sent anything since its last
 * keepalive.  Like libssh2's own, it returns -errno on failure.
 */
static ssize_t
counting_recv (libssh2_socket_t sock, void *buf, size_t len, int flags,
               void **abstract)
{
  struct ssh_conn *c = *abstract;
  ssize_t r = recv (sock, buf, len, flags);

  if (r < 0) {
    r = -errno;
    if (r != -EAGAIN)
      ssh_debug_at (3, "%s port %u: recv: %s",
                    c->host, c->port, strerror (-r));
    return r;
  }
  c->recv_bytes += r;
  ssh_debug_at (3, "%s port %u: received %zd bytes", c->host, c->port, r);
  return r;
}

/* -D ssh.log=3 and up: libssh2 writes through this, to log each
 * write.
 */
static ssize_t
counting_send (libssh2_socket_t sock, const void *buf, size_t len, int flags,
               void **abstract)
{
  struct ssh_conn *c = *abstract;
  ssize_t r = send (sock, buf, len, flags);

  if (r < 0) {
    r = -errno;
    if (r != -EAGAIN)
      ssh_debug_at (3, "%s port %u: send: %s",
                    c->host, c->port, strerror (-r));
    return r;
  }
  c->sent_bytes += r;
  ssh_debug_at (3, "%s port %u: sent %zd bytes", c->host, c->port, r);
  return r;
}

/* -D ssh.log=4: libssh2's own trace, when the library was built with
 * it (--enable-debug, LIBSSH2DEBUG); otherwise libssh2_trace does
 * nothing, which is noticed after the handshake.
 */
static uint64_t trace_lines;

static void
trace_handler (LIBSSH2_SESSION *session, void *context, const char *data,
               size_t len)
{
  __atomic_add_fetch (&trace_lines, 1, __ATOMIC_RELAXED);
  while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r'))
    len--;
  nbdkit_debug ("libssh2: %.*s", (int) len, data);
}

/* Create the libssh2 session on c->sock (non-blocking, reading
 * through counting_recv) and set the algorithm preferences: host key
 * types known_hosts holds for this host (known_hostkeys, may be
 * empty) first, then ours.  Returns -1 after nbdkit_error.
 */
int
session_open (struct ssh_conn *c, const char *known_hostkeys)
{
  char hostkeys[1024];

  c->session = libssh2_session_init_ex (blockcache_alloc, blockcache_release,
                                        blockcache_realloc, c);
  if (c->session == NULL) {
    blockcache_free (c);
    ssh_error ("cannot create libssh2 session for %s port %u",
               c->host, c->port);
    return -1;
  }
#ifdef HAVE_LIBSSH2_SESSION_CALLBACK_SET2
  libssh2_session_callback_set2 (c->session, LIBSSH2_CALLBACK_RECV,
                                 (libssh2_cb_generic *) counting_recv);
  libssh2_session_callback_set2 (c->session, LIBSSH2_CALLBACK_SEND,
                                 (libssh2_cb_generic *) counting_send);
#else
  libssh2_session_callback_set (c->session, LIBSSH2_CALLBACK_RECV,
                                (void *) counting_recv);
  libssh2_session_callback_set (c->session, LIBSSH2_CALLBACK_SEND,
                                (void *) counting_send);
#endif
  if (ssh_debug_log >= 4) {
    libssh2_trace_sethandler (c->session, c, trace_handler);
    libssh2_trace (c->session, ~0);
  }
  libssh2_session_set_blocking (c->session, 0);
  /* Before the handshake: libssh2 offers zlib only with this flag.  Not
   * on jump hosts: what they carry is already compressed.
   */
  if (params->compression && !c->is_jump) {
    libssh2_session_flag (c->session, LIBSSH2_FLAG_COMPRESS, 1);
    set_prefs (c, LIBSSH2_METHOD_COMP_CS, prefs_comp);
    set_prefs (c, LIBSSH2_METHOD_COMP_SC, prefs_comp);
  }
  /* libssh2_keepalive_send only sends once this is configured. */
  if (params->keepalive > 0)
    libssh2_keepalive_config (c->session, 1, params->keepalive);

  snprintf (hostkeys, sizeof hostkeys, "%s%s%s",
            known_hostkeys, *known_hostkeys ? "," : "", prefs_hostkey);
  set_prefs (c, LIBSSH2_METHOD_HOSTKEY, hostkeys);
  set_prefs (c, LIBSSH2_METHOD_CRYPT_CS,
             params->ciphers ? params->ciphers : prefs_crypt);
  set_prefs (c, LIBSSH2_METHOD_CRYPT_SC,
             params->ciphers ? params->ciphers : prefs_crypt);
  set_prefs (c, LIBSSH2_METHOD_MAC_CS,
             params->macs ? params->macs : prefs_mac);
  set_prefs (c, LIBSSH2_METHOD_MAC_SC,
             params->macs ? params->macs : prefs_mac);
  if (params->kex)
    set_prefs (c, LIBSSH2_METHOD_KEX, params->kex);
  return 0;
}

/* The SSH handshake.  Returns -1 with the reason in c->errbuf (the
 * caller says what failed, with what it knows of the transport).
 */
int
session_handshake (struct ssh_conn *c)
{
  int rc;

  CALL_INT (c, rc, libssh2_session_handshake (c->session, c->sock));
  if (rc != 0) {
    session_error (c);
    return -1;
  }
  ssh_debug ("connected to %s port %u: cipher %s, MAC %s, kex %s, "
             "host key %s, compression %s",
             c->host, c->port,
             libssh2_session_methods (c->session, LIBSSH2_METHOD_CRYPT_CS),
             libssh2_session_methods (c->session, LIBSSH2_METHOD_MAC_CS),
             libssh2_session_methods (c->session, LIBSSH2_METHOD_KEX),
             libssh2_session_methods (c->session, LIBSSH2_METHOD_HOSTKEY),
             libssh2_session_methods (c->session, LIBSSH2_METHOD_COMP_SC));
  ssh_debug_at (2, "%s port %u: server banner %s; server to client: "
                "cipher %s, MAC %s; client to server: compression %s",
                c->host, c->port,
                libssh2_session_banner_get (c->session) ?
                libssh2_session_banner_get (c->session) : "(none)",
                libssh2_session_methods (c->session, LIBSSH2_METHOD_CRYPT_SC),
                libssh2_session_methods (c->session, LIBSSH2_METHOD_MAC_SC),
                libssh2_session_methods (c->session, LIBSSH2_METHOD_COMP_CS));
  if (ssh_debug_log >= 4 &&
      __atomic_load_n (&trace_lines, __ATOMIC_RELAXED) == 0)
    nbdkit_debug ("-D ssh.log=4: libssh2 %s was built without tracing "
                  "(LIBSSH2DEBUG): nothing more than at level 3",
                  libssh2_version (0));
  if (params->compression && !c->is_jump) {
    const char *cs = libssh2_session_methods (c->session,
                                              LIBSSH2_METHOD_COMP_CS);
    const char *sc = libssh2_session_methods (c->session,
                                              LIBSSH2_METHOD_COMP_SC);

    if ((cs == NULL || strcmp (cs, "none") == 0) &&
        (sc == NULL || strcmp (sc, "none") == 0))
      ssh_debug ("compression=true, but %s port %u does not allow "
                 "compression: not compressed", c->host, c->port);
  }
  return 0;
}

/* After a failure, cut the connection at once (abortively): the TCP
 * socket is closed with a zero linger time, so the kernel drops what
 * it had not sent yet (a dead session's WRITEs must not reach the
 * server after a new session has written newer data) and resets the
 * connection.  An unconnected socket takes its place under the same
 * descriptor number, so that whatever still tries to talk to the
 * server (libssh2's goodbyes, SFTP's close) fails at once instead of
 * waiting for a dead server.
 */
void
session_abort_if_broken (struct ssh_conn *c)
{
  struct linger now = { .l_onoff = 1, .l_linger = 0 };
  int dead;

  if (!c->broken || c->sock < 0 || c->aborted)
    return;
  c->aborted = true;
  setsockopt (c->sock, SOL_SOCKET, SO_LINGER, &now, sizeof now);
  dead = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (dead >= 0 && dup2 (dead, c->sock) >= 0)
    ssh_debug ("connection to %s port %u aborted", c->host, c->port);
  else
    shutdown (c->sock, SHUT_RDWR);
  if (dead >= 0)
    close (dead);
}

/* Say goodbye (unless broken), free the session and close the socket. */
void
session_close (struct ssh_conn *c)
{
  int rc, i;

  session_abort_if_broken (c);
  if (c->session) {
    if (!c->broken && c->sock >= 0) {
      CALL_INT (c, rc, libssh2_session_disconnect (c->session,
                                                   "nbdkit: closing"));
      (void) rc;
    }
    /* Bounded: a wait that fails shuts the socket down, after which
     * libssh2 stops asking to wait.
     */
    for (i = 0; i < 100; ++i) {
      if (libssh2_session_free (c->session) != LIBSSH2_ERROR_EAGAIN)
        break;
      if (session_wait (c) == -1 && c->sock >= 0)
        shutdown (c->sock, SHUT_RDWR);
    }
    c->session = NULL;
    blockcache_free (c);
  }
  if (c->sock >= 0) {
    close (c->sock);
    c->sock = -1;
  }
  c->aborted = false;
}
