/* delay-proxy: a latency-injecting TCP proxy for the benchmark.
 * Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * Usage: delay-proxy LISTEN_PORT TARGET_HOST TARGET_PORT DELAY_MS
 *
 * Listens on 127.0.0.1:LISTEN_PORT (0 = any free port, printed on stdout
 * as the first line "port N").  Every accepted connection is connected to
 * TARGET_HOST:TARGET_PORT and bytes are forwarded in both directions,
 * each direction delayed by DELAY_MS (so the added round trip is
 * 2 * DELAY_MS).  Bandwidth is not limited: each chunk is stamped when it
 * is read and written out at arrival + DELAY_MS, so a long fat pipe is
 * emulated, not a slow one.
 *
 * With DELAY_MS 0 each direction is one thread copying read to write.
 * Otherwise, per connection and direction there is one reader thread
 * (read, stamp, append to a queue) and one writer thread (wait for the
 * head chunk's release time, write it).  A direction stops reading while more than
 * MAX_QUEUED bytes are queued in it.  EOF is queued like data: the writer
 * shuts down the write side toward the peer once everything before it has
 * been written (half-close is preserved).  Any error tears the whole
 * connection down.  SIGTERM/SIGINT/SIGHUP exit the process.
 *
 * Only libc and pthreads.
 */

#define _GNU_SOURCE 1

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#define CHUNK_SIZE (128 * 1024)
#define MAX_QUEUED (64 * 1024 * 1024)
#define THREAD_STACK (256 * 1024)

struct chunk {
  struct chunk *next;
  struct timespec release;      /* when it may be written */
  size_t len;                   /* 0 = EOF marker */
  size_t off;                   /* bytes already written */
  char data[];
};

struct conn;

struct direction {
  struct conn *conn;
  int src, dst;
  const char *name;
  pthread_mutex_t lock;
  pthread_cond_t cond;          /* queue changed / space freed / dead */
  struct chunk *head, *tail;
  size_t queued;                /* bytes allocated to queued chunks */
};

struct conn {
  int id;
  int client_fd, server_fd;
  struct direction up;          /* client -> server */
  struct direction down;        /* server -> client */
  pthread_mutex_t lock;
  int refs;                     /* live threads */
  bool dead;
};

static const char *target_host, *target_port;
static long delay_ms;
static bool verbose;

static void
die (const char *msg)
{
  perror (msg);
  exit (EXIT_FAILURE);
}

static void
ts_add_ms (struct timespec *ts, long ms)
{
  ts->tv_sec += ms / 1000;
  ts->tv_nsec += (ms % 1000) * 1000000L;
  if (ts->tv_nsec >= 1000000000L) {
    ts->tv_sec++;
    ts->tv_nsec -= 1000000000L;
  }
}

/* Tear the connection down: wakes every blocked reader and writer. */
static void
conn_kill (struct conn *c)
{
  struct direction *dirs[2] = { &c->up, &c->down };
  int i;

  pthread_mutex_lock (&c->lock);
  if (c->dead) {
    pthread_mutex_unlock (&c->lock);
    return;
  }
  c->dead = true;
  pthread_mutex_unlock (&c->lock);

  shutdown (c->client_fd, SHUT_RDWR);
  shutdown (c->server_fd, SHUT_RDWR);
  for (i = 0; i < 2; ++i) {
    pthread_mutex_lock (&dirs[i]->lock);
    pthread_cond_broadcast (&dirs[i]->cond);
    pthread_mutex_unlock (&dirs[i]->lock);
  }
}

static bool
conn_is_dead (struct conn *c)
{
  bool r;

  pthread_mutex_lock (&c->lock);
  r = c->dead;
  pthread_mutex_unlock (&c->lock);
  return r;
}

static void
direction_free (struct direction *d)
{
  struct chunk *ch, *next;

  for (ch = d->head; ch; ch = next) {
    next = ch->next;
    free (ch);
  }
  pthread_mutex_destroy (&d->lock);
  pthread_cond_destroy (&d->cond);
}

/* Called by each thread as it exits; the last one frees the connection. */
static void
conn_unref (struct conn *c)
{
  int refs;

  pthread_mutex_lock (&c->lock);
  refs = --c->refs;
  pthread_mutex_unlock (&c->lock);
  if (refs > 0)
    return;

  if (verbose)
    fprintf (stderr, "delay-proxy: connection %d closed\n", c->id);
  close (c->client_fd);
  close (c->server_fd);
  direction_free (&c->up);
  direction_free (&c->down);
  pthread_mutex_destroy (&c->lock);
  free (c);
}

