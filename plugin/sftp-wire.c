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

/* The SFTP wire format (version 3, draft-ietf-secsh-filexfer-02):
 * packets built in a buffer whose length is written when the packet
 * ends, and a cursor that decodes what the server sends, checking
 * every field against the bytes left.  Pure: no nbdkit or libssh2
 * calls (see tests/test-sftp-wire.c and fuzz/fuzz-sftp-wire.c).
 */

#include <config.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sftp-wire.h"
#include "wire.h"

/* ---- Status codes ---- */

const char *
sftp_wire_status_name (uint32_t status)
{
  static const char *names[] = {
    [SSH_FX_OK] = "ok",
    [SSH_FX_EOF] = "end of file",
    [SSH_FX_NO_SUCH_FILE] = "no such file",
    [SSH_FX_PERMISSION_DENIED] = "permission denied",
    [SSH_FX_FAILURE] = "failure",
    [SSH_FX_BAD_MESSAGE] = "bad message",
    [SSH_FX_NO_CONNECTION] = "no connection",
    [SSH_FX_CONNECTION_LOST] = "connection lost",
    [SSH_FX_OP_UNSUPPORTED] = "operation unsupported",
    [SSH_FX_INVALID_HANDLE] = "invalid handle",
    [SSH_FX_NO_SUCH_PATH] = "no such path",
    [SSH_FX_FILE_ALREADY_EXISTS] = "file already exists",
    [SSH_FX_WRITE_PROTECT] = "write protected",
    [SSH_FX_NO_MEDIA] = "no media",
    [SSH_FX_NO_SPACE_ON_FILESYSTEM] = "no space on filesystem",
    [SSH_FX_QUOTA_EXCEEDED] = "quota exceeded",
    [SSH_FX_UNKNOWN_PRINCIPAL] = "unknown principal",
    [SSH_FX_LOCK_CONFLICT] = "lock conflict",
    [SSH_FX_DIR_NOT_EMPTY] = "directory not empty",
    [SSH_FX_NOT_A_DIRECTORY] = "not a directory",
    [SSH_FX_INVALID_FILENAME] = "invalid filename",
    [SSH_FX_LINK_LOOP] = "link loop",
  };

  return status < sizeof names / sizeof names[0] ? names[status]
    : "unknown status";
}

int
sftp_wire_status_errno (uint32_t status)
{
  switch (status) {
  case SSH_FX_NO_SPACE_ON_FILESYSTEM:
  case SSH_FX_QUOTA_EXCEEDED:
    return ENOSPC;
  case SSH_FX_PERMISSION_DENIED:
  case SSH_FX_WRITE_PROTECT:
    /* EPERM, not EACCES: nbdkit sends EACCES to the client as EINVAL,
     * EPERM as NBD_EPERM.
     */
    return EPERM;
  case SSH_FX_OP_UNSUPPORTED:
    return ENOTSUP;
  case SSH_FX_NO_SUCH_FILE:
  case SSH_FX_NO_SUCH_PATH:
    return ENOENT;
  }
  return EIO;
}

/* ---- Server text ---- */

/* The length of the character at p if it may be printed as it is: a
 * printable ASCII character, or a well-formed UTF-8 sequence (RFC
 * 3629: no overlong form, surrogate or code point past U+10FFFF) that
 * is not a C1 control (U+0080 to U+009F).  0 if it must be escaped.
 */
static size_t
plain_char_len (const unsigned char *p, size_t left)
{
  unsigned char c = p[0], lo = 0x80, hi = 0xbf;
  size_t n, i;

  if (c >= 0x20 && c < 0x7f)
    return 1;
  if (c < 0xc2 || c > 0xf4)     /* controls, DEL, stray or overlong */
    return 0;
  if (c < 0xe0) {
    n = 2;
    if (c == 0xc2)
      lo = 0xa0;                /* U+0080..U+009F: C1 controls */
  }
  else if (c < 0xf0) {
    n = 3;
    if (c == 0xe0)
      lo = 0xa0;                /* overlong */
    else if (c == 0xed)
      hi = 0x9f;                /* surrogates */
  }
  else {
    n = 4;
    if (c == 0xf0)
      lo = 0x90;                /* overlong */
    else if (c == 0xf4)
      hi = 0x8f;                /* past U+10FFFF */
  }
  if (n > left || p[1] < lo || p[1] > hi)
    return 0;
  for (i = 2; i < n; ++i)
    if (p[i] < 0x80 || p[i] > 0xbf)
      return 0;
  return n;
}

bool
sftp_wire_text_is_plain (const void *text, size_t len)
{
  const unsigned char *p = text;
  size_t i, n;

  for (i = 0; i < len; i += n) {
    n = plain_char_len (p + i, len - i);
    if (n == 0)
      return false;
  }
  return true;
}

