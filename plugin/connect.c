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

/* The connection module: resolve, connect with a timeout, set up the
 * libssh2 session in non-blocking mode and wait on its socket.
 */

#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "ssh-plugin.h"

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
  deadline->tv_sec += params.timeout;
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
    int ms = params.timeout == 0 ? -1 : remaining_ms (deadline);
    r = poll (&pfd, 1, ms);
    if (r == -1 && errno == EINTR)
      continue;
    if (r == -1)
      return -1;
    if (r == 0)
      return params.timeout == 0 ? 1 : 0;
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
  make_deadline (&deadline);
  r = poll_deadline (c->sock, events, &deadline);
  if (r == 1)
    return 0;
  c->wait_failed = true;
  if (r == 0)
    snprintf (c->errbuf, sizeof c->errbuf,
              "timed out after %u seconds waiting for the server "
              "(timeout=%u)", params.timeout, params.timeout);
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

static int
tcp_connect (struct ssh_conn *c)
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
    nbdkit_error ("cannot resolve host %s: %s", c->host,
                  r == EAI_SYSTEM ? strerror (errno) : gai_strerror (r));
    return -1;
  }

  for (ai = res; ai != NULL; ai = ai->ai_next) {
    if (getnameinfo (ai->ai_addr, ai->ai_addrlen, addr, sizeof addr,
                     NULL, 0, NI_NUMERICHOST) != 0)
      snprintf (addr, sizeof addr, "?");
    debug ("connecting to %s port %u (%s)", c->host, c->port, addr);
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
    nbdkit_error ("cannot connect to %s port %u: %s",
                  c->host, c->port, errs);
    nbdkit_set_error (EIO);
    return -1;
  }
  if (setsockopt (c->sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == -1)
    debug ("setsockopt TCP_NODELAY: %m (ignored)");
  return 0;
}

/* Is name an element of the comma-separated list? */
bool
list_has (const char *list, const char *name)
{
  size_t len = strlen (name);
  const char *p;

  for (p = list; (p = strstr (p, name)) != NULL; p += len)
    if ((p == list || p[-1] == ',') && (p[len] == ',' || p[len] == '\0'))
      return true;
  return false;
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
  const char *p;
  int i, nr;

  nr = libssh2_session_supported_algs (c->session, method, &algs);
  if (nr <= 0) {
    debug ("cannot list supported algorithms (method %d): %s",
           method, session_error (c));
    return;
  }
  for (p = wanted; *p; p += len + (p[len] == ',')) {
    char name[128];

    len = strcspn (p, ",");
    snprintf (name, sizeof name, "%.*s", (int) len, p);
    if (list_has (list, name))
      continue;                 /* given twice */
    for (i = 0; i < nr; ++i) {
      if (strlen (algs[i]) == len && strncmp (algs[i], p, len) == 0 &&
          n + len + 2 < sizeof list) {
        n += snprintf (list + n, sizeof list - n, "%s%.*s",
                       n ? "," : "", (int) len, p);
        break;
      }
    }
  }
  libssh2_free (c->session, algs);
  if (n == 0 ||
      libssh2_session_method_pref (c->session, method, list) != 0)
    debug ("cannot set algorithm preference %s (method %d): %s",
           list, method, session_error (c));
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

  if (r < 0)
    return -errno;
  c->recv_bytes += r;
  return r;
}

