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

/* known_hosts(5) lines and host matching, the way OpenSSH's hostfile.c
 * and match.c do it: markers, comma-separated patterns with wildcards
 * and negation, "[host]:port" for non-default ports, and hashed names.
 * Pure parsing: no nbdkit or libssh2 calls (tests/test-knownhosts.c).
 */

#include <config.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "base64.h"
#include "knownhosts.h"
#include "match.h"
#include "wire.h"

#define HASH_MAGIC "|1|"
#define SHA1_LEN 20

static void seterr (char *err, size_t errlen, const char *fs, ...)
  __attribute__ ((format (printf, 3, 4)));

static void
seterr (char *err, size_t errlen, const char *fs, ...)
{
  va_list args;

  if (err == NULL || errlen == 0)
    return;
  va_start (args, fs);
  vsnprintf (err, errlen, fs, args);
  va_end (args);
}

/* Key types whose blob we can check (OpenSSH's names). */
static const char *const known_types[] = {
  "ssh-rsa",
  "ssh-dss",
  "ssh-ed25519",
  "ssh-ed448",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "sk-ecdsa-sha2-nistp256@openssh.com",
  "sk-ssh-ed25519@openssh.com",
  "ssh-rsa-cert-v01@openssh.com",
  "ssh-dss-cert-v01@openssh.com",
  "ssh-ed25519-cert-v01@openssh.com",
  "ssh-ed448-cert-v01@openssh.com",
  "ecdsa-sha2-nistp256-cert-v01@openssh.com",
  "ecdsa-sha2-nistp384-cert-v01@openssh.com",
  "ecdsa-sha2-nistp521-cert-v01@openssh.com",
  "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com",
  "sk-ssh-ed25519-cert-v01@openssh.com",
};

static bool
is_known_type (const char *type)
{
  size_t i;

  for (i = 0; i < sizeof known_types / sizeof known_types[0]; ++i)
    if (strcmp (type, known_types[i]) == 0)
      return true;
  return false;
}

static bool
is_blank (char c)
{
  return c == ' ' || c == '\t';
}

/* The next word in [*p, end): sets *start and *len and moves *p past
 * it and the blanks after it.
 */
static void
next_word (const char **p, const char *end, const char **start, size_t *len)
{
  const char *s = *p;

  while (s < end && is_blank (*s))
    s++;
  *start = s;
  while (s < end && !is_blank (*s))
    s++;
  *len = (size_t) (s - *start);
  while (s < end && is_blank (*s))
    s++;
  *p = s;
}

int
knownhosts_parse_line (const char *line, struct kh_entry *e,
                       char *err, size_t errlen)
{
  const char *p, *end, *w, *b64;
  size_t len, wlen, b64len, cap;
  int n;

  memset (e, 0, sizeof *e);
  if (err && errlen)
    err[0] = '\0';
  if (line == NULL) {
    seterr (err, errlen, "no line");
    return -1;
  }

  len = strlen (line);
  if (len > 0 && line[len-1] == '\n')
    len--;
  if (len > 0 && line[len-1] == '\r')
    len--;
  if (memchr (line, '\n', len) != NULL) {
    seterr (err, errlen, "newline inside the line");
    return -1;
  }
  end = line + len;

  p = line;
  while (p < end && is_blank (*p))
    p++;
  if (p == end || *p == '#')
    return 0;

  /* One optional marker. */
  if (*p == '@') {
    next_word (&p, end, &w, &wlen);
    if (wlen == 8 && memcmp (w, "@revoked", 8) == 0)
      e->marker = KH_REVOKED;
    else if (wlen == 15 && memcmp (w, "@cert-authority", 15) == 0)
      e->marker = KH_CERT_AUTHORITY;
    else {
      seterr (err, errlen, "unknown marker '%.*s' (expected @revoked or "
              "@cert-authority)", (int) (wlen > 64 ? 64 : wlen), w);
      goto err;
    }
    if (p == end) {
      seterr (err, errlen, "nothing after the marker");
      goto err;
    }
    if (*p == '@') {
      seterr (err, errlen, "more than one marker");
      goto err;
    }
  }

  /* Host patterns. */
  next_word (&p, end, &w, &wlen);
  e->hosts = strndup (w, wlen);
  if (e->hosts == NULL)
    goto oom;

  /* Key type. */
  if (p == end || *p == '#') {
    seterr (err, errlen, "no key type after the host names");
    goto err;
  }
  next_word (&p, end, &w, &wlen);
  e->keytype = strndup (w, wlen);
  if (e->keytype == NULL)
    goto oom;

  /* Key, in base64.  Anything after it is a comment. */
  if (p == end) {
    seterr (err, errlen, "no key after the key type");
    goto err;
  }
  next_word (&p, end, &b64, &b64len);
  if (b64len > KH_MAX_KEY_BASE64) {
    seterr (err, errlen, "key too long");
    goto err;
  }
  cap = b64len / 4 * 3 + 3;
  e->key = malloc (cap);
  if (e->key == NULL)
    goto oom;
  n = base64_decode (b64, b64len, e->key, cap);
  if (n <= 0) {
    seterr (err, errlen, "key is not valid base64");
    goto err;
  }
  e->keylen = (size_t) n;

  /* The blob starts with the key type as an SSH string. */
  if (is_known_type (e->keytype)) {
    size_t tlen = strlen (e->keytype);
    uint32_t blen;

    if (e->keylen < 4) {
      seterr (err, errlen, "key type mismatch: key blob too short for %s",
              e->keytype);
      goto err;
    }
    blen = wire_get_be32 (e->key);
    if (blen != tlen || e->keylen - 4 < tlen ||
        memcmp (e->key + 4, e->keytype, tlen) != 0) {
      if (blen <= 64 && e->keylen - 4 >= blen) {
        size_t i;
        bool printable = true;

        for (i = 0; i < blen; ++i)
          if (e->key[4+i] <= 0x20 || e->key[4+i] >= 0x7f)
            printable = false;
        if (printable) {
          seterr (err, errlen, "key type mismatch: line says %s, "
                  "key blob says %.*s", e->keytype, (int) blen,
                  (const char *) e->key + 4);
          goto err;
        }
      }
      seterr (err, errlen, "key type mismatch: key blob is not a %s key",
              e->keytype);
      goto err;
    }
  }
  return 1;

 oom:
  seterr (err, errlen, "out of memory");
 err:
  knownhosts_free_entry (e);
  return -1;
}

