/* nbdkit-ssh-plugin (libssh2)
 * Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * fault-proxy: a TCP proxy for the tests, between the plugin and the
 * test sshd, that misbehaves on purpose.  It listens on 127.0.0.1 on a
 * free port (written to PORTFILE once it listens) and forwards every
 * connection to 127.0.0.1:TARGET.  The first COUNT connections (-c,
 * default 1) get the fault; later ones (the plugin's reconnects) are
 * forwarded untouched.
 *
 *   fault-proxy -p PORTFILE -t TARGET [-m MODE] [-n BYTES] [-s SECS]
 *               [-r BYTES_PER_SEC] [-c COUNT]
 *
 * MODE:
 *   pass   forward only (the default)
 *   cut    after BYTES bytes (both directions together), reset both
 *          connections (RST)
 *   stall  after BYTES bytes, forward nothing for SECS seconds (0:
 *          until the proxy is killed), then go on
 *   slow   forward at most BYTES_PER_SEC bytes per second each way
 *
 * On demand, for every connection open at the time (whatever MODE):
 *   SIGUSR1  cut (reset) them all now
 *   SIGUSR2  hold them: forward nothing until SIGHUP (connections
 *            accepted later are not held)
 *   SIGHUP   release the held connections
 * Signals that are pending together are taken in signal-number order,
 * SIGHUP first: to end a hold with a cut, send SIGUSR1 alone (a cut
 * connection stays cut), not SIGUSR1 then SIGHUP.
 * (tests/fault-explorer.py injects its link faults this way.)
 *
 * Events are logged on stderr ("fault-proxy: conn 1: cut after N
 * bytes"); when a connection ends, the bytes it carried ("conn 1:
 * closed after N bytes (A to the server, B to the client)").  Loopback only; libc and pthreads only.
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1           /* accept4 */
#endif

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum mode { MODE_PASS, MODE_CUT, MODE_STALL, MODE_SLOW };

static enum mode mode = MODE_PASS;
static uint64_t fault_bytes;
static unsigned stall_secs;
static uint64_t rate;
static unsigned fault_count = 1;
static unsigned short target_port;

struct conn {
  unsigned id;
  int fd[2];                    /* 0: client side, 1: server side */
  bool faulty;
  pthread_mutex_t lock;
  uint64_t total;               /* bytes forwarded, both directions */
  uint64_t sent[2];             /* bytes forwarded from fd[i] */
  bool fired;                   /* the fault has happened */
  bool cut;                     /* connection torn down */
  struct timespec stall_end;
  bool held;                    /* SIGUSR2 until SIGHUP */
  int refs;
  struct conn *next, *prev;     /* the list of open connections */
};

/* Every connection not yet released, for the signals. */
static pthread_mutex_t list_lock = PTHREAD_MUTEX_INITIALIZER;
static struct conn *conns;

struct dir {
  struct conn *c;
  int from;                     /* index into c->fd */
};

static void
logmsg (const char *fs, ...)
{
  va_list args;
  char buf[512];

  va_start (args, fs);
  vsnprintf (buf, sizeof buf, fs, args);
  va_end (args);
  fprintf (stderr, "fault-proxy: %s\n", buf);
}