int
conn_connect (struct ssh_conn *c)
{
  int rc;

  /* A socket may already be given (a hop after the first); the target
   * behind jump hosts gets the socket of the last hop's forwarder.
   */
  if (c->sock == -1) {
    if (!c->is_jump && params.nr_jumps > 0) {
      if (jump_open (c) == -1)
        return -1;
    }
    else if (!c->is_jump && params.proxy_command) {
      if (proxy_command_open (c) == -1)
        return -1;
    }
    else if (tcp_connect (c) == -1)
      return -1;
  }

  c->session = libssh2_session_init_ex (NULL, NULL, NULL, c);
  if (c->session == NULL) {
    nbdkit_error ("cannot create libssh2 session for %s port %u",
                  c->host, c->port);
    return -1;
  }
#ifdef HAVE_LIBSSH2_SESSION_CALLBACK_SET2
  libssh2_session_callback_set2 (c->session, LIBSSH2_CALLBACK_RECV,
                                 (libssh2_cb_generic *) counting_recv);
#else
  libssh2_session_callback_set (c->session, LIBSSH2_CALLBACK_RECV,
                                (void *) counting_recv);
#endif
  libssh2_session_set_blocking (c->session, 0);
  /* keepalive_send only sends once this is configured. */
  if (params.keepalive > 0)
    libssh2_keepalive_config (c->session, 1, params.keepalive);

  {
    /* Key types known_hosts holds for this host first, then ours. */
    char known[512], hostkeys[1024];

    hostkey_known_algorithms (c, known, sizeof known);
    snprintf (hostkeys, sizeof hostkeys, "%s%s%s",
              known, *known ? "," : "", prefs_hostkey);
    set_prefs (c, LIBSSH2_METHOD_HOSTKEY, hostkeys);
  }
  set_prefs (c, LIBSSH2_METHOD_CRYPT_CS,
             params.ciphers ? params.ciphers : prefs_crypt);
  set_prefs (c, LIBSSH2_METHOD_CRYPT_SC,
             params.ciphers ? params.ciphers : prefs_crypt);
  set_prefs (c, LIBSSH2_METHOD_MAC_CS, params.macs ? params.macs : prefs_mac);
  set_prefs (c, LIBSSH2_METHOD_MAC_SC, params.macs ? params.macs : prefs_mac);
  if (params.kex)
    set_prefs (c, LIBSSH2_METHOD_KEX, params.kex);

  CALL_INT (c, rc, libssh2_session_handshake (c->session, c->sock));
  if (rc != 0) {
    char how[128];

    proxy_command_status (c, how, sizeof how);
    nbdkit_error ("SSH handshake with %s port %u failed: %s%s%s",
                  c->host, c->port, session_error (c),
                  *how ? "; " : "", how);
    nbdkit_set_error (EIO);
    return -1;
  }
  debug ("connected to %s port %u: cipher %s, MAC %s, kex %s, host key %s",
         c->host, c->port,
         libssh2_session_methods (c->session, LIBSSH2_METHOD_CRYPT_CS),
         libssh2_session_methods (c->session, LIBSSH2_METHOD_MAC_CS),
         libssh2_session_methods (c->session, LIBSSH2_METHOD_KEX),
         libssh2_session_methods (c->session, LIBSSH2_METHOD_HOSTKEY));
  return 0;
}

/* Tear down whatever was set up.  After an error the socket is shut
 * down first so that libssh2's goodbyes fail at once instead of waiting.
 */
void
conn_close (struct ssh_conn *c)
{
  int rc, i;

  /* After a failure, shut the socket down first so that libssh2's
   * goodbyes fail at once instead of waiting for a dead server.
   */
  if (c->broken && c->sock >= 0)
    shutdown (c->sock, SHUT_RDWR);
  sftp_stop (c);
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
  }
  if (c->sock >= 0) {
    close (c->sock);
    c->sock = -1;
  }
  jump_close (c);
  proxy_command_close (c);
}

/* Everything from the TCP connection to the open remote file.  On
 * failure the connection is torn down again and -1 returned (after
 * one nbdkit_error saying why).
 */
int
conn_establish (struct ssh_conn *c)
{
  if (c->host == NULL) {
    c->host = params.host;
    c->port = params.port;
    c->user = params.user;
  }
  c->sock = -1;
  c->broken = c->wait_failed = false;
  c->errbuf[0] = '\0';
  if (conn_connect (c) == -1 || hostkey_verify (c) == -1 ||
      auth_authenticate (c) == -1 || sftp_start (c) == -1) {
    c->broken = true;
    conn_close (c);
    return -1;
  }
  clock_gettime (CLOCK_MONOTONIC, &c->last_used);
  return 0;
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
                  what, params.path, c->size, old_size);
    c->size = old_size;
  }
  return 0;
}

/* Keepalive: one thread sends SSH keepalives on connections that have
 * been idle for keepalive= seconds, so that NATs and firewalls keep
 * them, and a dead server is noticed (the connection is then marked
 * broken and the next request reconnects at once).  With a file open
 * the keepalive is an SFTP FSTAT (sftp_ping), else an SSH keepalive.
 * Dead means that sending failed, or, as OpenSSH's ServerAliveCountMax,
 * that the server sent nothing (not even the replies) during
 * keepalive-count keepalives: a stalled server or a network that drops
 * packets.
 */
static pthread_mutex_t conns_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ssh_conn **conns;
static size_t nr_conns;
static pthread_t keepalive_thread;
static bool keepalive_running, keepalive_stop;
static pthread_cond_t keepalive_cond = PTHREAD_COND_INITIALIZER;

int
conn_register (struct ssh_conn *c)
{
  struct ssh_conn **l;

  pthread_mutex_lock (&conns_lock);
  l = realloc (conns, (nr_conns + 1) * sizeof *l);
  if (l == NULL) {
    pthread_mutex_unlock (&conns_lock);
    nbdkit_error ("realloc: %m");
    return -1;
  }
  conns = l;
  conns[nr_conns++] = c;
  pthread_mutex_unlock (&conns_lock);
  return 0;
}

void
conn_unregister (struct ssh_conn *c)
{
  size_t i;

  pthread_mutex_lock (&conns_lock);
  for (i = 0; i < nr_conns; ++i) {
    if (conns[i] == c) {
      conns[i] = conns[--nr_conns];
      break;
    }
  }
  pthread_mutex_unlock (&conns_lock);
}

/* A connection still registered, or NULL: at unload, nbdkit 1.32 may
 * exit without calling .close on the last handles.
 */
