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

/* ~ and %-token expansion, as OpenSSH's misc.c (tilde_expand,
 * percent_expand): one engine (expand_tokens) and one table of the
 * token sets (OpenSSH's, for ssh_config; libssh's, for config=,
 * identity= and known-hosts=), and the checks of the host and user
 * names that tokens paste into commands and file names.  Pure: no
 * nbdkit or libssh2 calls.
 */

#include <config.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "expand.h"
#include "vector.h"

/* ~ alone or followed by '/', at the start only. */
enum expand_tilde
expand_tilde (const char *s, const char *home)
{
  if (s[0] != '~')
    return EXPAND_TILDE_NONE;
  if (s[1] != '\0' && s[1] != '/')
    return EXPAND_TILDE_USER;
  if (home == NULL)
    return EXPAND_TILDE_NO_HOME;
  return EXPAND_TILDE_HOME;
}

/* The engine. */

DEFINE_VECTOR_TYPE (strbuf, char);   /* NUL-terminated once appended to */

static int
sb_append (strbuf *b, const char *s, size_t n)
{
  if (n == SIZE_MAX || strbuf_reserve (b, n + 1) == -1)
    return -1;
  memcpy (b->ptr + b->len, s, n);
  b->len += n;
  b->ptr[b->len] = '\0';
  return 0;
}

char *
expand_tokens (const char *s, const char *home,
               const struct expand_token *tokens, size_t nr_tokens,
               char *err, size_t errlen)
{
  strbuf b = { .ptr = NULL };
  const struct expand_token *t;
  size_t i;

  if (err && errlen)
    err[0] = '\0';
  if (s == NULL) {
    snprintf (err, errlen, "nothing to expand");
    return NULL;
  }
  if (sb_append (&b, "", 0) == -1)
    goto oom;

  switch (expand_tilde (s, home)) {
  case EXPAND_TILDE_NONE:
    break;
  case EXPAND_TILDE_USER:
    snprintf (err, errlen, "'%s': ~user is not supported "
              "(only ~ for your own home directory)", s);
    goto err;
  case EXPAND_TILDE_NO_HOME:
    snprintf (err, errlen, "'%s': cannot expand ~: home directory "
              "not known", s);
    goto err;
  case EXPAND_TILDE_HOME:
    if (sb_append (&b, home, strlen (home)) == -1)
      goto oom;
    s++;
    break;
  }

  while (*s) {
    size_t n = strcspn (s, "%");

    if (sb_append (&b, s, n) == -1)
      goto oom;
    s += n;
    if (*s == '\0')
      break;
    /* *s == '%' */
    if (s[1] == '\0') {
      snprintf (err, errlen, "'%s': '%%' at the end (write %%%% for "
                "a literal %%)", s);
      goto err;
    }
    if (s[1] == '%') {
      if (sb_append (&b, "%", 1) == -1)
        goto oom;
      s += 2;
      continue;
    }
    for (t = NULL, i = 0; i < nr_tokens; ++i)
      if (tokens[i].letter == s[1])
        t = &tokens[i];
    if (t == NULL) {
      /* "unknown token %x (supported: %d %u ... %%)" */
      size_t len = 0;

      len = snprintf (err, errlen, "unknown token %%%c (supported:", s[1]);
      for (i = 0; i < nr_tokens && len < errlen; ++i)
        len += snprintf (err + len, errlen - len, " %%%c", tokens[i].letter);
      if (len < errlen)
        snprintf (err + len, errlen - len, " %%%%)");
      goto err;
    }
    if (t->value == NULL) {
      snprintf (err, errlen, "cannot expand %%%c: %s not known", s[1],
                t->what);
      goto err;
    }
    if (sb_append (&b, t->value, strlen (t->value)) == -1)
      goto oom;
    s += 2;
  }
  return b.ptr;

 oom:
  snprintf (err, errlen, "out of memory");
 err:
  strbuf_reset (&b);
  return NULL;
}

