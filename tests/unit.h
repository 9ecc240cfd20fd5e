/* nbdkit-ssh-plugin (libssh2)
 * Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * The scaffold of the C unit tests (tests/test-*.c): CHECK counts
 * failed conditions and goes on; unit_done prints the verdict and
 * gives main's exit status.  Each test is one translation unit.
 */

#ifndef SSH_PLUGIN_UNIT_H
#define SSH_PLUGIN_UNIT_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;

#define CHECK(cond)                                                     \
  do {                                                                  \
    if (!(cond)) {                                                      \
      fprintf (stderr, "%s:%d: FAIL: %s\n", __FILE__, __LINE__, #cond); \
      failures++;                                                       \
    }                                                                   \
  } while (0)

/* Strings equal, or both NULL. */
static inline bool
streq (const char *a, const char *b)
{
  if (a == NULL || b == NULL)
    return a == b;
  return strcmp (a, b) == 0;
}

static inline int
unit_done (const char *name)
{
  if (failures) {
    fprintf (stderr, "%s: %d failure(s)\n", name, failures);
    return EXIT_FAILURE;
  }
  printf ("%s: all checks passed\n", name);
  return EXIT_SUCCESS;
}

#endif /* SSH_PLUGIN_UNIT_H */
