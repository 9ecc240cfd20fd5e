/* nbdkit-ssh-plugin (libssh2)
 * Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
 * SPDX-License-Identifier: BSD-3-Clause
 */

/* libFuzzer target: ssh_config files, ~ and %-token expansion and
 * pattern lists (plugin/sshconfig.c, plugin/expand.c, plugin/match.c).
 *
 * At start-up a private home directory is made under $TMPDIR (removed
 * at exit), with .ssh/config (rewritten with each input) and a few
 * fixed files for Include to find (one with a line too long, one with
 * the most IdentityFile lines allowed), and
 * the cases inputs cannot reach (NULL arguments, a missing file, a
 * directory) are checked once.  Each input is:
 * - read with sshconfig_read for a host taken from the input (the
 *   second word of its first line), for "alias" followed by a second
 *   file into the same cfg (as ssh.c reads the user's then the system
 *   file), and for "web1.example.com" with no home directory; the cfg
 *   must be consistent (ranges, "first value wins" flags, ProxyJump
 *   and ProxyCommand exclusive) and an error must come with a message;
 * - each of its first lines, and the file names and HostName read,
 *   expanded with OpenSSH's tokens (expand_string) in three contexts
 *   and compared with a reference expansion written here;
 * - each of its first lines as a pattern list and as a host for
 *   match_pattern_list, and as a pattern matching itself.
 *
 * Include is confined to the private home: glob(3) is wrapped (link
 * with -Wl,--wrap=glob) so that patterns outside it match nothing,
 * instead of letting the fuzzer read /dev/stdin or walk the file
 * system.
 */

#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <glob.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "expand.h"
#include "match.h"
#include "sshconfig.h"
#include "fuzz-common.h"

#define MAX_LINES 32            /* lines of an input checked one by one */

static char home[PATH_MAX];     /* the private home directory */
static char config[PATH_MAX];   /* home/.ssh/config: the input */
static char second[PATH_MAX];   /* home/.ssh/included: a fixed file */
static size_t homelen;

/* Fixed files for Include: name and contents (NULL: a directory). */
static const struct { const char *name, *text; } fixed_files[] = {
  { ".ssh/included",
    "Host *\n  User included\n  IdentityFile ~/.ssh/id_included\n"
    "  StrictHostKeyChecking accept-new\n" },
  { ".ssh/conf.d", NULL },
  { ".ssh/conf.d/10-alias.conf",
    "Host alias\n  HostName real.example.com\n  Port 2200\n"
    "  ProxyJump jump@bastion:22\n" },
  { ".ssh/conf.d/20-all.conf",
    "Match all\n  ConnectTimeout 1m30s\n  UserKnownHostsFile ~/.ssh/kh1 %d/kh2\n" },
  { ".ssh/empty", "" },
};

static void write_file (const char *path, const void *data, size_t size);

/* Fixed files made by program: a line too long, and IdentityFile
 * lines up to the limit.  (Nothing reaches SSHCONFIG_MAX_FILES: 1024
 * files per read would make the fuzzing too slow to be worth it.)
 */
static void
write_generated_files (void)
{
  char path[PATH_MAX * 2], *buf;
  size_t n = 0, i, cap = 64 * 1024;

  buf = malloc (cap);
  FUZZ_CHECK (buf != NULL);

  n = (size_t) snprintf (buf, cap, "Host *\n  User ");
  memset (buf + n, 'u', SSHCONFIG_MAX_LINE + 10);
  n += SSHCONFIG_MAX_LINE + 10;
  buf[n++] = '\n';
  snprintf (path, sizeof path, "%s/.ssh/long", home);
  write_file (path, buf, n);

  n = 0;
  for (i = 0; i < SSHCONFIG_MAX_IDENTITY_FILES; ++i)
    n += (size_t) snprintf (buf + n, cap - n, "IdentityFile ~/.ssh/id%zu\n", i);
  snprintf (path, sizeof path, "%s/.ssh/ids", home);
  write_file (path, buf, n);

  free (buf);
}

/* expand_string with OpenSSH's tokens (what config.c's expand does). */
static char *
openssh_expand (const char *s, const char *h, const char *lu,
                const char *rh, const char *ru, int port,
                char *err, size_t errlen)
{
  const struct expand_values v = {
    .home = h, .local_user = lu, .local_host = "box",
    .remote_host = rh, .remote_user = ru, .port = port,
  };

  return expand_string (EXPAND_OPENSSH, s, &v, err, errlen);
}

