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

/* Every parameter: param_table (one entry each: its kind, where its
 * value goes, whether it was given, its --help text), .config
 * (config_param, by the table), .config_complete (config_complete:
 * uri=, ssh_config, defaults and checks) and the --help text (made
 * from the table).  The result is conf, written only here and only
 * before nbdkit starts serving; the other files read it through the
 * pointer params (params.h), to a const struct.
 */

#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <assert.h>
#include <inttypes.h>
#include <pwd.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "ssh-plugin.h"
#include "expand.h"
#include "fingerprint.h"
#include "match.h"
#include "params.h"
#include "sftp.h"
#include "sshconfig.h"
#include "uri.h"
#include "vector.h"

static struct ssh_params conf = {
  .port = 22,
  .verify_remote_host = true,
  .timeout = 60,
  .retries = 3,
  .write_behind = -1,
  .idle_keep = 5,
  .keepalive = 30,
  .keepalive_count = 3,
  .create_mode = 0600,
};
const struct ssh_params *const params = &conf;

static const char *uri_param;           /* uri= as given */
static struct ssh_uri uri;              /* parsed, owned */
static const char *config_file;         /* config= as given; "" = none */
static const char *config_path;         /* config= expanded, absolute */
DEFINE_VECTOR_TYPE (const_string_vector, const char *);
static const_string_vector kh_args;     /* known-hosts=, identity= as */
static const_string_vector id_args;     /* given, expanded once final */
static struct ssh_host_config sshcfg;   /* what applies to host */
static string_vector owned;             /* strings to free at unload */
static char *default_user, *home;        /* the local user's */
static char *pw_home;                   /* from the password database */

/* Keep a malloc'd string until unload; returns it (NULL on error). */
static char *
own (char *s)
{
  if (s == NULL) {
    nbdkit_error ("out of memory");
    return NULL;
  }
  if (string_vector_append (&owned, s) == -1) {
    nbdkit_error ("realloc: %m");
    free (s);
    return NULL;
  }
  return s;
}

static void
free_owned (void)
{
  string_vector_free (&owned);
  uri_free (&uri);
  sshconfig_free (&sshcfg);
}

static void
wipe_secret (char **secret)
{
  if (*secret) {
    OPENSSL_cleanse (*secret, strlen (*secret));
    free (*secret);
    *secret = NULL;
  }
}

/* Free what the parameters hold, at unload. */
void
config_free (void)
{
  string_vector_free (&conf.known_hosts);
  string_vector_free (&conf.identities);
  free (default_user);
  free (home);
  free (pw_home);
  const_string_vector_reset (&kh_args);
  const_string_vector_reset (&id_args);
  free_owned ();
  for (size_t i = 0; i < conf.jumps.len; ++i) {
    free (conf.jumps.ptr[i].user);
    free (conf.jumps.ptr[i].host);
  }
  jump_vector_reset (&conf.jumps);
  wipe_secret (&conf.password);
  wipe_secret (&conf.jump_password);
  wipe_secret (&conf.passphrase);
}

/* Append a local file name, made absolute (nbdkit changes to /). */
static int
append_path (string_vector *list, const char *value, const char *key)
{
  char *path;

  if (*value == '\0') {
    nbdkit_error ("%s: the file name must not be empty", key);
    return -1;
  }
  path = nbdkit_absolute_path (value);
  if (path == NULL)
    return -1;
  if (string_vector_append (list, path) == -1) {
    nbdkit_error ("realloc: %m");
    free (path);
    return -1;
  }
  return 0;
}

/* Keep a known-hosts= or identity= value as given: its %-sequences
 * are expanded once the host, port and user are final.
 */
static int
add_arg (const_string_vector *args, const char *key, const char *value)
{
  if (*value == '\0') {
    nbdkit_error ("%s: the file name must not be empty", key);
    return -1;
  }
  if (const_string_vector_append (args, value) == -1) {
    nbdkit_error ("realloc: %m");
    return -1;
  }
  return 0;
}

/* A decimal number in [min, max], digits only (nbdkit's parsers call
 * "abc" an empty string, and accept signs and spaces).
 */
static int
parse_decimal (const char *key, const char *value,
               unsigned long min, unsigned long max, unsigned long *out)
{
  unsigned long n;

  if (*value == '\0' || strlen (value) > 10 ||
      value[strspn (value, "0123456789")] != '\0' ||
      (n = strtoul (value, NULL, 10)) < min || n > max) {
    nbdkit_error ("%s=%s: not a number from %lu to %lu",
                  key, value, min, max);
    return -1;
  }
  *out = n;
  return 0;
}

