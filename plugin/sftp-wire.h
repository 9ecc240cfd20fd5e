/* nbdkit-ssh-plugin (libssh2)
 * Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
 * SPDX-License-Identifier: BSD-3-Clause
 */

/* sftp-wire.c: SFTP version 3 (draft-ietf-secsh-filexfer-02):
 * building requests and decoding what the server sends.  No I/O: the
 * caller moves the bytes.  Pure: no nbdkit or libssh2 calls
 * (tests/test-sftp-wire.c, fuzz/fuzz-sftp-wire.c).
 */

#ifndef SSH_PLUGIN_SFTP_WIRE_H
#define SSH_PLUGIN_SFTP_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Packet types. */
enum {
  SSH_FXP_INIT = 1,
  SSH_FXP_VERSION = 2,
  SSH_FXP_OPEN = 3,
  SSH_FXP_CLOSE = 4,
  SSH_FXP_READ = 5,
  SSH_FXP_WRITE = 6,
  SSH_FXP_LSTAT = 7,
  SSH_FXP_FSTAT = 8,
  SSH_FXP_SETSTAT = 9,
  SSH_FXP_FSETSTAT = 10,
  SSH_FXP_OPENDIR = 11,
  SSH_FXP_READDIR = 12,
  SSH_FXP_REMOVE = 13,
  SSH_FXP_MKDIR = 14,
  SSH_FXP_RMDIR = 15,
  SSH_FXP_REALPATH = 16,
  SSH_FXP_STAT = 17,
  SSH_FXP_RENAME = 18,
  SSH_FXP_READLINK = 19,
  SSH_FXP_SYMLINK = 20,
  SSH_FXP_STATUS = 101,
  SSH_FXP_HANDLE = 102,
  SSH_FXP_DATA = 103,
  SSH_FXP_NAME = 104,
  SSH_FXP_ATTRS = 105,
  SSH_FXP_EXTENDED = 200,
  SSH_FXP_EXTENDED_REPLY = 201,
};

/* OPEN flags. */
enum {
  SSH_FXF_READ = 0x01,
  SSH_FXF_WRITE = 0x02,
  SSH_FXF_APPEND = 0x04,
  SSH_FXF_CREAT = 0x08,
  SSH_FXF_TRUNC = 0x10,
  SSH_FXF_EXCL = 0x20,
};

/* ATTRS flags. */
#define SSH_FILEXFER_ATTR_SIZE          UINT32_C (0x00000001)
#define SSH_FILEXFER_ATTR_UIDGID        UINT32_C (0x00000002)
#define SSH_FILEXFER_ATTR_PERMISSIONS   UINT32_C (0x00000004)
#define SSH_FILEXFER_ATTR_ACMODTIME     UINT32_C (0x00000008)
#define SSH_FILEXFER_ATTR_EXTENDED      UINT32_C (0x80000000)

/* STATUS codes: 0 to 8 from version 3, the others as later drafts
 * number them (servers such as OpenSSH's may send them).
 */
enum {
  SSH_FX_OK = 0,
  SSH_FX_EOF = 1,
  SSH_FX_NO_SUCH_FILE = 2,
  SSH_FX_PERMISSION_DENIED = 3,
  SSH_FX_FAILURE = 4,
  SSH_FX_BAD_MESSAGE = 5,
  SSH_FX_NO_CONNECTION = 6,
  SSH_FX_CONNECTION_LOST = 7,
  SSH_FX_OP_UNSUPPORTED = 8,
  SSH_FX_INVALID_HANDLE = 9,
  SSH_FX_NO_SUCH_PATH = 10,
  SSH_FX_FILE_ALREADY_EXISTS = 11,
  SSH_FX_WRITE_PROTECT = 12,
  SSH_FX_NO_MEDIA = 13,
  SSH_FX_NO_SPACE_ON_FILESYSTEM = 14,
  SSH_FX_QUOTA_EXCEEDED = 15,
  SSH_FX_UNKNOWN_PRINCIPAL = 16,
  SSH_FX_LOCK_CONFLICT = 17,
  SSH_FX_DIR_NOT_EMPTY = 18,
  SSH_FX_NOT_A_DIRECTORY = 19,
  SSH_FX_INVALID_FILENAME = 20,
  SSH_FX_LINK_LOOP = 21,
};

