/* nbdkit-ssh-plugin (libssh2)
 * Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
 * SPDX-License-Identifier: BSD-3-Clause
 */

/* libFuzzer target: what an SFTP server sends (plugin/sftp-wire.c).
 *
 * The input is the byte stream from the server, handshake included.
 * It is split into packets with sftp_wire_next_packet, and each
 * packet goes to the decoder for its type, as plugin/sftp.c would:
 * VERSION and its extensions, STATUS, HANDLE, DATA, ATTRS, NAME and
 * its entries, EXTENDED_REPLY as limits@openssh.com and as
 * fstatvfs@openssh.com.  Checks:
 * - the splitter takes exactly 4 + length bytes per packet, with
 *   length in 1..SFTP_MAX_PACKET - 4, and never reads past the input;
 * - the same stream received in pieces, into a buffer of
 *   SFTP_MAX_PACKET bytes compacted as parse_input does, gives the
 *   same packets and the same end;
 * - every string a decoder returns lies inside its packet;
 * - a packet rebuilt with sftp_wire_begin/put/end splits to the same
 *   type, id and payload, and a decoded STATUS, HANDLE, DATA, ATTRS or
 *   NAME rebuilt from its fields decodes to the same fields;
 * - status names are strings and status errnos one of the five;
 * - server text (STATUS messages, extension names and data, file
 *   names) escaped with sftp_wire_escape into buffers of a few sizes
 *   fits, is plain text (no control character, well-formed UTF-8),
 *   and is the text itself when that was plain, had no backslash and
 *   fitted.
 */

#include <config.h>

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sftp-wire.h"
#include "fuzz-common.h"

#define MAX_PACKETS 4096

struct seen {
  uint8_t type;
  uint32_t id;
  uint32_t len;
  const char *payload;
};

/* [p, p+n) lies inside [base, base+len). */
static void
check_inside (const char *p, size_t n, const char *base, size_t len)
{
  FUZZ_CHECK (p != NULL);
  if (n == 0)
    return;
  FUZZ_CHECK (p >= base && (size_t) (p - base) <= len &&
              n <= len - (size_t) (p - base));
}

/* Server text through sftp_wire_escape (see the list above). */
static void
check_text (const char *p, size_t n)
{
  static const size_t sizes[] = { 1, 4, 5, 16, 100, 300 };
  char out[300];
  size_t i, j, k;
  bool plain = sftp_wire_text_is_plain (p, n) && memchr (p, '\\', n) == NULL;

  for (i = 0; i < sizeof sizes / sizeof sizes[0]; ++i) {
    memset (out, 'Z', sizeof out);
    FUZZ_CHECK (sftp_wire_escape (out, sizes[i], p, n) == out);
    k = strnlen (out, sizes[i]);
    FUZZ_CHECK (k < sizes[i]);
    FUZZ_CHECK (sftp_wire_text_is_plain (out, k));
    for (j = 0; j < k; ++j)
      FUZZ_CHECK ((unsigned char) out[j] >= 0x20 && out[j] != 0x7f);
    if (plain && n < sizes[i])
      FUZZ_CHECK (k == n && memcmp (out, p, n) == 0);
  }
}

static void
put_attrs (struct sftp_buf *b, const struct sftp_attrs *a)
{
  uint32_t flags = a->flags & ~SSH_FILEXFER_ATTR_EXTENDED;

  sftp_wire_put_u32 (b, flags);
  if (flags & SSH_FILEXFER_ATTR_SIZE)
    sftp_wire_put_u64 (b, a->size);
  if (flags & SSH_FILEXFER_ATTR_UIDGID) {
    sftp_wire_put_u32 (b, a->uid);
    sftp_wire_put_u32 (b, a->gid);
  }
  if (flags & SSH_FILEXFER_ATTR_PERMISSIONS)
    sftp_wire_put_u32 (b, a->permissions);
  if (flags & SSH_FILEXFER_ATTR_ACMODTIME) {
    sftp_wire_put_u32 (b, a->atime);
    sftp_wire_put_u32 (b, a->mtime);
  }
}

static bool
same_attrs (const struct sftp_attrs *a, const struct sftp_attrs *b)
{
  return (a->flags & ~SSH_FILEXFER_ATTR_EXTENDED) == b->flags &&
    a->size == b->size && a->uid == b->uid && a->gid == b->gid &&
    a->permissions == b->permissions && a->atime == b->atime &&
    a->mtime == b->mtime;
}

