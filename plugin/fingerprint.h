/* nbdkit-ssh-plugin (libssh2)
 * Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
 * SPDX-License-Identifier: BSD-3-Clause
 */

/* fingerprint.c: host key fingerprints (parse, format).  Pure: no
 * nbdkit or libssh2 calls (tests/test-fingerprint.c,
 * fuzz/fuzz-fingerprint.c).  Errors are written into the caller's err
 * buffer (errlen bytes, always NUL-terminated when errlen > 0).
 */

#ifndef SSH_PLUGIN_FINGERPRINT_H
#define SSH_PLUGIN_FINGERPRINT_H

#include <stddef.h>

/* Hash algorithms of a host key fingerprint.  The values are the same
 * as libssh2's LIBSSH2_HOSTKEY_HASH_* so they can be passed on.
 */
enum fp_hash {
  FP_MD5 = 1,
  FP_SHA1 = 2,
  FP_SHA256 = 3,
};

#define FP_MAX_LEN 32

struct fingerprint {
  enum fp_hash hash;
  size_t len;                           /* 16, 20 or 32 */
  unsigned char digest[FP_MAX_LEN];
};

/* Parse "SHA256:<base64>", "SHA1:<base64>", "MD5:aa:bb:..",
 * "md5:<hex>", "sha1:<hex>", "sha256:<hex>" (hex with or without
 * colons, any case).  On error returns -1 and writes a message to err
 * that quotes str (the caller says which parameter it came from).
 */
extern int fingerprint_parse (const char *str, struct fingerprint *fp,
                              char *err, size_t errlen);

/* Format a digest as OpenSSH does: "SHA256:<base64 without padding>".
 * out must have room for FP_STR_LEN bytes.
 */
#define FP_STR_LEN 64
extern void fingerprint_format (enum fp_hash hash,
                                const unsigned char *digest,
                                size_t len, char *out);

extern const char *fingerprint_hash_name (enum fp_hash hash);

#endif /* SSH_PLUGIN_FINGERPRINT_H */
