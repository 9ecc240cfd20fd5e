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

/* Unit tests for plugin/sftp-wire.c: packets built and their bytes,
 * and replies decoded: real ones captured from OpenSSH's sftp-server
 * and crafted ones (truncated, huge lengths, the old VERSION bug).
 */

#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sftp-wire.h"
#include "wire.h"
#include "unit.h"

/* Captured from /usr/lib/openssh/sftp-server (OpenSSH 9). */
static const unsigned char real_version[] = {
  0x00, 0x00, 0x01, 0x3e, 0x02, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00,
  0x18, 0x70, 0x6f, 0x73, 0x69, 0x78, 0x2d, 0x72, 0x65, 0x6e, 0x61, 0x6d,
  0x65, 0x40, 0x6f, 0x70, 0x65, 0x6e, 0x73, 0x73, 0x68, 0x2e, 0x63, 0x6f,
  0x6d, 0x00, 0x00, 0x00, 0x01, 0x31, 0x00, 0x00, 0x00, 0x13, 0x73, 0x74,
  0x61, 0x74, 0x76, 0x66, 0x73, 0x40, 0x6f, 0x70, 0x65, 0x6e, 0x73, 0x73,
  0x68, 0x2e, 0x63, 0x6f, 0x6d, 0x00, 0x00, 0x00, 0x01, 0x32, 0x00, 0x00,
  0x00, 0x14, 0x66, 0x73, 0x74, 0x61, 0x74, 0x76, 0x66, 0x73, 0x40, 0x6f,
  0x70, 0x65, 0x6e, 0x73, 0x73, 0x68, 0x2e, 0x63, 0x6f, 0x6d, 0x00, 0x00,
  0x00, 0x01, 0x32, 0x00, 0x00, 0x00, 0x14, 0x68, 0x61, 0x72, 0x64, 0x6c,
  0x69, 0x6e, 0x6b, 0x40, 0x6f, 0x70, 0x65, 0x6e, 0x73, 0x73, 0x68, 0x2e,
  0x63, 0x6f, 0x6d, 0x00, 0x00, 0x00, 0x01, 0x31, 0x00, 0x00, 0x00, 0x11,
  0x66, 0x73, 0x79, 0x6e, 0x63, 0x40, 0x6f, 0x70, 0x65, 0x6e, 0x73, 0x73,
  0x68, 0x2e, 0x63, 0x6f, 0x6d, 0x00, 0x00, 0x00, 0x01, 0x31, 0x00, 0x00,
  0x00, 0x14, 0x6c, 0x73, 0x65, 0x74, 0x73, 0x74, 0x61, 0x74, 0x40, 0x6f,
  0x70, 0x65, 0x6e, 0x73, 0x73, 0x68, 0x2e, 0x63, 0x6f, 0x6d, 0x00, 0x00,
  0x00, 0x01, 0x31, 0x00, 0x00, 0x00, 0x12, 0x6c, 0x69, 0x6d, 0x69, 0x74,
  0x73, 0x40, 0x6f, 0x70, 0x65, 0x6e, 0x73, 0x73, 0x68, 0x2e, 0x63, 0x6f,
  0x6d, 0x00, 0x00, 0x00, 0x01, 0x31, 0x00, 0x00, 0x00, 0x17, 0x65, 0x78,
  0x70, 0x61, 0x6e, 0x64, 0x2d, 0x70, 0x61, 0x74, 0x68, 0x40, 0x6f, 0x70,
  0x65, 0x6e, 0x73, 0x73, 0x68, 0x2e, 0x63, 0x6f, 0x6d, 0x00, 0x00, 0x00,
  0x01, 0x31, 0x00, 0x00, 0x00, 0x09, 0x63, 0x6f, 0x70, 0x79, 0x2d, 0x64,
  0x61, 0x74, 0x61, 0x00, 0x00, 0x00, 0x01, 0x31, 0x00, 0x00, 0x00, 0x0e,
  0x68, 0x6f, 0x6d, 0x65, 0x2d, 0x64, 0x69, 0x72, 0x65, 0x63, 0x74, 0x6f,
  0x72, 0x79, 0x00, 0x00, 0x00, 0x01, 0x31, 0x00, 0x00, 0x00, 0x1e, 0x75,
  0x73, 0x65, 0x72, 0x73, 0x2d, 0x67, 0x72, 0x6f, 0x75, 0x70, 0x73, 0x2d,
  0x62, 0x79, 0x2d, 0x69, 0x64, 0x40, 0x6f, 0x70, 0x65, 0x6e, 0x73, 0x73,
  0x68, 0x2e, 0x63, 0x6f, 0x6d, 0x00, 0x00, 0x00, 0x01, 0x31,
};

