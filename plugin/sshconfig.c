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

/* The subset of ssh_config(5) that decides where and how to connect,
 * read the way OpenSSH's readconf.c reads it.  Pure parsing apart from
 * reading the files: no nbdkit or libssh2 calls
 * (tests/test-sshconfig.c).
 */

#include <config.h>

#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "sshconfig.h"
#include "expand.h"
#include "match.h"

#define WHITESPACE " \t"

/* State shared by the files of one sshconfig_read call. */
struct reader {
  const char *host;
  const char *home;
  struct ssh_host_config *cfg;
  void (*note) (int level, const char *msg);
  char *err;
  size_t errlen;
  unsigned nr_files;
};

/* Where we are, for messages. */
struct where {
  const char *file;
  unsigned line;
};

static void seterr (struct reader *r, const char *fs, ...)
  __attribute__ ((format (printf, 2, 3)));
static void dbg (struct reader *r, const char *fs, ...)
  __attribute__ ((format (printf, 2, 3)));
static void warn (struct reader *r, const char *fs, ...)
  __attribute__ ((format (printf, 2, 3)));

static void
seterr (struct reader *r, const char *fs, ...)
{
  va_list args;

  if (r->err == NULL || r->errlen == 0)
    return;
  va_start (args, fs);
  vsnprintf (r->err, r->errlen, fs, args);
  va_end (args);
}

static void
report (struct reader *r, int level, const char *fs, va_list args)
{
  char msg[1024];

  if (r->note == NULL)
    return;
  vsnprintf (msg, sizeof msg, fs, args);
  r->note (level, msg);
}

static void
dbg (struct reader *r, const char *fs, ...)
{
  va_list args;

  va_start (args, fs);
  report (r, SSHCONFIG_DEBUG, fs, args);
  va_end (args);
}

static void
warn (struct reader *r, const char *fs, ...)
{
  va_list args;

  va_start (args, fs);
  report (r, SSHCONFIG_WARN, fs, args);
  va_end (args);
}

void
sshconfig_init (struct ssh_host_config *cfg)
{
  memset (cfg, 0, sizeof *cfg);
  cfg->port = -1;
  cfg->identities_only = -1;
  cfg->strict_host_key_checking = -1;
  cfg->connect_timeout = -1;
  cfg->server_alive_interval = -1;
  cfg->server_alive_count_max = -1;
}

void
sshconfig_free (struct ssh_host_config *cfg)
{
  if (cfg == NULL)
    return;
  free (cfg->hostname);
  free (cfg->user);
  string_vector_free (&cfg->identity_files);
  string_vector_free (&cfg->user_known_hosts);
  string_vector_free (&cfg->global_known_hosts);
  free (cfg->strict_host_key_checking_word);
  free (cfg->proxy_jump);
  free (cfg->proxy_command);
  sshconfig_init (cfg);
}

/* Reading files. */

/* Split s in place into words as OpenSSH's argv_split does: words are
 * separated by spaces and tabs, may be quoted with "..." or '...', \"
 * \' \\ and (outside quotes) "\ " are escapes, and a '#' at the start
 * of a word begins a comment.  argv has room for max words.  Returns
 * the number of words or -1 for an unterminated quote.
 */
static int
split_args (char *s, char **argv, size_t max)
{
  size_t n = 0;
  char *r = s, *w;
  char quote;

  while (*r) {
    if (*r == ' ' || *r == '\t') {
      r++;
      continue;
    }
    if (*r == '#')
      break;
    if (n >= max)
      return -1;
    w = argv[n++] = r;
    quote = 0;
    for (; *r; r++) {
      if (*r == '\\' &&
          (r[1] == '\'' || r[1] == '"' || r[1] == '\\' ||
           (quote == 0 && r[1] == ' ')))
        *w++ = *++r;
      else if (quote == 0 && (*r == ' ' || *r == '\t'))
        break;
      else if (quote == 0 && (*r == '"' || *r == '\''))
        quote = *r;
      else if (quote != 0 && *r == quote)
        quote = 0;
      else
        *w++ = *r;
    }
    if (*r == '\0') {
      if (quote != 0)
        return -1;
      *w = '\0';
      break;
    }
    /* w <= r, and *r is a space or tab. */
    *w = '\0';
    r++;
  }
  return (int) n;
}