static double
now (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
sleep_secs (double s)
{
  struct timespec ts;

  if (s <= 0)
    return;
  ts.tv_sec = (time_t) s;
  ts.tv_nsec = (long) ((s - ts.tv_sec) * 1e9);
  while (nanosleep (&ts, &ts) == -1 && errno == EINTR)
    ;
}

static int
write_all (int fd, const char *buf, size_t n)
{
  while (n > 0) {
    ssize_t r = send (fd, buf, n, MSG_NOSIGNAL);
    if (r == -1) {
      if (errno == EINTR)
        continue;
      return -1;
    }
    buf += r;
    n -= r;
  }
  return 0;
}

/* Tear both sides down with a reset.  Called with c->lock held. */
static void
cut_locked (struct conn *c)
{
  struct linger lg = { .l_onoff = 1, .l_linger = 0 };
  int i;

  if (c->cut)
    return;
  c->cut = true;
  for (i = 0; i < 2; ++i) {
    setsockopt (c->fd[i], SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    shutdown (c->fd[i], SHUT_RDWR);
  }
}

static void
release (struct conn *c)
{
  bool last;

  pthread_mutex_lock (&c->lock);
  last = --c->refs == 0;
  pthread_mutex_unlock (&c->lock);
  if (last) {
    pthread_mutex_lock (&list_lock);
    if (c->prev)
      c->prev->next = c->next;
    else
      conns = c->next;
    if (c->next)
      c->next->prev = c->prev;
    pthread_mutex_unlock (&list_lock);
    close (c->fd[0]);
    close (c->fd[1]);
    logmsg ("conn %u: closed after %llu bytes "
            "(%llu to the server, %llu to the client)", c->id,
            (unsigned long long) c->total,
            (unsigned long long) c->sent[0],
            (unsigned long long) c->sent[1]);
    pthread_mutex_destroy (&c->lock);
    free (c);
  }
}

static void *
forward (void *arg)
{
  struct dir *d = arg;
  struct conn *c = d->c;
  int from = c->fd[d->from], to = c->fd[1 - d->from];
  char *buf;
  size_t pending = 0, off = 0;
  double next = 0;               /* MODE_SLOW: when the next byte may go */

  buf = malloc (65536);
  if (buf == NULL) {
    logmsg ("malloc: %s", strerror (errno));
    goto out;
  }

  for (;;) {
    size_t want = 65536, n;
    ssize_t r;

    pthread_mutex_lock (&c->lock);
    if (c->cut) {
      pthread_mutex_unlock (&c->lock);
      break;
    }
    if (c->held) {
      pthread_mutex_unlock (&c->lock);
      sleep_secs (0.02);
      continue;
    }
    if (c->faulty && mode == MODE_STALL && c->fired) {
      double end = c->stall_end.tv_sec + c->stall_end.tv_nsec / 1e9;
      pthread_mutex_unlock (&c->lock);
      if (stall_secs == 0 || now () < end) {
        sleep_secs (0.05);
        continue;
      }
    }
    else
      pthread_mutex_unlock (&c->lock);

    if (pending == 0) {
      if (c->faulty && mode == MODE_SLOW && want > rate / 20 + 1)
        want = rate / 20 + 1;
      r = recv (from, buf, want, 0);
      if (r == -1 && errno == EINTR)
        continue;
      if (r <= 0) {
        /* EOF or error: pass the half-close on. */
        shutdown (to, SHUT_WR);
        if (r == -1)
          shutdown (from, SHUT_RDWR);
        break;
      }
      pending = r;
      off = 0;
    }

    /* How much of it may go before the fault. */
    n = pending;
    pthread_mutex_lock (&c->lock);
    if (c->held || c->cut) {
      /* Held since the recv: go round (the top of the loop waits, or
       * leaves if the connection was cut meanwhile, dropping what it
       * holds).
       */
      pthread_mutex_unlock (&c->lock);
      continue;
    }
    if (c->faulty && (mode == MODE_CUT || mode == MODE_STALL) && !c->fired) {
      uint64_t left = fault_bytes - c->total;
      if (left == 0) {
        c->fired = true;
        if (mode == MODE_CUT) {
          logmsg ("conn %u: cut after %llu bytes", c->id,
                  (unsigned long long) c->total);
          cut_locked (c);
          pthread_mutex_unlock (&c->lock);
          break;
        }
        logmsg ("conn %u: stall after %llu bytes for %u s%s", c->id,
                (unsigned long long) c->total, stall_secs,
                stall_secs ? "" : " (for ever)");
        clock_gettime (CLOCK_MONOTONIC, &c->stall_end);
        c->stall_end.tv_sec += stall_secs;
        pthread_mutex_unlock (&c->lock);
        continue;
      }
      if (n > left)
        n = left;
    }
    c->total += n;
    c->sent[d->from] += n;
    pthread_mutex_unlock (&c->lock);

    if (write_all (to, buf + off, n) == -1) {
      pthread_mutex_lock (&c->lock);
      if (!c->cut) {
        shutdown (from, SHUT_RDWR);
        shutdown (to, SHUT_RDWR);
      }
      pthread_mutex_unlock (&c->lock);
      break;
    }
    off += n;
    pending -= n;
    if (c->faulty && mode == MODE_SLOW) {
      /* No credit for idle time: never faster than the rate. */
      double t = now ();
      if (next < t)
        next = t;
      next += (double) n / rate;
      sleep_secs (next - t);
    }
  }

 out:
  free (buf);
  free (d);
  release (c);
  return NULL;
}

/* SIGUSR1, SIGUSR2, SIGHUP: see the top of the file. */
static void *
signals (void *arg)
{
  sigset_t *set = arg;

  for (;;) {
    struct conn *c;
    unsigned n = 0;
    int sig;

    if (sigwait (set, &sig) != 0)
      continue;
    pthread_mutex_lock (&list_lock);
    for (c = conns; c != NULL; c = c->next) {
      pthread_mutex_lock (&c->lock);
      if (!c->cut) {
        n++;
        if (sig == SIGUSR1)
          cut_locked (c);
        else
          c->held = sig == SIGUSR2;
      }
      pthread_mutex_unlock (&c->lock);
    }
    pthread_mutex_unlock (&list_lock);
    logmsg ("%s %u connections",
            sig == SIGUSR1 ? "SIGUSR1: cut" :
            sig == SIGUSR2 ? "SIGUSR2: hold" : "SIGHUP: release", n);
  }
  return NULL;
}

static int
connect_target (void)
{
  struct sockaddr_in sa = { .sin_family = AF_INET };
  int fd, one = 1;

  sa.sin_port = htons (target_port);
  sa.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd == -1)
    return -1;
  if (connect (fd, (struct sockaddr *) &sa, sizeof sa) == -1) {
    close (fd);
    return -1;
  }
  setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

static void
usage (void)
{
  fprintf (stderr,
           "usage: fault-proxy -p PORTFILE -t TARGET_PORT "
           "[-m pass|cut|stall|slow]\n"
           "                   [-n BYTES] [-s SECS] [-r BYTES_PER_SEC] "
           "[-c COUNT]\n");
  exit (2);
}

static unsigned long long
number (const char *s)
{
  char *end;
  unsigned long long v;

  errno = 0;
  v = strtoull (s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || *s == '-') {
    fprintf (stderr, "fault-proxy: bad number: %s\n", s);
    exit (2);
  }
  return v;
}

int
main (int argc, char *argv[])
{
  const char *portfile = NULL;
  struct sockaddr_in sa = { .sin_family = AF_INET };
  socklen_t len = sizeof sa;
  unsigned id = 0;
  char tmp[4096];
  FILE *fp;
  int c, lfd, one = 1;

  while ((c = getopt (argc, argv, "p:t:m:n:s:r:c:")) != -1) {
    switch (c) {
    case 'p': portfile = optarg; break;
    case 't': target_port = number (optarg); break;
    case 'n': fault_bytes = number (optarg); break;
    case 's': stall_secs = number (optarg); break;
    case 'r': rate = number (optarg); break;
    case 'c': fault_count = number (optarg); break;
    case 'm':
      if (strcmp (optarg, "pass") == 0) mode = MODE_PASS;
      else if (strcmp (optarg, "cut") == 0) mode = MODE_CUT;
      else if (strcmp (optarg, "stall") == 0) mode = MODE_STALL;
      else if (strcmp (optarg, "slow") == 0) mode = MODE_SLOW;
      else usage ();
      break;
    default:
      usage ();
    }
  }
  if (portfile == NULL || target_port == 0 || optind != argc ||
      (mode == MODE_SLOW && rate == 0))
    usage ();

  signal (SIGPIPE, SIG_IGN);
  {
    static sigset_t set;
    pthread_t th;
    int err;

    /* Blocked in every thread (inherited), taken by sigwait. */
    sigemptyset (&set);
    sigaddset (&set, SIGUSR1);
    sigaddset (&set, SIGUSR2);
    sigaddset (&set, SIGHUP);
    pthread_sigmask (SIG_BLOCK, &set, NULL);
    err = pthread_create (&th, NULL, signals, &set);
    if (err != 0) {
      fprintf (stderr, "fault-proxy: pthread_create: %s\n", strerror (err));
      exit (1);
    }
    pthread_detach (th);
  }
  lfd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (lfd == -1) {
    perror ("fault-proxy: socket");
    exit (1);
  }
  setsockopt (lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sa.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  if (bind (lfd, (struct sockaddr *) &sa, sizeof sa) == -1 ||
      listen (lfd, 16) == -1 ||
      getsockname (lfd, (struct sockaddr *) &sa, &len) == -1) {
    perror ("fault-proxy: bind/listen");
    exit (1);
  }

  /* The port, atomically. */
  snprintf (tmp, sizeof tmp, "%s.tmp", portfile);
  fp = fopen (tmp, "w");
  if (fp == NULL || fprintf (fp, "%u\n", ntohs (sa.sin_port)) < 0 ||
      fclose (fp) == EOF || rename (tmp, portfile) == -1) {
    perror ("fault-proxy: writing the port file");
    exit (1);
  }
  logmsg ("listening on 127.0.0.1:%u, forwarding to 127.0.0.1:%u",
          ntohs (sa.sin_port), target_port);

  for (;;) {
    struct conn *cn;
    pthread_t th;
    pthread_attr_t attr;
    int cfd, sfd, i, err;

    cfd = accept4 (lfd, NULL, NULL, SOCK_CLOEXEC);
    if (cfd == -1) {
      if (errno == EINTR || errno == ECONNABORTED)
        continue;
      perror ("fault-proxy: accept");
      exit (1);
    }
    setsockopt (cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sfd = connect_target ();
    if (sfd == -1) {
      logmsg ("cannot connect to 127.0.0.1:%u: %s", target_port,
              strerror (errno));
      close (cfd);
      continue;
    }
    cn = calloc (1, sizeof *cn);
    if (cn == NULL) {
      perror ("fault-proxy: calloc");
      exit (1);
    }
    cn->id = ++id;
    cn->fd[0] = cfd;
    cn->fd[1] = sfd;
    cn->faulty = mode != MODE_PASS && cn->id <= fault_count;
    cn->refs = 2;
    pthread_mutex_init (&cn->lock, NULL);
    pthread_mutex_lock (&list_lock);
    cn->next = conns;
    if (conns)
      conns->prev = cn;
    conns = cn;
    pthread_mutex_unlock (&list_lock);
    logmsg ("conn %u: accepted%s", cn->id, cn->faulty ? " (faulty)" : "");

    pthread_attr_init (&attr);
    pthread_attr_setdetachstate (&attr, PTHREAD_CREATE_DETACHED);
    for (i = 0; i < 2; ++i) {
      struct dir *d = malloc (sizeof *d);
      if (d == NULL) {
        perror ("fault-proxy: malloc");
        exit (1);
      }
      d->c = cn;
      d->from = i;
      err = pthread_create (&th, &attr, forward, d);
      if (err != 0) {
        fprintf (stderr, "fault-proxy: pthread_create: %s\n", strerror (err));
        exit (1);
      }
    }
    pthread_attr_destroy (&attr);
  }
}