/* EXTENDED_REPLY to limits@openssh.com, id 1. */
static const unsigned char real_limits[] = {
  0x00, 0x00, 0x00, 0x25, 0xc9, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xfc,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xfc, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x4e, 0x1b,
};

/* STATUS to an OPEN of a missing file, id 13. */
static const unsigned char real_status_no_such_file[] = {
  0x00, 0x00, 0x00, 0x1d, 0x65, 0x00, 0x00, 0x00, 0x0d, 0x00, 0x00, 0x00,
  0x02, 0x00, 0x00, 0x00, 0x0c, 0x4e, 0x6f, 0x20, 0x73, 0x75, 0x63, 0x68,
  0x20, 0x66, 0x69, 0x6c, 0x65, 0x00, 0x00, 0x00, 0x00,
};

/* ATTRS to an FSTAT of a 100000-byte file, id 3. */
static const unsigned char real_attrs_fstat[] = {
  0x00, 0x00, 0x00, 0x25, 0x69, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00,
  0x0f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x86, 0xa0, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x81, 0xa4, 0x6b, 0x0c, 0x2c,
  0xa2, 0x6b, 0x0c, 0x2c, 0xa2,
};

/* EXTENDED_REPLY to fstatvfs@openssh.com, id 6. */
static const unsigned char real_statvfs[] = {
  0x00, 0x00, 0x00, 0x5d, 0xc9, 0x00, 0x00, 0x00, 0x06, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xef, 0xe3, 0x9d, 0x00, 0x00, 0x00,
  0x00, 0x03, 0xac, 0x93, 0x96, 0x00, 0x00, 0x00, 0x00, 0x01, 0x3b, 0x71,
  0x82, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0xf9, 0x73, 0x11, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf9, 0x73,
  0x11, 0x03, 0xe4, 0xfb, 0x02, 0x04, 0xd4, 0x83, 0x2b, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0xff,
};

/* Split exactly one packet out of bytes [p, p+len). */
static int
one_packet (const void *p, size_t len, struct sftp_packet *pkt)
{
  struct sftp_reader in;
  int r;

  sftp_wire_reader (&in, p, len);
  r = sftp_wire_next_packet (&in, pkt);
  if (r == SFTP_WIRE_PACKET && in.left != 0)
    return 99;                  /* bytes left over */
  return r;
}

/* A buffer, owned by the caller, with what b holds pending. */
static size_t
pending_bytes (struct sftp_buf *b, unsigned char *out, size_t outlen)
{
  size_t n = sftp_wire_pending (b);

  if (n > outlen)
    n = outlen;
  memcpy (out, sftp_wire_pending_data (b), n);
  return n;
}

