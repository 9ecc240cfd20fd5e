/* nbdkit-ssh-plugin (libssh2)
 * Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * Base64 (RFC 4648), moved out of fingerprint.c: fingerprints,
 * known_hosts keys and public key files all use it.  Pure: no nbdkit
 * or libssh2 calls (tests/test-fingerprint.c, fuzz/fuzz-fingerprint.c).
 */

#include <config.h>

#include <stdbool.h>
#include <string.h>

#include "base64.h"

static const char b64chars[] =
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int
b64value (char ch)
{
  const char *p;

  if (ch == '\0')
    return -1;
  p = strchr (b64chars, ch);
  return p ? (int) (p - b64chars) : -1;
}

int
base64_decode (const char *in, size_t inlen,
               unsigned char *out, size_t outlen)
{
  size_t i, n = 0, pad = 0;
  unsigned acc = 0;
  int bits = 0;

  /* Trailing '=' padding is optional, but nothing may follow it. */
  while (inlen > 0 && in[inlen-1] == '=') {
    inlen--;
    pad++;
  }
  if (pad > 2)
    return -1;
  for (i = 0; i < inlen; ++i) {
    int v = b64value (in[i]);
    if (v < 0)
      return -1;
    acc = (acc << 6) | (unsigned) v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (n >= outlen)
        return -1;
      out[n++] = (acc >> bits) & 0xff;
    }
  }
  /* A single leftover character cannot encode a byte, and leftover
   * bits must be zero in a canonical encoding.
   */
  if (bits >= 6 || (acc & ((1u << bits) - 1)) != 0)
    return -1;
  if (pad > 0 && (inlen + pad) % 4 != 0)
    return -1;
  return (int) n;
}

void
base64_encode (const unsigned char *in, size_t inlen,
               char *out, bool pad)
{
  size_t i;
  char *o = out;

  for (i = 0; i + 2 < inlen; i += 3) {
    *o++ = b64chars[in[i] >> 2];
    *o++ = b64chars[((in[i] & 3) << 4) | (in[i+1] >> 4)];
    *o++ = b64chars[((in[i+1] & 15) << 2) | (in[i+2] >> 6)];
    *o++ = b64chars[in[i+2] & 63];
  }
  if (inlen - i == 1) {
    *o++ = b64chars[in[i] >> 2];
    *o++ = b64chars[(in[i] & 3) << 4];
    if (pad) { *o++ = '='; *o++ = '='; }
  }
  else if (inlen - i == 2) {
    *o++ = b64chars[in[i] >> 2];
    *o++ = b64chars[((in[i] & 3) << 4) | (in[i+1] >> 4)];
    *o++ = b64chars[(in[i+1] & 15) << 2];
    if (pad) *o++ = '=';
  }
  *o = '\0';
}