/* "yes"/"no"/"true"/"false" (any case). */
static int
parse_yesno (const char *s)
{
  if (strcasecmp (s, "yes") == 0 || strcasecmp (s, "true") == 0)
    return 1;
  if (strcasecmp (s, "no") == 0 || strcasecmp (s, "false") == 0)
    return 0;
  return -1;
}

/* Decimal digits only, at most max. */
static int
parse_uint (const char *s, long max)
{
  long v = 0;

  if (*s == '\0')
    return -1;
  for (; *s; s++) {
    if (*s < '0' || *s > '9')
      return -1;
    v = v * 10 + (*s - '0');
    if (v > max)
      return -1;
  }
  return (int) v;
}

/* A time as ssh's convtime takes it: decimal seconds, or a sequence of
 * number+unit (s m h d w, any case), e.g. "90", "1m30s".  "none" is 0.
 * Returns -1 if invalid or over INT_MAX.
 */
static int
parse_time (const char *s)
{
  long total = 0;

  if (strcasecmp (s, "none") == 0)
    return 0;
  if (*s == '\0')
    return -1;
  while (*s) {
    long v = 0, mult;

    if (*s < '0' || *s > '9')
      return -1;
    for (; *s >= '0' && *s <= '9'; s++) {
      v = v * 10 + (*s - '0');
      if (v > INT_MAX)
        return -1;
    }
    switch (*s) {
    case '\0': mult = 1; break;
    case 's': case 'S': mult = 1; s++; break;
    case 'm': case 'M': mult = 60; s++; break;
    case 'h': case 'H': mult = 3600; s++; break;
    case 'd': case 'D': mult = 86400; s++; break;
    case 'w': case 'W': mult = 604800; s++; break;
    default: return -1;
    }
    if (v > (INT_MAX - total) / mult)
      return -1;
    total += v * mult;
  }
  return (int) total;
}

/* Append a copy of s: 0, or -1 out of memory. */
static int
append_string (string_vector *v, const char *s)
{
  char *copy = strdup (s);

  if (copy == NULL || string_vector_append (v, copy) == -1) {
    free (copy);
    return -1;
  }
  return 0;
}

/* Lines: the keyword, its values, and what it does. */

/* Per-file state. */
struct block {
  bool active;                  /* settings here apply to the host */
  bool in_match;                /* inside an ignored Match block */
};

/* Words of a line: at most one per two bytes of a maximal line. */
#define MAX_ARGS (SSHCONFIG_MAX_LINE / 2 + 1)

/* What a keyword's line does. */
enum kw_kind {
  KW_HOST, KW_MATCH, KW_INCLUDE,        /* the structure of the file */
  KW_SETTING,                           /* a setting, stored by set */
};

/* How a keyword's values are written. */
enum kw_values {
  ONE,                          /* one word */
  MANY,                         /* one or more words */
  REST,                         /* the rest of the line, not split (a
                                   shell command) */
};

struct line;

/* A keyword we act on (the others are ignored). */
struct keyword {
  const char *name;
  enum kw_kind kind;
  enum kw_values values;
  int (*set) (const struct line *l);    /* KW_SETTING: check and store */
};

/* A line with a keyword we act on, split into its values. */
struct line {
  struct reader *r;
  const struct where *w;
  const struct keyword *k;
  char **argv;                  /* room for MAX_ARGS words */
  int argc;                     /* values in argv: at least one, none
                                   empty */
};