/* The token sets: one table.  What a token stands for: */
enum value {
  V_HOME, V_SSH_DIR, V_LOCAL_USER, V_LOCAL_HOST, V_REMOTE_HOST,
  V_REMOTE_USER, V_PORT,
};

#define OPENSSH (1u << EXPAND_OPENSSH)
#define LIBSSH  (1u << EXPAND_LIBSSH)

/* In the order the error for an unknown token lists them. */
static const struct {
  unsigned sets;                /* the sets that have the token */
  char letter;
  enum value value;
  const char *what;
} token_table[] = {
  { LIBSSH,           'd', V_SSH_DIR,     "ssh directory (~/.ssh)" },
  { OPENSSH,          'd', V_HOME,        "home directory" },
  { OPENSSH | LIBSSH, 'u', V_LOCAL_USER,  "local user name" },
  { LIBSSH,           'l', V_LOCAL_HOST,  "local host name" },
  { OPENSSH | LIBSSH, 'h', V_REMOTE_HOST, "remote host name" },
  { OPENSSH | LIBSSH, 'r', V_REMOTE_USER, "remote user name" },
  { OPENSSH | LIBSSH, 'p', V_PORT,        "port" },
};
#define NR_TOKENS (sizeof token_table / sizeof token_table[0])

char *
expand_string (enum expand_set set, const char *s,
               const struct expand_values *v, char *err, size_t errlen)
{
  struct expand_token tokens[NR_TOKENS];
  char portstr[16], *ssh_dir = NULL, *r;
  size_t i, n = 0;

  snprintf (portstr, sizeof portstr, "%d", v->port);
  for (i = 0; i < NR_TOKENS; ++i) {
    const char *value = NULL;

    if ((token_table[i].sets & (1u << set)) == 0)
      continue;
    switch (token_table[i].value) {
    case V_HOME: value = v->home; break;
    case V_SSH_DIR:
      if (v->home != NULL) {
        if (asprintf (&ssh_dir, "%s/.ssh", v->home) == -1) {
          if (err && errlen)
            snprintf (err, errlen, "out of memory");
          return NULL;
        }
        value = ssh_dir;
      }
      break;
    case V_LOCAL_USER: value = v->local_user; break;
    case V_LOCAL_HOST: value = v->local_host; break;
    case V_REMOTE_HOST: value = v->remote_host; break;
    case V_REMOTE_USER: value = v->remote_user; break;
    case V_PORT: value = v->port < 0 ? NULL : portstr; break;
    }
    tokens[n].letter = token_table[i].letter;
    tokens[n].value = value;
    tokens[n].what = token_table[i].what;
    n++;
  }
  r = expand_tokens (s, v->home, tokens, n, err, errlen);
  free (ssh_dir);
  return r;
}

/* Host and user names from the command line or a URI are pasted into
 * ProxyCommand (run by /bin/sh), IdentityFile and UserKnownHostsFile
 * by %h and %r.  As OpenSSH (9.6) does, refuse shell metacharacters,
 * white space, control characters and a leading '-' (an option to the
 * command); '/' too, which would lead out of a directory in a file
 * name.  Returns NULL if name is fine, else what is wrong with it.
 */
static const char *
check_name (const char *name, const char *metachars)
{
  const unsigned char *p;

  if (*name == '\0')
    return "it is empty";
  if (*name == '-')
    return "it begins with '-'";
  for (p = (const unsigned char *) name; *p; ++p) {
    if (*p < 0x20 || *p == 0x7f)
      return "it contains a control character";
    if (*p == ' ' || *p == '\t')
      return "it contains white space";
    if (*p == '/')
      return "it contains '/'";
    if (strchr (metachars, *p) != NULL)
      return "it contains a shell metacharacter";
  }
  return NULL;
}

const char *
expand_check_hostname (const char *name)
{
  return check_name (name, "'`\"$\\;&<>|(){}");
}

const char *
expand_check_username (const char *name)
{
  const char *r = check_name (name, "'`\";&<>|(){}");
  size_t len = strlen (name);

  if (r == NULL && len > 0 && name[len - 1] == '\\')
    r = "it ends with '\\'";
  return r;
}