/* jump=[user@]host[:port], host may be [IPv6]. */
static int
add_jump (const char *value)
{
  struct ssh_hostspec hs;
  struct jump_spec j;
  char err[128];

  if (uri_parse_hostspec (value, &hs, err, sizeof err) == -1) {
    nbdkit_error ("jump=%s: %s", value, err);
    return -1;
  }
  j = (struct jump_spec) { .user = hs.user, .host = hs.host, .port = hs.port };
  if (jump_vector_append (&conf.jumps, j) == -1) {
    nbdkit_error ("realloc: %m");
    free (hs.host);
    free (hs.user);
    return -1;
  }
  return 0;
}

/* Pin the host key to the fingerprint value: host-key=, or the
 * host_key_check of uri=; what names which one, for the message.
 */
static int
pin_host_key (const char *what, const char *value)
{
  char err[256];

  if (fingerprint_parse (value, &conf.host_key, err, sizeof err) == -1) {
    nbdkit_error ("%s: %s", what, err);
    return -1;
  }
  conf.have_host_key = true;
  return 0;
}

/* The parameters whose values need more than their kind's parsing
 * (struct param below).  Each is called once per value; "given twice"
 * is checked before, by config_param.
 */

/* host-key=FINGERPRINT */
static int
parse_host_key (const char *key, const char *value)
{
  return pin_host_key ("host-key", value);
}

/* config=FILE, or empty: no ssh_config at all. */
static int
parse_config (const char *key, const char *value)
{
  config_file = value;          /* expanded in apply_ssh_config */
  return 0;
}

static int
parse_jump (const char *key, const char *value)
{
  return add_jump (value);
}

/* channels=auto|N */
static int
parse_channels (const char *key, const char *value)
{
  int n;

  if (strcmp (value, "auto") == 0) {
    conf.channels = 0;
    return 0;
  }
  n = 0;
  if (strspn (value, "0123456789") == strlen (value) &&
      strlen (value) <= 2)
    n = atoi (value);
  if (n < 1 || n > SFTP_MAX_CHANNELS) {
    nbdkit_error ("channels=%s: must be auto or a number of SFTP "
                  "channels from 1 to %d", value, SFTP_MAX_CHANNELS);
    return -1;
  }
  conf.channels = n;
  return 0;
}

/* write-behind=SIZE, 0 or WRITE_BEHIND_MIN to WRITE_BEHIND_MAX. */
static int
parse_write_behind (const char *key, const char *value)
{
  int64_t n;

  if (!(*value >= '0' && *value <= '9')) {
    nbdkit_error ("write-behind=%s: not a size (such as 8M; 0 turns "
                  "write-behind off)", value);
    return -1;
  }
  if ((n = nbdkit_parse_size (value)) == -1)
    return -1;
  if (n != 0 && (n < WRITE_BEHIND_MIN || n > WRITE_BEHIND_MAX)) {
    nbdkit_error ("write-behind=%s: the window must be 0 (off) or "
                  "between 64K and 1G", value);
    return -1;
  }
  conf.write_behind = n;
  return 0;
}

static int
parse_create_size (const char *key, const char *value)
{
  conf.create_size = nbdkit_parse_size (value);
  return conf.create_size == -1 ? -1 : 0;
}

/* create-mode=MODE, octal, at most 07777. */
static int
parse_create_mode (const char *key, const char *value)
{
  if (*value == '\0' || strlen (value) > 5 ||
      value[strspn (value, "01234567")] != '\0' ||
      strtoul (value, NULL, 8) > 07777) {
    nbdkit_error ("create-mode=%s: not an octal file mode (e.g. 0600)",
                  value);
    return -1;
  }
  conf.create_mode = strtoul (value, NULL, 8);
  return 0;
}

/* Every parameter, once, in the order of --help (config_help_init).
 * To add one: an entry here, a row in README.md's parameter table and
 * an =item under the man page's PARAMETERS (tests/test-param-docs.sh
 * checks that the three name the same parameters).
 *
 * A parameter may be given once unless .repeat: config_param refuses
 * it the second time ("'KEY' given twice") and records in .given that
 * it was given; the rest of this file asks given ("KEY").
 */
enum param_kind {
  PARAM_STRING,         /* not empty: *str = value */
  PARAM_FILES,          /* local file names, kept as given in *files:
                           %-expanded (expand_path_param) once host,
                           port and user are final */
  PARAM_BOOL,           /* nbdkit_parse_bool: *flag */
  PARAM_NUMBER,         /* decimal digits, from min to max: *number */
  PARAM_SECRET,         /* nbdkit_read_password (PW, -, +FILE, -FD):
                           *secret, never logged */
  PARAM_SPECIAL,        /* parse (key, value) */
};

struct param {
  const char *key;
  enum param_kind kind;
  union {                       /* where the value goes, by kind */
    const char **str;
    const_string_vector *files;
    bool *flag;
    unsigned *number;
    char **secret;
    int (*parse) (const char *key, const char *value);
  };
  unsigned long min, max;       /* PARAM_NUMBER */
  bool repeat;                  /* may be given more than once */
  const char *arg;              /* --help: what follows KEY= */
  const char *help;             /* --help: what it does */
  bool given;                   /* set by config_param (and apply_uri) */
};