/* The one packet in b, finished: its payload (after type and id). */
static struct sftp_packet
rebuilt (struct sftp_buf *b, uint8_t type, uint32_t id)
{
  struct sftp_reader in;
  struct sftp_packet pkt;

  FUZZ_CHECK (sftp_wire_end (b) == 0);
  sftp_wire_reader (&in, sftp_wire_pending_data (b), sftp_wire_pending (b));
  FUZZ_CHECK (sftp_wire_next_packet (&in, &pkt) == SFTP_WIRE_PACKET);
  FUZZ_CHECK (in.left == 0);
  FUZZ_CHECK (pkt.type == type && pkt.id == id);
  return pkt;
}

static void
check_status (const struct sftp_packet *pkt)
{
  struct sftp_status st, st2;
  struct sftp_packet r;
  struct sftp_buf b = { .data = NULL };
  const char *name;
  int e;

  if (sftp_wire_status (pkt->payload, pkt->len, &st) == -1) {
    FUZZ_CHECK (pkt->len < 4);
    return;
  }
  check_inside (st.msg, st.msg_len, pkt->payload, pkt->len);
  check_text (st.msg, st.msg_len);
  name = sftp_wire_status_name (st.code);
  FUZZ_CHECK (name != NULL && name[0] != '\0');
  e = sftp_wire_status_errno (st.code);
  FUZZ_CHECK (e == ENOSPC || e == EPERM || e == ENOTSUP || e == ENOENT ||
              e == EIO);

  sftp_wire_begin (&b, SSH_FXP_STATUS);
  sftp_wire_put_u32 (&b, pkt->id);
  sftp_wire_put_u32 (&b, st.code);
  sftp_wire_put_string (&b, st.msg, st.msg_len);
  sftp_wire_put_string (&b, "", 0);
  r = rebuilt (&b, SSH_FXP_STATUS, pkt->id);
  FUZZ_CHECK (sftp_wire_status (r.payload, r.len, &st2) == 0);
  FUZZ_CHECK (st2.code == st.code && st2.msg_len == st.msg_len &&
              memcmp (st2.msg, st.msg, st.msg_len) == 0);
  sftp_wire_buf_free (&b);
}

static void
check_handle_data (const struct sftp_packet *pkt)
{
  const char *p, *p2;
  uint32_t n, n2;
  struct sftp_packet r;
  struct sftp_buf b = { .data = NULL };
  int ok;

  if (pkt->type == SSH_FXP_HANDLE)
    ok = sftp_wire_handle (pkt->payload, pkt->len, &p, &n);
  else {
    /* As a READ of SFTP_MAX_CHUNK, and of (id % 64 KiB) bytes. */
    ok = sftp_wire_data (pkt->payload, pkt->len, SFTP_MAX_CHUNK, &p, &n);
    if (ok == 0) {
      uint32_t max = pkt->id & 0xffff;
      FUZZ_CHECK (sftp_wire_data (pkt->payload, pkt->len, max, &p2, &n2)
                  == (n <= max ? 0 : -1));
    }
  }
  if (ok == -1)
    return;
  check_inside (p, n, pkt->payload, pkt->len);
  FUZZ_CHECK (pkt->type != SSH_FXP_HANDLE || n <= SFTP_MAX_HANDLE);

  sftp_wire_begin (&b, pkt->type);
  sftp_wire_put_u32 (&b, pkt->id);
  sftp_wire_put_string (&b, p, n);
  r = rebuilt (&b, pkt->type, pkt->id);
  if (pkt->type == SSH_FXP_HANDLE)
    FUZZ_CHECK (sftp_wire_handle (r.payload, r.len, &p2, &n2) == 0);
  else
    FUZZ_CHECK (sftp_wire_data (r.payload, r.len, n, &p2, &n2) == 0);
  FUZZ_CHECK (n2 == n && memcmp (p2, p, n) == 0);
  sftp_wire_buf_free (&b);
}