static void
enqueue (struct direction *d, struct chunk *ch)
{
  ch->next = NULL;
  if (d->tail)
    d->tail->next = ch;
  else
    d->head = ch;
  d->tail = ch;
  d->queued += ch->len + sizeof *ch;
  pthread_cond_broadcast (&d->cond);
}

static void *
reader (void *arg)
{
  struct direction *d = arg;
  struct conn *c = d->conn;
  struct chunk *ch = NULL;
  ssize_t r;

  for (;;) {
    /* Back-pressure: wait while too much is queued. */
    pthread_mutex_lock (&d->lock);
    while (d->queued > MAX_QUEUED && !conn_is_dead (c))
      pthread_cond_wait (&d->cond, &d->lock);
    pthread_mutex_unlock (&d->lock);
    if (conn_is_dead (c))
      break;

    if (ch == NULL) {
      ch = malloc (sizeof *ch + CHUNK_SIZE);
      if (ch == NULL) {
        perror ("delay-proxy: malloc");
        conn_kill (c);
        break;
      }
    }
    do
      r = read (d->src, ch->data, CHUNK_SIZE);
    while (r == -1 && errno == EINTR);
    if (r == -1) {
      if (verbose)
        fprintf (stderr, "delay-proxy: connection %d %s read: %m\n",
                 c->id, d->name);
      if (errno != ECONNRESET) {
        conn_kill (c);
        break;
      }
      r = 0;                    /* a reset peer is treated as EOF */
    }

    clock_gettime (CLOCK_MONOTONIC, &ch->release);
    ts_add_ms (&ch->release, delay_ms);
    ch->len = (size_t) r;
    ch->off = 0;
    if (r > 0 && r < CHUNK_SIZE / 2) {
      /* Do not hold 128 KiB for a few bytes. */
      struct chunk *small = realloc (ch, sizeof *ch + (size_t) r);
      if (small)
        ch = small;
    }

    pthread_mutex_lock (&d->lock);
    enqueue (d, ch);
    pthread_mutex_unlock (&d->lock);
    ch = NULL;
    if (r == 0)
      break;                    /* EOF queued */
  }
  free (ch);
  conn_unref (c);
  return NULL;
}

static void *
writer (void *arg)
{
  struct direction *d = arg;
  struct conn *c = d->conn;
  struct chunk *ch;
  struct timespec now;
  ssize_t r;
  int e;

  for (;;) {
    pthread_mutex_lock (&d->lock);
    while (d->head == NULL && !conn_is_dead (c))
      pthread_cond_wait (&d->cond, &d->lock);
    ch = d->head;
    pthread_mutex_unlock (&d->lock);
    if (conn_is_dead (c))
      break;

    /* Sleep until the head chunk's release time. */
    clock_gettime (CLOCK_MONOTONIC, &now);
    if (now.tv_sec < ch->release.tv_sec ||
        (now.tv_sec == ch->release.tv_sec &&
         now.tv_nsec < ch->release.tv_nsec)) {
      do
        e = clock_nanosleep (CLOCK_MONOTONIC, TIMER_ABSTIME,
                             &ch->release, NULL);
      while (e == EINTR);
    }

    if (ch->len == 0) {
      /* EOF: everything before it has been written. */
      if (verbose)
        fprintf (stderr, "delay-proxy: connection %d %s EOF\n",
                 c->id, d->name);
      shutdown (d->dst, SHUT_WR);
      break;
    }

    while (ch->off < ch->len) {
      r = send (d->dst, ch->data + ch->off, ch->len - ch->off, MSG_NOSIGNAL);
      if (r == -1) {
        if (errno == EINTR)
          continue;
        if (verbose)
          fprintf (stderr, "delay-proxy: connection %d %s write: %m\n",
                   c->id, d->name);
        conn_kill (c);
        goto out;
      }
      ch->off += (size_t) r;
    }

    pthread_mutex_lock (&d->lock);
    d->head = ch->next;
    if (d->head == NULL)
      d->tail = NULL;
    d->queued -= ch->len + sizeof *ch;
    pthread_cond_broadcast (&d->cond);
    pthread_mutex_unlock (&d->lock);
    free (ch);
  }
 out:
  conn_unref (c);
  return NULL;
}