/* "FILE:LINE: out of memory".  Returns -1. */
static int
oom_error (struct reader *r, const struct where *w)
{
  seterr (r, "%s:%u: out of memory", w->file, w->line);
  return -1;
}

static int
missing_value (const struct line *l)
{
  seterr (l->r, "%s:%u: missing value for %s",
          l->w->file, l->w->line, l->k->name);
  return -1;
}

static int
bad_value (const struct line *l)
{
  seterr (l->r, "%s:%u: bad value for %s: '%s'",
          l->w->file, l->w->line, l->k->name, l->argv[0]);
  return -1;
}

static int read_file (struct reader *r, const char *file, int depth,
                      bool missing_ok, bool is_include);

/* Include: each word is a glob(3) pattern. */
static int
do_include (struct reader *r, const struct where *w, int depth,
            char **argv, int argc)
{
  int i, gr;
  size_t j;

  for (i = 0; i < argc; ++i) {
    const char *arg = argv[i];
    enum expand_tilde tilde;
    char *path;
    glob_t gl;

    if (*arg == '\0') {
      seterr (r, "%s:%u: empty argument to Include", w->file, w->line);
      return -1;
    }
    tilde = expand_tilde (arg, r->home);
    if (arg[0] == '/')
      path = strdup (arg);
    else if (tilde != EXPAND_TILDE_NONE) {
      if (tilde == EXPAND_TILDE_USER) {
        seterr (r, "%s:%u: Include %s: ~user is not supported",
                w->file, w->line, arg);
        return -1;
      }
      if (tilde == EXPAND_TILDE_NO_HOME) {
        seterr (r, "%s:%u: Include %s: home directory not known",
                w->file, w->line, arg);
        return -1;
      }
      if (asprintf (&path, "%s%s", r->home, arg + 1) == -1)
        path = NULL;
    }
    else if (r->home != NULL) {
      if (asprintf (&path, "%s/.ssh/%s", r->home, arg) == -1)
        path = NULL;
    }
    else {
      if (asprintf (&path, "/etc/ssh/%s", arg) == -1)
        path = NULL;
    }
    if (path == NULL)
      return oom_error (r, w);

    memset (&gl, 0, sizeof gl);
    gr = glob (path, 0, NULL, &gl);
    if (gr == GLOB_NOMATCH) {
      dbg (r, "%s:%u: Include %s matched no files", w->file, w->line, path);
      free (path);
      globfree (&gl);
      continue;
    }
    if (gr != 0) {
      seterr (r, "%s:%u: Include %s: %s", w->file, w->line, path,
              gr == GLOB_NOSPACE ? "out of memory" : "glob failed");
      free (path);
      globfree (&gl);
      return -1;
    }
    free (path);
    if (depth + 1 > SSHCONFIG_MAX_DEPTH) {
      seterr (r, "%s:%u: Include nested too deeply (more than %d levels)",
              w->file, w->line, SSHCONFIG_MAX_DEPTH);
      globfree (&gl);
      return -1;
    }
    for (j = 0; j < gl.gl_pathc; ++j) {
      dbg (r, "%s:%u: including %s", w->file, w->line, gl.gl_pathv[j]);
      if (read_file (r, gl.gl_pathv[j], depth + 1, true, true) == -1) {
        globfree (&gl);
        return -1;
      }
    }
    globfree (&gl);
  }
  return 0;
}

/* Settings.  The first value that applies wins, as in ssh; values
 * are checked even when they do not win.
 */

/* v is the value for *field (-1 unset), or -1 if it is bad. */
static int
store_int (const struct line *l, int *field, int v)
{
  if (v == -1)
    return bad_value (l);
  if (*field == -1)
    *field = v;
  return 0;
}

static int
store_string (const struct line *l, char **field)
{
  if (*field != NULL)
    return 0;
  *field = strdup (l->argv[0]);
  return *field ? 0 : oom_error (l->r, l->w);
}