static void
check_attrs (const struct sftp_packet *pkt)
{
  struct sftp_attrs a, a2;
  struct sftp_packet r;
  struct sftp_buf b = { .data = NULL };

  if (sftp_wire_attrs (pkt->payload, pkt->len, &a) == -1)
    return;
  sftp_wire_begin (&b, SSH_FXP_ATTRS);
  sftp_wire_put_u32 (&b, pkt->id);
  put_attrs (&b, &a);
  r = rebuilt (&b, SSH_FXP_ATTRS, pkt->id);
  FUZZ_CHECK (sftp_wire_attrs (r.payload, r.len, &a2) == 0);
  FUZZ_CHECK (same_attrs (&a, &a2));
  sftp_wire_buf_free (&b);
}

static void
check_name (const struct sftp_packet *pkt)
{
  struct sftp_reader entries, entries2;
  struct sftp_name e, e2;
  struct sftp_packet r;
  struct sftp_buf b = { .data = NULL };
  uint32_t count, i, count2;

  if (sftp_wire_name (pkt->payload, pkt->len, &count, &entries) == -1) {
    FUZZ_CHECK (pkt->len < 4);
    return;
  }
  /* Each entry takes at least 12 bytes, so this loop is short. */
  for (i = 0; i < count; ++i) {
    size_t before = entries.left;

    if (sftp_wire_next_name (&entries, &e) == -1)
      break;
    FUZZ_CHECK (entries.left + 12 <= before);
    check_inside (e.filename, e.filename_len, pkt->payload, pkt->len);
    check_inside (e.longname, e.longname_len, pkt->payload, pkt->len);
    check_text (e.filename, e.filename_len);

    sftp_wire_begin (&b, SSH_FXP_NAME);
    sftp_wire_put_u32 (&b, pkt->id);
    sftp_wire_put_u32 (&b, 1);
    sftp_wire_put_string (&b, e.filename, e.filename_len);
    sftp_wire_put_string (&b, e.longname, e.longname_len);
    put_attrs (&b, &e.attrs);
    r = rebuilt (&b, SSH_FXP_NAME, pkt->id);
    FUZZ_CHECK (sftp_wire_name (r.payload, r.len, &count2, &entries2) == 0);
    FUZZ_CHECK (count2 == 1);
    FUZZ_CHECK (sftp_wire_next_name (&entries2, &e2) == 0);
    FUZZ_CHECK (entries2.left == 0);
    FUZZ_CHECK (e2.filename_len == e.filename_len &&
                memcmp (e2.filename, e.filename, e.filename_len) == 0);
    FUZZ_CHECK (e2.longname_len == e.longname_len &&
                memcmp (e2.longname, e.longname, e.longname_len) == 0);
    FUZZ_CHECK (same_attrs (&e.attrs, &e2.attrs));
    sftp_wire_sent (&b, sftp_wire_pending (&b));
  }
  FUZZ_CHECK (i == count || entries.bad);
  sftp_wire_buf_free (&b);
}

static void
check_version (const struct sftp_packet *pkt)
{
  struct sftp_reader exts;
  struct sftp_ext ext;
  uint32_t version;

  if (sftp_wire_version (pkt->payload, pkt->len, &version, &exts) == -1) {
    FUZZ_CHECK (pkt->len < 4);
    return;
  }
  while (sftp_wire_next_ext (&exts, &ext)) {
    check_inside (ext.name, ext.name_len, pkt->payload, pkt->len);
    check_inside (ext.data, ext.data_len, pkt->payload, pkt->len);
    check_text (ext.name, ext.name_len);
    check_text (ext.data, ext.data_len);
    (void) sftp_wire_ext_is (&ext, "limits@openssh.com");
  }
  FUZZ_CHECK (exts.left == 0 || exts.bad);
}

static void
check_packet (const struct sftp_packet *pkt)
{
  struct sftp_limits lim;
  struct sftp_statvfs st;

  switch (pkt->type) {
  case SSH_FXP_VERSION:
    check_version (pkt);
    break;
  case SSH_FXP_STATUS:
    check_status (pkt);
    break;
  case SSH_FXP_HANDLE:
  case SSH_FXP_DATA:
    check_handle_data (pkt);
    break;
  case SSH_FXP_ATTRS:
    check_attrs (pkt);
    break;
  case SSH_FXP_NAME:
    check_name (pkt);
    break;
  case SSH_FXP_EXTENDED_REPLY:
    FUZZ_CHECK ((sftp_wire_limits (pkt->payload, pkt->len, &lim) == 0)
                == (pkt->len >= 32));
    FUZZ_CHECK ((sftp_wire_statvfs (pkt->payload, pkt->len, &st) == 0)
                == (pkt->len >= 88));
    break;
  }
}

