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

#include <config.h>

#include <stdio.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <stdbool.h>
#include <stdint.h>
#include <errno.h>
#include <pthread.h>

#include "ssh-plugin.h"
#include "durable.h"
#include "lock.h"

/* Flush honesty (see "Flush, FUA and reconnecting" in the man page):
 * the bookkeeping, per remote file, which every layer may call (it
 * calls nothing).
 *
 * The file's tick counts the writes the server acknowledged.  A write
 * is stamped with the tick when it was sent, and gets the next tick
 * when its acknowledgement is read.  A connection's writes not yet
 * known durable were sent at tick lo or later and acknowledged by tick
 * hi.  An fsync sent at tick t on a session established at tick est
 * covers them all, whichever connection made them, if est < lo and
 * hi <= t: the session's TCP connection lived from before they were
 * sent until the fsync, so the server did not restart in between, and
 * fsync flushes the file, not one handle.  Writes sent before est are
 * not covered by it (the server may have restarted and lost them
 * before this session began): a flush fsyncs on the connections that
 * have such writes first (ssh.c drain_one).
 *
 * A loss event is an acknowledged write that may be missing: a
 * session broke with writes not covered, a write the server refused
 * after the client was told it was done (write-behind), an fsync that
 * failed.  As Linux's errseq: the next flush of every connection open
 * then fails once, and so does that of a connection opened later while
 * no flush has reported the latest event yet.
 */

