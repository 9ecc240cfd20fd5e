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

/* Patterns and lists, as OpenSSH's match.c: wildcard patterns, pattern
 * lists with negation (ssh_config's Host, known_hosts host fields),
 * comma-separated lists (algorithm and method names).  Pure: no nbdkit
 * or libssh2 calls.
 */

#include <config.h>

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "match.h"

/* Patterns. */

static int
fold (char c, bool icase)
{
  if (icase && c >= 'A' && c <= 'Z')
    return c - 'A' + 'a';
  return (unsigned char) c;
}

bool
match_pattern (const char *s, const char *pattern, size_t patlen, bool icase)
{
  size_t p = 0, star = SIZE_MAX;
  const char *mark = NULL;

  while (*s) {
    if (p < patlen && pattern[p] == '*') {
      star = p++;
      mark = s;
    }
    else if (p < patlen &&
             (pattern[p] == '?' ||
              fold (pattern[p], icase) == fold (*s, icase))) {
      p++;
      s++;
    }
    else if (star != SIZE_MAX) {
      /* Let the last '*' swallow one more character and retry. */
      p = star + 1;
      s = ++mark;
    }
    else
      return false;
  }
  while (p < patlen && pattern[p] == '*')
    p++;
  return p == patlen;
}

int
match_negatable (const char *s, const char *pat, size_t len)
{
  bool negated = len > 0 && pat[0] == '!';

  if (negated) {
    pat++;
    len--;
  }
  if (!match_pattern (s, pat, len, false))
    return 0;
  return negated ? -1 : 1;
}

bool
match_pattern_list (const char *list, const char *host)
{
  static const char seps[] = ", \t\r\n";
  bool positive = false;

  if (list == NULL || host == NULL)
    return false;
  while (*list) {
    size_t n = strcspn (list, seps);

    if (n > 0) {
      int m = match_negatable (host, list, n);
      if (m == -1)
        return false;
      if (m == 1)
        positive = true;
      list += n;
    }
    else
      list++;
  }
  return positive;
}

/* Comma-separated lists: algorithm names, host patterns. */

bool
match_list_next (const char **p, const char **elem, size_t *len)
{
  if (**p == '\0')
    return false;
  *elem = *p;
  *len = strcspn (*p, ",");
  *p += *len + ((*p)[*len] == ',');
  return true;
}

bool
match_list_has (const char *list, const char *name)
{
  size_t nlen = strlen (name), len;
  const char *elem;

  while (match_list_next (&list, &elem, &len))
    if (len == nlen && memcmp (elem, name, len) == 0)
      return true;
  return false;
}
