/* nbdkit-ssh-plugin (libssh2): unit tests for plugin/fingerprint.c
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

#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "fingerprint.h"
#include "unit.h"

static const unsigned char sha256_digest[32] = {
  0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
  0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
  0xf0, 0xe1, 0xd2, 0xc3, 0xb4, 0xa5, 0x96, 0x87,
  0x78, 0x69, 0x5a, 0x4b, 0x3c, 0x2d, 0x1e, 0xff,
};

static int
parse_ok (const char *s, enum fp_hash hash, size_t len,
          const unsigned char *digest)
{
  struct fingerprint fp;
  char err[256];

  if (fingerprint_parse (s, &fp, err, sizeof err) == -1) {
    fprintf (stderr, "unexpected parse error for '%s': %s\n", s, err);
    return 0;
  }
  return fp.hash == hash && fp.len == len &&
    memcmp (fp.digest, digest, len) == 0;
}

static int
parse_fails (const char *s)
{
  struct fingerprint fp;
  char err[256] = "";

  if (fingerprint_parse (s, &fp, err, sizeof err) == 0) {
    fprintf (stderr, "'%s' was accepted but should not be\n", s);
    return 0;
  }
  /* The message must name the bad value. */
  return strstr (err, s) != NULL;
}

static void
test_base64 (void)
{
  unsigned char out[64];
  char enc[128];

  CHECK (base64_decode ("", 0, out, sizeof out) == 0);
  CHECK (base64_decode ("Zg==", 4, out, sizeof out) == 1 &&
         out[0] == 'f');
  CHECK (base64_decode ("Zg", 2, out, sizeof out) == 1);
  CHECK (base64_decode ("Zm9v", 4, out, sizeof out) == 3 &&
         memcmp (out, "foo", 3) == 0);
  CHECK (base64_decode ("Zm9vYg", 6, out, sizeof out) == 4 &&
         memcmp (out, "foob", 4) == 0);
  CHECK (base64_decode ("Z", 1, out, sizeof out) == -1);
  CHECK (base64_decode ("Zh", 2, out, sizeof out) == -1); /* non-canonical */
  CHECK (base64_decode ("Zm9v!", 5, out, sizeof out) == -1);
  CHECK (base64_decode ("Zg===", 5, out, sizeof out) == -1);
  CHECK (base64_decode ("Zm9v", 4, out, 2) == -1);    /* overflow */

  base64_encode ((const unsigned char *) "foob", 4, enc, true);
  CHECK (strcmp (enc, "Zm9vYg==") == 0);
  base64_encode ((const unsigned char *) "foob", 4, enc, false);
  CHECK (strcmp (enc, "Zm9vYg") == 0);
  base64_encode ((const unsigned char *) "fooba", 5, enc, true);
  CHECK (strcmp (enc, "Zm9vYmE=") == 0);
  base64_encode ((const unsigned char *) "foobar", 6, enc, true);
  CHECK (strcmp (enc, "Zm9vYmFy") == 0);
}

static void
test_fingerprints (void)
{
  char b64[64], s[160], hex[100], colons[120], out[FP_STR_LEN];
  unsigned char md5[16], sha1[20];
  size_t i;

  /* SHA256:<base64>, as ssh-keygen -l prints it, with and without '='. */
  base64_encode (sha256_digest, 32, b64, false);
  snprintf (s, sizeof s, "SHA256:%s", b64);
  CHECK (parse_ok (s, FP_SHA256, 32, sha256_digest));
  snprintf (s, sizeof s, "SHA256:%s=", b64);
  CHECK (parse_ok (s, FP_SHA256, 32, sha256_digest));

  /* Round trip through the formatter. */
  fingerprint_format (FP_SHA256, sha256_digest, 32, out);
  snprintf (s, sizeof s, "SHA256:%s", b64);
  CHECK (strcmp (out, s) == 0);

  /* sha256:<hex> (QEMU), lower and upper case, with and without colons. */
  for (i = 0; i < 32; ++i)
    sprintf (hex + 2*i, "%02x", sha256_digest[i]);
  snprintf (s, sizeof s, "sha256:%s", hex);
  CHECK (parse_ok (s, FP_SHA256, 32, sha256_digest));
  for (i = 0; i < 32; ++i)
    sprintf (colons + 3*i, "%02X%s", sha256_digest[i], i < 31 ? ":" : "");
  snprintf (s, sizeof s, "SHA256:%s", colons);
  CHECK (parse_ok (s, FP_SHA256, 32, sha256_digest));

  /* md5 (QEMU, and ssh-keygen -E md5's MD5:aa:bb:...). */
  for (i = 0; i < 16; ++i)
    md5[i] = (unsigned char) (i * 17);
  CHECK (parse_ok ("md5:00112233445566778899aabbccddeeff", FP_MD5, 16, md5));
  CHECK (parse_ok ("MD5:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff",
                   FP_MD5, 16, md5));
  fingerprint_format (FP_MD5, md5, 16, out);
  CHECK (strcmp (out,
                 "MD5:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff") == 0);

  /* sha1 hex and base64. */
  for (i = 0; i < 20; ++i)
    sha1[i] = (unsigned char) (255 - i);
  CHECK (parse_ok ("sha1:fffefdfcfbfaf9f8f7f6f5f4f3f2f1f0efeeedec",
                   FP_SHA1, 20, sha1));
  base64_encode (sha1, 20, b64, false);
  snprintf (s, sizeof s, "SHA1:%s", b64);
  CHECK (parse_ok (s, FP_SHA1, 20, sha1));

  /* Refused. */
  CHECK (parse_fails (""));
  CHECK (parse_fails ("abc"));
  CHECK (parse_fails ("sha512:00"));
  CHECK (parse_fails ("SHA256:"));
  CHECK (parse_fails ("SHA256:tooshort"));
  CHECK (parse_fails ("md5:0011223344556677889"));             /* odd */
  CHECK (parse_fails ("md5:00112233445566778899aabbccddeeff00")); /* long */
  CHECK (parse_fails ("md5:00112233445566778899aabbccddeegg")); /* not hex */
  CHECK (parse_fails ("md5:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:"));
  CHECK (parse_fails ("md5:0011:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff"));
  CHECK (parse_fails ("md5:AAECAwQFBgcICQoLDA0ODw"));  /* no base64 for md5 */
  snprintf (s, sizeof s, "SHA256:%s!", b64);
  CHECK (parse_fails (s));
}

int
main (void)
{
  test_base64 ();
  test_fingerprints ();
  return unit_done ("test-fingerprint");
}