static void
test_build (void)
{
  struct sftp_buf b = { .data = NULL };
  unsigned char out[256];
  size_t n;
  static const unsigned char init[] = {
    0, 0, 0, 5, SSH_FXP_INIT, 0, 0, 0, 3,
  };
  static const unsigned char read[] = {
    0, 0, 0, 25, SSH_FXP_READ, 0, 0, 0, 7,
    0, 0, 0, 4, 'h', 'n', 'd', 'l',
    0, 1, 2, 3, 4, 5, 6, 7, 0, 0, 0x80, 0,
  };

  /* Nothing pending until a packet ends. */
  sftp_wire_begin (&b, SSH_FXP_INIT);
  sftp_wire_put_u32 (&b, SFTP_VERSION);
  CHECK (sftp_wire_pending (&b) == 0);
  CHECK (sftp_wire_end (&b) == 0);
  n = pending_bytes (&b, out, sizeof out);
  CHECK (n == sizeof init && memcmp (out, init, n) == 0);

  sftp_wire_begin (&b, SSH_FXP_READ);
  sftp_wire_put_u32 (&b, 7);
  sftp_wire_put_string (&b, "hndl", 4);
  sftp_wire_put_u64 (&b, UINT64_C (0x0102030405060700) >> 8);
  sftp_wire_put_u32 (&b, 32768);
  CHECK (sftp_wire_pending (&b) == sizeof init);
  CHECK (sftp_wire_end (&b) == 0);
  n = pending_bytes (&b, out, sizeof out);
  CHECK (n == sizeof init + sizeof read);
  CHECK (memcmp (out + sizeof init, read, sizeof read) == 0);

  /* Sending part of it; all of it empties the buffer. */
  sftp_wire_sent (&b, 3);
  CHECK (sftp_wire_pending (&b) == n - 3);
  CHECK (memcmp (sftp_wire_pending_data (&b), init + 3, 2) == 0);
  sftp_wire_sent (&b, n - 3);
  CHECK (sftp_wire_pending (&b) == 0);
  CHECK (b.len == 0 && b.sent == 0);

  /* A packet being built is never pending, even partly sent before. */
  sftp_wire_begin (&b, SSH_FXP_CLOSE);
  sftp_wire_put_u32 (&b, 9);
  sftp_wire_put_string (&b, "", 0);
  CHECK (sftp_wire_end (&b) == 0);
  sftp_wire_sent (&b, 2);
  sftp_wire_begin (&b, SSH_FXP_FSTAT);
  sftp_wire_put_u32 (&b, 10);
  sftp_wire_sent (&b, 100);     /* more than pending: only the CLOSE */
  CHECK (sftp_wire_pending (&b) == 0);
  CHECK (b.len == 13 + 9);      /* FSTAT so far: not reset under it */
  sftp_wire_put_string (&b, "h", 1);
  CHECK (sftp_wire_end (&b) == 0);
  CHECK (sftp_wire_pending (&b) == 4 + 1 + 4 + 4 + 1);
  CHECK (wire_get_be32 ((const unsigned char *) sftp_wire_pending_data (&b))
         == 1 + 4 + 4 + 1);
  sftp_wire_sent (&b, sftp_wire_pending (&b));

  /* A WRITE whose data is sent from elsewhere: only its header is in
   * the buffer, its length counts the data.
   */
  sftp_wire_begin (&b, SSH_FXP_WRITE);
  sftp_wire_put_u32 (&b, 11);
  sftp_wire_put_string (&b, "h", 1);
  sftp_wire_put_u64 (&b, 0);
  sftp_wire_put_u32 (&b, 1000);
  CHECK (sftp_wire_end_extra (&b, 1000) == 0);
  CHECK (sftp_wire_pending (&b) == 4 + 1 + 4 + 5 + 8 + 4);
  CHECK (wire_get_be32 ((const unsigned char *) sftp_wire_pending_data (&b))
         == 1 + 4 + 5 + 8 + 4 + 1000);
  sftp_wire_sent (&b, sftp_wire_pending (&b));
  sftp_wire_begin (&b, SSH_FXP_WRITE);
  CHECK (sftp_wire_end_extra (&b, UINT32_MAX) == -1);  /* too long */
  CHECK (sftp_wire_pending (&b) == 0);

  /* Growth: a big WRITE, with unsent bytes before it compacted. */
  {
    size_t big = 200000, before;
    char *data = malloc (big);
    const unsigned char *q;

    CHECK (data != NULL);
    memset (data, 'x', big);
    sftp_wire_begin (&b, SSH_FXP_INIT);
    sftp_wire_put_u32 (&b, 3);
    CHECK (sftp_wire_end (&b) == 0);
    sftp_wire_sent (&b, 4);
    before = sftp_wire_pending (&b);
    sftp_wire_begin (&b, SSH_FXP_WRITE);
    sftp_wire_put_u32 (&b, 11);
    sftp_wire_put_string (&b, "h", 1);
    sftp_wire_put_u64 (&b, 0);
    sftp_wire_put_string (&b, data, big);
    CHECK (sftp_wire_end (&b) == 0);
    CHECK (b.sent == 0);        /* compacted when it grew */
    CHECK (sftp_wire_pending (&b) == before + 4 + 1 + 4 + 5 + 8 + 4 + big);
    q = (const unsigned char *) sftp_wire_pending_data (&b) + before;
    CHECK (wire_get_be32 (q) == 1 + 4 + 5 + 8 + 4 + big);
    CHECK (q[4] == SSH_FXP_WRITE && q[4 + 1 + 4 + 5 + 8 + 4] == 'x');
    free (data);
  }

  /* A string too long for the wire: the packet is dropped. */
  sftp_wire_sent (&b, sftp_wire_pending (&b));
  sftp_wire_begin (&b, SSH_FXP_WRITE);
  sftp_wire_put_u32 (&b, 12);
  sftp_wire_put_string (&b, "", (size_t) UINT32_MAX + 1);
  errno = 0;
  CHECK (sftp_wire_end (&b) == -1 && errno == ENOMEM);
  CHECK (sftp_wire_pending (&b) == 0 && b.len == 0);
  /* ... and the next one is fine. */
  sftp_wire_begin (&b, SSH_FXP_INIT);
  sftp_wire_put_u32 (&b, 3);
  CHECK (sftp_wire_end (&b) == 0);
  CHECK (sftp_wire_pending (&b) == sizeof init);

  /* A put outside a packet fails the next end. */
  CHECK (sftp_wire_end (&b) == -1);

  sftp_wire_buf_free (&b);
  CHECK (b.data == NULL && b.cap == 0);
}