/* The text of the next item of p (one character, or the escape of one
 * byte) and its length in *n; *used is the number of bytes of p it
 * stands for.
 */
static const char *
escape_item (const unsigned char *p, size_t left, char e[5], size_t *n,
             size_t *used)
{
  size_t k = plain_char_len (p, left);

  *used = k ? k : 1;
  if (k > 0 && p[0] != '\\') {
    *n = k;
    return (const char *) p;
  }
  switch (p[0]) {
  case '\\': memcpy (e, "\\\\", 3); break;
  case '\n': memcpy (e, "\\n", 3); break;
  case '\r': memcpy (e, "\\r", 3); break;
  case '\t': memcpy (e, "\\t", 3); break;
  default:
    e[0] = '\\';
    e[1] = 'x';
    e[2] = "0123456789abcdef"[p[0] >> 4];
    e[3] = "0123456789abcdef"[p[0] & 15];
    *n = 4;
    return e;
  }
  *n = 2;
  return e;
}

const char *
sftp_wire_escape (char *out, size_t outlen, const void *text, size_t len)
{
  const unsigned char *p = text;
  size_t i, o = 0, n, used, total = 0, limit;
  const char *item;
  char e[5];

  if (outlen == 0)
    return out;
  /* All of it if it fits, else as much as fits before "...". */
  for (i = 0; i < len && total < outlen; i += used) {
    escape_item (p + i, len - i, e, &n, &used);
    total += n;
  }
  limit = outlen - 1;
  if (total > limit && outlen > 4)
    limit = outlen - 4;
  for (i = 0; i < len; i += used) {
    item = escape_item (p + i, len - i, e, &n, &used);
    if (n > limit - o)
      break;
    memcpy (out + o, item, n);
    o += n;
  }
  if (i < len && limit == outlen - 4) {
    memcpy (out + o, "...", 3);
    o += 3;
  }
  out[o] = '\0';
  return out;
}

/* ---- Building packets ---- */

/* Room for n more bytes.  Fully sent bytes are dropped first, and the
 * unsent ones moved to the front before the buffer grows (doubling
 * from 64 KiB).
 */
static bool
buf_reserve (struct sftp_buf *b, size_t n)
{
  size_t cap;
  unsigned char *p;

  if (b->failed)
    return false;
  if (n <= b->cap - b->len)
    return true;
  if (b->sent > 0) {
    memmove (b->data, b->data + b->sent, b->len - b->sent);
    b->len -= b->sent;
    b->done -= b->sent;
    b->start -= b->sent;
    b->sent = 0;
    if (n <= b->cap - b->len)
      return true;
  }
  cap = b->cap ? b->cap : 65536;
  while (n > cap - b->len) {
    if (cap > SIZE_MAX / 2)
      goto fail;
    cap *= 2;
  }
  p = realloc (b->data, cap);
  if (p == NULL)
    goto fail;
  b->data = p;
  b->cap = cap;
  return true;

 fail:
  b->failed = true;
  return false;
}

static void
buf_put (struct sftp_buf *b, const void *p, size_t n)
{
  if (!b->building) {
    b->failed = true;           /* a put outside a packet */
    return;
  }
  if (!buf_reserve (b, n))
    return;
  if (n > 0)
    memcpy (b->data + b->len, p, n);
  b->len += n;
}

void
sftp_wire_begin (struct sftp_buf *b, uint8_t type)
{
  static const unsigned char zero[4];

  if (b->sent > 0 && b->sent == b->len)
    b->sent = b->len = b->done = 0;
  b->start = b->len;
  b->building = true;
  b->failed = false;
  buf_put (b, zero, sizeof zero);       /* the length, written at the end */
  buf_put (b, &type, 1);
}

void
sftp_wire_put_u8 (struct sftp_buf *b, uint8_t v)
{
  buf_put (b, &v, 1);
}

void
sftp_wire_put_u32 (struct sftp_buf *b, uint32_t v)
{
  unsigned char u[4] = { v >> 24, v >> 16, v >> 8, v };

  buf_put (b, u, sizeof u);
}

void
sftp_wire_put_u64 (struct sftp_buf *b, uint64_t v)
{
  sftp_wire_put_u32 (b, v >> 32);
  sftp_wire_put_u32 (b, v & 0xffffffff);
}

void
sftp_wire_put_string (struct sftp_buf *b, const void *p, size_t len)
{
  if (len > UINT32_MAX) {
    b->failed = true;
    return;
  }
  sftp_wire_put_u32 (b, len);
  buf_put (b, p, len);
}

int
sftp_wire_end (struct sftp_buf *b)
{
  return sftp_wire_end_extra (b, 0);
}

/* End a packet whose last extra bytes are not in the buffer: the
 * caller sends them after it (a WRITE's data, from where it is).
 */
