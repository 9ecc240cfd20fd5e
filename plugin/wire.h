/* nbdkit-ssh-plugin (libssh2)
 * Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
 * SPDX-License-Identifier: BSD-3-Clause
 */

/* Big-endian integers as SSH and SFTP put them on the wire: key
 * blobs (auth.c, knownhosts.c) and SFTP packets (sftp.c,
 * sftp-wire.c).  Header only, pure.
 */

#ifndef SSH_PLUGIN_WIRE_H
#define SSH_PLUGIN_WIRE_H

#include <stdint.h>

static inline uint32_t
wire_get_be32 (const void *p)
{
  const unsigned char *u = p;

  return (uint32_t) u[0] << 24 | (uint32_t) u[1] << 16 |
    (uint32_t) u[2] << 8 | u[3];
}

static inline uint64_t
wire_get_be64 (const void *p)
{
  const unsigned char *u = p;

  return (uint64_t) wire_get_be32 (u) << 32 | wire_get_be32 (u + 4);
}

#endif /* SSH_PLUGIN_WIRE_H */