static void
test_reader (void)
{
  static const unsigned char bytes[] = {
    1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 2, 'a', 'b', 0xff,
  };
  struct sftp_reader r;
  uint32_t len;
  const char *s;

  sftp_wire_reader (&r, bytes, sizeof bytes);
  CHECK (sftp_wire_get_u8 (&r) == 1);
  CHECK (sftp_wire_get_u32 (&r) == 2);
  CHECK (sftp_wire_get_u64 (&r) == 3);
  s = sftp_wire_get_string (&r, &len);
  CHECK (len == 2 && memcmp (s, "ab", 2) == 0);
  CHECK (!r.bad && r.left == 1);
  CHECK (sftp_wire_get_u32 (&r) == 0 && r.bad);
  /* Once bad, nothing more is taken. */
  CHECK (sftp_wire_get_u8 (&r) == 0 && r.left == 1);

  /* A string whose length runs past the end. */
  sftp_wire_reader (&r, "\0\0\0\x05" "abcd", 8);
  s = sftp_wire_get_string (&r, &len);
  CHECK (r.bad && len == 0 && s != NULL && r.left == 4);
  /* A huge string length. */
  sftp_wire_reader (&r, "\xff\xff\xff\xff" "abcd", 8);
  s = sftp_wire_get_string (&r, &len);
  CHECK (r.bad && len == 0);

  CHECK (wire_get_be32 ("\x12\x34\x56\x78") == 0x12345678);
  CHECK (wire_get_be64 ("\x80\0\0\0\0\0\0\x01") ==
         UINT64_C (0x8000000000000001));
}

static void
test_split (void)
{
  struct sftp_packet pkt;
  struct sftp_reader in;
  unsigned char two[sizeof real_limits + sizeof real_status_no_such_file];
  size_t i;
  int r;

  /* Every prefix of a packet asks for more. */
  for (i = 0; i < sizeof real_limits; ++i)
    CHECK (one_packet (real_limits, i, &pkt) == SFTP_WIRE_MORE);
  CHECK (one_packet (real_limits, sizeof real_limits, &pkt)
         == SFTP_WIRE_PACKET);
  CHECK (pkt.type == SSH_FXP_EXTENDED_REPLY && pkt.id == 1 &&
         pkt.length == 0x25 && pkt.len == 32 &&
         pkt.payload == (const char *) real_limits + 9);

  /* Two packets in a row, then nothing. */
  memcpy (two, real_limits, sizeof real_limits);
  memcpy (two + sizeof real_limits, real_status_no_such_file,
          sizeof real_status_no_such_file);
  sftp_wire_reader (&in, two, sizeof two);
  CHECK (sftp_wire_next_packet (&in, &pkt) == SFTP_WIRE_PACKET);
  CHECK (pkt.type == SSH_FXP_EXTENDED_REPLY);
  CHECK (sftp_wire_next_packet (&in, &pkt) == SFTP_WIRE_PACKET);
  CHECK (pkt.type == SSH_FXP_STATUS && pkt.id == 13);
  CHECK (in.left == 0);
  CHECK (sftp_wire_next_packet (&in, &pkt) == SFTP_WIRE_MORE);

  /* VERSION has no id. */
  CHECK (one_packet (real_version, sizeof real_version, &pkt)
         == SFTP_WIRE_PACKET);
  CHECK (pkt.type == SSH_FXP_VERSION && pkt.id == 0 &&
         pkt.len == sizeof real_version - 5);

  /* Length 0, and lengths over the maximum: refused before waiting. */
  CHECK (one_packet ("\0\0\0\0", 4, &pkt) == SFTP_WIRE_BAD_LENGTH);
  CHECK (one_packet ("\xff\xff\xff\xff\x65", 5, &pkt)
         == SFTP_WIRE_BAD_LENGTH);
  {
    unsigned char h[4] = { 0, 0, 0, 0 };
    uint32_t max = SFTP_MAX_PACKET - 4;

    h[1] = (max + 1) >> 16; h[2] = (max + 1) >> 8; h[3] = max + 1;
    CHECK (one_packet (h, 4, &pkt) == SFTP_WIRE_BAD_LENGTH);
    h[1] = max >> 16; h[2] = max >> 8; h[3] = max;
    CHECK (one_packet (h, 4, &pkt) == SFTP_WIRE_MORE);
  }

  /* Too short for type and id (not a VERSION). */
  CHECK (one_packet ("\0\0\0\x01\x65", 5, &pkt) == SFTP_WIRE_SHORT);
  CHECK (one_packet ("\0\0\0\x04\x65\0\0\0", 8, &pkt) == SFTP_WIRE_SHORT);
  CHECK (one_packet ("\0\0\0\x05\x65\0\0\0\x09", 9, &pkt)
         == SFTP_WIRE_PACKET);
  CHECK (pkt.id == 9 && pkt.len == 0);
  /* A VERSION of one byte splits (and then is too short to decode). */
  sftp_wire_reader (&in, "\0\0\0\x01\x02", 5);
  r = sftp_wire_next_packet (&in, &pkt);
  CHECK (r == SFTP_WIRE_PACKET && pkt.type == SSH_FXP_VERSION &&
         pkt.len == 0);
}