/* DELAY_MS 0: plain forwarding, one thread per direction, no queue. */
static void *
forwarder (void *arg)
{
  struct direction *d = arg;
  struct conn *c = d->conn;
  char *buf = malloc (CHUNK_SIZE);
  ssize_t r, w, off;

  if (buf == NULL) {
    perror ("delay-proxy: malloc");
    conn_kill (c);
    goto out;
  }
  for (;;) {
    do
      r = read (d->src, buf, CHUNK_SIZE);
    while (r == -1 && errno == EINTR);
    if (r == -1 && errno != ECONNRESET) {
      if (verbose)
        fprintf (stderr, "delay-proxy: connection %d %s read: %m\n",
                 c->id, d->name);
      conn_kill (c);
      break;
    }
    if (r <= 0) {
      if (verbose)
        fprintf (stderr, "delay-proxy: connection %d %s EOF\n",
                 c->id, d->name);
      shutdown (d->dst, SHUT_WR);
      break;
    }
    for (off = 0; off < r; off += w) {
      w = send (d->dst, buf + off, (size_t) (r - off), MSG_NOSIGNAL);
      if (w == -1) {
        if (errno == EINTR) {
          w = 0;
          continue;
        }
        if (verbose)
          fprintf (stderr, "delay-proxy: connection %d %s write: %m\n",
                   c->id, d->name);
        conn_kill (c);
        goto out;
      }
    }
  }
 out:
  free (buf);
  conn_unref (c);
  return NULL;
}