#define SFTP_VERSION       3
#define SFTP_MAX_CHUNK     (256 * 1024)     /* largest READ or WRITE */
/* The largest packet accepted from the server, its length field
 * included: one DATA reply of SFTP_MAX_CHUNK bytes and room to spare.
 */
#define SFTP_MAX_PACKET    (SFTP_MAX_CHUNK + 4096)
#define SFTP_MAX_HANDLE    256              /* the draft's limit */

/* Text chosen by the server (STATUS messages, file and extension
 * names, prompts) goes to logs and listings only through these.
 *
 * sftp_wire_text_is_plain: the text is well-formed UTF-8 and holds no
 * control character (C0, DEL or C1) and no NUL.
 *
 * sftp_wire_escape: the text as a NUL-terminated string in out
 * (outlen bytes): what sftp_wire_text_is_plain refuses is escaped, a
 * byte at a time, as \xHH (\n, \r and \t for those three), and a
 * backslash is doubled, so that the escaped text cannot be mistaken for
 * other text.  Text that does not fit is cut at a character or escape
 * and ends in "...".  Returns out.
 */
extern bool sftp_wire_text_is_plain (const void *text, size_t len);
extern const char *sftp_wire_escape (char *out, size_t outlen,
                                     const void *text, size_t len);

/* "no such file", ...; "unknown status" past the end of the list. */
extern const char *sftp_wire_status_name (uint32_t status);
/* The errno the NBD client sees: ENOSPC, EPERM, ENOTSUP, ENOENT, EIO. */
extern int sftp_wire_status_errno (uint32_t status);

/* Outgoing packets.  sftp_wire_begin starts one (length field and
 * type), the puts append to it, sftp_wire_end writes its length at
 * its start.  A failed allocation is sticky until sftp_wire_end, which
 * then drops the packet and returns -1 (errno ENOMEM).  Bytes up to
 * the end of the last finished packet are pending; sftp_wire_sent
 * marks some of them as gone.  Zero-initialize; sftp_wire_buf_free.
 */
struct sftp_buf {
  unsigned char *data;
  size_t cap;
  size_t len;                   /* bytes written */
  size_t done;                  /* end of the last finished packet */
  size_t sent;                  /* bytes taken by the transport */
  size_t start;                 /* start of the packet being built */
  bool building;
  bool failed;
};

extern void sftp_wire_begin (struct sftp_buf *b, uint8_t type);
extern void sftp_wire_put_u8 (struct sftp_buf *b, uint8_t v);
extern void sftp_wire_put_u32 (struct sftp_buf *b, uint32_t v);
extern void sftp_wire_put_u64 (struct sftp_buf *b, uint64_t v);
extern void sftp_wire_put_string (struct sftp_buf *b, const void *p,
                                  size_t len);
extern int sftp_wire_end (struct sftp_buf *b);
/* The same for a packet whose last extra bytes the caller sends
 * itself, right after it: its length counts them.
 */
extern int sftp_wire_end_extra (struct sftp_buf *b, size_t extra);
extern size_t sftp_wire_pending (const struct sftp_buf *b);
extern const void *sftp_wire_pending_data (const struct sftp_buf *b);
extern void sftp_wire_sent (struct sftp_buf *b, size_t n);
extern void sftp_wire_buf_free (struct sftp_buf *b);

/* A cursor over received bytes.  Every get checks that the bytes are
 * there; when they are not it sets bad, takes nothing and returns 0
 * (or an empty string).  Decoders check bad once at the end.
 */
struct sftp_reader {
  const unsigned char *p;
  size_t left;
  bool bad;
};

extern void sftp_wire_reader (struct sftp_reader *r, const void *p,
                              size_t len);
extern uint8_t sftp_wire_get_u8 (struct sftp_reader *r);
extern uint32_t sftp_wire_get_u32 (struct sftp_reader *r);
extern uint64_t sftp_wire_get_u64 (struct sftp_reader *r);
/* n bytes; returns where they start. */
extern const char *sftp_wire_get_bytes (struct sftp_reader *r, size_t n);
/* A uint32 length and that many bytes. */
extern const char *sftp_wire_get_string (struct sftp_reader *r,
                                         uint32_t *len);