static void
test_version (void)
{
  struct sftp_reader exts;
  struct sftp_ext ext;
  uint32_t version;
  int n = 0;
  bool fsync = false, limits = false, fstatvfs = false;
  size_t k;

  CHECK (sftp_wire_version (real_version + 5, sizeof real_version - 5,
                            &version, &exts) == 0);
  CHECK (version == 3);
  while (sftp_wire_next_ext (&exts, &ext)) {
    n++;
    if (sftp_wire_ext_is (&ext, "fsync@openssh.com"))
      fsync = ext.data_len == 1 && ext.data[0] == '1';
    if (sftp_wire_ext_is (&ext, "limits@openssh.com"))
      limits = true;
    if (sftp_wire_ext_is (&ext, "fstatvfs@openssh.com"))
      fstatvfs = ext.data_len == 1 && ext.data[0] == '2';
  }
  CHECK (n == 11 && !exts.bad && exts.left == 0);
  CHECK (fsync && limits && fstatvfs);

  /* No extensions; and too short for the version. */
  CHECK (sftp_wire_version ("\0\0\0\x03", 4, &version, &exts) == 0);
  CHECK (version == 3 && !sftp_wire_next_ext (&exts, &ext));
  CHECK (sftp_wire_version ("\0\0\x03", 3, &version, &exts) == -1);

  /* The old bug: 4..7 bytes after the version made the extension loop
   * compute a wrapped length and read past the buffer.  Copies on the
   * heap, of the exact size, so ASan sees any overread.
   */
  for (k = 4; k <= 7; ++k) {
    unsigned char *v = malloc (4 + k);

    CHECK (v != NULL);
    memcpy (v, "\0\0\0\x03", 4);
    memset (v + 4, 0, k);
    v[4 + 3] = 1;               /* a name of 1 byte, nothing after */
    CHECK (sftp_wire_version (v, 4 + k, &version, &exts) == 0);
    CHECK (!sftp_wire_next_ext (&exts, &ext));
    CHECK (exts.bad);
    free (v);
  }

  /* A whole pair then junk: the pair, then the end. */
  {
    static const char v[] = "\0\0\0\x03" "\0\0\0\x01" "a" "\0\0\0\0" "\0\0";

    CHECK (sftp_wire_version (v, sizeof v - 1, &version, &exts) == 0);
    CHECK (sftp_wire_next_ext (&exts, &ext) && ext.name_len == 1 &&
           ext.name[0] == 'a' && ext.data_len == 0);
    CHECK (!sftp_wire_next_ext (&exts, &ext));
  }
}

