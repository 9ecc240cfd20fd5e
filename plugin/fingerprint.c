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

/* Pure parsing helpers: no nbdkit or libssh2 calls, so that
 * tests/test-fingerprint.c can check them line by line.
 */

#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>
#include <ctype.h>

#include "base64.h"
#include "fingerprint.h"

const char *
fingerprint_hash_name (enum fp_hash hash)
{
  switch (hash) {
  case FP_MD5: return "MD5";
  case FP_SHA1: return "SHA1";
  case FP_SHA256: return "SHA256";
  }
  return "unknown";
}

static size_t
hash_len (enum fp_hash hash)
{
  switch (hash) {
  case FP_MD5: return 16;
  case FP_SHA1: return 20;
  case FP_SHA256: return 32;
  }
  return 0;
}

/* Hex digits, optionally separated by single colons between bytes. */
static int
parse_hex (const char *s, unsigned char *out, size_t want)
{
  size_t n = 0;
  bool colons = strchr (s, ':') != NULL;

  while (*s) {
    if (n >= want || !isxdigit ((unsigned char) s[0]) ||
        !isxdigit ((unsigned char) s[1]))
      return -1;
    char byte[3] = { s[0], s[1], '\0' };
    out[n++] = (unsigned char) strtoul (byte, NULL, 16);
    s += 2;
    if (colons && *s == ':' && s[1] != '\0')
      s++;
    else if (*s != '\0' && colons)
      return -1;
  }
  return n == want ? 0 : -1;
}

int
fingerprint_parse (const char *str, struct fingerprint *fp,
                   char *err, size_t errlen)
{
  static const struct { const char *prefix; enum fp_hash hash; } prefixes[] = {
    { "sha256:", FP_SHA256 },
    { "sha1:", FP_SHA1 },
    { "md5:", FP_MD5 },
  };
  const char *rest = NULL;
  size_t i, len;

  memset (fp, 0, sizeof *fp);
  for (i = 0; i < sizeof prefixes / sizeof prefixes[0]; ++i) {
    len = strlen (prefixes[i].prefix);
    if (strncasecmp (str, prefixes[i].prefix, len) == 0) {
      fp->hash = prefixes[i].hash;
      rest = str + len;
      break;
    }
  }
  if (rest == NULL) {
    snprintf (err, errlen,
              "'%s' is not a fingerprint: expected SHA256:<base64> (as "
              "printed by ssh-keygen -l) or md5:, sha1:, sha256: followed "
              "by hex",
              str);
    return -1;
  }
  fp->len = hash_len (fp->hash);

  /* Hex (QEMU's form, also ssh-keygen -E md5's "MD5:aa:bb:..."). */
  if (parse_hex (rest, fp->digest, fp->len) == 0)
    return 0;

  /* Base64 (OpenSSH's form for SHA256 and SHA1). */
  if (fp->hash != FP_MD5 &&
      base64_decode (rest, strlen (rest), fp->digest, fp->len)
      == (int) fp->len)
    return 0;

  snprintf (err, errlen,
            "'%s' is not a valid %s fingerprint (expected %zu bytes "
            "as %s%zu hex digits)",
            str, fingerprint_hash_name (fp->hash), fp->len,
            fp->hash == FP_MD5 ? "" : "base64 or ", fp->len * 2);
  return -1;
}

void
fingerprint_format (enum fp_hash hash, const unsigned char *digest,
                    size_t len, char *out)
{
  size_t i, n;

  n = (size_t) snprintf (out, FP_STR_LEN, "%s:", fingerprint_hash_name (hash));
  if (hash == FP_MD5) {
    for (i = 0; i < len && n + 3 < FP_STR_LEN; ++i)
      n += (size_t) snprintf (out + n, FP_STR_LEN - n, "%s%02x",
                              i ? ":" : "", digest[i]);
  }
  else
    base64_encode (digest, len, out + n, false);
}