static struct param param_table[] = {
  { "host", PARAM_STRING, .str = &conf.host, .arg = "<HOST>",
    .help = "(required) SSH server name, address, or ssh_config Host "
    "alias." },
  /* CONFIG_MAGIC_KEY: nbdkit ssh host=H /srv/disk.img */
  { "path", PARAM_STRING, .str = &conf.path, .arg = "<PATH>",
    .help = "(required) Remote file to serve." },
  { "uri", PARAM_STRING, .str = &uri_param,
    .arg = "ssh://[USER@]HOST[:PORT]/PATH[?host_key_check=...]",
    .help = "Instead of host, port, user and path." },
  { "config", PARAM_SPECIAL, .parse = parse_config, .arg = "<FILE>",
    .help = "ssh_config file (default ~/.ssh/config and "
    "/etc/ssh/ssh_config; empty: none). config=, known-hosts= and "
    "identity= expand ~ and %d (~/.ssh) %u (local user) %l (local host) "
    "%h %r %p (remote host, user, port) %%." },
  { "port", PARAM_NUMBER, .number = &conf.port, .min = 1, .max = 65535,
    .arg = "<PORT>", .help = "SSH port (default 22)." },
  { "user", PARAM_STRING, .str = &conf.user, .arg = "<USER>",
    .help = "Remote user (default: the local user)." },
  { "known-hosts", PARAM_FILES, .files = &kh_args, .repeat = true,
    .arg = "<FILE>",
    .help = "known_hosts file (may repeat; default ~/.ssh/known_hosts, "
    "/etc/ssh/ssh_known_hosts)." },
  { "verify-remote-host", PARAM_BOOL, .flag = &conf.verify_remote_host,
    .arg = "false", .help = "Do not verify the host key (insecure)." },
  { "host-key", PARAM_SPECIAL, .parse = parse_host_key,
    .arg = "<FINGERPRINT>",
    .help = "Pin the host key: SHA256:<base64> as printed by ssh-keygen "
    "-l, or md5:/sha1:/sha256:<hex>." },
  { "identity", PARAM_FILES, .files = &id_args, .repeat = true,
    .arg = "<FILE>",
    .help = "Private key file, tried after the agent (may repeat; "
    "default ~/.ssh/id_ed25519, id_ecdsa, id_rsa)." },
  { "identity-passphrase", PARAM_SECRET, .secret = &conf.passphrase,
    .arg = "<PASSPHRASE>",
    .help = "Passphrase of encrypted identity files (PW, - to prompt, "
    "+FILE, -FD)." },
  { "password", PARAM_SECRET, .secret = &conf.password,
    .arg = "<PASSWORD>",
    .help = "Password for password and keyboard-interactive auth (PW, "
    "-, +FILE, -FD)." },
  { "timeout", PARAM_NUMBER, .number = &conf.timeout,
    .min = 0, .max = 86400 * 365, .arg = "<SECS>",
    .help = "Timeout for connecting and for each wait on the server "
    "(default 60; 0 = none)." },
  { "jump", PARAM_SPECIAL, .parse = parse_jump, .repeat = true,
    .arg = "[USER@]HOST[:PORT]",
    .help = "Connect through this jump host (may repeat for a chain, "
    "like ssh -J)." },
  { "jump-password", PARAM_SECRET, .secret = &conf.jump_password,
    .arg = "<PASSWORD>",
    .help = "Password for the jump hosts (password= is only sent to the "
    "target host)." },
  { "dir", PARAM_STRING, .str = &conf.dir, .arg = "<DIR>",
    .help = "Serve every regular file of a remote directory, one export "
    "per file (instead of path=)." },
  { "compression", PARAM_BOOL, .flag = &conf.compression, .arg = "true",
    .help = "Compress the SSH connection (zlib), for slow links (default "
    "false)." },
  { "create", PARAM_BOOL, .flag = &conf.create, .arg = "true",
    .help = "Create (or replace) the remote file." },
  { "create-size", PARAM_SPECIAL, .parse = parse_create_size,
    .arg = "<SIZE>", .help = "Its size (required with create=true)." },
  { "create-mode", PARAM_SPECIAL, .parse = parse_create_mode,
    .arg = "<MODE>", .help = "Its permissions (default 0600)." },
  { "ciphers", PARAM_STRING, .str = &conf.ciphers, .arg = "<LIST>",
    .help = "Ciphers to offer, in order (overrides the built-in "
    "preference)." },
  { "macs", PARAM_STRING, .str = &conf.macs, .arg = "<LIST>",
    .help = "MACs to offer, in order." },
  { "kex", PARAM_STRING, .str = &conf.kex, .arg = "<LIST>",
    .help = "Key exchange methods to offer, in order." },
  { "retries", PARAM_NUMBER, .number = &conf.retries,
    .min = 0, .max = 100, .arg = "<N>",
    .help = "Reconnect attempts when the connection breaks during a "
    "request (default 3)." },
  { "keepalive", PARAM_NUMBER, .number = &conf.keepalive,
    .min = 0, .max = 86400, .arg = "<SECS>",
    .help = "Send keepalives after this long idle (default 30; 0 = "
    "off)." },
  { "keepalive-count", PARAM_NUMBER, .number = &conf.keepalive_count,
    .min = 0, .max = 1000000, .arg = "<N>",
    .help = "Unanswered keepalives before the server counts as dead "
    "(default 3; 0 = never)." },
  { "idle-keep", PARAM_NUMBER, .number = &conf.idle_keep,
    .min = 0, .max = 3600, .arg = "<SECS>",
    .help = "Keep a closed connection's SSH session and open file this "
    "long for the next NBD connection to the same export (default 5; "
    "0 = off)." },
  { "write-behind", PARAM_SPECIAL, .parse = parse_write_behind,
    .arg = "<SIZE>",
    .help = "Bytes of writes acknowledged before the server confirms "
    "them (default: sized to the round trip, 1M-16M; 0 = off)." },
  { "channels", PARAM_SPECIAL, .parse = parse_channels,
    .arg = "auto|<N>",
    .help = "SFTP channels of the session that carry write-behind writes "
    "(auto: by the round trip, 1 on a LAN, up to 4; at most 16)." },
};