struct ssh_conn *
conn_any_registered (void)
{
  struct ssh_conn *c;

  pthread_mutex_lock (&conns_lock);
  c = nr_conns > 0 ? conns[0] : NULL;
  pthread_mutex_unlock (&conns_lock);
  return c;
}

static void
keepalive_one (struct ssh_conn *c, const struct timespec *now)
{
  int next, r;
  uint64_t mark;
  const char *kind;
  int64_t idle_ms = (now->tv_sec - c->last_used.tv_sec) * INT64_C (1000) +
    (now->tv_nsec - c->last_used.tv_nsec) / 1000000;

  if (c->broken || c->session == NULL ||
      idle_ms < params.keepalive * INT64_C (1000))
    return;

  /* Read what arrived while idle (replies to earlier keepalives,
   * read-ahead data): any byte shows the server is alive.  Without
   * SFTP nothing reads the socket, so nothing can be counted.
   */
  if (c->sftp != NULL && params.keepalive_count > 0) {
    if (sftp_poll (c) == -1)
      goto dead;
    if (c->recv_bytes != c->alive_mark)
      c->alive_unanswered = 0;
    else if (c->alive_unanswered >= params.keepalive_count) {
      snprintf (c->errbuf, sizeof c->errbuf,
                "the server sent nothing in reply to %u keepalives "
                "(keepalive=%u, keepalive-count=%u)",
                c->alive_unanswered, params.keepalive,
                params.keepalive_count);
      goto dead;
    }
  }

  /* Bytes from here on answer this keepalive (the reply may be read
   * while it is being sent).
   */
  mark = c->recv_bytes;

  /* With a file open, an SFTP request (see sftp_ping); else an SSH
   * keepalive.
   */
  r = c->sftp != NULL ? sftp_ping (c) : 0;
  if (r == -1)
    goto dead;
  if (r == 1)
    kind = "SFTP FSTAT";
  else {
    r = libssh2_keepalive_send (c->session, &next);
    /* libssh2 also times keepalives, in whole seconds of wall-clock
     * time (an interval of 1 counts as 2), and reports exactly its
     * interval as the time to the next one when it sent one.  When it
     * declines, try again at the next tick.
     */
    if (r == 0 && next != (int) (params.keepalive == 1 ? 2 : params.keepalive))
      return;
    if (r != 0 && r != LIBSSH2_ERROR_EAGAIN) {
      snprintf (c->errbuf, sizeof c->errbuf, "keepalive failed: %s",
                session_error (c));
      goto dead;
    }
    kind = "SSH keepalive";
  }
  c->alive_mark = mark;
  c->alive_unanswered++;
  debug ("keepalive sent to %s port %u (%s; %u since the server last "
         "sent anything)", c->host, c->port, kind, c->alive_unanswered);
  c->last_used = *now;
  return;

 dead:
  /* The reason is in errbuf; the next request reconnects.  Normal
   * verbosity.
   */
  c->broken = true;
  nbdkit_debug ("ssh: connection to %s port %u is dead: %s",
                c->host, c->port, c->errbuf);
}

static void *
keepalive_loop (void *arg)
{
  struct timespec now, until;
  size_t i;

  pthread_mutex_lock (&conns_lock);
  while (!keepalive_stop) {
    clock_gettime (CLOCK_MONOTONIC, &now);
    for (i = 0; i < nr_conns; ++i) {
      struct ssh_conn *c = conns[i];

      /* A connection busy with a request needs no keepalive. */
      if (pthread_mutex_trylock (&c->lock) == 0) {
        keepalive_one (c, &now);
        pthread_mutex_unlock (&c->lock);
      }
    }
    /* A quarter second: keepalives go out at most that late. */
    clock_gettime (CLOCK_REALTIME, &until);
    until.tv_nsec += 250000000;
    if (until.tv_nsec >= 1000000000) {
      until.tv_sec++;
      until.tv_nsec -= 1000000000;
    }
    pthread_cond_timedwait (&keepalive_cond, &conns_lock, &until);
  }
  pthread_mutex_unlock (&conns_lock);
  return NULL;
}

int
conn_start_keepalive (void)
{
  int err;

  if (params.keepalive == 0 || keepalive_running)
    return 0;
  err = pthread_create (&keepalive_thread, NULL, keepalive_loop, NULL);
  if (err != 0) {
    errno = err;
    nbdkit_error ("cannot start the keepalive thread: %m");
    return -1;
  }
  keepalive_running = true;
  return 0;
}

void
conn_stop_keepalive (void)
{
  if (keepalive_running) {
    pthread_mutex_lock (&conns_lock);
    keepalive_stop = true;
    pthread_cond_signal (&keepalive_cond);
    pthread_mutex_unlock (&conns_lock);
    pthread_join (keepalive_thread, NULL);
    keepalive_running = false;
  }
  /* The list of connections exists with or without the thread. */
  free (conns);
  conns = NULL;
  nr_conns = 0;
}
