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

/* Pure parsers for OpenSSH compatibility: host key fingerprints,
 * ssh:// URIs, ssh_config(5), known_hosts(5) and the SFTP wire
 * format.  No nbdkit or
 * libssh2 calls, so they can be unit-tested (tests/test-*.c) and
 * fuzzed (fuzz/fuzz-*.c) on their own.  Errors are
 * written into the caller's err buffer (errlen bytes, always
 * NUL-terminated when errlen > 0).
 */

#ifndef SSH_PLUGIN_PARSERS_H
#define SSH_PLUGIN_PARSERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Big-endian integers as SSH and SFTP put them on the wire. */
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

/* fingerprint.c: host key fingerprints (parse, format) and base64. */

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
 * colons, any case).  On error returns -1 and writes a message to err.
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

/* Base64 (RFC 4648, padding optional on input).  Returns the number
 * of bytes decoded or -1 on invalid input or overflow.
 */
extern int base64_decode (const char *in, size_t inlen,
                          unsigned char *out, size_t outlen);
extern void base64_encode (const unsigned char *in, size_t inlen,
                           char *out, bool pad);

/* uri.c */

/* ssh://[user@]host[:port]/path[?host_key_check=...] or sftp://...,
 * the form QEMU's ssh block driver accepts.
 */
struct ssh_uri {
  char *user;              /* NULL if absent; percent-decoded */
  char *host;              /* brackets removed for IPv6 literals;
                              percent-decoded ("%25" zone -> "%") */
  int port;                /* -1 if absent; else 1..65535 */
  char *path;              /* percent-decoded; begins with '/' */
  char *host_key_check;    /* NULL if absent, else the value of
                              ?host_key_check= (not validated here),
                              percent-decoded */
};

/* Returns 0, or -1 with a message in err quoting the URI (with any
 * password replaced by "****").  On error uri is left empty (all
 * NULL, port -1), so uri_free is safe either way.
 */
extern int uri_parse (const char *str, struct ssh_uri *uri,
                      char *err, size_t errlen);
extern void uri_free (struct ssh_uri *uri);

/* [user@]host[:port] as jump= and ssh_config's ProxyJump take it;
 * host may be an IPv6 address in brackets.  user is NULL if absent,
 * port 22 if absent.  Returns 0, or -1 with what is wrong in err (hs
 * left empty).  The caller frees user and host.
 */
struct ssh_hostspec {
  char *user;
  char *host;
  int port;
};
extern int uri_parse_hostspec (const char *spec, struct ssh_hostspec *hs,
                               char *err, size_t errlen);

/* sshconfig.c */

/* The subset of ssh_config(5) that decides where and how to connect.
 * Strings are raw: neither ~ nor %-tokens are expanded (see
 * sshconfig_expand).
 */
struct ssh_host_config {
  char *hostname;               /* HostName or NULL */
  int port;                     /* -1 unset */
  char *user;                   /* NULL unset */
  char **identity_files;        /* IdentityFile values in order; may
                                   include "none" (ssh then loads no
                                   default identity) */
  size_t nr_identity_files;
  int identities_only;          /* -1 unset, 0, 1 */
  char **user_known_hosts;      /* UserKnownHostsFile: all files of the */
  size_t nr_user_known_hosts;   /* first line that applies; "none" kept */
  char **global_known_hosts;    /* GlobalKnownHostsFile, likewise */
  size_t nr_global_known_hosts;
  int strict_host_key_checking; /* -1 unset, 0 = no/off/false,
                                   1 = yes/true/ask/accept-new */
  char *strict_host_key_checking_word; /* the word as written */
  int connect_timeout;          /* seconds, -1 unset */
  int server_alive_interval;    /* seconds, -1 unset */
  int server_alive_count_max;   /* -1 unset */
  /* ProxyJump and ProxyCommand: whichever applies first wins and the
   * other is then ignored, as in ssh.  "none" leaves the string NULL
   * but sets the flag.
   */
  char *proxy_jump;             /* raw value, e.g. "user@jump:22" */
  bool proxy_jump_set;
  char *proxy_command;          /* rest of the line, raw */
  bool proxy_command_set;
};

/* Limits (ssh has the same ones for depth, identities, hosts files). */
#define SSHCONFIG_MAX_LINE 4096
#define SSHCONFIG_MAX_DEPTH 16
#define SSHCONFIG_MAX_FILES 1024        /* files read by one call */
#define SSHCONFIG_MAX_IDENTITY_FILES 100
#define SSHCONFIG_MAX_HOSTS_FILES 32

extern void sshconfig_init (struct ssh_host_config *cfg);  /* all unset */
extern void sshconfig_free (struct ssh_host_config *cfg);  /* and init */

/* Free n strings and the array holding them. */
extern void sshconfig_free_strings (char **v, size_t n);

/* Read file for host (the name the user gave, matched against Host
 * patterns case-sensitively, as ssh does).  home is used for ~ and for
 * relative Include paths (home/.ssh/...); if home is NULL, relative
 * Include paths are taken relative to /etc/ssh (as ssh does for the
 * system-wide file) and ~ in an Include is an error.
 *
 * The first value obtained for each setting wins, so the user's file
 * must be read before the system-wide one into the same cfg.
 *
 * A missing file returns 0 with nothing set if missing_ok, else is an
 * error.  Returns -1 on a malformed line with "FILE:LINE: what is
 * wrong" in err; cfg may then be partly filled (sshconfig_free it).
 * Values are checked only in blocks that apply to host.  debug (may be
 * NULL) is called for things ignored on purpose (Match blocks, Includes
 * matching no file, ...).  Unknown keywords are ignored silently.
 */
