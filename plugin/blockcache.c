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

/* libssh2's memory, per session: a bounded cache of freed blocks by
 * size class.  Whatever libssh2 frees must come from here (the
 * answers of the keyboard-interactive callback, auth.c).
 *
 * libssh2 1.10 allocates a block for every SSH packet it receives
 * (transport.c, fullpacket: the payload, about 32 KiB for channel
 * data, and packet.c: its list entry) and frees it once
 * libssh2_channel_read has copied the data out.  On nbdkit's worker
 * threads glibc serves these from a thread arena, whose heap it trims
 * with madvise (MADV_DONTNEED) as soon as its top is free: every few
 * packets the pages go back to the kernel, with TLB shootdowns on the
 * other CPUs, and the next packets fault them in again (zeroed).
 * Handing libssh2 blocks from a cache of its own freed blocks keeps
 * them mapped, so the steady state of a transfer neither allocates
 * nor frees.
 *
 * libssh2 calls these on a session only from the thread using it, and
 * a session is used by one thread at a time (the connection's lock,
 * or the forwarding thread of a jump hop), so the cache has no lock.
 * It is bounded (BLOCKCACHE_MAX bytes of free blocks; blocks larger
 * than the largest class are not cached) and freed with the session
 * (blockcache_free, after libssh2_session_free).
 */

#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>
#include <inttypes.h>

#include "ssh-plugin.h"
#include "blockcache.h"

#define BLOCKCACHE_MAX   (4 * 1024 * 1024) /* free bytes kept */
#define SMALLEST         64
#define SMALL_MAX        4096               /* powers of 2 up to here */
#define LARGEST          (256 * 1024)       /* then quarter steps */
#define NCLASSES         (7 + 6 * 4)        /* 64..4096, then 6 doublings */
#define UNCACHED         UINT32_MAX

/* Before every block: its class (or UNCACHED) and, while it is free,
 * the next free block of its class.  The union keeps the user's part
 * aligned as malloc's.
 */
union header {
  struct {
    uint32_t cls;
    union header *next;
  } h;
  max_align_t align;
};

struct blockcache {
  union header *free[NCLASSES];
  size_t free_bytes;
  uint64_t allocs, hits;        /* for the debug message at the end */
  size_t peak;
};

/* The class of an n-byte block and its capacity: powers of 2 from 64
 * to 4 KiB, then four steps per doubling (at most 25% wasted: a 32 KiB
 * channel packet and its header take the 40 KiB class).  UNCACHED if
 * n is larger than LARGEST.
 */
static uint32_t
size_class (size_t n, size_t *cap)
{
  size_t p, step;
  uint32_t k;

  if (n > LARGEST) {
    *cap = n;
    return UNCACHED;
  }
  if (n <= SMALL_MAX) {
    for (p = SMALLEST, k = 0; p < n; p *= 2, k++)
      ;
    *cap = p;
    return k;
  }
  /* SMALL_MAX < n <= LARGEST: p < n <= 2p, p a power of 2 >= 4096. */
  for (p = SMALL_MAX, k = 0; 2 * p < n; p *= 2, k++)
    ;
  step = p / 4;
  *cap = (n + step - 1) / step * step;
  return 7 + k * 4 + (uint32_t) (*cap / step - 5);
}

static size_t
class_cap (uint32_t cls)
{
  size_t p;

  if (cls < 7)
    return (size_t) SMALLEST << cls;
  p = (size_t) SMALL_MAX << ((cls - 7) / 4);
  return p + p / 4 * ((cls - 7) % 4 + 1);
}

static struct blockcache *
cache_of (void **abstract)
{
  struct ssh_conn *c = *abstract;

  if (c->blocks == NULL)
    c->blocks = calloc (1, sizeof *c->blocks);
  return c->blocks;             /* NULL: no cache, plain malloc */
}

void *
blockcache_alloc (size_t n, void **abstract)
{
  struct blockcache *bc = cache_of (abstract);
  union header *b;
  size_t cap;
  uint32_t cls = size_class (n, &cap);

  if (bc) {
    bc->allocs++;
    if (cls != UNCACHED && (b = bc->free[cls]) != NULL) {
      bc->free[cls] = b->h.next;
      bc->free_bytes -= cap;
      bc->hits++;
      return b + 1;
    }
  }
  if (cap > SIZE_MAX - sizeof *b)
    return NULL;
  b = malloc (sizeof *b + cap);
  if (b == NULL)
    return NULL;
  b->h.cls = cls;
  return b + 1;
}

void
blockcache_release (void *ptr, void **abstract)
{
  struct ssh_conn *c = *abstract;
  struct blockcache *bc = c->blocks;
  union header *b;
  size_t cap;

  if (ptr == NULL)
    return;
  b = (union header *) ptr - 1;
  cap = b->h.cls == UNCACHED ? 0 : class_cap (b->h.cls);
  if (bc == NULL || cap == 0 || bc->free_bytes + cap > BLOCKCACHE_MAX) {
    free (b);
    return;
  }
  b->h.next = bc->free[b->h.cls];
  bc->free[b->h.cls] = b;
  bc->free_bytes += cap;
  if (bc->free_bytes > bc->peak)
    bc->peak = bc->free_bytes;
}

void *
blockcache_realloc (void *ptr, size_t n, void **abstract)
{
  union header *b;
  size_t have;
  void *p;

  if (ptr == NULL)
    return blockcache_alloc (n, abstract);
  b = (union header *) ptr - 1;
  if (b->h.cls == UNCACHED) {
    /* Never cached, whatever its new size: glibc's business. */
    if (n > SIZE_MAX - sizeof *b)
      return NULL;
    b = realloc (b, sizeof *b + n);
    return b ? b + 1 : NULL;
  }
  have = class_cap (b->h.cls);
  if (n <= have)
    return ptr;
  p = blockcache_alloc (n, abstract);
  if (p == NULL)
    return NULL;
  memcpy (p, ptr, have);
  blockcache_release (ptr, abstract);
  return p;
}

/* The session is gone: free the cached blocks. */
void
blockcache_free (struct ssh_conn *c)
{
  struct blockcache *bc = c->blocks;
  uint32_t i;

  if (bc == NULL)
    return;
  ssh_debug ("libssh2 block cache: %" PRIu64 " allocations, %" PRIu64
             " from the cache, at most %zu bytes kept", bc->allocs, bc->hits,
             bc->peak);
  for (i = 0; i < NCLASSES; ++i) {
    union header *b, *next;

    for (b = bc->free[i]; b; b = next) {
      next = b->h.next;
      free (b);
    }
  }
  free (bc);
  c->blocks = NULL;
}