#define NR_PARAMS (sizeof param_table / sizeof param_table[0])

static struct param *
param_find (const char *key)
{
  size_t i;

  for (i = 0; i < NR_PARAMS; ++i)
    if (strcmp (param_table[i].key, key) == 0)
      return &param_table[i];
  return NULL;
}

/* Was KEY given?  (port= and verify-remote-host= also by uri=.) */
static bool
given (const char *key)
{
  struct param *p = param_find (key);

  assert (p != NULL);
  return p->given;
}

static void
set_given (const char *key)
{
  struct param *p = param_find (key);

  assert (p != NULL);
  p->given = true;
}

/* .config: one key=value from the command line. */
int
config_param (const char *key, const char *value)
{
  struct param *p = param_find (key);
  unsigned long n;
  int r;

  if (p == NULL) {
    nbdkit_error ("unknown parameter '%s'", key);
    return -1;
  }
  if (p->given && !p->repeat) {
    if (p->kind == PARAM_STRING)
      nbdkit_error ("'%s' given twice ('%s' and '%s')", key, *p->str, value);
    else
      nbdkit_error ("'%s' given twice", key);
    return -1;
  }

  switch (p->kind) {
  case PARAM_STRING:
    if (*value == '\0') {
      nbdkit_error ("'%s' must not be empty", key);
      return -1;
    }
    *p->str = value;
    break;
  case PARAM_FILES:
    if (add_arg (p->files, key, value) == -1)
      return -1;
    break;
  case PARAM_BOOL:
    if ((r = nbdkit_parse_bool (value)) == -1)
      return -1;
    *p->flag = r;
    break;
  case PARAM_NUMBER:
    if (parse_decimal (key, value, p->min, p->max, &n) == -1)
      return -1;
    *p->number = n;
    break;
  case PARAM_SECRET:
    if (nbdkit_read_password (value, p->secret) == -1)
      return -1;
    break;
  case PARAM_SPECIAL:
    if (p->parse (key, value) == -1)
      return -1;
    break;
  }
  p->given = true;
  return 0;
}

/* The local user name and home directory, for defaults. */
static int
resolve_home_and_user (void)
{
  {
    struct passwd *pw = getpwuid (geteuid ());
    const char *name = pw ? pw->pw_name : getenv ("USER");

    if (name == NULL) {
      nbdkit_error ("cannot find the local user name: give user=");
      return -1;
    }
    default_user = strdup (name);
    if (default_user == NULL) {
      nbdkit_error ("strdup: %m");
      return -1;
    }
    conf.local_user = default_user;
  }

  {
    const char *h = getenv ("HOME");
    struct passwd *pw;

    if ((h == NULL || *h == '\0') && (pw = getpwuid (geteuid ())) != NULL)
      h = pw->pw_dir;
    if (h != NULL && (home = strdup (h)) == NULL) {
      nbdkit_error ("strdup: %m");
      return -1;
    }
    conf.home = home;
  }

  {
    /* libssh's home, for ~ and %d in config=, identity= and
     * known-hosts=: the password database's, $HOME only without an
     * entry.
     */
    struct passwd *pw = getpwuid (getuid ());
    const char *h = pw && pw->pw_dir && *pw->pw_dir ? pw->pw_dir :
      getenv ("HOME");

    if (h != NULL && (pw_home = strdup (h)) == NULL) {
      nbdkit_error ("strdup: %m");
      return -1;
    }
  }

  return 0;
}

