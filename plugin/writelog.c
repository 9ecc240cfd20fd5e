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

/* Multi-conn coherence: what every connection to one remote file in
 * this nbdkit process has written, for the read-ahead of the others.
 *
 * A write, once the server has acknowledged it, goes into the file's
 * log as (offset, length, generation); the generation counts writes to
 * the file.  A read-ahead chunk notes the generation when its READ was
 * sent: a READ sent after a write was acknowledged is answered after
 * the write was applied, but one sent before may hold older bytes.
 * Before the chunk is served, writelog_stale asks whether any write
 * logged since then overlaps it.  The log keeps the last
 * WRITELOG_SIZE writes; a chunk older than all of them counts as
 * stale.  When nobody writes, nothing is ever stale.
 *
 * No nbdkit or libssh2 calls (unit-tested by tests/test-writelog.c).
 */

#include <config.h>

#include <stdlib.h>
#include <string.h>
#include <pthread.h>

#include "writelog.h"

struct writelog {
  struct writelog *next;        /* in the list of open files */
  char *path;
  unsigned refs;
  uint64_t gen;                 /* writes logged so far */
  struct {
    uint64_t offset, end;
  } ring[WRITELOG_SIZE];        /* write gen g is at [g % WRITELOG_SIZE] */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct writelog *files;

struct writelog *
writelog_open (const char *path)
{
  struct writelog *w;

  pthread_mutex_lock (&lock);
  for (w = files; w; w = w->next)
    if (strcmp (w->path, path) == 0)
      break;
  if (w == NULL) {
    w = calloc (1, sizeof *w);
    if (w == NULL || (w->path = strdup (path)) == NULL) {
      free (w);
      pthread_mutex_unlock (&lock);
      return NULL;
    }
    w->next = files;
    files = w;
  }
  w->refs++;
  pthread_mutex_unlock (&lock);
  return w;
}

void
writelog_close (struct writelog *w)
{
  struct writelog **p;

  if (w == NULL)
    return;
  pthread_mutex_lock (&lock);
  if (--w->refs == 0) {
    for (p = &files; *p != w; p = &(*p)->next)
      ;
    *p = w->next;
    free (w->path);
    free (w);
  }
  pthread_mutex_unlock (&lock);
}

uint64_t
writelog_gen (struct writelog *w)
{
  uint64_t g;

  pthread_mutex_lock (&lock);
  g = w->gen;
  pthread_mutex_unlock (&lock);
  return g;
}

void
writelog_add (struct writelog *w, uint64_t offset, uint64_t len)
{
  if (len == 0)
    return;
  pthread_mutex_lock (&lock);
  w->ring[w->gen % WRITELOG_SIZE].offset = offset;
  w->ring[w->gen % WRITELOG_SIZE].end = offset + len;
  w->gen++;
  pthread_mutex_unlock (&lock);
}

bool
writelog_stale (struct writelog *w, uint64_t since,
                uint64_t offset, uint64_t len)
{
  uint64_t g, end = offset + len;
  bool stale = false;

  pthread_mutex_lock (&lock);
  if (w->gen - since > WRITELOG_SIZE)
    stale = true;               /* forgotten: assume the worst */
  else
    for (g = since; g < w->gen && !stale; ++g)
      stale = w->ring[g % WRITELOG_SIZE].offset < end &&
        offset < w->ring[g % WRITELOG_SIZE].end;
  pthread_mutex_unlock (&lock);
  return stale;
}
