/* nbdkit-ssh-plugin (libssh2)
 * Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
 * SPDX-License-Identifier: BSD-3-Clause
 */

/* vector.h: typed growable arrays, in the manner of nbdkit's
 * DEFINE_VECTOR_TYPE (common/utils/vector.h).  Pure and header only.
 *
 *   DEFINE_VECTOR_TYPE (jump_vector, struct jump_spec);
 *   jump_vector jumps;            (zero: empty, ptr NULL)
 *   if (jump_vector_append (&jumps, j) == -1)   (errno is ENOMEM)
 *   for (i = 0; i < jumps.len; ++i) ... jumps.ptr[i] ...
 *   jump_vector_reset (&jumps);   (frees the array)
 *
 * A vector is len elements in use at ptr, with room for cap; ptr is
 * NULL until the first append.  The room doubles as it grows, so n
 * appends copy O(n) elements in all.
 */

#ifndef SSH_PLUGIN_VECTOR_H
#define SSH_PLUGIN_VECTOR_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/* The array ptr (*cap elements of size bytes, len of them in use)
 * with room for n more: realloc'd to at least twice its room (4 at
 * first), *cap updated.  NULL with errno ENOMEM, ptr untouched, when
 * the memory cannot be had or its size in bytes would not fit a
 * size_t.
 */
static inline void *
vector_grow (void *ptr, size_t *cap, size_t len, size_t n, size_t size)
{
  size_t want, newcap;
  void *p;

  if (n > SIZE_MAX - len || len + n > SIZE_MAX / size) {
    errno = ENOMEM;
    return NULL;
  }
  want = len + n;
  newcap = *cap <= SIZE_MAX / size / 2 ? *cap * 2 : want;
  if (newcap < 4 && 4 <= SIZE_MAX / size)
    newcap = 4;
  if (newcap < want)
    newcap = want;
  p = realloc (ptr, newcap * size);
  if (p == NULL) {
    errno = ENOMEM;
    return NULL;
  }
  *cap = newcap;
  return p;
}

/* NAME: a struct { TYPE *ptr; size_t len, cap; } and its functions
 * NAME_reserve, NAME_append and NAME_reset.
 */
#define DEFINE_VECTOR_TYPE(name, type)                                  \
  typedef struct {                                                      \
    type *ptr;                                                          \
    size_t len;                 /* elements in use */                   \
    size_t cap;                 /* elements allocated */                \
  } name;                                                               \
                                                                        \
  /* Room for n more elements: 0, or -1 with errno ENOMEM. */           \
  static inline __attribute__ ((__unused__)) int                        \
  name##_reserve (name *v, size_t n)                                    \
  {                                                                     \
    type *p;                                                            \
                                                                        \
    if (n <= v->cap - v->len)                                           \
      return 0;                                                         \
    p = vector_grow (v->ptr, &v->cap, v->len, n, sizeof (type));        \
    if (p == NULL)                                                      \
      return -1;                                                        \
    v->ptr = p;                                                         \
    return 0;                                                           \
  }                                                                     \
                                                                        \
  /* elem added at the end: 0, or -1 with errno ENOMEM (v as it was). */ \
  static inline __attribute__ ((__unused__)) int                        \
  name##_append (name *v, type elem)                                    \
  {                                                                     \
    if (name##_reserve (v, 1) == -1)                                    \
      return -1;                                                        \
    v->ptr[v->len++] = elem;                                            \
    return 0;                                                           \
  }                                                                     \
                                                                        \
  /* Free the array (not what its elements point to): v is empty. */    \
  static inline __attribute__ ((__unused__)) void                       \
  name##_reset (name *v)                                                \
  {                                                                     \
    free (v->ptr);                                                      \
    v->ptr = NULL;                                                      \
    v->len = v->cap = 0;                                                \
  }                                                                     \
                                                                        \
  /* Declared again, so that the ';' after the macro ends a            \
   * declaration (a bare ';' outside a function is not ISO C).          \
   */                                                                   \
  static inline void name##_reset (name *v)

/* Strings that the vector owns (malloc'd). */
DEFINE_VECTOR_TYPE (string_vector, char *);

/* Free every string, then the array: v is empty. */
static inline __attribute__ ((__unused__)) void
string_vector_free (string_vector *v)
{
  size_t i;

  for (i = 0; i < v->len; ++i)
    free (v->ptr[i]);
  string_vector_reset (v);
}

#endif /* SSH_PLUGIN_VECTOR_H */