/* Expand the %-sequences of nbdkit's libssh-based ssh plugin (libssh's
 * ssh_path_expand_escape) in config=, identity= and known-hosts=: ~
 * and %d (~/.ssh) from the password database's home directory, %u the
 * local user, %l the local host name, %h %r %p the remote host, user
 * and port as they are now, %%.  The result is made absolute.
 * Returns a string kept until unload, or NULL after nbdkit_error.
 */
static char *
expand_path_param (const char *key, const char *value)
{
  char hostname[256], err[512];
  char *r, *abs;
  bool have_hostname;

  have_hostname = gethostname (hostname, sizeof hostname) == 0;
  hostname[sizeof hostname - 1] = '\0';
  {
    const struct expand_values v = {
      .home = pw_home,
      .local_user = conf.local_user,
      .local_host = have_hostname ? hostname : NULL,
      .remote_host = conf.host,
      .remote_user = conf.user ? conf.user : conf.local_user,
      .port = conf.port,
    };

    r = expand_string (EXPAND_LIBSSH, value, &v, err, sizeof err);
  }
  if (r == NULL) {
    nbdkit_error ("%s=%s: %s", key, value, err);
    return NULL;
  }
  if (*r == '\0') {
    nbdkit_error ("%s=%s: the file name is empty once expanded",
                  key, value);
    free (r);
    return NULL;
  }
  if (strcmp (r, value) != 0)
    ssh_debug ("%s=%s is %s", key, value, r);
  abs = nbdkit_absolute_path (r);
  free (r);
  return abs ? own (abs) : NULL;
}

/* known-hosts= and identity= from the command line, expanded, in
 * order.
 */
static int
expand_path_params (void)
{
  size_t i;

  for (i = 0; i < kh_args.len; ++i) {
    const char *f = expand_path_param ("known-hosts", kh_args.ptr[i]);

    if (f == NULL || append_path (&conf.known_hosts, f, "known-hosts") == -1)
      return -1;
  }
  for (i = 0; i < id_args.len; ++i) {
    const char *f = expand_path_param ("identity", id_args.ptr[i]);

    if (f == NULL || append_path (&conf.identities, f, "identity") == -1)
      return -1;
  }
  return 0;
}

/* uri=ssh://[user@]host[:port]/path[?host_key_check=...] */
static int
apply_uri (void)
{
  char err[512];
  const char *hkc;

  if (conf.host || conf.path || conf.user || given ("port") || conf.dir) {
    nbdkit_error ("uri= cannot be combined with host=, path=, port=, "
                  "user= or dir=: the URI gives them");
    return -1;
  }
  if (uri_parse (uri_param, &uri, err, sizeof err) == -1) {
    nbdkit_error ("%s", err);
    return -1;
  }
  conf.host = uri.host;
  conf.path = uri.path;
  if (uri.user)
    conf.user = uri.user;
  if (uri.port > 0) {
    conf.port = uri.port;
    set_given ("port");
  }
  hkc = uri.host_key_check;
  if (hkc == NULL || strcmp (hkc, "yes") == 0 ||
      strcmp (hkc, "known_hosts") == 0)
    return 0;
  if (strcmp (hkc, "no") == 0) {
    if (given ("verify-remote-host") && conf.verify_remote_host) {
      nbdkit_error ("uri= says host_key_check=no but "
                    "verify-remote-host=true was given");
      return -1;
    }
    conf.verify_remote_host = false;
    set_given ("verify-remote-host");
    return 0;
  }
  if (conf.have_host_key) {
    nbdkit_error ("uri= has host_key_check=%s and host-key= was given too",
                  hkc);
    return -1;
  }
  return pin_host_key ("uri= host_key_check", hkc);
}

/* The host and user names given (host=, user=, or in uri=) are
 * pasted into ProxyCommand, IdentityFile and UserKnownHostsFile by %h
 * and %r: refuse what a shell or a file name would take for more than
 * a name.  (The names are not shown: they may hold control
 * characters.)
 */
static int
check_names (void)
{
  const char *why;

  if (conf.host && (why = expand_check_hostname (conf.host))) {
    nbdkit_error ("%s: the host name is refused: %s (it is pasted into "
                  "commands and file names by %%h)",
                  uri_param ? "uri=" : "host=", why);
    return -1;
  }
  if (conf.user && (why = expand_check_username (conf.user))) {
    nbdkit_error ("%s: the user name is refused: %s (it is pasted into "
                  "commands and file names by %%r)",
                  uri_param ? "uri=" : "user=", why);
    return -1;
  }
  return 0;
}