static void
set_nodelay (int fd)
{
  int one = 1;

  setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static int
connect_target (void)
{
  struct addrinfo hints, *res, *rp;
  int fd = -1, e;

  memset (&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  e = getaddrinfo (target_host, target_port, &hints, &res);
  if (e != 0) {
    fprintf (stderr, "delay-proxy: %s:%s: %s\n",
             target_host, target_port, gai_strerror (e));
    return -1;
  }
  for (rp = res; rp; rp = rp->ai_next) {
    fd = socket (rp->ai_family, rp->ai_socktype | SOCK_CLOEXEC,
                 rp->ai_protocol);
    if (fd == -1)
      continue;
    if (connect (fd, rp->ai_addr, rp->ai_addrlen) == 0)
      break;
    close (fd);
    fd = -1;
  }
  if (fd == -1)
    fprintf (stderr, "delay-proxy: connect %s:%s: %m\n",
             target_host, target_port);
  freeaddrinfo (res);
  return fd;
}

static void
direction_init (struct direction *d, struct conn *c, int src, int dst,
                const char *name)
{
  d->conn = c;
  d->src = src;
  d->dst = dst;
  d->name = name;
  pthread_mutex_init (&d->lock, NULL);
  pthread_cond_init (&d->cond, NULL);
  d->head = d->tail = NULL;
  d->queued = 0;
}

static void
start_conn (int client_fd, int id)
{
  struct conn *c;
  int server_fd;
  pthread_attr_t attr;
  pthread_t t;
  void *(*fns[4]) (void *) = { reader, writer, reader, writer };
  int i, e, n = 4;

  server_fd = connect_target ();
  if (server_fd == -1) {
    close (client_fd);
    return;
  }
  set_nodelay (client_fd);
  set_nodelay (server_fd);

  c = calloc (1, sizeof *c);
  if (c == NULL) {
    perror ("delay-proxy: calloc");
    close (client_fd);
    close (server_fd);
    return;
  }
  c->id = id;
  c->client_fd = client_fd;
  c->server_fd = server_fd;
  pthread_mutex_init (&c->lock, NULL);
  direction_init (&c->up, c, client_fd, server_fd, "client->server");
  direction_init (&c->down, c, server_fd, client_fd, "server->client");
  struct direction *args[4] = { &c->up, &c->up, &c->down, &c->down };
  if (delay_ms == 0) {
    fns[0] = fns[1] = forwarder;
    args[1] = &c->down;
    n = 2;
  }

  pthread_attr_init (&attr);
  pthread_attr_setdetachstate (&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize (&attr, THREAD_STACK);
  /* Hold a reference while starting, so an early failure cannot free
   * the connection under us.
   */
  c->refs = 1;
  for (i = 0; i < n; ++i) {
    pthread_mutex_lock (&c->lock);
    c->refs++;
    pthread_mutex_unlock (&c->lock);
    e = pthread_create (&t, &attr, fns[i], args[i]);
    if (e != 0) {
      errno = e;
      perror ("delay-proxy: pthread_create");
      pthread_mutex_lock (&c->lock);
      c->refs--;
      pthread_mutex_unlock (&c->lock);
      conn_kill (c);
      break;
    }
  }
  pthread_attr_destroy (&attr);
  if (verbose)
    fprintf (stderr, "delay-proxy: connection %d opened\n", id);
  conn_unref (c);
}

static int listen_fd;

static void *
accept_loop (void *arg)
{
  int fd, id = 0;

  (void) arg;
  for (;;) {
    fd = accept4 (listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd == -1) {
      if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE ||
          errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        if (errno != EINTR && errno != ECONNABORTED)
          sleep (1);
        continue;
      }
      die ("delay-proxy: accept");
    }
    start_conn (fd, ++id);
  }
  return NULL;
}

static long
parse_long (const char *s, const char *what, long min, long max)
{
  char *end;
  long v;

  errno = 0;
  v = strtol (s, &end, 10);
  if (errno || end == s || *end || v < min || v > max) {
    fprintf (stderr, "delay-proxy: bad %s: %s\n", what, s);
    exit (EXIT_FAILURE);
  }
  return v;
}

int
main (int argc, char *argv[])
{
  struct sockaddr_in sin;
  socklen_t len;
  sigset_t sigs;
  pthread_t t;
  int one = 1, sig, e;
  long port;

  if (argc != 5) {
    fprintf (stderr,
             "usage: delay-proxy LISTEN_PORT TARGET_HOST TARGET_PORT DELAY_MS\n"
             "Forwards 127.0.0.1:LISTEN_PORT to TARGET_HOST:TARGET_PORT, delaying\n"
             "each direction by DELAY_MS (round trip + 2 * DELAY_MS).\n"
             "LISTEN_PORT 0 picks a free port, printed as \"port N\".\n"
             "DELAY_PROXY_VERBOSE=1 logs connections on stderr.\n");
    exit (EXIT_FAILURE);
  }
  port = parse_long (argv[1], "listen port", 0, 65535);
  target_host = argv[2];
  parse_long (argv[3], "target port", 1, 65535);
  target_port = argv[3];
  delay_ms = parse_long (argv[4], "delay", 0, 3600 * 1000);
  verbose = getenv ("DELAY_PROXY_VERBOSE") != NULL &&
    strcmp (getenv ("DELAY_PROXY_VERBOSE"), "0") != 0;

  /* Signals are taken synchronously by the main thread; every other
   * thread inherits the blocked mask.
   */
  sigemptyset (&sigs);
  sigaddset (&sigs, SIGTERM);
  sigaddset (&sigs, SIGINT);
  sigaddset (&sigs, SIGHUP);
  pthread_sigmask (SIG_BLOCK, &sigs, NULL);
  signal (SIGPIPE, SIG_IGN);

  listen_fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd == -1)
    die ("delay-proxy: socket");
  setsockopt (listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  memset (&sin, 0, sizeof sin);
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  sin.sin_port = htons ((uint16_t) port);
  if (bind (listen_fd, (struct sockaddr *) &sin, sizeof sin) == -1)
    die ("delay-proxy: bind");
  if (listen (listen_fd, 128) == -1)
    die ("delay-proxy: listen");
  len = sizeof sin;
  if (getsockname (listen_fd, (struct sockaddr *) &sin, &len) == -1)
    die ("delay-proxy: getsockname");
  if (port == 0) {
    printf ("port %d\n", ntohs (sin.sin_port));
    fflush (stdout);
  }

  e = pthread_create (&t, NULL, accept_loop, NULL);
  if (e != 0) {
    errno = e;
    die ("delay-proxy: pthread_create");
  }

  do
    e = sigwait (&sigs, &sig);
  while (e == EINTR);
  if (verbose)
    fprintf (stderr, "delay-proxy: signal %d, exiting\n", sig);
  close (listen_fd);
  exit (EXIT_SUCCESS);
}