/* ProxyJump and ProxyCommand: whichever applies first wins, the other
 * is then ignored; "none" only sets the flag.
 */
static int
store_proxy (const struct line *l, bool *set, char **field)
{
  struct ssh_host_config *cfg = l->r->cfg;

  if (cfg->proxy_jump_set || cfg->proxy_command_set)
    return 0;
  *set = true;
  if (strcasecmp (l->argv[0], "none") != 0 &&
      (*field = strdup (l->argv[0])) == NULL)
    return oom_error (l->r, l->w);
  return 0;
}

/* UserKnownHostsFile, GlobalKnownHostsFile: all the files of one line. */
static int
store_hosts_files (const struct line *l, string_vector *files)
{
  int i;

  if (l->argc > SSHCONFIG_MAX_HOSTS_FILES) {
    seterr (l->r, "%s:%u: too many files for %s (more than %d)",
            l->w->file, l->w->line, l->k->name, SSHCONFIG_MAX_HOSTS_FILES);
    return -1;
  }
  for (i = 0; i < l->argc; ++i) {
    if (strcasecmp (l->argv[i], "none") == 0 && l->argc > 1) {
      seterr (l->r, "%s:%u: %s: \"none\" must appear alone",
              l->w->file, l->w->line, l->k->name);
      return -1;
    }
  }
  if (files->len > 0)
    return 0;
  for (i = 0; i < l->argc; ++i)
    if (append_string (files, l->argv[i]) == -1)
      return oom_error (l->r, l->w);
  return 0;
}

static int
set_hostname (const struct line *l)
{
  return store_string (l, &l->r->cfg->hostname);
}

static int
set_port (const struct line *l)
{
  int v = parse_uint (l->argv[0], 65535);

  return store_int (l, &l->r->cfg->port, v < 1 ? -1 : v);
}

static int
set_user (const struct line *l)
{
  return store_string (l, &l->r->cfg->user);
}

static int
set_identity_file (const struct line *l)
{
  struct ssh_host_config *cfg = l->r->cfg;

  if (cfg->identity_files.len >= SSHCONFIG_MAX_IDENTITY_FILES) {
    seterr (l->r, "%s:%u: too many IdentityFile lines (more than %d)",
            l->w->file, l->w->line, SSHCONFIG_MAX_IDENTITY_FILES);
    return -1;
  }
  if (append_string (&cfg->identity_files, l->argv[0]) == -1)
    return oom_error (l->r, l->w);
  return 0;
}

static int
set_identities_only (const struct line *l)
{
  return store_int (l, &l->r->cfg->identities_only,
                    parse_yesno (l->argv[0]));
}

static int
set_user_known_hosts (const struct line *l)
{
  struct ssh_host_config *cfg = l->r->cfg;

  return store_hosts_files (l, &cfg->user_known_hosts);
}

static int
set_global_known_hosts (const struct line *l)
{
  struct ssh_host_config *cfg = l->r->cfg;

  return store_hosts_files (l, &cfg->global_known_hosts);
}

/* 1 for yes true ask accept-new, 0 for no off false (any case), else
 * -1.
 */
static int
parse_strict (const char *s)
{
  if (strcasecmp (s, "yes") == 0 || strcasecmp (s, "true") == 0 ||
      strcasecmp (s, "ask") == 0 || strcasecmp (s, "accept-new") == 0)
    return 1;
  if (strcasecmp (s, "no") == 0 || strcasecmp (s, "off") == 0 ||
      strcasecmp (s, "false") == 0)
    return 0;
  return -1;
}

static int
set_strict_host_key_checking (const struct line *l)
{
  struct ssh_host_config *cfg = l->r->cfg;
  int v = parse_strict (l->argv[0]);

  if (v == -1)
    return bad_value (l);
  if (cfg->strict_host_key_checking == -1) {
    if ((cfg->strict_host_key_checking_word = strdup (l->argv[0])) == NULL)
      return oom_error (l->r, l->w);
    cfg->strict_host_key_checking = v;
  }
  return 0;
}

