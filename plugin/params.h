/* nbdkit-ssh-plugin (libssh2)
 * Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
 * SPDX-License-Identifier: BSD-3-Clause
 */

/* config.c: the parameters (.config, .config_complete, --help) and
 * what they become, *params, filled in by config.c before any
 * connection exists; the other files read it through a pointer to
 * const, so that only config.c can write it.  (The header is not
 * named config.h: that is configure's.)
 */

#ifndef SSH_PLUGIN_PARAMS_H
#define SSH_PLUGIN_PARAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fingerprint.h"
#include "vector.h"

/* A jump host (jump=[user@]host[:port]). */
struct jump_spec {
  char *user;                   /* NULL: the local user */
  char *host;
  uint16_t port;
};
DEFINE_VECTOR_TYPE (jump_vector, struct jump_spec);

/* The parsed parameters, set once before any connection. */
struct ssh_params {
  const char *host;
  unsigned port;
  const char *user;
  const char *path;
  string_vector known_hosts;    /* absolute paths */
  bool verify_remote_host;
  bool accept_unknown_host;     /* ssh_config StrictHostKeyChecking no:
                                   a host not in known_hosts is let in */
  bool have_host_key;
  struct fingerprint host_key;
  string_vector identities;     /* absolute paths */
  unsigned timeout;             /* seconds; 0 = wait forever */
  unsigned retries;             /* reconnect attempts per request */
  unsigned keepalive;           /* seconds idle before a keepalive; 0 off */
  unsigned keepalive_count;     /* unanswered keepalives before giving
                                   up on the server; 0 never */
  bool create;                  /* create=true */
  int64_t create_size;          /* create-size= */
  int create_mode;              /* create-mode=, default 0600 */
  const char *dir;              /* dir=: one export per regular file */
  jump_vector jumps;            /* jump=, in order */
  const char *local_user;       /* the local user name */
  bool identities_only;         /* IdentitiesOnly: skip the agent */
  const char *proxy_command;    /* ssh_config ProxyCommand, expanded */
  const char *ciphers;          /* ciphers=, macs=, kex=: overrides */
  const char *macs;
  const char *kex;
  bool compression;             /* compression=true: zlib */
  int64_t write_behind;         /* write-behind= bytes; -1 auto, 0 off */
  unsigned idle_keep;           /* idle-keep= seconds; 0 off */
  unsigned channels;            /* channels= SFTP channels for writes;
                                   0 auto (by the round trip) */
  char *password;               /* password= (never logged) */
  char *jump_password;          /* jump-password= (never logged) */
  char *passphrase;             /* identity-passphrase= (never logged) */
  const char *home;             /* local home directory, or NULL */
};
/* config.c's parameters, read-only for every other file. */
extern const struct ssh_params *const params;
/* nbdkit ssh host=H PATH is path=PATH */
#define CONFIG_MAGIC_KEY "path"
extern char config_help[];
extern int config_help_init (void);
extern int config_param (const char *key, const char *value);
extern int config_complete (void);
extern void config_free (void);

#endif /* SSH_PLUGIN_PARAMS_H */