static void
test_status (void)
{
  struct sftp_packet pkt;
  struct sftp_status st;

  CHECK (one_packet (real_status_no_such_file,
                     sizeof real_status_no_such_file, &pkt)
         == SFTP_WIRE_PACKET);
  CHECK (sftp_wire_status (pkt.payload, pkt.len, &st) == 0);
  CHECK (st.code == SSH_FX_NO_SUCH_FILE && st.msg_len == 12 &&
         memcmp (st.msg, "No such file", 12) == 0);

  /* Without a message (as some servers send). */
  CHECK (sftp_wire_status ("\0\0\0\x01", 4, &st) == 0);
  CHECK (st.code == SSH_FX_EOF && st.msg_len == 0 && st.msg[0] == '\0');
  /* A message longer than the packet: no message. */
  CHECK (sftp_wire_status ("\0\0\0\x04\0\0\x10\0" "abc", 11, &st) == 0);
  CHECK (st.code == SSH_FX_FAILURE && st.msg_len == 0);
  /* Too short for the code. */
  CHECK (sftp_wire_status ("\0\0\0", 3, &st) == -1);

  CHECK (streq (sftp_wire_status_name (SSH_FX_OK), "ok"));
  CHECK (streq (sftp_wire_status_name (SSH_FX_NO_SPACE_ON_FILESYSTEM),
                "no space on filesystem"));
  CHECK (streq (sftp_wire_status_name (SSH_FX_LINK_LOOP), "link loop"));
  CHECK (streq (sftp_wire_status_name (SSH_FX_LINK_LOOP + 1),
                "unknown status"));
  CHECK (streq (sftp_wire_status_name (UINT32_MAX), "unknown status"));
  CHECK (sftp_wire_status_errno (SSH_FX_NO_SPACE_ON_FILESYSTEM) == ENOSPC);
  CHECK (sftp_wire_status_errno (SSH_FX_QUOTA_EXCEEDED) == ENOSPC);
  CHECK (sftp_wire_status_errno (SSH_FX_PERMISSION_DENIED) == EPERM);
  CHECK (sftp_wire_status_errno (SSH_FX_WRITE_PROTECT) == EPERM);
  CHECK (sftp_wire_status_errno (SSH_FX_OP_UNSUPPORTED) == ENOTSUP);
  CHECK (sftp_wire_status_errno (SSH_FX_NO_SUCH_FILE) == ENOENT);
  CHECK (sftp_wire_status_errno (SSH_FX_NO_SUCH_PATH) == ENOENT);
  CHECK (sftp_wire_status_errno (SSH_FX_FAILURE) == EIO);
  CHECK (sftp_wire_status_errno (9999) == EIO);
}

static void
test_handle_data (void)
{
  const char *p;
  uint32_t n;
  unsigned char big[4 + SFTP_MAX_HANDLE + 1];

  CHECK (sftp_wire_handle ("\0\0\0\x04" "\0\0\0\0", 8, &p, &n) == 0 &&
         n == 4);
  CHECK (sftp_wire_handle ("\0\0\0\x05" "\0\0\0\0", 8, &p, &n) == -1);
  CHECK (sftp_wire_handle ("\0\0", 2, &p, &n) == -1);
  memset (big, 'h', sizeof big);
  memcpy (big, "\0\0\x01\x00", 4);        /* 256: the limit */
  CHECK (sftp_wire_handle (big, sizeof big, &p, &n) == 0 && n == 256);
  memcpy (big, "\0\0\x01\x01", 4);        /* 257 */
  CHECK (sftp_wire_handle (big, sizeof big, &p, &n) == -1);

  CHECK (sftp_wire_data ("\0\0\0\x03" "abc", 7, 3, &p, &n) == 0 &&
         n == 3 && memcmp (p, "abc", 3) == 0);
  /* Longer than asked. */
  CHECK (sftp_wire_data ("\0\0\0\x03" "abc", 7, 2, &p, &n) == -1);
  /* Longer than the packet. */
  CHECK (sftp_wire_data ("\0\0\0\x04" "abc", 7, 100, &p, &n) == -1);
  CHECK (sftp_wire_data ("\xff\xff\xff\xff" "abc", 7, UINT32_MAX, &p, &n)
         == -1);
  CHECK (sftp_wire_data ("\0\0\0\0", 4, 10, &p, &n) == 0 && n == 0);
}

