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

/* Parse ssh:// and sftp:// URIs, the form QEMU's ssh block driver
 * takes: ssh://[user@]host[:port]/path[?host_key_check=...].  Pure
 * parsing: no nbdkit or libssh2 calls (tests/test-uri.c).
 */

#include <config.h>

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "uri.h"

/* Character classes of RFC 3986, as bits. */
#define C_UNRESERVED 0x01       /* ALPHA DIGIT - . _ ~ */
#define C_SUBDELIM   0x02       /* ! $ & ' ( ) * + , ; = */
#define C_COLON      0x04
#define C_AT         0x08
#define C_SLASH      0x10
#define C_QMARK      0x20

#define CLASS_USER  (C_UNRESERVED | C_SUBDELIM)
#define CLASS_HOST  (C_UNRESERVED | C_SUBDELIM)
#define CLASS_ZONE  (C_UNRESERVED)
#define CLASS_PATH  (C_UNRESERVED | C_SUBDELIM | C_COLON | C_AT | C_SLASH)
#define CLASS_QUERY (CLASS_PATH | C_QMARK)

static int
char_class (unsigned char c)
{
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
      (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~')
    return C_UNRESERVED;
  switch (c) {
  case '!': case '$': case '&': case '\'': case '(': case ')':
  case '*': case '+': case ',': case ';': case '=':
    return C_SUBDELIM;
  case ':': return C_COLON;
  case '@': return C_AT;
  case '/': return C_SLASH;
  case '?': return C_QMARK;
  }
  return 0;
}

static bool
is_alpha (char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
hexval (char c)
{
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* What we need to write errors: the URI, and the part of it to hide
 * (a password), if any.
 */
struct uri_ctx {
  const char *str;
  size_t hide_start, hide_end;  /* equal if nothing to hide */
  char *err;
  size_t errlen;
};

static void uri_error (const struct uri_ctx *c, const char *fs, ...)
  __attribute__ ((format (printf, 2, 3)));

static void
uri_error (const struct uri_ctx *c, const char *fs, ...)
{
  char msg[256];
  va_list args;
  bool hide = c->hide_end > c->hide_start;

  if (c->err == NULL || c->errlen == 0)
    return;
  va_start (args, fs);
  vsnprintf (msg, sizeof msg, fs, args);
  va_end (args);
  snprintf (c->err, c->errlen, "invalid URI '%.*s%s%s': %s",
            (int) c->hide_start, c->str, hide ? "****" : "",
            c->str + (hide ? c->hide_end : c->hide_start), msg);
}

/* A character as it can be shown in a message. */
static const char *
show_char (unsigned char ch, char *buf, size_t len)
{
  if (ch > 0x20 && ch < 0x7f)
    snprintf (buf, len, "'%c'", ch);
  else
    snprintf (buf, len, "byte 0x%02x", ch);
  return buf;
}

/* Check the n bytes at s against class and percent-decode them into a
 * new string.  Returns NULL (and sets err) on error.
 */
static char *
decode (const struct uri_ctx *c, const char *s, size_t n, int class,
        const char *what, bool allow_controls)
{
  char *out, *o, buf[16];
  size_t i;

  out = o = malloc (n + 1);
  if (out == NULL) {
    uri_error (c, "out of memory");
    return NULL;
  }
  for (i = 0; i < n; ++i) {
    unsigned char ch = (unsigned char) s[i];

    if (ch == '%') {
      int hi = i + 1 < n ? hexval (s[i+1]) : -1;
      int lo = i + 2 < n ? hexval (s[i+2]) : -1;

      if (hi < 0 || lo < 0) {
        uri_error (c, "invalid percent-escape in the %s "
                   "(expected %% and two hex digits)", what);
        goto err;
      }
      ch = (unsigned char) (hi * 16 + lo);
      if (ch == 0) {
        uri_error (c, "%%00 is not allowed in the %s", what);
        goto err;
      }
      if (!allow_controls && (ch < 0x20 || ch == 0x7f)) {
        uri_error (c, "control character %%%02X is not allowed in the %s",
                   ch, what);
        goto err;
      }
      i += 2;
    }
    else if ((char_class (ch) & class) == 0) {
      uri_error (c, "%s is not allowed in the %s (percent-encode it)",
                 show_char (ch, buf, sizeof buf), what);
      goto err;
    }
    *o++ = (char) ch;
  }
  *o = '\0';
  return out;

 err:
  free (out);
  return NULL;
}

/* The inside of [...]: an IPv6 address, optionally with a zone as in
 * RFC 6874 ("fe80::1%25eth0").  Returns the decoded host or NULL.
 */
static char *
parse_ipv6 (const struct uri_ctx *c, const char *s, size_t n)
{
  size_t i, addrlen, zone;
  char addrbuf[INET6_ADDRSTRLEN], *zonestr, *ret;
  struct in6_addr in6;

  addrlen = n;
  for (i = 0; i + 2 < n; ++i) {
    if (s[i] == '%' && s[i+1] == '2' && s[i+2] == '5') {
      addrlen = i;
      break;
    }
  }
  if (addrlen == 0) {
    uri_error (c, "empty IPv6 address in [...]");
    return NULL;
  }
  if (addrlen >= sizeof addrbuf) {
    uri_error (c, "[...] must contain an IPv6 address");
    return NULL;
  }
  memcpy (addrbuf, s, addrlen);
  addrbuf[addrlen] = '\0';
  if (inet_pton (AF_INET6, addrbuf, &in6) != 1) {
    uri_error (c, "[...] must contain an IPv6 address "
               "(with any zone written as %%25)");
    return NULL;
  }
  if (addrlen == n) {
    ret = strndup (s, n);
    if (ret == NULL)
      uri_error (c, "out of memory");
    return ret;
  }

  zone = addrlen + 3;
  if (zone >= n) {
    uri_error (c, "empty IPv6 zone after %%25");
    return NULL;
  }
  zonestr = decode (c, s + zone, n - zone, CLASS_ZONE, "IPv6 zone", false);
  if (zonestr == NULL)
    return NULL;
  if (asprintf (&ret, "%s%%%s", addrbuf, zonestr) == -1) {
    uri_error (c, "out of memory");
    ret = NULL;
  }
  free (zonestr);
  return ret;
}

/* Digits only, 1..65535, no overflow on long input. */
static int
parse_port (const struct uri_ctx *c, const char *s, size_t n)
{
  size_t i;
  long v = 0;

  if (n == 0) {
    uri_error (c, "empty port after ':'");
    return -1;
  }
  for (i = 0; i < n; ++i) {
    if (s[i] < '0' || s[i] > '9') {
      uri_error (c, "port '%.*s' is not a number", (int) n, s);
      return -1;
    }
    v = v * 10 + (s[i] - '0');
    if (v > 65535)
      break;
  }
  if (v < 1 || v > 65535) {
    uri_error (c, "port '%.*s' is out of range (1-65535)", (int) n, s);
    return -1;
  }
  return (int) v;
}

/* The query: &- or ;-separated key=value pairs.  Only host_key_check. */
static int
parse_query (const struct uri_ctx *c, const char *q, struct ssh_uri *uri)
{
  while (*q) {
    size_t n = strcspn (q, "&;");
    const char *eq = memchr (q, '=', n);
    size_t keylen = eq ? (size_t) (eq - q) : n;
    char *key;

    if (n == 0) {               /* "?&" or "a=b&&c=d": nothing there */
      q++;
      continue;
    }
    key = decode (c, q, keylen, CLASS_QUERY, "query", false);
    if (key == NULL)
      return -1;
    if (strcmp (key, "host_key_check") != 0) {
      uri_error (c, "unsupported query parameter '%.*s' "
                 "(only host_key_check is supported)", (int) keylen, q);
      free (key);
      return -1;
    }
    free (key);
    if (uri->host_key_check != NULL) {
      uri_error (c, "host_key_check is given twice");
      return -1;
    }
    if (eq == NULL || keylen + 1 == n) {
      uri_error (c, "host_key_check needs a value");
      return -1;
    }
    uri->host_key_check = decode (c, eq + 1, n - keylen - 1, CLASS_QUERY,
                                  "query", false);
    if (uri->host_key_check == NULL)
      return -1;
    q += n;
    if (*q)
      q++;
  }
  return 0;
}

int
uri_parse (const char *str, struct ssh_uri *uri, char *err, size_t errlen)
{
  struct uri_ctx c = { .str = str, .err = err, .errlen = errlen };
  const char *auth, *auth_end, *at = NULL, *hp, *p, *colon;
  size_t n;

  memset (uri, 0, sizeof *uri);
  uri->port = -1;
  if (err && errlen)
    err[0] = '\0';
  if (str == NULL) {
    if (err && errlen)
      snprintf (err, errlen, "invalid URI: no URI");
    return -1;
  }

  /* Find what to hide in messages before anything else can fail:
   * the password in "scheme://user:password@host".
   */
  p = strstr (str, "://");
  if (p != NULL) {
    auth = p + 3;
    auth_end = auth + strcspn (auth, "/?");
    for (p = auth; p < auth_end; ++p)
      if (*p == '@')
        at = p;
    if (at != NULL) {
      colon = memchr (auth, ':', (size_t) (at - auth));
      if (colon != NULL) {
        c.hide_start = (size_t) (colon + 1 - str);
        c.hide_end = (size_t) (at - str);
      }
    }
  }

  /* Scheme. */
  n = 0;
  if (is_alpha (str[0])) {
    while (is_alpha (str[n]) || (str[n] >= '0' && str[n] <= '9') ||
           str[n] == '+' || str[n] == '-' || str[n] == '.')
      n++;
  }
  if (n == 0 || str[n] != ':') {
    uri_error (&c, "expected ssh://[user@]host[:port]/path");
    return -1;
  }
  if (!((n == 3 && strncasecmp (str, "ssh", 3) == 0) ||
        (n == 4 && strncasecmp (str, "sftp", 4) == 0))) {
    uri_error (&c, "unsupported scheme '%.*s' (expected ssh or sftp)",
               (int) n, str);
    return -1;
  }
  if (strncmp (str + n, "://", 3) != 0) {
    uri_error (&c, "expected '//' after '%.*s:'", (int) n, str);
    return -1;
  }
  if (strchr (str, '#') != NULL) {
    uri_error (&c, "fragments ('#') are not allowed (percent-encode '#' "
               "as %%23)");
    return -1;
  }

  auth = str + n + 3;
  auth_end = auth + strcspn (auth, "/?");
  at = NULL;
  for (p = auth; p < auth_end; ++p)
    if (*p == '@')
      at = p;

  /* User. */
  hp = auth;
  if (at != NULL) {
    if (memchr (auth, ':', (size_t) (at - auth)) != NULL) {
      uri_error (&c, "passwords in URIs are not accepted "
                 "(use the password= parameter)");
      goto err;
    }
    if (at == auth) {
      uri_error (&c, "empty user name before '@'");
      goto err;
    }
    uri->user = decode (&c, auth, (size_t) (at - auth), CLASS_USER,
                        "user name", false);
    if (uri->user == NULL)
      goto err;
    hp = at + 1;
  }

  /* Host and port. */
  if (*hp == '[') {
    const char *rb = memchr (hp, ']', (size_t) (auth_end - hp));

    if (rb == NULL) {
      uri_error (&c, "'[' without ']'");
      goto err;
    }
    uri->host = parse_ipv6 (&c, hp + 1, (size_t) (rb - hp - 1));
    if (uri->host == NULL)
      goto err;
    p = rb + 1;
    if (p < auth_end && *p != ':') {
      uri_error (&c, "unexpected characters after ']'");
      goto err;
    }
    colon = p < auth_end ? p : NULL;
  }
  else {
    colon = memchr (hp, ':', (size_t) (auth_end - hp));
    n = (size_t) ((colon ? colon : auth_end) - hp);
    if (colon && memchr (colon + 1, ':', (size_t) (auth_end - colon - 1))) {
      uri_error (&c, "more than one ':' in the host and port "
                 "(write IPv6 addresses in brackets: [::1])");
      goto err;
    }
    if (n == 0) {
      uri_error (&c, "no host name");
      goto err;
    }
    uri->host = decode (&c, hp, n, CLASS_HOST, "host name", false);
    if (uri->host == NULL)
      goto err;
  }
  if (colon != NULL) {
    uri->port = parse_port (&c, colon + 1, (size_t) (auth_end - colon - 1));
    if (uri->port == -1)
      goto err;
  }

  /* Path. */
  if (*auth_end != '/') {
    uri_error (&c, "no path after the host (expected "
               "ssh://[user@]host[:port]/path)");
    goto err;
  }
  n = strcspn (auth_end, "?");
  uri->path = decode (&c, auth_end, n, CLASS_PATH, "path", true);
  if (uri->path == NULL)
    goto err;
  if (strcmp (uri->path, "/") == 0) {
    uri_error (&c, "no file name in the path");
    goto err;
  }

  /* Query. */
  p = auth_end + n;
  if (*p == '?' && parse_query (&c, p + 1, uri) == -1)
    goto err;

  return 0;

 err:
  uri_free (uri);
  return -1;
}

void
uri_free (struct ssh_uri *uri)
{
  if (uri == NULL)
    return;
  free (uri->user);
  free (uri->host);
  free (uri->path);
  free (uri->host_key_check);
  memset (uri, 0, sizeof *uri);
  uri->port = -1;
}

/* [user@]host[:port], host may be [IPv6] (jump=, ProxyJump). */
int
uri_parse_hostspec (const char *spec, struct ssh_hostspec *hs,
                    char *err, size_t errlen)
{
  const char *at = strrchr (spec, '@'), *h = at ? at + 1 : spec;
  const char *colon = NULL, *end, *p;
  unsigned long port = 0;

  memset (hs, 0, sizeof *hs);
  hs->port = 22;
  if (at == spec) {
    snprintf (err, errlen, "empty user name");
    return -1;
  }
  if (*h == '[') {
    end = strchr (h, ']');
    if (end == NULL || end == h + 1 || (end[1] != '\0' && end[1] != ':')) {
      snprintf (err, errlen, "bad [IPv6] address");
      return -1;
    }
    if (end[1] == ':')
      colon = end + 1;
    hs->host = strndup (h + 1, end - h - 1);
  }
  else {
    colon = strchr (h, ':');
    if (colon && strchr (colon + 1, ':')) {
      snprintf (err, errlen, "put an IPv6 address in brackets, "
                "e.g. [::1]:22");
      return -1;
    }
    hs->host = strndup (h, colon ? (size_t) (colon - h) : strlen (h));
  }
  if (hs->host == NULL || *hs->host == '\0') {
    snprintf (err, errlen, hs->host ? "no host name" : "out of memory");
    goto err;
  }
  if (colon) {
    /* Digits only, 1 to 65535. */
    for (p = colon + 1; *p >= '0' && *p <= '9' && port <= 65535; ++p)
      port = port * 10 + (*p - '0');
    if (p == colon + 1 || *p != '\0' || port < 1 || port > 65535) {
      snprintf (err, errlen, "port %s: not a number from 1 to 65535",
                colon + 1);
      goto err;
    }
    hs->port = port;
  }
  if (at && (hs->user = strndup (spec, at - spec)) == NULL) {
    snprintf (err, errlen, "out of memory");
    goto err;
  }
  return 0;

 err:
  free (hs->host);
  memset (hs, 0, sizeof *hs);
  return -1;
}
