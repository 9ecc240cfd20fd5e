/* nbdkit-ssh-plugin (libssh2)
 * Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
 * SPDX-License-Identifier: BSD-3-Clause
 */

/* base64.c: Base64 (RFC 4648), for fingerprints, known_hosts keys
 * and public key files.  Pure: no nbdkit or libssh2 calls
 * (tests/test-fingerprint.c, fuzz/fuzz-fingerprint.c).
 */

#ifndef SSH_PLUGIN_BASE64_H
#define SSH_PLUGIN_BASE64_H

#include <stdbool.h>
#include <stddef.h>

/* Base64 (RFC 4648, padding optional on input).  Returns the number
 * of bytes decoded or -1 on invalid input or overflow.
 */
extern int base64_decode (const char *in, size_t inlen,
                          unsigned char *out, size_t outlen);
extern void base64_encode (const unsigned char *in, size_t inlen,
                           char *out, bool pad);

#endif /* SSH_PLUGIN_BASE64_H */
