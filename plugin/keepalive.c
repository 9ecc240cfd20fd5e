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

/* The list of open connections, and the keepalive thread.
 *
 * One thread sends SSH keepalives on connections that have
 * been idle for keepalive= seconds, so that NATs and firewalls keep
 * them, and a dead server is noticed (the connection is then marked
 * broken and the next request reconnects at once).  With a file open
 * the keepalive is an SFTP FSTAT (sftp_ping), else an SSH keepalive.
 * Dead means that sending failed, or, as OpenSSH's ServerAliveCountMax,
 * that the server sent nothing (not even the replies) during
 * keepalive-count keepalives: a stalled server or a network that drops
 * packets.
 */

#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <time.h>

#include "ssh-plugin.h"
#include "conn.h"
#include "keepalive.h"
#include "lock.h"
#include "params.h"
#include "session.h"
#include "sftp.h"
#include "vector.h"

static pthread_mutex_t conns_lock = PTHREAD_MUTEX_INITIALIZER;
DEFINE_VECTOR_TYPE (conn_vector, struct ssh_conn *);
static conn_vector conns;
static pthread_t keepalive_thread;
static bool keepalive_running, stopping;
static pthread_cond_t keepalive_cond = PTHREAD_COND_INITIALIZER;
/* Signalled when a connection's pins (keepalive_for_each) drop. */
static pthread_cond_t unpinned_cond = PTHREAD_COND_INITIALIZER;

int
keepalive_register (struct ssh_conn *c)
{
  LOCK_FOR_SCOPE (&conns_lock);
  if (conn_vector_append (&conns, c) == -1) {
    nbdkit_error ("realloc: %m");
    return -1;
  }
  return 0;
}

/* Take the connection at i out of the list (with conns_lock held). */
static void
remove_at (size_t i)
{
  conns.ptr[i] = conns.ptr[--conns.len];
  if (conns.len == 0)
    conn_vector_reset (&conns);
}

/* Take c out of the list, then wait until no keepalive_for_each
 * caller uses it any more (the caller must not hold c->lock).
 */
void
keepalive_unregister (struct ssh_conn *c)
{
  size_t i;

  LOCK_FOR_SCOPE (&conns_lock);
  for (i = 0; i < conns.len; ++i) {
    if (conns.ptr[i] == c) {
      remove_at (i);
      break;
    }
  }
  while (c->pins > 0)
    pthread_cond_wait (&unpinned_cond, &conns_lock);
}

/* A connection still registered, or NULL: at unload, nbdkit 1.32 may
 * exit without calling .close on the last handles.
 */
