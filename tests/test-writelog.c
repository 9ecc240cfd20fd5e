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

/* Unit tests for plugin/writelog.c: the multi-conn write log. */

#include <config.h>

#include <stdio.h>
#include <stdlib.h>

#include "writelog.h"
#include "unit.h"

int
main (void)
{
  struct writelog *a = writelog_open ("/srv/a.img");
  struct writelog *a2 = writelog_open ("/srv/a.img");
  struct writelog *b = writelog_open ("/srv/b.img");
  uint64_t g0, g;
  int i;

  CHECK (a != NULL && b != NULL);
  CHECK (a == a2);                      /* one log per file */
  CHECK (a != b);

  /* Nothing written: nothing is stale. */
  g0 = writelog_gen (a);
  CHECK (g0 == 0);
  CHECK (!writelog_stale (a, g0, 0, 1 << 20));

  /* A write after the READ was sent: stale where it overlaps. */
  writelog_add (a, 4096, 512);
  CHECK (writelog_gen (a) == 1);
  CHECK (writelog_stale (a, g0, 0, 8192));
  CHECK (writelog_stale (a, g0, 4096, 1));
  CHECK (writelog_stale (a, g0, 4607, 1));
  CHECK (!writelog_stale (a, g0, 4608, 4096));   /* just after */
  CHECK (!writelog_stale (a, g0, 0, 4096));      /* just before */
  /* A READ sent after the write: fresh. */
  CHECK (!writelog_stale (a, 1, 0, 8192));
  /* Another file's log is not touched; empty writes are not logged. */
  CHECK (writelog_gen (b) == 0);
  writelog_add (a, 0, 0);
  CHECK (writelog_gen (a) == 1);

  /* Only the last WRITELOG_SIZE writes are remembered: older READs
   * count as stale, whatever they cover.
   */
  g = writelog_gen (a);
  for (i = 0; i < WRITELOG_SIZE; ++i)
    writelog_add (a, 1 << 30, 1);
  CHECK (!writelog_stale (a, g, 0, 4096));       /* all remembered */
  writelog_add (a, 1 << 30, 1);
  CHECK (writelog_stale (a, g, 0, 4096));        /* one forgotten */
  CHECK (!writelog_stale (a, g + 1, 0, 4096));

  /* A pin keeps every write since its generation (a write-behind
   * window waiting to be sent again): no spurious "written over", up
   * to WRITELOG_MAX writes; past that, forgotten counts as stale.
   */
  {
    int p = writelog_pin_new (a), q = writelog_pin_new (a);
    uint64_t pg;

    CHECK (p >= 0 && q >= 0 && p != q);
    writelog_pin (a, q, WRITELOG_NO_PIN);
    pg = writelog_gen (a);
    writelog_pin (a, p, pg);
    for (i = 0; i < 3 * WRITELOG_SIZE; ++i)
      writelog_add (a, 1 << 30, 1);
    CHECK (!writelog_stale (a, pg, 0, 4096));    /* all remembered */
    CHECK (writelog_stale (a, pg, 1 << 30, 1));  /* exact overlap */
    writelog_add (a, 8192, 10);
    CHECK (writelog_stale (a, pg, 8000, 200));
    CHECK (!writelog_stale (a, pg, 0, 8192));
    for (i = 0; i < WRITELOG_MAX; ++i)
      writelog_add (a, 1 << 30, 1);
    CHECK (writelog_stale (a, pg, 0, 4096));     /* past the maximum */
    /* Unpinned: back to the last WRITELOG_SIZE at least. */
    writelog_pin (a, p, WRITELOG_NO_PIN);
    writelog_pin_free (a, p);
    CHECK (writelog_pin_new (a) == p);           /* the slot is reused */
    writelog_pin_free (a, p);
    writelog_pin_free (a, q);
    writelog_pin_free (a, -1);
  }
  g = writelog_gen (a);

  /* Counted: the log lives while one connection has it open. */
  writelog_close (a2);
  CHECK (writelog_gen (a) == g);
  writelog_close (a);
  a = writelog_open ("/srv/a.img");
  CHECK (writelog_gen (a) == 0);                 /* a new log */
  writelog_close (a);
  writelog_close (b);
  writelog_close (NULL);
  return unit_done ("test-writelog");
}