static int
set_connect_timeout (const struct line *l)
{
  return store_int (l, &l->r->cfg->connect_timeout,
                    parse_time (l->argv[0]));
}

static int
set_server_alive_interval (const struct line *l)
{
  return store_int (l, &l->r->cfg->server_alive_interval,
                    parse_time (l->argv[0]));
}

static int
set_server_alive_count_max (const struct line *l)
{
  return store_int (l, &l->r->cfg->server_alive_count_max,
                    parse_uint (l->argv[0], INT_MAX));
}

static int
set_proxy_jump (const struct line *l)
{
  struct ssh_host_config *cfg = l->r->cfg;

  return store_proxy (l, &cfg->proxy_jump_set, &cfg->proxy_jump);
}

static int
set_proxy_command (const struct line *l)
{
  struct ssh_host_config *cfg = l->r->cfg;

  return store_proxy (l, &cfg->proxy_command_set, &cfg->proxy_command);
}

static const struct keyword keywords[] = {
  { "Host",                  KW_HOST,    MANY, NULL },
  { "Match",                 KW_MATCH,   MANY, NULL },
  { "Include",               KW_INCLUDE, MANY, NULL },
  { "HostName",              KW_SETTING, ONE,  set_hostname },
  { "Port",                  KW_SETTING, ONE,  set_port },
  { "User",                  KW_SETTING, ONE,  set_user },
  { "IdentityFile",          KW_SETTING, ONE,  set_identity_file },
  { "IdentitiesOnly",        KW_SETTING, ONE,  set_identities_only },
  { "UserKnownHostsFile",    KW_SETTING, MANY, set_user_known_hosts },
  { "GlobalKnownHostsFile",  KW_SETTING, MANY, set_global_known_hosts },
  { "StrictHostKeyChecking", KW_SETTING, ONE,  set_strict_host_key_checking },
  { "ConnectTimeout",        KW_SETTING, ONE,  set_connect_timeout },
  { "ServerAliveInterval",   KW_SETTING, ONE,  set_server_alive_interval },
  { "ServerAliveCountMax",   KW_SETTING, ONE,  set_server_alive_count_max },
  { "ProxyJump",             KW_SETTING, ONE,  set_proxy_jump },
  { "ProxyCommand",          KW_SETTING, REST, set_proxy_command },
};

static const struct keyword *
find_keyword (const char *name)
{
  size_t i;

  for (i = 0; i < sizeof keywords / sizeof keywords[0]; ++i)
    if (strcasecmp (name, keywords[i].name) == 0)
      return &keywords[i];
  return NULL;
}

/* Split line in place, as readconf.c does: trailing whitespace is
 * dropped (ssh also strips form feeds there), the keyword ends at
 * whitespace or '=', then comes "=", " = " or " ".  Returns the
 * keyword and sets *rest, or returns NULL for a blank or comment line.
 */
static char *
split_keyword (char *line, char **rest)
{
  size_t len = strlen (line);
  char *p, *kw, *end;

  while (len > 0 && strchr (" \t\r\n\f", line[len-1]) != NULL)
    line[--len] = '\0';

  p = line + strspn (line, WHITESPACE);
  if (*p == '\0' || *p == '#')
    return NULL;

  kw = p;
  p += strcspn (p, WHITESPACE "=");
  end = p;
  p += strspn (p, WHITESPACE);
  if (*p == '=') {
    p++;
    p += strspn (p, WHITESPACE);
  }
  *end = '\0';
  *rest = p;
  return kw;
}

/* The values of l's keyword, from rest, into l->argv and l->argc.
 * Returns 0 or -1.
 */
