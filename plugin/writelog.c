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
 * this nbdkit process has written, for the read-ahead of the others,
 * and for a write-behind window sent again after a reconnect.
 *
 * A write, once the server has acknowledged it, goes into the file's
 * log as (offset, length, generation); the generation counts writes to
 * the file.  A read-ahead chunk notes the generation when its READ was
 * sent: a READ sent after a write was acknowledged is answered after
 * the write was applied, but one sent before may hold older bytes.
 * Before the chunk is served, writelog_stale asks whether any write
 * logged since then overlaps it.  The log keeps at least the last
 * WRITELOG_SIZE writes; a chunk older than all of them counts as
 * stale.  When nobody writes, nothing is ever stale.
 *
 * A write-behind window pins the generation of its oldest write in
 * flight (writelog_pin): the log then keeps every write since, growing
 * up to WRITELOG_MAX, so that "written over since" is decided by an
 * exact overlap check, not by the age of a fixed-size log.
 *
 * No nbdkit or libssh2 calls (unit-tested by tests/test-writelog.c).
 */

#include <config.h>

#include <stdlib.h>
#include <string.h>
#include <pthread.h>

#include "writelog.h"
#include "lock.h"
#include "vector.h"

struct pin {
  bool used;
  uint64_t gen;                 /* WRITELOG_NO_PIN: nothing pinned */
};
DEFINE_VECTOR_TYPE (pin_vector, struct pin);

struct writelog {
  struct writelog *next;        /* in the list of open files */
  char *path;
  unsigned refs;
  uint64_t gen;                 /* writes logged so far */
  size_t size;                  /* entries in ring, a power of two */
  struct {
    uint64_t offset, end;
  } *ring;                      /* write gen g is at [g % size] */
  pin_vector pins;              /* a free one (!used) is reused */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct writelog *files;

struct writelog *
writelog_open (const char *path)
{
  struct writelog *w;

  LOCK_FOR_SCOPE (&lock);
  for (w = files; w; w = w->next)
    if (strcmp (w->path, path) == 0)
      break;
  if (w == NULL) {
    w = calloc (1, sizeof *w);
    if (w == NULL || (w->path = strdup (path)) == NULL ||
        (w->ring = malloc (WRITELOG_SIZE * sizeof *w->ring)) == NULL) {
      if (w)
        free (w->path);
      free (w);
      return NULL;
    }
    w->size = WRITELOG_SIZE;
    w->next = files;
    files = w;
  }
  w->refs++;
  return w;
}

void
writelog_close (struct writelog *w)
{
  struct writelog **p;

  if (w == NULL)
    return;
  LOCK_FOR_SCOPE (&lock);
  if (--w->refs == 0) {
    for (p = &files; *p != w; p = &(*p)->next)
      ;
    *p = w->next;
    free (w->path);
    free (w->ring);
    pin_vector_reset (&w->pins);
    free (w);
  }
}

uint64_t
writelog_gen (struct writelog *w)
{
  uint64_t g;

  LOCK_FOR_SCOPE (&lock);
  g = w->gen;
  return g;
}

int
writelog_pin_new (struct writelog *w)
{
  size_t i;

  LOCK_FOR_SCOPE (&lock);
  for (i = 0; i < w->pins.len && w->pins.ptr[i].used; ++i)
    ;
  if (i == w->pins.len &&
      pin_vector_append (&w->pins, (struct pin) { .used = false }) == -1)
    return -1;
  w->pins.ptr[i].used = true;
  w->pins.ptr[i].gen = WRITELOG_NO_PIN;
  return i;
}

void
writelog_pin (struct writelog *w, int pin, uint64_t gen)
{
  LOCK_FOR_SCOPE (&lock);
  w->pins.ptr[pin].gen = gen;
}

void
writelog_pin_free (struct writelog *w, int pin)
{
  if (pin < 0)
    return;
  LOCK_FOR_SCOPE (&lock);
  w->pins.ptr[pin].used = false;
}

/* Must write gen g - size, about to be overwritten, be kept?  Then
 * the ring doubles (up to WRITELOG_MAX; past that, or out of memory,
 * the oldest is forgotten, and what pinned it counts as stale).
 */
static void
make_room (struct writelog *w)
{
  uint64_t victim = w->gen - w->size, g;
  size_t i, n = w->size * 2;
  bool needed = false;
  void *ring;

  for (i = 0; i < w->pins.len && !needed; ++i)
    needed = w->pins.ptr[i].used && w->pins.ptr[i].gen <= victim;
  if (!needed || n > WRITELOG_MAX ||
      (ring = malloc (n * sizeof *w->ring)) == NULL)
    return;
  for (g = victim; g < w->gen; ++g)
    memcpy ((char *) ring + (g % n) * sizeof *w->ring,
            &w->ring[g % w->size], sizeof *w->ring);
  free (w->ring);
  w->ring = ring;
  w->size = n;
}

void
writelog_add (struct writelog *w, uint64_t offset, uint64_t len)
{
  if (len == 0)
    return;
  LOCK_FOR_SCOPE (&lock);
  if (w->gen >= w->size)
    make_room (w);
  w->ring[w->gen % w->size].offset = offset;
  w->ring[w->gen % w->size].end = offset + len;
  w->gen++;
}

bool
writelog_stale (struct writelog *w, uint64_t since,
                uint64_t offset, uint64_t len)
{
  uint64_t g, end = offset + len;
  bool stale = false;

  LOCK_FOR_SCOPE (&lock);
  if (w->gen - since > w->size)
    stale = true;               /* forgotten: assume the worst */
  else
    for (g = since; g < w->gen && !stale; ++g)
      stale = w->ring[g % w->size].offset < end &&
        offset < w->ring[g % w->size].end;
  return stale;
}
