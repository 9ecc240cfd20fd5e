/* nbdkit-ssh-plugin (libssh2)
 * Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
 * SPDX-License-Identifier: BSD-3-Clause
 */

/* Shared helpers of the libFuzzer targets in fuzz/ (see
 * fuzz/run-fuzz.sh).  A broken invariant aborts, which libFuzzer
 * reports as a crash and saves the input.
 */

#ifndef SSH_PLUGIN_FUZZ_COMMON_H
#define SSH_PLUGIN_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);
int LLVMFuzzerInitialize (int *argc, char ***argv);

#define FUZZ_CHECK(cond)                                                \
  do {                                                                  \
    if (!(cond)) {                                                      \
      fprintf (stderr, "%s:%d: invariant failed: %s\n",                 \
               __FILE__, __LINE__, #cond);                              \
      abort ();                                                         \
    }                                                                   \
  } while (0)

/* The input as a C string (it ends at the first NUL byte, if any). */
static inline char *
fuzz_cstr (const uint8_t *data, size_t size)
{
  char *s = malloc (size + 1);

  if (s == NULL)
    abort ();
  memcpy (s, data, size);
  s[size] = '\0';
  return s;
}

/* A message buffer filled by a parser must be a non-empty C string. */
static inline void
fuzz_check_err (const char *err, size_t errlen)
{
  FUZZ_CHECK (errlen > 0 && memchr (err, '\0', errlen) != NULL);
  FUZZ_CHECK (err[0] != '\0');
}

#endif /* SSH_PLUGIN_FUZZ_COMMON_H */