/* The packet layer round trip: type, id and payload rebuilt byte by
 * byte, and sent in two parts.
 */
static void
check_rebuild_packet (const struct sftp_packet *pkt)
{
  struct sftp_buf b = { .data = NULL };
  struct sftp_packet r;
  uint32_t i;

  sftp_wire_begin (&b, pkt->type);
  if (pkt->type != SSH_FXP_VERSION)
    sftp_wire_put_u32 (&b, pkt->id);
  for (i = 0; i < pkt->len; ++i)
    sftp_wire_put_u8 (&b, pkt->payload[i]);
  r = rebuilt (&b, pkt->type, pkt->id);
  FUZZ_CHECK (r.length == pkt->length && r.len == pkt->len &&
              memcmp (r.payload, pkt->payload, pkt->len) == 0);
  sftp_wire_sent (&b, pkt->length / 2);
  FUZZ_CHECK (sftp_wire_pending (&b) == 4 + pkt->length - pkt->length / 2);
  sftp_wire_sent (&b, sftp_wire_pending (&b));
  FUZZ_CHECK (sftp_wire_pending (&b) == 0 && b.len == 0);
  sftp_wire_buf_free (&b);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static struct seen seen[MAX_PACKETS];
  static char ibuf[SFTP_MAX_PACKET];
  struct sftp_reader in;
  struct sftp_packet pkt;
  size_t npkts = 0, i, pos, ilen, k;
  uint32_t rng = size * 2654435761u + 1;
  int r, end;

  /* The whole stream at once. */
  sftp_wire_reader (&in, data, size);
  for (;;) {
    size_t before = in.left;

    r = sftp_wire_next_packet (&in, &pkt);
    if (r != SFTP_WIRE_PACKET) {
      FUZZ_CHECK (in.left == before);
      break;
    }
    FUZZ_CHECK (pkt.length >= 1 && pkt.length <= SFTP_MAX_PACKET - 4);
    FUZZ_CHECK (before - in.left == 4 + (size_t) pkt.length);
    FUZZ_CHECK (pkt.len == pkt.length - (pkt.type == SSH_FXP_VERSION ? 1 : 5));
    check_inside (pkt.payload, pkt.len, (const char *) data, size);
    if (pkt.type == SSH_FXP_VERSION)
      FUZZ_CHECK (pkt.id == 0);
    check_packet (&pkt);
    check_rebuild_packet (&pkt);
    if (npkts < MAX_PACKETS)
      seen[npkts++] = (struct seen) { pkt.type, pkt.id, pkt.len, pkt.payload };
  }
  end = r;
  FUZZ_CHECK (end == SFTP_WIRE_MORE || end == SFTP_WIRE_BAD_LENGTH ||
              end == SFTP_WIRE_SHORT);
  if (npkts == MAX_PACKETS)
    return 0;

  /* The same bytes in pieces, as sftp.c's parse_input sees them. */
  ilen = 0;
  i = 0;
  r = SFTP_WIRE_MORE;
  for (pos = 0; pos < size && r == SFTP_WIRE_MORE; ) {
    rng = rng * 1103515245 + 12345;
    k = 1 + (rng >> 16) % 97;
    if (k > size - pos)
      k = size - pos;
    if (k > sizeof ibuf - ilen)
      k = sizeof ibuf - ilen;
    FUZZ_CHECK (k > 0);
    memcpy (ibuf + ilen, data + pos, k);
    ilen += k;
    pos += k;
    sftp_wire_reader (&in, ibuf, ilen);
    while ((r = sftp_wire_next_packet (&in, &pkt)) == SFTP_WIRE_PACKET) {
      FUZZ_CHECK (i < npkts);
      FUZZ_CHECK (pkt.type == seen[i].type && pkt.id == seen[i].id &&
                  pkt.len == seen[i].len &&
                  memcmp (pkt.payload, seen[i].payload, pkt.len) == 0);
      i++;
    }
    memmove (ibuf, in.p, in.left);
    ilen = in.left;
  }
  FUZZ_CHECK (i == npkts);
  FUZZ_CHECK (r == end);
  return 0;
}