void
knownhosts_free_entry (struct kh_entry *e)
{
  if (e == NULL)
    return;
  free (e->hosts);
  free (e->keytype);
  free (e->key);
  memset (e, 0, sizeof *e);
}

/* "|1|salt|hash": does HMAC-SHA1(salt, name) equal hash? */
static bool
match_hashed (const char *field, const char *name)
{
  const char *salt64, *hash64, *bar;
  unsigned char salt[SHA1_LEN], hash[SHA1_LEN], md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;

  if (strncmp (field, HASH_MAGIC, strlen (HASH_MAGIC)) != 0)
    return false;
  salt64 = field + strlen (HASH_MAGIC);
  bar = strchr (salt64, '|');
  if (bar == NULL)
    return false;
  hash64 = bar + 1;
  if (base64_decode (salt64, (size_t) (bar - salt64),
                     salt, sizeof salt) != SHA1_LEN ||
      base64_decode (hash64, strlen (hash64),
                     hash, sizeof hash) != SHA1_LEN)
    return false;
  if (HMAC (EVP_sha1 (), salt, sizeof salt,
            (const unsigned char *) name, strlen (name),
            md, &mdlen) == NULL ||
      mdlen != SHA1_LEN)
    return false;
  return CRYPTO_memcmp (md, hash, SHA1_LEN) == 0;
}

bool
knownhosts_match_host (const char *hosts, const char *host, int port)
{
  char *name;
  const char *p, *elem;
  bool positive = false, ret = false;
  size_t i, n;

  if (hosts == NULL || host == NULL)
    return false;

  if (port == 22 || port <= 0)
    name = strdup (host);
  else if (asprintf (&name, "[%s]:%d", host, port) == -1)
    name = NULL;
  if (name == NULL)
    return false;
  for (i = 0; name[i]; ++i)
    if (name[i] >= 'A' && name[i] <= 'Z')
      name[i] = (char) (name[i] - 'A' + 'a');

  /* A hashed field is one hashed name, as in OpenSSH. */
  if (hosts[0] == '|') {
    ret = match_hashed (hosts, name);
    goto out;
  }

  for (p = hosts; match_list_next (&p, &elem, &n); ) {
    bool negated = n > 0 && *elem == '!';
    const char *pat = negated ? elem + 1 : elem;
    size_t patlen = negated ? n - 1 : n;

    if (n > 0 && match_pattern (name, pat, patlen, true)) {
      if (negated)
        goto out;               /* ret is false */
      positive = true;
    }
  }
  ret = positive;

 out:
  free (name);
  return ret;
}
