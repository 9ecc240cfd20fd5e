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

/* Unit tests for plugin/vector.h: growable arrays. */

#include <config.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vector.h"
#include "unit.h"

DEFINE_VECTOR_TYPE (int_vector, int);

struct big {
  char bytes[1024];
};
DEFINE_VECTOR_TYPE (big_vector, struct big);

/* Appends keep every element in order; the room doubles from 4. */
static void
test_append (void)
{
  int_vector v = { .ptr = NULL };
  size_t i, grown = 0, cap = 0;
  bool in_order = true;

  CHECK (int_vector_reserve (&v, 0) == 0 && v.ptr == NULL && v.cap == 0);
  for (i = 0; i < 1000; ++i) {
    CHECK (int_vector_append (&v, (int) i) == 0);
    if (v.cap != cap) {
      CHECK (v.cap == (cap ? cap * 2 : 4));
      cap = v.cap;
      grown++;
    }
  }
  CHECK (v.len == 1000 && v.cap == 1024 && grown == 9);
  for (i = 0; i < v.len; ++i)
    in_order = in_order && v.ptr[i] == (int) i;
  CHECK (in_order);

  /* reserve: room for n more, and no more growth while it lasts. */
  CHECK (int_vector_reserve (&v, 24) == 0 && v.cap == 1024);
  CHECK (int_vector_reserve (&v, 5000) == 0 && v.cap == 6000);
  CHECK (v.len == 1000 && v.ptr[999] == 999);

  int_vector_reset (&v);
  CHECK (v.ptr == NULL && v.len == 0 && v.cap == 0);
  CHECK (int_vector_append (&v, 7) == 0 && v.len == 1 && v.ptr[0] == 7);
  int_vector_reset (&v);
}

/* A size that cannot be had, or would not fit a size_t, fails with
 * ENOMEM and leaves the vector as it was.
 */
static void
test_overflow (void)
{
  int_vector v = { .ptr = NULL };
  big_vector b = { .ptr = NULL };
  size_t cap = 8;

  CHECK (int_vector_append (&v, 1) == 0);
  errno = 0;
  CHECK (int_vector_reserve (&v, SIZE_MAX) == -1 && errno == ENOMEM);
  errno = 0;
  CHECK (int_vector_reserve (&v, SIZE_MAX / sizeof (int)) == -1 &&
         errno == ENOMEM);
  CHECK (v.len == 1 && v.cap == 4 && v.ptr[0] == 1);

  errno = 0;
  CHECK (big_vector_reserve (&b, SIZE_MAX / sizeof (struct big) + 1) == -1 &&
         errno == ENOMEM);
  CHECK (b.ptr == NULL && b.len == 0 && b.cap == 0);

  /* len + n wraps. */
  errno = 0;
  CHECK (vector_grow (NULL, &cap, 8, SIZE_MAX - 7, 1) == NULL &&
         errno == ENOMEM && cap == 8);

  int_vector_reset (&v);
}

/* string_vector_free frees the strings too (valgrind checks). */
static void
test_strings (void)
{
  string_vector v = { .ptr = NULL };
  char *s;

  CHECK ((s = strdup ("a")) != NULL && string_vector_append (&v, s) == 0);
  CHECK ((s = strdup ("b")) != NULL && string_vector_append (&v, s) == 0);
  CHECK (v.len == 2 && streq (v.ptr[0], "a") && streq (v.ptr[1], "b"));
  string_vector_free (&v);
  CHECK (v.ptr == NULL && v.len == 0 && v.cap == 0);
}

int
main (void)
{
  test_append ();
  test_overflow ();
  test_strings ();
  return unit_done ("test-vector");
}