static void
test_attrs (void)
{
  struct sftp_packet pkt;
  struct sftp_attrs a;
  static const unsigned char all[] = {
    0x80, 0, 0, 0x0f,                   /* every flag */
    0, 0, 0, 1, 0, 0, 0, 2,             /* size */
    0, 0, 3, 0xe8, 0, 0, 3, 0xe9,       /* uid 1000, gid 1001 */
    0, 0, 0x81, 0xa4,                   /* 0100644 */
    0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,  /* times */
    0, 0, 0, 2,                         /* two extended pairs */
    0, 0, 0, 1, 't', 0, 0, 0, 2, 'd', 'd',
    0, 0, 0, 0, 0, 0, 0, 0,
  };
  size_t i;

  CHECK (one_packet (real_attrs_fstat, sizeof real_attrs_fstat, &pkt)
         == SFTP_WIRE_PACKET);
  CHECK (pkt.type == SSH_FXP_ATTRS && pkt.id == 3);
  CHECK (sftp_wire_attrs (pkt.payload, pkt.len, &a) == 0);
  CHECK (a.flags == 0xf && a.size == 100000 && a.permissions == 0100644);

  CHECK (sftp_wire_attrs (all, sizeof all, &a) == 0);
  CHECK (a.flags == (SSH_FILEXFER_ATTR_SIZE | SSH_FILEXFER_ATTR_UIDGID |
                     SSH_FILEXFER_ATTR_PERMISSIONS |
                     SSH_FILEXFER_ATTR_ACMODTIME |
                     SSH_FILEXFER_ATTR_EXTENDED));
  CHECK (a.size == UINT64_C (0x100000002));
  CHECK (a.uid == 1000 && a.gid == 1001 && a.permissions == 0100644);
  CHECK (a.atime == 0x11223344 && a.mtime == 0x55667788);
  CHECK (a.nr_extended == 2);
  /* Every truncation fails. */
  for (i = 0; i < sizeof all; ++i)
    CHECK (sftp_wire_attrs (all, i, &a) == -1);
  /* No flags: nothing else read. */
  CHECK (sftp_wire_attrs ("\0\0\0\0", 4, &a) == 0 && a.size == 0);
  /* A huge count of extended pairs stops at the end of the bytes. */
  CHECK (sftp_wire_attrs ("\x80\0\0\0\xff\xff\xff\xff", 8, &a) == -1);
}

static void
test_name (void)
{
  /* Two entries: a regular file "f" of 5 bytes, and "d" with no attrs. */
  static const unsigned char name[] = {
    0, 0, 0, 2,
    0, 0, 0, 1, 'f', 0, 0, 0, 3, 'l', 'n', 'f',
    0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0x81, 0xa4,
    0, 0, 0, 1, 'd', 0, 0, 0, 0,
    0, 0, 0, 0,
  };
  unsigned char more[sizeof name];
  struct sftp_reader entries;
  struct sftp_name e;
  uint32_t count;

  CHECK (sftp_wire_name (name, sizeof name, &count, &entries) == 0);
  CHECK (count == 2);
  CHECK (sftp_wire_next_name (&entries, &e) == 0);
  CHECK (e.filename_len == 1 && e.filename[0] == 'f');
  CHECK (e.longname_len == 3 && memcmp (e.longname, "lnf", 3) == 0);
  CHECK (e.attrs.size == 5 && e.attrs.permissions == 0100644);
  CHECK (sftp_wire_next_name (&entries, &e) == 0);
  CHECK (e.filename_len == 1 && e.filename[0] == 'd' &&
         e.longname_len == 0 && e.attrs.flags == 0);
  CHECK (entries.left == 0);

  /* A count larger than the entries sent. */
  memcpy (more, name, sizeof name);
  more[3] = 3;
  CHECK (sftp_wire_name (more, sizeof more, &count, &entries) == 0);
  CHECK (count == 3);
  CHECK (sftp_wire_next_name (&entries, &e) == 0);
  CHECK (sftp_wire_next_name (&entries, &e) == 0);
  CHECK (sftp_wire_next_name (&entries, &e) == -1);

  /* An entry cut in its attrs. */
  CHECK (sftp_wire_name (name, 30, &count, &entries) == 0);
  CHECK (sftp_wire_next_name (&entries, &e) == -1);
  CHECK (sftp_wire_name (name, 3, &count, &entries) == -1);
}

static void
test_extended_replies (void)
{
  struct sftp_packet pkt;
  struct sftp_limits lim;
  struct sftp_statvfs st;

  CHECK (one_packet (real_limits, sizeof real_limits, &pkt)
         == SFTP_WIRE_PACKET);
  CHECK (sftp_wire_limits (pkt.payload, pkt.len, &lim) == 0);
  CHECK (lim.max_packet == 262144 && lim.max_read == 261120 &&
         lim.max_write == 261120 && lim.max_open_handles == 19995);
  CHECK (sftp_wire_limits (pkt.payload, pkt.len - 1, &lim) == -1);

  CHECK (one_packet (real_statvfs, sizeof real_statvfs, &pkt)
         == SFTP_WIRE_PACKET);
  CHECK (sftp_wire_statvfs (pkt.payload, pkt.len, &st) == 0);
  CHECK (st.bsize == 4096 && st.frsize == 4096 && st.namemax == 255);
  CHECK (st.bavail == UINT64_C (0x13b7182));
  CHECK (sftp_wire_statvfs (pkt.payload, 40, &st) == -1);
}

