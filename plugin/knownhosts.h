/* nbdkit-ssh-plugin (libssh2)
 * Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
 * SPDX-License-Identifier: BSD-3-Clause
 */

/* knownhosts.c: known_hosts(5) lines and host patterns.  Pure: no
 * nbdkit or libssh2 calls (tests/test-knownhosts.c,
 * fuzz/fuzz-knownhosts.c).  Errors are written into the caller's err
 * buffer (errlen bytes, always NUL-terminated when errlen > 0).
 */

#ifndef SSH_PLUGIN_KNOWNHOSTS_H
#define SSH_PLUGIN_KNOWNHOSTS_H

#include <stdbool.h>
#include <stddef.h>

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

#endif /* SSH_PLUGIN_KNOWNHOSTS_H */