struct durable {
  struct durable *next;         /* in the list of files */
  char *path;
  struct ssh_conn *members;     /* linked by dur_next */
  uint64_t acked;               /* writes acknowledged by the server */
  uint64_t losses;              /* loss events */
  bool told;                    /* a flush reported the latest one */
  struct durable_event last;    /* the latest loss event */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct durable *files;

static bool
uncovered (const struct ssh_conn *c)
{
  return c->dur_lo <= c->dur_hi;
}

/* The loss events a new client of the file must hear of: only the
 * latest, and only if no flush reported it yet.
 */
static uint64_t
sample (const struct durable *d)
{
  return d->told || d->losses == 0 ? d->losses : d->losses - 1;
}

int
durable_join (struct ssh_conn *c)
{
  struct durable *d;

  LOCK_FOR_SCOPE (&lock);
  for (d = files; d; d = d->next)
    if (strcmp (d->path, c->path) == 0)
      break;
  if (d == NULL) {
    d = calloc (1, sizeof *d);
    if (d == NULL || (d->path = strdup (c->path)) == NULL) {
      free (d);
      return -1;
    }
    d->next = files;
    files = d;
  }
  c->dur = d;
  c->dur_next = d->members;
  d->members = c;
  c->dur_lo = 1;
  c->dur_hi = 0;
  c->dur_est = d->acked;
  c->dur_seen = sample (d);
  return 0;
}

void
durable_leave (struct ssh_conn *c)
{
  struct durable *d = c->dur, **pd;
  struct ssh_conn **p;

  if (d == NULL)
    return;
  LOCK_FOR_SCOPE (&lock);
  for (p = &d->members; *p != c; p = &(*p)->dur_next)
    ;
  *p = c->dur_next;
  c->dur = NULL;
  /* The file's state goes with its last connection, unless a loss
   * nobody was told about must wait for the next one.
   */
  if (d->members == NULL && (d->told || d->losses == 0)) {
    for (pd = &files; *pd != d; pd = &(*pd)->next)
      ;
    *pd = d->next;
    free (d->path);
    free (d);
  }
}

/* Free what durable_leave kept for files nobody has open (unload). */
void
durable_free_all (void)
{
  struct durable *d;

  LOCK_FOR_SCOPE (&lock);
  while ((d = files) != NULL) {
    files = d->next;
    free (d->path);
    free (d);
  }
}

void
durable_new_client (struct ssh_conn *c)
{
  if (c->dur == NULL)
    return;
  LOCK_FOR_SCOPE (&lock);
  c->dur_seen = sample (c->dur);
}

void
durable_session_start (struct ssh_conn *c)
{
  if (c->dur == NULL)
    return;
  LOCK_FOR_SCOPE (&lock);
  c->dur_est = c->dur->acked;
  c->dur_lo = 1;
  c->dur_hi = 0;
}

/* Called with the lock held. */
static void
add_event (struct durable *d, int err, uint32_t status, uint32_t len,
           const char *text)
{
  d->losses++;
  d->told = false;
  d->last.err = err;
  d->last.status = status;
  d->last.len = len;
  snprintf (d->last.text, sizeof d->last.text, "%s", text);
}

void
durable_loss (struct ssh_conn *c, int err, uint32_t status, uint32_t len,
              const char *text)
{
  if (c->dur == NULL)
    return;
  LOCK_FOR_SCOPE (&lock);
  add_event (c->dur, err, status, len, text);
}

bool
durable_session_broke (struct ssh_conn *c, const char *text)
{
  bool lost = false;

  if (c->dur == NULL)
    return false;
  LOCK_FOR_SCOPE (&lock);
  if (uncovered (c)) {
    add_event (c->dur, EIO, 0, 0, text);
    lost = true;
  }
  c->dur_lo = 1;
  c->dur_hi = 0;
  return lost;
}

void
durable_write_done (struct ssh_conn *c, uint64_t sent)
{
  if (c->dur == NULL)
    return;
  LOCK_FOR_SCOPE (&lock);
  /* sent + 1: after est when sent after the session began. */
  if (!uncovered (c) || sent + 1 < c->dur_lo)
    c->dur_lo = sent + 1;
  c->dur_hi = ++c->dur->acked;
}

bool
durable_uncovered (struct ssh_conn *c)
{
  bool r;

  if (c->dur == NULL)
    return false;
  LOCK_FOR_SCOPE (&lock);
  r = uncovered (c);
  return r;
}

uint64_t
durable_now (struct ssh_conn *c)
{
  uint64_t t;

  if (c->dur == NULL)
    return 0;
  LOCK_FOR_SCOPE (&lock);
  t = c->dur->acked;
  return t;
}

void
durable_fsync_done (struct ssh_conn *c, uint64_t t)
{
  struct ssh_conn *m;

  if (c->dur == NULL)
    return;
  LOCK_FOR_SCOPE (&lock);
  for (m = c->dur->members; m; m = m->dur_next) {
    if (uncovered (m) && c->dur_est < m->dur_lo && m->dur_hi <= t) {
      m->dur_lo = 1;
      m->dur_hi = 0;
    }
  }
}

/* Has o writes that an fsync on c's session cannot cover? */
static bool
predates (const struct ssh_conn *o, const struct ssh_conn *c)
{
  return o != c && uncovered (o) && o->dur_lo <= c->dur_est;
}

bool
durable_needs_fsync (struct ssh_conn *o, struct ssh_conn *c)
{
  bool r;

  if (c->dur == NULL || o->dur != c->dur)
    return false;
  LOCK_FOR_SCOPE (&lock);
  r = predates (o, c);
  return r;
}

bool
durable_others_need_fsync (struct ssh_conn *c)
{
  struct ssh_conn *m;
  bool r = false;

  if (c->dur == NULL)
    return false;
  LOCK_FOR_SCOPE (&lock);
  for (m = c->dur->members; m && !r; m = m->dur_next)
    r = predates (m, c);
  return r;
}

bool
durable_unseen (struct ssh_conn *c, struct durable_event *ev)
{
  bool r;

  if (c->dur == NULL)
    return false;
  LOCK_FOR_SCOPE (&lock);
  r = c->dur_seen != c->dur->losses;
  if (r)
    *ev = c->dur->last;
  return r;
}

void
durable_seen (struct ssh_conn *c)
{
  if (c->dur == NULL)
    return;
  LOCK_FOR_SCOPE (&lock);
  c->dur_seen = c->dur->losses;
  c->dur->told = true;
}

/* The text of an event, formatted (truncated to fit). */
void
durable_text (char *text, size_t len, const char *fs, ...)
{
  va_list ap;

  va_start (ap, fs);
  vsnprintf (text, len, fs, ap);
  va_end (ap);
}
