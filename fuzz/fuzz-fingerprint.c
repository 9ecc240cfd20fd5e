/* nbdkit-ssh-plugin (libssh2)
 * Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
 * SPDX-License-Identifier: BSD-3-Clause
 */

/* libFuzzer target: host key fingerprints (host-key=, and
 * host_key_check= in uri=) and the base64 codec (plugin/fingerprint.c).
 *
 * - fingerprint_parse on the input as a string; a fingerprint
 *   it accepts is formatted with fingerprint_format and parsed
 *   again, which must give the same hash and digest; the prefix is
 *   case-insensitive, so changing its case must not change the result;
 * - base64_encode then base64_decode of the raw input,
 *   with and without padding, must give the input back, and decoding
 *   into one byte less must fail;
 * - base64_decode of the raw input: what it accepts is
 *   canonical, so encoding the result without padding must give the
 *   input back without its padding.
 */

#include <config.h>

#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base64.h"
#include "fingerprint.h"
#include "fuzz-common.h"

static size_t
expected_len (enum fp_hash hash)
{
  switch (hash) {
  case FP_MD5: return 16;
  case FP_SHA1: return 20;
  case FP_SHA256: return 32;
  }
  return 0;
}

static void
check_fingerprint (const char *s)
{
  struct fingerprint fp, fp2;
  char err[256], out[FP_STR_LEN], *tiny, *flipped;
  size_t i, plen;
  int r, r2;

  memset (err, 'X', sizeof err);
  r = fingerprint_parse (s, &fp, err, sizeof err);

  /* A one-byte buffer must be enough not to overflow. */
  tiny = malloc (1);
  FUZZ_CHECK (tiny != NULL);
  r2 = fingerprint_parse (s, &fp2, tiny, 1);
  FUZZ_CHECK (r2 == r);
  if (r == -1)
    FUZZ_CHECK (tiny[0] == '\0');
  free (tiny);

  if (r == -1) {
    fuzz_check_err (err, sizeof err);
    return;
  }
  FUZZ_CHECK (r == 0);
  FUZZ_CHECK (fp.hash == FP_MD5 || fp.hash == FP_SHA1 ||
              fp.hash == FP_SHA256);
  FUZZ_CHECK (fp.len == expected_len (fp.hash));
  FUZZ_CHECK (fp2.hash == fp.hash && fp2.len == fp.len &&
              memcmp (fp2.digest, fp.digest, fp.len) == 0);

  /* Format and parse again: the same fingerprint. */
  memset (out, 'X', sizeof out);
  fingerprint_format (fp.hash, fp.digest, fp.len, out);
  FUZZ_CHECK (memchr (out, '\0', sizeof out) != NULL);
  plen = strlen (fingerprint_hash_name (fp.hash));
  FUZZ_CHECK (strncmp (out, fingerprint_hash_name (fp.hash), plen) == 0 &&
              out[plen] == ':');
  memset (&fp2, 0, sizeof fp2);
  if (fingerprint_parse (out, &fp2, err, sizeof err) != 0) {
    fprintf (stderr, "re-parsing '%s' failed: %s\n", out, err);
    abort ();
  }
  FUZZ_CHECK (fp2.hash == fp.hash);
  FUZZ_CHECK (fp2.len == fp.len);
  FUZZ_CHECK (memcmp (fp2.digest, fp.digest, fp.len) == 0);

  /* The prefix is case-insensitive. */
  flipped = strdup (s);
  FUZZ_CHECK (flipped != NULL);
  for (i = 0; flipped[i] && flipped[i] != ':'; ++i) {
    unsigned char c = (unsigned char) flipped[i];
    flipped[i] = (char) (islower (c) ? toupper (c) : tolower (c));
  }
  memset (&fp2, 0, sizeof fp2);
  FUZZ_CHECK (fingerprint_parse (flipped, &fp2, err, sizeof err) == 0);
  FUZZ_CHECK (fp2.hash == fp.hash && fp2.len == fp.len &&
              memcmp (fp2.digest, fp.digest, fp.len) == 0);
  free (flipped);
}

/* Encode then decode the raw bytes. */
static void
check_encode_decode (const uint8_t *data, size_t size)
{
  size_t enclen = (size + 2) / 3 * 4, nopad;
  char *enc = malloc (enclen + 1);
  unsigned char *dec = malloc (size + 1);
  int n;

  FUZZ_CHECK (enc != NULL && dec != NULL);

  base64_encode (data, size, enc, true);
  FUZZ_CHECK (strlen (enc) == enclen);
  n = base64_decode (enc, enclen, dec, size);
  FUZZ_CHECK (n >= 0 && (size_t) n == size);
  FUZZ_CHECK (memcmp (dec, data, size) == 0);
  if (size > 0)
    FUZZ_CHECK (base64_decode (enc, enclen, dec, size - 1) == -1);

  base64_encode (data, size, enc, false);
  nopad = size / 3 * 4 + (size % 3 ? size % 3 + 1 : 0);
  FUZZ_CHECK (strlen (enc) == nopad);
  FUZZ_CHECK (strchr (enc, '=') == NULL);
  n = base64_decode (enc, nopad, dec, size);
  FUZZ_CHECK (n >= 0 && (size_t) n == size);
  FUZZ_CHECK (memcmp (dec, data, size) == 0);

  free (enc);
  free (dec);
}

/* Decode the raw bytes as base64. */
static void
check_decode (const uint8_t *data, size_t size)
{
  const char *in = (const char *) data;
  size_t cap = size / 4 * 3 + 3, stripped = size, pad;
  unsigned char *dec = malloc (cap);
  char *enc;
  int n;

  FUZZ_CHECK (dec != NULL);
  n = base64_decode (in, size, dec, cap);
  if (n < 0) {
    FUZZ_CHECK (n == -1);
    free (dec);
    return;
  }

  /* Accepted: at most two '=' of padding, making a multiple of 4. */
  while (stripped > 0 && in[stripped-1] == '=')
    stripped--;
  pad = size - stripped;
  FUZZ_CHECK (pad <= 2);
  FUZZ_CHECK (pad == 0 || size % 4 == 0);
  FUZZ_CHECK ((size_t) n == stripped * 6 / 8);

  /* Canonical: re-encoding gives the input (without padding). */
  enc = malloc ((size_t) n / 3 * 4 + 5);
  FUZZ_CHECK (enc != NULL);
  base64_encode (dec, (size_t) n, enc, false);
  FUZZ_CHECK (strlen (enc) == stripped && memcmp (enc, in, stripped) == 0);
  free (enc);

  /* One byte less room: an error, not an overflow. */
  if (n > 0) {
    unsigned char *small = malloc ((size_t) n - 1 + 1);
    FUZZ_CHECK (small != NULL);
    FUZZ_CHECK (base64_decode (in, size, small, (size_t) n - 1) == -1);
    free (small);
  }
  free (dec);
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  FUZZ_CHECK (strcmp (fingerprint_hash_name (FP_MD5), "MD5") == 0);
  FUZZ_CHECK (strcmp (fingerprint_hash_name (FP_SHA1), "SHA1") == 0);
  FUZZ_CHECK (strcmp (fingerprint_hash_name (FP_SHA256), "SHA256") == 0);
  FUZZ_CHECK (strcmp (fingerprint_hash_name ((enum fp_hash) 0), "unknown") == 0);
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char *s = fuzz_cstr (data, size);

  check_fingerprint (s);
  free (s);
  check_encode_decode (data, size);
  check_decode (data, size);
  return 0;
}