extern int sshconfig_read (const char *file, const char *host,
                           const char *home, bool missing_ok,
                           struct ssh_host_config *cfg,
                           void (*debug) (const char *msg),
                           char *err, size_t errlen);

/* One %-token for sshconfig_expand_tokens: %letter becomes value;
 * what names it in the error when value is NULL ("remote user name").
 */
struct expand_token {
  char letter;
  const char *value;
  const char *what;
};

/* Expand ~ (alone or followed by '/', at the start only) to home, %%
 * to %, and each %letter of the table to its value.  Any other %x
 * (the error lists the table's letters), a trailing %, ~user, or a
 * token whose value is NULL is an error.  Returns a malloc'd string,
 * or NULL with a message in err.  sshconfig_expand (OpenSSH's tokens)
 * and config.c (the tokens of nbdkit's libssh-based plugin) use it.
 */
extern char *sshconfig_expand_tokens (const char *s, const char *home,
                                      const struct expand_token *tokens,
                                      size_t nr_tokens,
                                      char *err, size_t errlen);

/* Expand ~ (alone or followed by '/', at the start only) to home, and
 * %d (home), %u (local user), %h (remote host), %r (remote user),
 * %p (port) and %%.  Any other %x, a trailing %, ~user, or a token
 * whose value is NULL (or port < 0) is an error.  Returns a malloc'd
 * string, or NULL with a message in err.
 */
extern char *sshconfig_expand (const char *s, const char *home,
                               const char *local_user,
                               const char *remote_host,
                               const char *remote_user, int port,
                               char *err, size_t errlen);

/* Wildcard match of s against the first patlen bytes of pattern: '*'
 * matches any run of characters, '?' any one character (no other
 * metacharacters).  icase: ASCII case-insensitive.  Iterative, at
 * most O(strlen(s) * patlen).
 */
extern bool sshconfig_match_pattern (const char *s, const char *pattern,
                                     size_t patlen, bool icase);

/* OpenSSH pattern-list matching: comma- and/or whitespace-separated
 * patterns with * and ?, each optionally negated with '!'.  True if
 * some pattern matches and no negated pattern matches.  Case-sensitive,
 * like ssh's Host matching.  (sshconfig_read applies the same rule to
 * the words of a Host line, without splitting them at commas, as ssh
 * does.)
 */
extern bool sshconfig_match_pattern_list (const char *list,
                                          const char *host);

/* Comma-separated lists (algorithm names, host patterns): the next
 * element of the list at *p (it may be empty, as in "a,,b") goes to
 * elem and len, and *p moves past it and its comma.  False at the end.
 */
extern bool sshconfig_list_next (const char **p, const char **elem,
                                 size_t *len);

/* Is name an element of the comma-separated list? */
extern bool sshconfig_list_has (const char *list, const char *name);

/* Host and user names that may be pasted into a shell command or a
 * file name (%h, %r): NULL if acceptable, else why not (a constant
 * string, e.g. "it contains a shell metacharacter").  Rules of
 * OpenSSH 9.6's ssh(1), and no '/'.
 */
extern const char *sshconfig_check_hostname (const char *name);
extern const char *sshconfig_check_username (const char *name);

/* knownhosts.c */

enum kh_marker { KH_NONE = 0, KH_REVOKED, KH_CERT_AUTHORITY };

struct kh_entry {
  enum kh_marker marker;
  char *hosts;             /* the host pattern field as written */
  char *keytype;           /* "ssh-ed25519", ... (any word) */
  unsigned char *key;      /* base64-decoded key blob */
  size_t keylen;
};

/* Longest base64 key field accepted (OpenSSH keys and certificates
 * are far shorter).
 */
#define KH_MAX_KEY_BASE64 (64 * 1024)

/* Parse one line of a known_hosts file.  Returns 1 and fills e for an
 * entry, 0 for a blank or comment line, -1 for a line that cannot be
 * parsed (err says why).  The line may end in \n or \r\n; a trailing
 * comment after the key is allowed.  For the key types OpenSSH knows,
 * the type named inside the key blob must equal the key type field.
 * e is zeroed unless 1 is returned.
 */
extern int knownhosts_parse_line (const char *line, struct kh_entry *e,
                                  char *err, size_t errlen);
extern void knownhosts_free_entry (struct kh_entry *e);

/* Does the host field match host on port?  The name looked up is
 * "host" for port 22 (or port <= 0) and "[host]:port" otherwise, and is
 * lowercased, as ssh does.  Comma-separated patterns with * ?, and !
 * negation (a matching negated pattern means no match), or one hashed
 * entry "|1|base64(salt)|base64(HMAC-SHA1(salt, name))".
 */
extern bool knownhosts_match_host (const char *hosts, const char *host,
                                   int port);

/* sftp-wire.c */

/* SFTP version 3 (draft-ietf-secsh-filexfer-02): building requests
 * and decoding what the server sends.  No I/O: the caller moves the
 * bytes.
 */

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

#endif /* SSH_PLUGIN_PARSERS_H */