/* One packet of the input stream.  VERSION has no request id. */
struct sftp_packet {
  uint32_t length;              /* the length field */
  uint8_t type;
  uint32_t id;                  /* 0 for VERSION */
  const char *payload;          /* after type and id */
  uint32_t len;
};

enum {
  SFTP_WIRE_MORE = 0,           /* incomplete: wait for more bytes */
  SFTP_WIRE_PACKET = 1,         /* *pkt filled, the packet consumed */
  SFTP_WIRE_BAD_LENGTH = -1,    /* length 0 or over SFTP_MAX_PACKET - 4 */
  SFTP_WIRE_SHORT = -2,         /* too short for type and id */
};

/* Take the next packet from in (the stream received so far). */
extern int sftp_wire_next_packet (struct sftp_reader *in,
                                  struct sftp_packet *pkt);

/* Replies.  Each returns 0, or -1 if the payload is malformed.
 * Trailing bytes after what a reply needs are ignored, as OpenSSH's
 * client does.  Strings point into the payload.
 */

/* VERSION: the version number; exts is left on the extension pairs,
 * which sftp_wire_next_ext walks: it returns false at the end, or at
 * bytes that do not make a whole pair (the rest is ignored).
 */
struct sftp_ext {
  const char *name;
  uint32_t name_len;
  const char *data;
  uint32_t data_len;
};
extern int sftp_wire_version (const void *p, size_t len, uint32_t *version,
                              struct sftp_reader *exts);
extern bool sftp_wire_next_ext (struct sftp_reader *exts,
                                struct sftp_ext *ext);
/* Is ext the extension named name? */
extern bool sftp_wire_ext_is (const struct sftp_ext *ext, const char *name);

/* STATUS: the code, and the message if there is a whole one (else
 * "" with length 0).
 */
struct sftp_status {
  uint32_t code;
  const char *msg;
  uint32_t msg_len;
};
extern int sftp_wire_status (const void *p, size_t len,
                             struct sftp_status *st);

/* HANDLE: at most SFTP_MAX_HANDLE bytes. */
extern int sftp_wire_handle (const void *p, size_t len,
                             const char **handle, uint32_t *hlen);

/* DATA: at most max bytes (the length asked for). */
extern int sftp_wire_data (const void *p, size_t len, uint32_t max,
                           const char **data, uint32_t *n);

/* ATTRS, from a cursor (inside NAME) or as a whole reply.  Fields
 * whose flag is not set are 0.
 */
struct sftp_attrs {
  uint32_t flags;
  uint64_t size;
  uint32_t uid, gid;
  uint32_t permissions;
  uint32_t atime, mtime;
  uint32_t nr_extended;         /* type/data pairs, skipped */
};
extern int sftp_wire_get_attrs (struct sftp_reader *r,
                                struct sftp_attrs *a);
extern int sftp_wire_attrs (const void *p, size_t len,
                            struct sftp_attrs *a);

/* NAME: the count; entries is left on the entries, which
 * sftp_wire_next_name decodes one at a time (-1 when malformed or
 * short, e.g. a count larger than the entries sent).
 */
struct sftp_name {
  const char *filename;
  uint32_t filename_len;
  const char *longname;
  uint32_t longname_len;
  struct sftp_attrs attrs;
};
extern int sftp_wire_name (const void *p, size_t len, uint32_t *count,
                           struct sftp_reader *entries);
extern int sftp_wire_next_name (struct sftp_reader *entries,
                                struct sftp_name *name);

/* The EXTENDED_REPLY payload to limits@openssh.com. */
struct sftp_limits {
  uint64_t max_packet, max_read, max_write, max_open_handles;
};
extern int sftp_wire_limits (const void *p, size_t len,
                             struct sftp_limits *lim);

/* The EXTENDED_REPLY payload to fstatvfs@openssh.com (statvfs(3)). */
struct sftp_statvfs {
  uint64_t bsize, frsize, blocks, bfree, bavail, files, ffree, favail;
  uint64_t fsid, flag, namemax;
};
extern int sftp_wire_statvfs (const void *p, size_t len,
                              struct sftp_statvfs *st);

#endif /* SSH_PLUGIN_SFTP_WIRE_H */