int
sftp_wire_end_extra (struct sftp_buf *b, size_t extra)
{
  size_t n;

  if (!b->building) {
    errno = EINVAL;
    return -1;
  }
  b->building = false;
  n = b->len - b->start;
  if (b->failed || n < 5 || extra > UINT32_MAX ||
      n - 4 > UINT32_MAX - extra) {
    /* Drop the unfinished packet. */
    b->len = b->start;
    b->failed = false;
    errno = ENOMEM;
    return -1;
  }
  n = n - 4 + extra;
  b->data[b->start] = n >> 24;
  b->data[b->start + 1] = n >> 16;
  b->data[b->start + 2] = n >> 8;
  b->data[b->start + 3] = n;
  b->done = b->len;
  return 0;
}

size_t
sftp_wire_pending (const struct sftp_buf *b)
{
  return b->done - b->sent;
}

const void *
sftp_wire_pending_data (const struct sftp_buf *b)
{
  return b->data + b->sent;
}

void
sftp_wire_sent (struct sftp_buf *b, size_t n)
{
  if (n > b->done - b->sent)
    n = b->done - b->sent;
  b->sent += n;
  /* Everything gone (and nothing being built): start again at 0. */
  if (b->sent == b->len)
    b->sent = b->len = b->done = 0;
}

void
sftp_wire_buf_free (struct sftp_buf *b)
{
  free (b->data);
  memset (b, 0, sizeof *b);
}

/* ---- The reading cursor ---- */

void
sftp_wire_reader (struct sftp_reader *r, const void *p, size_t len)
{
  r->p = p;
  r->left = len;
  r->bad = false;
}

const char *
sftp_wire_get_bytes (struct sftp_reader *r, size_t n)
{
  const unsigned char *p = r->p;

  if (r->bad || n > r->left) {
    r->bad = true;
    return "";
  }
  r->p += n;
  r->left -= n;
  return (const char *) p;
}

uint8_t
sftp_wire_get_u8 (struct sftp_reader *r)
{
  if (r->bad || r->left < 1) {
    r->bad = true;
    return 0;
  }
  return *(const unsigned char *) sftp_wire_get_bytes (r, 1);
}

uint32_t
sftp_wire_get_u32 (struct sftp_reader *r)
{
  if (r->bad || r->left < 4) {
    r->bad = true;
    return 0;
  }
  return wire_get_be32 (sftp_wire_get_bytes (r, 4));
}

uint64_t
sftp_wire_get_u64 (struct sftp_reader *r)
{
  if (r->bad || r->left < 8) {
    r->bad = true;
    return 0;
  }
  return wire_get_be64 (sftp_wire_get_bytes (r, 8));
}

const char *
sftp_wire_get_string (struct sftp_reader *r, uint32_t *len)
{
  uint32_t n = sftp_wire_get_u32 (r);
  const char *p = sftp_wire_get_bytes (r, n);

  *len = r->bad ? 0 : n;
  return p;
}

/* ---- Decoding ---- */

int
sftp_wire_next_packet (struct sftp_reader *in, struct sftp_packet *pkt)
{
  struct sftp_reader t = *in, body;
  uint32_t length;
  const char *p;

  length = sftp_wire_get_u32 (&t);
  if (t.bad)
    return SFTP_WIRE_MORE;
  if (length < 1 || length > SFTP_MAX_PACKET - 4)
    return SFTP_WIRE_BAD_LENGTH;
  p = sftp_wire_get_bytes (&t, length);
  if (t.bad)
    return SFTP_WIRE_MORE;

  memset (pkt, 0, sizeof *pkt);
  pkt->length = length;
  sftp_wire_reader (&body, p, length);
  pkt->type = sftp_wire_get_u8 (&body);
  if (pkt->type != SSH_FXP_VERSION) {
    pkt->id = sftp_wire_get_u32 (&body);
    if (body.bad)
      return SFTP_WIRE_SHORT;
  }
  pkt->payload = (const char *) body.p;
  pkt->len = body.left;
  *in = t;
  return SFTP_WIRE_PACKET;
}

int
sftp_wire_version (const void *p, size_t len, uint32_t *version,
                   struct sftp_reader *exts)
{
  sftp_wire_reader (exts, p, len);
  *version = sftp_wire_get_u32 (exts);
  return exts->bad ? -1 : 0;
}

bool
sftp_wire_next_ext (struct sftp_reader *exts, struct sftp_ext *ext)
{
  if (exts->bad || exts->left == 0)
    return false;
  ext->name = sftp_wire_get_string (exts, &ext->name_len);
  ext->data = sftp_wire_get_string (exts, &ext->data_len);
  return !exts->bad;
}

bool
sftp_wire_ext_is (const struct sftp_ext *ext, const char *name)
{
  size_t n = strlen (name);

  return ext->name_len == n && memcmp (ext->name, name, n) == 0;
}

