/* nbdkit-ssh-plugin (libssh2)
 * Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
 * SPDX-License-Identifier: BSD-3-Clause
 */

/* sshconfig.c: reading ssh_config(5) (its Host patterns: match.h; ~
 * and %-tokens in its values: expand.h).  Pure: no nbdkit or libssh2
 * calls (tests/test-sshconfig.c, fuzz/fuzz-sshconfig.c).  Errors are
 * written into the caller's err buffer (errlen bytes, always
 * NUL-terminated when errlen > 0).
 */

#ifndef SSH_PLUGIN_SSHCONFIG_H
#define SSH_PLUGIN_SSHCONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "vector.h"

/* The subset of ssh_config(5) that decides where and how to connect.
 * Strings are raw: neither ~ nor %-tokens are expanded (see
 * expand.h).
 */
struct ssh_host_config {
  char *hostname;               /* HostName or NULL */
  int port;                     /* -1 unset */
  char *user;                   /* NULL unset */
  string_vector identity_files; /* IdentityFile values in order; may
                                   include "none" (ssh then loads no
                                   default identity) */
  int identities_only;          /* -1 unset, 0, 1 */
  string_vector user_known_hosts; /* UserKnownHostsFile: all files of
                                     the first line that applies;
                                     "none" kept */
  string_vector global_known_hosts; /* GlobalKnownHostsFile, likewise */
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
 * Values are checked only in blocks that apply to host.  note (may be
 * NULL) is called for what is ignored: at SSHCONFIG_DEBUG for what is
 * ignored on purpose (Includes matching no file, ...), at
 * SSHCONFIG_WARN where the file means something else to ssh (a Match
 * block, whose settings are skipped).  Unknown keywords are ignored
 * silently.
 */
enum { SSHCONFIG_DEBUG, SSHCONFIG_WARN };
extern int sshconfig_read (const char *file, const char *host,
                           const char *home, bool missing_ok,
                           struct ssh_host_config *cfg,
                           void (*note) (int level, const char *msg),
                           char *err, size_t errlen);

#endif /* SSH_PLUGIN_SSHCONFIG_H */