static void
config_note (int level, const char *msg)
{
  /* nbdkit has no warning level: an error line saying it is one (the
   * connection goes on, configured differently from what ssh does).
   */
  if (level == SSHCONFIG_WARN)
    nbdkit_error ("warning: ssh_config: %s", msg);
  else
    ssh_debug ("ssh_config: %s", msg);
}

/* Expand ~ and %tokens in a value from ssh_config and keep it. */
static char *
expand (const char *value, const char *file_kind)
{
  char err[256], *r;
  const struct expand_values v = {
    .home = conf.home,
    .local_user = conf.local_user,
    .local_host = NULL,         /* not an OpenSSH token */
    .remote_host = conf.host,
    .remote_user = conf.user,
    .port = conf.port,
  };

  r = expand_string (EXPAND_OPENSSH, value, &v, err, sizeof err);
  if (r == NULL) {
    nbdkit_error ("ssh_config %s '%s': %s", file_kind, value, err);
    return NULL;
  }
  return own (r);
}

/* Add expanded files from ssh_config to a list ("none" skipped). */
static int
add_config_files (string_vector *list, const string_vector *files,
                  const char *kind)
{
  size_t i;

  for (i = 0; i < files->len; ++i) {
    char *f;

    if (strcmp (files->ptr[i], "none") == 0)
      continue;
    f = expand (files->ptr[i], kind);
    if (f == NULL || append_path (list, f, kind) == -1)
      return -1;
  }
  return 0;
}

/* Read ssh_config (config=, default ~/.ssh/config then
 * /etc/ssh/ssh_config) for the host, and apply what the command line
 * did not set.  The first value found wins, as in OpenSSH.
 */
static int
apply_ssh_config (bool *identities_given, bool *known_hosts_given)
{
  char err[512];
  char *user_file = NULL;
  const char *alias = conf.host;

  sshconfig_init (&sshcfg);
  if (given ("config") && *config_file == '\0') {
    ssh_debug ("config= is empty: not reading any ssh_config");
    return 0;
  }
  if (given ("config")) {
    /* As libssh does: expanded before the file is read, with the
     * host, user and port of the command line.
     */
    config_path = expand_path_param ("config", config_file);
    if (config_path == NULL)
      return -1;
    if (sshconfig_read (config_path, alias, conf.home, false, &sshcfg,
                        config_note, err, sizeof err) == -1) {
      nbdkit_error ("config=%s: %s", config_file, err);
      return -1;
    }
  }
  else {
    if (conf.home) {
      if (asprintf (&user_file, "%s/.ssh/config", conf.home) == -1) {
        nbdkit_error ("asprintf: %m");
        return -1;
      }
      if (sshconfig_read (user_file, alias, conf.home, true, &sshcfg,
                          config_note, err, sizeof err) == -1) {
        nbdkit_error ("%s", err);
        free (user_file);
        return -1;
      }
      free (user_file);
    }
    if (sshconfig_read ("/etc/ssh/ssh_config", alias, NULL, true, &sshcfg,
                        config_note, err, sizeof err) == -1) {
      nbdkit_error ("%s", err);
      return -1;
    }
  }

  if (sshcfg.hostname) {
    char *h = expand (sshcfg.hostname, "HostName");

    if (h == NULL)
      return -1;
    ssh_debug ("ssh_config: %s is HostName %s", alias, h);
    conf.host = h;
  }
  if (sshcfg.port > 0 && !given ("port"))
    conf.port = sshcfg.port;
  if (sshcfg.user && !conf.user)
    conf.user = sshcfg.user;
  if (!conf.user)
    conf.user = conf.local_user;      /* for %r below */
  if (!*identities_given && sshcfg.identity_files.len > 0) {
    if (add_config_files (&conf.identities, &sshcfg.identity_files,
                          "IdentityFile") == -1)
      return -1;
    *identities_given = true;
  }
  if (sshcfg.identities_only == 1)
    conf.identities_only = true;
  if (!*known_hosts_given &&
      (sshcfg.user_known_hosts.len > 0 || sshcfg.global_known_hosts.len > 0)) {
    if (add_config_files (&conf.known_hosts, &sshcfg.user_known_hosts,
                          "UserKnownHostsFile") == -1 ||
        add_config_files (&conf.known_hosts, &sshcfg.global_known_hosts,
                          "GlobalKnownHostsFile") == -1)
      return -1;
    *known_hosts_given = true;
  }
  if (sshcfg.strict_host_key_checking == 0 &&
      !given ("verify-remote-host") && !conf.have_host_key) {
    /* As in OpenSSH, a host not in known_hosts is let in, but a key
     * that contradicts known_hosts (or is revoked) is still refused:
     * only verify-remote-host=false turns checking off.
     */
    ssh_debug ("ssh_config: StrictHostKeyChecking %s: hosts not in "
               "known_hosts are accepted",
               sshcfg.strict_host_key_checking_word);
    conf.accept_unknown_host = true;
  }
  else if (sshcfg.strict_host_key_checking == 1 &&
           strcmp (sshcfg.strict_host_key_checking_word, "yes") != 0)
    ssh_debug ("ssh_config: StrictHostKeyChecking %s is treated as yes "
               "(the plugin never adds keys to known_hosts)",
               sshcfg.strict_host_key_checking_word);
  if (sshcfg.connect_timeout >= 0 && !given ("timeout"))
    conf.timeout = sshcfg.connect_timeout;
  if (sshcfg.server_alive_interval >= 0 && !given ("keepalive"))
    conf.keepalive = sshcfg.server_alive_interval;
  if (sshcfg.server_alive_count_max >= 0 && !given ("keepalive-count"))
    conf.keepalive_count = sshcfg.server_alive_count_max;
  if (sshcfg.proxy_jump && conf.jumps.len == 0) {
    char *list = own (strdup (sshcfg.proxy_jump)), *p, *save = NULL;

    if (list == NULL)
      return -1;
    for (p = strtok_r (list, ",", &save); p; p = strtok_r (NULL, ",", &save)) {
      /* ProxyJump takes [user@]host[:port] and ssh:// URIs. */
      if (strncmp (p, "ssh://", 6) == 0)
        p += 6;
      if (add_jump (p) == -1)
        return -1;
    }
  }
  /* After HostName, Port and User: its tokens name the target. */
  if (sshcfg.proxy_command) {
    if (conf.jumps.len > 0)
      ssh_debug ("ssh_config: ProxyCommand ignored: jump= was given");
    else if ((conf.proxy_command = expand (sshcfg.proxy_command,
                                           "ProxyCommand")) == NULL)
      return -1;
  }
  return 0;
}