static int
split_values (struct line *l, char *rest)
{
  int i;

  if (l->k->values == REST) {
    rest += strspn (rest, WHITESPACE "=");
    if (*rest == '\0')
      return missing_value (l);
    l->argv[0] = rest;
    l->argc = 1;
    return 0;
  }

  l->argc = split_args (rest, l->argv, MAX_ARGS);
  if (l->argc == -1) {
    seterr (l->r, "%s:%u: unterminated quote", l->w->file, l->w->line);
    return -1;
  }
  if (l->argc == 0)
    return missing_value (l);
  for (i = 0; i < l->argc; ++i) {
    if (l->argv[i][0] == '\0') {
      seterr (l->r, "%s:%u: empty value for %s",
              l->w->file, l->w->line, l->k->name);
      return -1;
    }
  }
  return 0;
}

/* Host: the block applies if a pattern matches and no negated one
 * does.
 */
static void
do_host (const struct line *l, struct block *b)
{
  struct reader *r = l->r;
  const char *matched = NULL;
  bool negated = false;
  int i;

  for (i = 0; i < l->argc; ++i) {
    int m = match_negatable (r->host, l->argv[i], strlen (l->argv[i]));
    if (m == -1) {
      negated = true;
      dbg (r, "%s:%u: skipping Host block because of negated match "
           "for %s", l->w->file, l->w->line, l->argv[i]);
      break;
    }
    if (m == 1 && matched == NULL)
      matched = l->argv[i];
  }
  b->in_match = false;
  b->active = matched != NULL && !negated;
  if (b->active)
    dbg (r, "%s:%u: applying options for %s",
         l->w->file, l->w->line, matched);
}

/* Match: only "Match all" is understood; other Match blocks are
 * skipped.
 */
static void
do_match (const struct line *l, struct block *b)
{
  char buf[256];
  size_t off = 0;
  int i;

  if (l->argc == 1 && strcasecmp (l->argv[0], "all") == 0) {
    /* "Match all" is "Host *", often used to end a block. */
    b->in_match = false;
    b->active = true;
    return;
  }

  buf[0] = '\0';
  for (i = 0; i < l->argc && off < sizeof buf; ++i) {
    int n = snprintf (buf + off, sizeof buf - off, "%s%s",
                      i ? " " : "", l->argv[i]);
    if (n < 0)
      break;
    off += (size_t) n;
  }
  warn (l->r, "%s:%u: Match %s ignored (Match blocks are not supported; "
        "settings up to the next Host or Match are skipped)",
        l->w->file, l->w->line, buf);
  b->in_match = true;
  b->active = false;
}

/* Settings are checked and stored only if the block applies. */
static int
do_setting (const struct line *l, const struct block *b)
{
  if (!b->active)
    return 0;
  if (l->argc > 1 && l->k->values == ONE) {
    seterr (l->r, "%s:%u: %s takes one value, extra arguments at end of "
            "line", l->w->file, l->w->line, l->k->name);
    return -1;
  }
  return l->k->set (l);
}

/* One line (NUL-terminated, no newline).  argv has room for MAX_ARGS
 * words.  Returns 0 or -1.
 */
static int
process_line (struct reader *r, const struct where *w, int depth,
              struct block *b, char *line, char **argv)
{
  struct line l = { .r = r, .w = w, .argv = argv };
  char *kw, *rest;

  kw = split_keyword (line, &rest);
  if (kw == NULL)
    return 0;
  l.k = find_keyword (kw);
  if (l.k == NULL)
    return 0;

  /* Inside a Match block only Host and Match lines matter. */
  if (b->in_match && l.k->kind != KW_HOST && l.k->kind != KW_MATCH)
    return 0;

  if (split_values (&l, rest) == -1)
    return -1;