/* Arguments and files the inputs cannot give. */
static void
check_fixed_cases (void)
{
  struct ssh_host_config cfg;
  char err[256], path[PATH_MAX * 2];

  sshconfig_init (&cfg);
  FUZZ_CHECK (sshconfig_read (NULL, "h", home, true, &cfg, NULL,
                              err, sizeof err) == -1);
  fuzz_check_err (err, sizeof err);
  FUZZ_CHECK (sshconfig_read (second, NULL, home, true, &cfg, NULL,
                              err, sizeof err) == -1);
  fuzz_check_err (err, sizeof err);
  /* Missing: fine if missing_ok, else an error. */
  snprintf (path, sizeof path, "%s/.ssh/absent", home);
  FUZZ_CHECK (sshconfig_read (path, "h", home, true, &cfg, NULL,
                              err, sizeof err) == 0);
  FUZZ_CHECK (sshconfig_read (path, "h", home, false, &cfg, NULL,
                              err, sizeof err) == -1);
  fuzz_check_err (err, sizeof err);
  /* A directory: an error unless included. */
  snprintf (path, sizeof path, "%s/.ssh/conf.d", home);
  FUZZ_CHECK (sshconfig_read (path, "h", home, false, &cfg, NULL,
                              err, sizeof err) == -1);
  fuzz_check_err (err, sizeof err);
  sshconfig_free (&cfg);
  sshconfig_free (NULL);

  FUZZ_CHECK (openssh_expand (NULL, home, "u", "h", "r", 22,
                              err, sizeof err) == NULL);
  fuzz_check_err (err, sizeof err);
  FUZZ_CHECK (!match_pattern_list (NULL, "h"));
  FUZZ_CHECK (!match_pattern_list ("*", NULL));
}

int __real_glob (const char *pattern, int flags,
                 int (*errfunc) (const char *, int), glob_t *pglob);
int __wrap_glob (const char *pattern, int flags,
                 int (*errfunc) (const char *, int), glob_t *pglob);

/* Could a component of pattern (under home) lead out of home? */
static bool
may_escape (const char *p)
{
  if (strchr (p, '\\') != NULL)
    return true;
  for (; *p; p += strcspn (p, "/")) {
    p += strspn (p, "/");
    if (*p == '.' &&
        (p[1] == '\0' || p[1] == '/' || p[1] == '.' ||
         strcspn (p, "/") != strcspn (p, "/*?[")))
      return true;
  }
  return false;
}

int
__wrap_glob (const char *pattern, int flags,
             int (*errfunc) (const char *, int), glob_t *pglob)
{
  size_t i, j;
  int r;

  if (strncmp (pattern, home, homelen) != 0 || pattern[homelen] != '/' ||
      may_escape (pattern + homelen)) {
    memset (pglob, 0, sizeof *pglob);
    return GLOB_NOMATCH;
  }
  r = __real_glob (pattern, flags, errfunc, pglob);
  if (r != 0)
    return r;
  /* Keep only what really is under home. */
  for (i = j = 0; i < pglob->gl_pathc; ++i) {
    char *rp = realpath (pglob->gl_pathv[i], NULL);
    bool inside = rp && strncmp (rp, home, homelen) == 0 &&
      (rp[homelen] == '/' || rp[homelen] == '\0');

    free (rp);
    if (inside)
      pglob->gl_pathv[j++] = pglob->gl_pathv[i];
    else
      free (pglob->gl_pathv[i]);
  }
  pglob->gl_pathc = j;
  pglob->gl_pathv[j] = NULL;
  if (j == 0) {
    globfree (pglob);
    memset (pglob, 0, sizeof *pglob);
    return GLOB_NOMATCH;
  }
  return 0;
}

static int
rm_entry (const char *path, const struct stat *st, int type, struct FTW *ftw)
{
  return remove (path);
}