/* ciphers=, macs=, kex=: every name must be one this libssh2 has. */
static int
check_algorithms (const char *key, const char *list, int method)
{
  LIBSSH2_SESSION *session;
  const char **algs;
  char supported[2048] = "";
  size_t n = 0;
  const char *p;
  int i, nr, r = 0;

  if (list == NULL)
    return 0;
  session = libssh2_session_init ();
  if (session == NULL) {
    nbdkit_error ("cannot create a libssh2 session");
    return -1;
  }
  nr = libssh2_session_supported_algs (session, method, &algs);
  for (i = 0; i < nr; ++i)
    if (n < sizeof supported)
      n += snprintf (supported + n, sizeof supported - n, "%s%s",
                     i ? "," : "", algs[i]);
  for (p = list; r == 0 && *p; ) {
    size_t len = strcspn (p, ",");
    char name[128];

    snprintf (name, sizeof name, "%.*s", (int) len, p);
    if (len == 0 || len >= sizeof name ||
        !match_list_has (supported, name)) {
      nbdkit_error ("%s=%s: '%s' is not supported by libssh2 %s "
                    "(supported: %s)", key, list, name, libssh2_version (0),
                    supported);
      r = -1;
    }
    p += len + (p[len] == ',');
  }
  if (nr > 0)
    libssh2_free (session, algs);
  libssh2_session_free (session);
  return r;
}

/* compression=true needs a libssh2 built with zlib: it then lists
 * zlib methods once compression is asked for.
 */
static int
check_compression (void)
{
  LIBSSH2_SESSION *session;
  const char **algs;
  int i, nr;
  bool zlib = false;

  if (!conf.compression)
    return 0;
  session = libssh2_session_init ();
  if (session == NULL) {
    nbdkit_error ("cannot create a libssh2 session");
    return -1;
  }
  libssh2_session_flag (session, LIBSSH2_FLAG_COMPRESS, 1);
  nr = libssh2_session_supported_algs (session, LIBSSH2_METHOD_COMP_CS, &algs);
  for (i = 0; i < nr; ++i)
    if (strncmp (algs[i], "zlib", 4) == 0)
      zlib = true;
  if (nr > 0)
    libssh2_free (session, algs);
  libssh2_session_free (session);
  if (!zlib) {
    nbdkit_error ("compression=true: libssh2 %s was built without zlib "
                  "compression", libssh2_version (0));
    return -1;
  }
  return 0;
}

/* .config_complete: apply uri= and ssh_config, fill in defaults and
 * check what goes together.
 */