int
sftp_wire_status (const void *p, size_t len, struct sftp_status *st)
{
  struct sftp_reader r;

  sftp_wire_reader (&r, p, len);
  st->code = sftp_wire_get_u32 (&r);
  if (r.bad)
    return -1;
  /* The message (and language tag) are optional in practice. */
  st->msg = sftp_wire_get_string (&r, &st->msg_len);
  return 0;
}

int
sftp_wire_handle (const void *p, size_t len, const char **handle,
                  uint32_t *hlen)
{
  struct sftp_reader r;

  sftp_wire_reader (&r, p, len);
  *handle = sftp_wire_get_string (&r, hlen);
  return r.bad || *hlen > SFTP_MAX_HANDLE ? -1 : 0;
}

int
sftp_wire_data (const void *p, size_t len, uint32_t max,
                const char **data, uint32_t *n)
{
  struct sftp_reader r;

  sftp_wire_reader (&r, p, len);
  *data = sftp_wire_get_string (&r, n);
  return r.bad || *n > max ? -1 : 0;
}

int
sftp_wire_get_attrs (struct sftp_reader *r, struct sftp_attrs *a)
{
  uint32_t i;

  memset (a, 0, sizeof *a);
  a->flags = sftp_wire_get_u32 (r);
  if (a->flags & SSH_FILEXFER_ATTR_SIZE)
    a->size = sftp_wire_get_u64 (r);
  if (a->flags & SSH_FILEXFER_ATTR_UIDGID) {
    a->uid = sftp_wire_get_u32 (r);
    a->gid = sftp_wire_get_u32 (r);
  }
  if (a->flags & SSH_FILEXFER_ATTR_PERMISSIONS)
    a->permissions = sftp_wire_get_u32 (r);
  if (a->flags & SSH_FILEXFER_ATTR_ACMODTIME) {
    a->atime = sftp_wire_get_u32 (r);
    a->mtime = sftp_wire_get_u32 (r);
  }
  if (a->flags & SSH_FILEXFER_ATTR_EXTENDED) {
    a->nr_extended = sftp_wire_get_u32 (r);
    /* Each pair takes at least 8 bytes, so a bad count ends soon. */
    for (i = 0; i < a->nr_extended && !r->bad; ++i) {
      uint32_t n;

      sftp_wire_get_string (r, &n);     /* type */
      sftp_wire_get_string (r, &n);     /* data */
    }
  }
  return r->bad ? -1 : 0;
}

int
sftp_wire_attrs (const void *p, size_t len, struct sftp_attrs *a)
{
  struct sftp_reader r;

  sftp_wire_reader (&r, p, len);
  return sftp_wire_get_attrs (&r, a);
}

int
sftp_wire_name (const void *p, size_t len, uint32_t *count,
                struct sftp_reader *entries)
{
  sftp_wire_reader (entries, p, len);
  *count = sftp_wire_get_u32 (entries);
  return entries->bad ? -1 : 0;
}

int
sftp_wire_next_name (struct sftp_reader *entries, struct sftp_name *name)
{
  name->filename = sftp_wire_get_string (entries, &name->filename_len);
  name->longname = sftp_wire_get_string (entries, &name->longname_len);
  if (sftp_wire_get_attrs (entries, &name->attrs) == -1)
    return -1;
  return entries->bad ? -1 : 0;
}

int
sftp_wire_limits (const void *p, size_t len, struct sftp_limits *lim)
{
  struct sftp_reader r;

  sftp_wire_reader (&r, p, len);
  lim->max_packet = sftp_wire_get_u64 (&r);
  lim->max_read = sftp_wire_get_u64 (&r);
  lim->max_write = sftp_wire_get_u64 (&r);
  lim->max_open_handles = sftp_wire_get_u64 (&r);
  return r.bad ? -1 : 0;
}

int
sftp_wire_statvfs (const void *p, size_t len, struct sftp_statvfs *st)
{
  struct sftp_reader r;

  sftp_wire_reader (&r, p, len);
  st->bsize = sftp_wire_get_u64 (&r);
  st->frsize = sftp_wire_get_u64 (&r);
  st->blocks = sftp_wire_get_u64 (&r);
  st->bfree = sftp_wire_get_u64 (&r);
  st->bavail = sftp_wire_get_u64 (&r);
  st->files = sftp_wire_get_u64 (&r);
  st->ffree = sftp_wire_get_u64 (&r);
  st->favail = sftp_wire_get_u64 (&r);
  st->fsid = sftp_wire_get_u64 (&r);
  st->flag = sftp_wire_get_u64 (&r);
  st->namemax = sftp_wire_get_u64 (&r);
  return r.bad ? -1 : 0;
}