static void
cleanup (void)
{
  if (home[0])
    nftw (home, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void
write_file (const char *path, const void *data, size_t size)
{
  int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  const char *p = data;

  FUZZ_CHECK (fd >= 0);
  while (size > 0) {
    ssize_t n = write (fd, p, size);
    FUZZ_CHECK (n > 0);
    p += n;
    size -= (size_t) n;
  }
  FUZZ_CHECK (close (fd) == 0);
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  const char *tmp = getenv ("TMPDIR");
  char tmpl[PATH_MAX], path[PATH_MAX * 2];
  struct ssh_host_config cfg;
  char err[256];
  size_t i;

  snprintf (tmpl, sizeof tmpl, "%s/fuzz-sshconfig.XXXXXX",
            tmp && *tmp ? tmp : "/tmp");
  FUZZ_CHECK (mkdtemp (tmpl) != NULL);
  FUZZ_CHECK (realpath (tmpl, home) != NULL);
  homelen = strlen (home);
  atexit (cleanup);

  snprintf (path, sizeof path, "%s/.ssh", home);
  FUZZ_CHECK (mkdir (path, 0700) == 0);
  for (i = 0; i < sizeof fixed_files / sizeof fixed_files[0]; ++i) {
    snprintf (path, sizeof path, "%s/%s", home, fixed_files[i].name);
    if (fixed_files[i].text == NULL)
      FUZZ_CHECK (mkdir (path, 0700) == 0);
    else
      write_file (path, fixed_files[i].text, strlen (fixed_files[i].text));
  }
  snprintf (config, sizeof config, "%s/.ssh/config", home);
  snprintf (second, sizeof second, "%s/.ssh/included", home);
  write_generated_files ();
  check_fixed_cases ();

  /* A missing file is not an error when missing_ok. */
  sshconfig_init (&cfg);
  FUZZ_CHECK (sshconfig_read (config, "h", home, true, &cfg, NULL,
                              err, sizeof err) == 0);
  sshconfig_free (&cfg);
  return 0;
}

static void
debug_cb (int level, const char *msg)
{
  static int verbose = -1;

  FUZZ_CHECK (level == SSHCONFIG_DEBUG || level == SSHCONFIG_WARN);
  FUZZ_CHECK (msg != NULL);
  if (verbose == -1)
    verbose = getenv ("FUZZ_VERBOSE") != NULL;
  if (verbose)
    fprintf (stderr, "sshconfig: %s\n", msg);
  else
    (void) strlen (msg);
}

/* Every string of a list is there and not empty. */
static void
check_strings (const string_vector *v)
{
  size_t i;

  for (i = 0; i < v->len; ++i)
    FUZZ_CHECK (v->ptr[i] && v->ptr[i][0]);
}

static void
check_cfg (const struct ssh_host_config *cfg)
{
  FUZZ_CHECK (cfg->port == -1 || (cfg->port >= 1 && cfg->port <= 65535));
  FUZZ_CHECK (cfg->identities_only >= -1 && cfg->identities_only <= 1);
  FUZZ_CHECK (cfg->strict_host_key_checking >= -1 &&
              cfg->strict_host_key_checking <= 1);
  FUZZ_CHECK ((cfg->strict_host_key_checking == -1) ==
              (cfg->strict_host_key_checking_word == NULL));
  FUZZ_CHECK (cfg->connect_timeout >= -1);
  FUZZ_CHECK (cfg->server_alive_interval >= -1);
  FUZZ_CHECK (cfg->server_alive_count_max >= -1);
  FUZZ_CHECK (cfg->identity_files.len <= SSHCONFIG_MAX_IDENTITY_FILES);
  FUZZ_CHECK (cfg->user_known_hosts.len <= SSHCONFIG_MAX_HOSTS_FILES);
  FUZZ_CHECK (cfg->global_known_hosts.len <= SSHCONFIG_MAX_HOSTS_FILES);
  FUZZ_CHECK ((cfg->identity_files.len == 0) ==
              (cfg->identity_files.ptr == NULL));
  check_strings (&cfg->identity_files);
  check_strings (&cfg->user_known_hosts);
  check_strings (&cfg->global_known_hosts);
  FUZZ_CHECK (cfg->hostname == NULL || cfg->hostname[0] != '\0');
  FUZZ_CHECK (cfg->user == NULL || cfg->user[0] != '\0');
  FUZZ_CHECK (cfg->proxy_jump == NULL || cfg->proxy_jump_set);
  FUZZ_CHECK (cfg->proxy_command == NULL || cfg->proxy_command_set);
  FUZZ_CHECK (!(cfg->proxy_jump_set && cfg->proxy_command_set));
}

/* The reference: what expand.h says expand_string does with
 * OpenSSH's tokens.
 */
static char *
ref_expand (const char *s, const char *h, const char *lu, const char *rh,
            const char *ru, int port)
{
  size_t cap = strlen (s) * 64 + 64, n = 0;
  char *out = malloc (cap), portstr[16];

#define ADD(str)                                                \
  do {                                                          \
    size_t l_ = strlen (str);                                   \
    if (n + l_ + 1 > cap) {                                     \
      cap = (n + l_ + 1) * 2;                                   \
      out = realloc (out, cap);                                 \
      FUZZ_CHECK (out != NULL);                                 \
    }                                                           \
    memcpy (out + n, (str), l_ + 1);                            \
    n += l_;                                                    \
  } while (0)

  FUZZ_CHECK (out != NULL);
  out[0] = '\0';
  if (s[0] == '~') {
    if ((s[1] != '\0' && s[1] != '/') || h == NULL)
      goto fail;
    ADD (h);
    s++;
  }
  for (; *s; s++) {
    const char *v;

    if (*s != '%') {
      char c[2] = { *s, '\0' };
      ADD (c);
      continue;
    }
    s++;
    switch (*s) {
    case '%': v = "%"; break;
    case 'd': v = h; break;
    case 'u': v = lu; break;
    case 'h': v = rh; break;
    case 'r': v = ru; break;
    case 'p':
      v = NULL;
      if (port >= 0) {
        snprintf (portstr, sizeof portstr, "%d", port);
        v = portstr;
      }
      break;
    default: v = NULL; break;   /* also the NUL after a trailing % */
    }
    if (v == NULL)
      goto fail;
    ADD (v);
  }
  return out;
#undef ADD

 fail:
  free (out);
  return NULL;
}

static void
check_expand_in (const char *s, const char *h, const char *lu,
                 const char *rh, const char *ru, int port)
{
  char err[256], *got, *want;

  memset (err, 'X', sizeof err);
  got = openssh_expand (s, h, lu, rh, ru, port, err, sizeof err);
  want = ref_expand (s, h, lu, rh, ru, port);
  if (got == NULL)
    fuzz_check_err (err, sizeof err);
  if ((got == NULL) != (want == NULL) ||
      (got && strcmp (got, want) != 0)) {
    fprintf (stderr, "expand_string ('%s') = '%s', expected '%s'\n",
             s, got ? got : "(null)", want ? want : "(null)");
    abort ();
  }
  free (got);
  free (want);
}

static void
check_expand (const char *s)
{
  check_expand_in (s, "/home/me", "me", "server.example.com", "root", 22);
  check_expand_in (s, NULL, NULL, NULL, NULL, -1);
  check_expand_in (s, "", "%u", "%h%%", "", 0);
}

static void
check_cfg_strings (const struct ssh_host_config *cfg)
{
  size_t i;

  if (cfg->hostname)
    check_expand (cfg->hostname);
  for (i = 0; i < cfg->identity_files.len; ++i)
    check_expand (cfg->identity_files.ptr[i]);
  for (i = 0; i < cfg->user_known_hosts.len; ++i)
    check_expand (cfg->user_known_hosts.ptr[i]);
}

static void
check_patterns (const char *line)
{
  size_t len = strlen (line);

  (void) match_pattern_list (line, "web1.example.com");
  (void) match_pattern_list ("*.example.com,!bad* good?", line);
  FUZZ_CHECK (match_pattern_list ("*", line));
  FUZZ_CHECK (!match_pattern_list ("*,!*", line));
  if (len > 0 && strpbrk (line, ", \t\r\n") == NULL && line[0] != '!')
    FUZZ_CHECK (match_pattern_list (line, line));
  /* Any string matches itself ('*' and '?' match themselves too). */
  FUZZ_CHECK (match_pattern (line, line, len, false));
  FUZZ_CHECK (match_pattern (line, line, len, true));
  FUZZ_CHECK (match_pattern (line, "*", 1, false));
  FUZZ_CHECK (match_pattern ("", line, 0, false));
}

static void
read_one (const char *host, const char *h, bool then_second)
{
  struct ssh_host_config cfg;
  char err[512];
  int r;

  sshconfig_init (&cfg);
  memset (err, 'X', sizeof err);
  r = sshconfig_read (config, host, h, false, &cfg, debug_cb,
                      err, sizeof err);
  check_cfg (&cfg);
  if (r == -1)
    fuzz_check_err (err, sizeof err);
  else {
    FUZZ_CHECK (r == 0 && err[0] == '\0');
    if (then_second) {
      /* Valid, unless the input used up the IdentityFile lines. */
      r = sshconfig_read (second, host, h, true, &cfg, NULL,
                          err, sizeof err);
      FUZZ_CHECK (r == 0 ||
                  cfg.identity_files.len == SSHCONFIG_MAX_IDENTITY_FILES);
      check_cfg (&cfg);
      FUZZ_CHECK (cfg.user != NULL);
    }
    check_cfg_strings (&cfg);
  }
  sshconfig_free (&cfg);
  check_cfg (&cfg);
  sshconfig_free (&cfg);        /* freed: safe again */
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char *s = fuzz_cstr (data, size), *line, *save = NULL, *host = NULL;
  size_t n;

  write_file (config, data, size);

  /* The host: the second word of the first line. */
  n = strcspn (s, "\n");
  host = strndup (s, n);
  FUZZ_CHECK (host != NULL);
  {
    char *w = host + strspn (host, " \t");
    w += strcspn (w, " \t=");
    w += strspn (w, " \t=");
    memmove (host, w, strcspn (w, " \t") + 1);
    host[strcspn (host, " \t")] = '\0';
  }

  read_one (host, home, false);
  read_one ("alias", home, true);
  read_one ("web1.example.com", NULL, false);

  check_expand (s);
  for (n = 0, line = strtok_r (s, "\n", &save);
       line != NULL && n < MAX_LINES;
       n++, line = strtok_r (NULL, "\n", &save)) {
    check_expand (line);
    check_patterns (line);
  }

  free (host);
  free (s);
  return 0;
}