int
config_complete (void)
{
  bool identities_given = given ("identity");
  bool known_hosts_given = given ("known-hosts");

  if (resolve_home_and_user () == -1)
    return -1;
  if (check_algorithms ("ciphers", conf.ciphers,
                        LIBSSH2_METHOD_CRYPT_CS) == -1 ||
      check_algorithms ("macs", conf.macs, LIBSSH2_METHOD_MAC_CS) == -1 ||
      check_algorithms ("kex", conf.kex, LIBSSH2_METHOD_KEX) == -1 ||
      check_compression () == -1)
    return -1;
  if (uri_param && apply_uri () == -1)
    return -1;
  if (check_names () == -1)
    return -1;
  if (conf.host && apply_ssh_config (&identities_given,
                                     &known_hosts_given) == -1)
    return -1;
  if (conf.user == NULL)
    conf.user = conf.local_user;
  /* Now that host, port and user are final. */
  if (expand_path_params () == -1)
    return -1;

  if (conf.host == NULL) {
    nbdkit_error ("the 'host' parameter is required "
                  "(e.g. host=server.example.com)");
    return -1;
  }
  if (conf.path == NULL && conf.dir == NULL) {
    nbdkit_error ("the 'path' parameter is required "
                  "(the remote file to serve, e.g. path=/srv/disk.img), "
                  "or 'dir' to serve every file of a remote directory");
    return -1;
  }
  if (conf.path != NULL && conf.dir != NULL) {
    nbdkit_error ("'path' and 'dir' cannot be used together");
    return -1;
  }
  if (conf.create) {
    if (conf.dir) {
      nbdkit_error ("create=true works with path=, not with dir=");
      return -1;
    }
    if (!given ("create-size")) {
      nbdkit_error ("create=true needs create-size= (the size of the new "
                    "remote file)");
      return -1;
    }
  }
  else if (given ("create-size") || given ("create-mode")) {
    nbdkit_error ("create-size and create-mode need create=true");
    return -1;
  }
  if (conf.have_host_key && given ("verify-remote-host") &&
      !conf.verify_remote_host) {
    nbdkit_error ("host-key and verify-remote-host=false contradict "
                  "each other: give one of them");
    return -1;
  }

  if (!known_hosts_given) {
    char *file;

    if (conf.home != NULL) {
      if (asprintf (&file, "%s/.ssh/known_hosts", conf.home) == -1) {
        nbdkit_error ("asprintf: %m");
        return -1;
      }
      if (append_path (&conf.known_hosts, file, "known-hosts") == -1) {
        free (file);
        return -1;
      }
      free (file);
    }
    if (append_path (&conf.known_hosts, "/etc/ssh/ssh_known_hosts",
                     "known-hosts") == -1)
      return -1;
  }
  return 0;
}

/* .config_help: the --help text, made from param_table by
 * config_help_init (at load).  nbdkit copies the plugin struct, this
 * pointer included, before load: so a buffer of fixed address.
 */
char config_help[8192];

#define HELP_COLUMN 27          /* where the text of a parameter begins */
#define HELP_WIDTH 74           /* the longest line, unless one word is */

struct help_buf {
  size_t len;
  bool overflow;
};

static void
help_put (struct help_buf *h, const char *s, size_t n)
{
  if (h->overflow || h->len + n >= sizeof config_help) {
    h->overflow = true;
    return;
  }
  memcpy (config_help + h->len, s, n);
  h->len += n;
  config_help[h->len] = '\0';
}

static void
help_pad (struct help_buf *h, size_t from, size_t to)
{
  for (; from < to; ++from)
    help_put (h, " ", 1);
}

/* KEY=ARG (the magic key as [KEY=]ARG), then the help text from
 * HELP_COLUMN on, wrapped at HELP_WIDTH; a KEY=ARG too long for its
 * column has a line of its own.
 */
static void
help_param (struct help_buf *h, const struct param *p)
{
  char left[128];
  const char *s = p->help;
  size_t col;

  if (strcmp (p->key, CONFIG_MAGIC_KEY) == 0)
    snprintf (left, sizeof left, "[%s=]%s", p->key, p->arg);
  else
    snprintf (left, sizeof left, "%s=%s", p->key, p->arg);
  col = strlen (left);
  help_put (h, left, col);
  if (col + 2 > HELP_COLUMN) {
    help_put (h, "\n", 1);
    col = 0;
  }
  help_pad (h, col, HELP_COLUMN);
  col = HELP_COLUMN;
  while (*s) {
    size_t n = strcspn (s, " ");

    if (col > HELP_COLUMN) {
      if (col + 1 + n > HELP_WIDTH) {
        help_put (h, "\n", 1);
        help_pad (h, 0, HELP_COLUMN);
        col = HELP_COLUMN;
      }
      else {
        help_put (h, " ", 1);
        col++;
      }
    }
    help_put (h, s, n);
    col += n;
    s += n;
    s += strspn (s, " ");
  }
}

/* Fill config_help from the table.  Returns -1 if it does not fit. */
int
config_help_init (void)
{
  struct help_buf h = { 0 };
  size_t i;

  for (i = 0; i < NR_PARAMS; ++i) {
    if (i > 0)
      help_put (&h, "\n", 1);
    help_param (&h, &param_table[i]);
  }
  if (h.overflow) {
    nbdkit_error ("the --help text is longer than %zu bytes",
                  sizeof config_help - 1);
    return -1;
  }
  return 0;
}