static void
test_escape (void)
{
  char out[64];
  static const char ctrl[] = "a\x1b[2J\r\n\t\x07\0\x7f\\z";

  /* Plain text passes as it is, UTF-8 included. */
  CHECK (sftp_wire_text_is_plain ("disk.img", 8));
  CHECK (sftp_wire_text_is_plain ("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
                                  14));
  CHECK (sftp_wire_text_is_plain ("", 0));
  CHECK (streq (sftp_wire_escape (out, sizeof out, "caf\xc3\xa9", 5),
                "caf\xc3\xa9"));

  /* Controls, NUL, DEL: not plain, escaped byte by byte; a backslash
   * is doubled (it is plain text, but would make escapes ambiguous).
   */
  CHECK (!sftp_wire_text_is_plain (ctrl, sizeof ctrl - 1));
  CHECK (!sftp_wire_text_is_plain ("a\0b", 3));
  CHECK (sftp_wire_text_is_plain ("a\\b", 3));
  CHECK (streq (sftp_wire_escape (out, sizeof out, ctrl, sizeof ctrl - 1),
                "a\\x1b[2J\\r\\n\\t\\x07\\x00\\x7f\\\\z"));

  /* C1 controls (U+0080..U+009F, CSI is U+009B), bad UTF-8: stray
   * continuation byte, overlong '/', surrogate, past U+10FFFF, cut
   * sequence, invalid bytes.
   */
  CHECK (!sftp_wire_text_is_plain ("\xc2\x9b" "31m", 5));
  CHECK (streq (sftp_wire_escape (out, sizeof out, "\xc2\x9b" "31m", 5),
                "\\xc2\\x9b31m"));
  CHECK (sftp_wire_text_is_plain ("\xc2\xa0", 2));         /* U+00A0 */
  CHECK (!sftp_wire_text_is_plain ("\x80", 1));
  CHECK (!sftp_wire_text_is_plain ("\xc0\xaf", 2));
  CHECK (!sftp_wire_text_is_plain ("\xed\xa0\x80", 3));
  CHECK (!sftp_wire_text_is_plain ("\xf4\x90\x80\x80", 4));
  CHECK (!sftp_wire_text_is_plain ("\xe2\x82", 2));
  CHECK (!sftp_wire_text_is_plain ("\xff\xfe", 2));
  CHECK (streq (sftp_wire_escape (out, sizeof out, "\xe2\x82", 2),
                "\\xe2\\x82"));
  CHECK (streq (sftp_wire_escape (out, sizeof out, "x\xe2\x82\xac", 4),
                "x\xe2\x82\xac"));

  /* Too long: cut at an escape or a character, then "...". */
  CHECK (streq (sftp_wire_escape (out, 10, "abcdefghijkl", 12), "abcdef..."));
  CHECK (streq (sftp_wire_escape (out, 10, "abcdefghi", 9), "abcdefghi"));
  CHECK (streq (sftp_wire_escape (out, 10, "abcd\x1b" "efgh", 9),
                "abcd..."));
  CHECK (streq (sftp_wire_escape (out, 10, "abcdef\xe2\x82\xac" "x", 10),
                "abcdef..."));
  CHECK (streq (sftp_wire_escape (out, 10, "abcde\xe2\x82\xac" "x", 9),
                "abcde\xe2\x82\xac" "x"));
  CHECK (streq (sftp_wire_escape (out, 4, "abcdef", 6), "abc"));
  CHECK (streq (sftp_wire_escape (out, 1, "abcdef", 6), ""));
  CHECK (streq (sftp_wire_escape (out, 3, "\x1b", 1), ""));
}

int
main (void)
{
  test_build ();
  test_reader ();
  test_split ();
  test_version ();
  test_status ();
  test_handle_data ();
  test_attrs ();
  test_name ();
  test_extended_replies ();
  test_escape ();
  return unit_done ("test-sftp-wire");
}
