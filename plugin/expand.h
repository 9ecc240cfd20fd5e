/* nbdkit-ssh-plugin (libssh2)
 * Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
 * SPDX-License-Identifier: BSD-3-Clause
 */

/* expand.c: ~ and %-token expansion (as OpenSSH's misc.c
 * percent_expand and tilde_expand), with the token sets of OpenSSH
 * and of nbdkit's libssh-based plugin in one table, and the checks of
 * the host and user names that go into %h and %r.  Pure: no nbdkit or
 * libssh2 calls (tests/test-sshconfig.c, fuzz/fuzz-sshconfig.c).
 * Errors are written into the caller's err buffer (errlen bytes,
 * always NUL-terminated when errlen > 0).
 */

#ifndef SSH_PLUGIN_EXPAND_H
#define SSH_PLUGIN_EXPAND_H

#include <stddef.h>

/* What a leading ~ of s means: ~ is expanded alone or followed by
 * '/', at the start only.
 */
enum expand_tilde {
  EXPAND_TILDE_NONE,            /* s does not begin with ~ */
  EXPAND_TILDE_HOME,            /* its ~ (one byte) stands for home */
  EXPAND_TILDE_USER,            /* ~user: not supported */
  EXPAND_TILDE_NO_HOME,         /* ~, but home is NULL */
};
extern enum expand_tilde expand_tilde (const char *s, const char *home);

/* One %-token for expand_tokens: %letter becomes value; what names it
 * in the error when value is NULL ("remote user name").
 */
struct expand_token {
  char letter;
  const char *value;
  const char *what;
};

/* Expand ~ (see expand_tilde) to home, %% to %, and each %letter of
 * the table to its value.  Any other %x (the error lists the table's
 * letters), a trailing %, ~user, or a token whose value is NULL is an
 * error.  Returns a malloc'd string, or NULL with a message in err.
 */
extern char *expand_tokens (const char *s, const char *home,
                            const struct expand_token *tokens,
                            size_t nr_tokens, char *err, size_t errlen);

/* The token sets. */
enum expand_set {
  /* ssh_config(5)'s: %d (home), %u (local user), %h (remote host),
   * %r (remote user), %p (port).
   */
  EXPAND_OPENSSH,
  /* nbdkit's libssh-based ssh plugin's (libssh's
   * ssh_path_expand_escape), for config=, identity= and known-hosts=:
   * %d (home/.ssh), %u, %l (local host), %h, %r, %p.
   */
  EXPAND_LIBSSH,
};

/* What the tokens stand for: NULL (port: < 0) when not known, and a
 * token standing for it is then an error.
 */
struct expand_values {
  const char *home;             /* ~; %d, or home/.ssh for libssh's */
  const char *local_user;       /* %u */
  const char *local_host;       /* %l (libssh's set only) */
  const char *remote_host;      /* %h */
  const char *remote_user;      /* %r */
  int port;                     /* %p */
};

/* Expand ~ and the tokens of set in s with expand_tokens.  Returns a
 * malloc'd string, or NULL with a message in err.
 */
extern char *expand_string (enum expand_set set, const char *s,
                            const struct expand_values *values,
                            char *err, size_t errlen);

/* Host and user names that may be pasted into a shell command or a
 * file name (%h, %r): NULL if acceptable, else why not (a constant
 * string, e.g. "it contains a shell metacharacter").  Rules of
 * OpenSSH 9.6's ssh(1), and no '/'.
 */
extern const char *expand_check_hostname (const char *name);
extern const char *expand_check_username (const char *name);

#endif /* SSH_PLUGIN_EXPAND_H */