  switch (l.k->kind) {
  case KW_HOST:
    do_host (&l, b);
    return 0;
  case KW_MATCH:
    do_match (&l, b);
    return 0;
  case KW_INCLUDE:
    if (!b->active) {
      dbg (r, "%s:%u: Include in a Host block not matching %s ignored",
           w->file, w->line, r->host);
      return 0;
    }
    return do_include (r, w, depth, argv, l.argc);
  case KW_SETTING:
    return do_setting (&l, b);
  }
  abort ();                     /* not reached */
}

/* Read one line into buf (SSHCONFIG_MAX_LINE + 1 bytes), without its
 * newline.  Returns 1 for a line, 0 at end of file, -1 (errno set) on
 * a read error, -2 for a line too long, -3 for a line containing NUL.
 */
static int
read_line (FILE *fp, char *buf)
{
  size_t n = 0;
  bool any = false, nul = false;
  int c;

  while ((c = getc (fp)) != EOF) {
    any = true;
    if (c == '\n')
      break;
    if (n >= SSHCONFIG_MAX_LINE)
      return -2;
    if (c == '\0')
      nul = true;
    buf[n++] = (char) c;
  }
  if (c == EOF && ferror (fp)) {
    if (errno == 0)
      errno = EIO;
    return -1;
  }
  buf[n] = '\0';
  if (!any)
    return 0;
  return nul ? -3 : 1;
}

static int
read_file (struct reader *r, const char *file, int depth, bool missing_ok,
           bool is_include)
{
  struct where w = { .file = file, .line = 0 };
  struct block b = { .active = true, .in_match = false };
  char *line = NULL, **argv = NULL;
  struct stat st;
  FILE *fp;
  int ret = -1, lr;

  if (++r->nr_files > SSHCONFIG_MAX_FILES) {
    seterr (r, "%s: too many configuration files included (more than %d)",
            file, SSHCONFIG_MAX_FILES);
    return -1;
  }

  fp = fopen (file, "re");
  if (fp == NULL) {
    if (errno == ENOENT && missing_ok) {
      dbg (r, "%s: not found, ignored", file);
      return 0;
    }
    seterr (r, "%s: %s", file, strerror (errno));
    return -1;
  }
  if (fstat (fileno (fp), &st) == 0 && S_ISDIR (st.st_mode)) {
    if (is_include) {
      dbg (r, "%s: is a directory, ignored", file);
      ret = 0;
    }
    else
      seterr (r, "%s: is a directory", file);
    goto out;
  }

  line = malloc (SSHCONFIG_MAX_LINE + 1);
  argv = malloc (MAX_ARGS * sizeof *argv);
  if (line == NULL || argv == NULL) {
    seterr (r, "%s: out of memory", file);
    goto out;
  }

  for (;;) {
    errno = 0;
    lr = read_line (fp, line);
    if (lr == 0)
      break;
    w.line++;
    switch (lr) {
    case -1:
      seterr (r, "%s:%u: read error: %s", file, w.line, strerror (errno));
      goto out;
    case -2:
      seterr (r, "%s:%u: line too long (more than %d bytes)",
              file, w.line, SSHCONFIG_MAX_LINE);
      goto out;
    case -3:
      seterr (r, "%s:%u: NUL byte in line", file, w.line);
      goto out;
    }
    if (process_line (r, &w, depth, &b, line, argv) == -1)
      goto out;
  }
  ret = 0;

 out:
  free (argv);
  free (line);
  fclose (fp);
  return ret;
}

int
sshconfig_read (const char *file, const char *host, const char *home,
                bool missing_ok, struct ssh_host_config *cfg,
                void (*note_fn) (int level, const char *msg),
                char *err, size_t errlen)
{
  struct reader r = {
    .host = host, .home = home, .cfg = cfg, .note = note_fn,
    .err = err, .errlen = errlen, .nr_files = 0,
  };

  if (err && errlen)
    err[0] = '\0';
  if (file == NULL || host == NULL) {
    seterr (&r, "sshconfig_read: no file or host");
    return -1;
  }
  return read_file (&r, file, 0, missing_ok, false);
}