struct ssh_conn *
keepalive_any_registered (void)
{
  struct ssh_conn *c;

  LOCK_FOR_SCOPE (&conns_lock);
  c = conns.len > 0 ? conns.ptr[0] : NULL;
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

  if (c->broken || c->session == NULL)
    return;
  /* Write-behind: read the replies that free the window while the
   * client is quiet, and go on setting up more channels for writes.
   */
  if (c->sftp != NULL &&
      (sftp_write_pending (c) || sftp_lanes_pending (c)) &&
      sftp_poll (c) == -1)
    goto dead;
  if (params->keepalive == 0 || idle_ms < params->keepalive * INT64_C (1000))
    return;

  /* Read what arrived while idle (replies to earlier keepalives,
   * read-ahead data): any byte shows the server is alive.  Without
   * SFTP nothing reads the socket, so nothing can be counted.
   */
  if (c->sftp != NULL && params->keepalive_count > 0) {
    if (sftp_poll (c) == -1)
      goto dead;
    if (c->recv_bytes != c->alive_mark)
      c->alive_unanswered = 0;
    else if (c->alive_unanswered >= params->keepalive_count) {
      snprintf (c->errbuf, sizeof c->errbuf,
                "the server sent nothing in reply to %u keepalives "
                "(keepalive=%u, keepalive-count=%u)",
                c->alive_unanswered, params->keepalive,
                params->keepalive_count);
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
  else if (c->sftp != NULL)
    /* Requests in flight (or no file open yet): no SSH keepalive on
     * a session whose channels the SFTP engine drives, as libssh2
     * cannot finish a keepalive packet it sent only in part, and no
     * other packet may go out until it does.
     */
    return;
  else {
    r = libssh2_keepalive_send (c->session, &next);
    /* libssh2 also times keepalives, in whole seconds of wall-clock
     * time (an interval of 1 counts as 2), and reports exactly its
     * interval as the time to the next one when it sent one.  When it
     * declines, try again at the next tick.
     */
    if (r == 0 &&
        next != (int) (params->keepalive == 1 ? 2 : params->keepalive))
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
  ssh_debug ("keepalive sent to %s port %u (%s; %u since the server last "
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

/* Call fn for every open connection, until it returns -1 (the
 * result).  The connections cannot be freed meanwhile: each is pinned
 * (keepalive_unregister waits for the pins, the keepalive thread does
 * not expire a pinned one).  The list lock is not held while fn runs,
 * since fn may take long (drain, reconnect): opening and closing other
 * connections, and keepalives, go on.  fn may take one connection's
 * lock (never while holding another's).
 */
int
keepalive_for_each (int (*fn) (struct ssh_conn *c, void *arg), void *arg)
{
  struct ssh_conn **l;
  int ret = 0;
  size_t i, n;

  pthread_mutex_lock (&conns_lock);
  n = conns.len;
  l = n > 0 ? malloc (n * sizeof *l) : NULL;
  if (n > 0 && l == NULL) {
    /* Out of memory: hold the list lock instead of pinning. */
    for (i = 0; i < conns.len && ret == 0; ++i)
      ret = fn (conns.ptr[i], arg);
    pthread_mutex_unlock (&conns_lock);
    return ret;
  }
  for (i = 0; i < n; ++i) {
    l[i] = conns.ptr[i];
    l[i]->pins++;
  }
  pthread_mutex_unlock (&conns_lock);

  for (i = 0; i < n && ret == 0; ++i)
    ret = fn (l[i], arg);

  pthread_mutex_lock (&conns_lock);
  for (i = 0; i < n; ++i)
    l[i]->pins--;
  pthread_cond_broadcast (&unpinned_cond);
  pthread_mutex_unlock (&conns_lock);
  free (l);
  return ret;
}

/* idle-keep=: a warm connection for path in this mode, taken out of
 * the warm ones (it stays in the list), or NULL.
 */
struct ssh_conn *
keepalive_claim_warm (const char *path, bool readonly)
{
  struct ssh_conn *found = NULL;
  size_t i;

  LOCK_FOR_SCOPE (&conns_lock);
  for (i = 0; i < conns.len && found == NULL; ++i) {
    struct ssh_conn *c = conns.ptr[i];

    if (pthread_mutex_trylock (&c->lock) != 0)
      continue;                 /* busy: not a warm one */
    if (c->warm && !c->broken && c->readonly == readonly &&
        c->path && strcmp (c->path, path) == 0) {
      c->warm = false;
      found = c;
    }
    pthread_mutex_unlock (&c->lock);
  }
  return found;
}

/* The warm connections that expired (idle-keep=) or died, at most
 * max of them (called with conns_lock): no longer warm, and pinned, so
 * that they stay in the list while their writes are finished (other
 * connections' flushes must still find them).
 */
static size_t
take_expired (const struct timespec *now, struct ssh_conn **out, size_t max)
{
  size_t i = 0, n = 0;

  while (i < conns.len && n < max) {
    struct ssh_conn *c = conns.ptr[i];
    bool gone = false;

    /* A pinned one (keepalive_for_each) waits for the next round. */
    if (c->pins == 0 && pthread_mutex_trylock (&c->lock) == 0) {
      int64_t ms = (now->tv_sec - c->warm_since.tv_sec) * INT64_C (1000) +
        (now->tv_nsec - c->warm_since.tv_nsec) / 1000000;

      gone = c->warm &&
        (c->broken || ms >= params->idle_keep * INT64_C (1000));
      if (gone)
        c->warm = false;
      pthread_mutex_unlock (&c->lock);
    }
    if (gone) {
      c->pins++;
      out[n++] = c;
    }
    i++;
  }
  return n;
}

static void *
keepalive_loop (void *arg)
{
  struct timespec now, until;
  struct ssh_conn *expired[16];
  size_t i, n;

  pthread_mutex_lock (&conns_lock);
  while (!stopping) {
    clock_gettime (CLOCK_MONOTONIC, &now);
    for (i = 0; i < conns.len; ++i) {
      struct ssh_conn *c = conns.ptr[i];

      /* A connection busy with a request needs no keepalive. */
      if (pthread_mutex_trylock (&c->lock) == 0) {
        keepalive_one (c, &now);
        pthread_mutex_unlock (&c->lock);
      }
    }
    /* Closed outside the list lock: closing waits for the server.
     * Their writes are finished while they are still listed, then
     * they leave the list and are freed.
     */
    n = take_expired (&now, expired, sizeof expired / sizeof expired[0]);
    if (n > 0) {
      pthread_mutex_unlock (&conns_lock);
      for (i = 0; i < n; ++i) {
        ssh_debug ("idle-keep: closing the warm session to %s port %u (%s)",
                   expired[i]->host, expired[i]->port,
                   expired[i]->broken ? "dead" : "expired");
        conn_drain (expired[i]);
      }
      pthread_mutex_lock (&conns_lock);
      for (i = 0; i < n; ++i)
        expired[i]->pins--;
      pthread_cond_broadcast (&unpinned_cond);
      pthread_mutex_unlock (&conns_lock);
      for (i = 0; i < n; ++i) {
        keepalive_unregister (expired[i]);
        conn_free (expired[i]);
      }
      pthread_mutex_lock (&conns_lock);
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
keepalive_start (void)
{
  int err;

  /* Also without keepalives: the thread sends what write-behind
   * queued beyond the channel window while the client is quiet.
   */
  if ((params->keepalive == 0 && params->idle_keep == 0 &&
       params->write_behind == 0) || keepalive_running)
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
keepalive_stop (void)
{
  if (keepalive_running) {
    pthread_mutex_lock (&conns_lock);
    stopping = true;
    pthread_cond_signal (&keepalive_cond);
    pthread_mutex_unlock (&conns_lock);
    pthread_join (keepalive_thread, NULL);
    keepalive_running = false;
  }
  /* The list of connections exists with or without the thread; the
   * caller closes what is left in it.
   */
}
