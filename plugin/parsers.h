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
 * ssh:// URIs, ssh_config(5) and known_hosts(5).  No nbdkit or
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

#endif /* SSH_PLUGIN_PARSERS_H */
