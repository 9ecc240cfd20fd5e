/* nbdkit-ssh-plugin (libssh2)
 * Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
 * SPDX-License-Identifier: BSD-3-Clause
 */

/* libFuzzer target: ssh:// and sftp:// URIs (uri=, plugin/uri.c).
 *
 * uri_parse on the input as a string, then:
 * - on success: host non-empty, port -1 or 1..65535, path begins with
 *   '/' and is not "/", user absent or non-empty, no control
 *   characters in user, host or host_key_check; the URI rebuilt from
 *   the fields (everything percent-encoded) parses to the same fields;
 *   host_key_check goes to fingerprint_parse as apply_uri in
 *   plugin/config.c does;
 * - on failure: the fields are empty (uri_free-safe) and the message
 *   quotes the URI with any password replaced by "****".
 * A NULL URI is checked once at start-up.
 */

#include <config.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fingerprint.h"
#include "uri.h"
#include "fuzz-common.h"

static bool
is_unreserved (unsigned char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
}

/* Append s percent-encoded (keeping '/' if keep_slash) to *p. */
static char *
encode (char *p, const char *s, bool keep_slash)
{
  static const char hex[] = "0123456789ABCDEF";

  for (; *s; s++) {
    unsigned char c = (unsigned char) *s;

    if (is_unreserved (c) || (keep_slash && c == '/'))
      *p++ = (char) c;
    else {
      *p++ = '%';
      *p++ = hex[c >> 4];
      *p++ = hex[c & 15];
    }
  }
  return p;
}

static bool
no_controls (const char *s)
{
  for (; s && *s; s++)
    if ((unsigned char) *s < 0x20 || *s == 0x7f)
      return false;
  return true;
}

static bool
streq_null (const char *a, const char *b)
{
  return (a == NULL && b == NULL) || (a && b && strcmp (a, b) == 0);
}

static void
check_success (const struct ssh_uri *uri)
{
  struct ssh_uri again;
  struct fingerprint fp;
  char err[512], *rebuilt, *p;
  size_t len;

  FUZZ_CHECK (uri->host != NULL && uri->host[0] != '\0');
  FUZZ_CHECK (uri->port == -1 || (uri->port >= 1 && uri->port <= 65535));
  FUZZ_CHECK (uri->path != NULL && uri->path[0] == '/');
  FUZZ_CHECK (strcmp (uri->path, "/") != 0);
  FUZZ_CHECK (uri->user == NULL || uri->user[0] != '\0');
  FUZZ_CHECK (uri->host_key_check == NULL || uri->host_key_check[0] != '\0');
  FUZZ_CHECK (no_controls (uri->user));
  FUZZ_CHECK (no_controls (uri->host));
  FUZZ_CHECK (no_controls (uri->host_key_check));

  /* Rebuild it with every field fully percent-encoded. */
  len = 64 + 3 * (strlen (uri->host) + strlen (uri->path) +
                  (uri->user ? strlen (uri->user) : 0) +
                  (uri->host_key_check ? strlen (uri->host_key_check) : 0));
  rebuilt = p = malloc (len);
  FUZZ_CHECK (rebuilt != NULL);
  p = stpcpy (p, "ssh://");
  if (uri->user) {
    p = encode (p, uri->user, false);
    *p++ = '@';
  }
  p = encode (p, uri->host, false);
  if (uri->port != -1)
    p += sprintf (p, ":%d", uri->port);
  p = encode (p, uri->path, true);
  if (uri->host_key_check) {
    p = stpcpy (p, "?host_key_check=");
    p = encode (p, uri->host_key_check, false);
  }
  *p = '\0';
  FUZZ_CHECK ((size_t) (p - rebuilt) < len);

  if (uri_parse (rebuilt, &again, err, sizeof err) != 0) {
    fprintf (stderr, "rebuilt URI '%s' does not parse: %s\n", rebuilt, err);
    abort ();
  }
  FUZZ_CHECK (streq_null (again.user, uri->user));
  FUZZ_CHECK (streq_null (again.host, uri->host));
  FUZZ_CHECK (again.port == uri->port);
  FUZZ_CHECK (streq_null (again.path, uri->path));
  FUZZ_CHECK (streq_null (again.host_key_check, uri->host_key_check));
  uri_free (&again);
  free (rebuilt);

  /* What apply_uri does with host_key_check. */
  if (uri->host_key_check &&
      strcmp (uri->host_key_check, "yes") != 0 &&
      strcmp (uri->host_key_check, "no") != 0 &&
      strcmp (uri->host_key_check, "known_hosts") != 0) {
    if (fingerprint_parse (uri->host_key_check, &fp,
                           err, sizeof err) == -1)
      fuzz_check_err (err, sizeof err);
  }
}

/* The message must quote str with the password (":PASSWORD@" in the
 * authority) replaced by "****".
 */
static void
check_failure (const char *str, const struct ssh_uri *uri,
               const char *err, size_t errlen)
{
  const char *p, *auth, *auth_end, *at = NULL, *colon = NULL;
  size_t hide_start = 0, hide_end = 0, explen;
  char *expected;

  FUZZ_CHECK (uri->user == NULL && uri->host == NULL && uri->path == NULL &&
              uri->host_key_check == NULL && uri->port == -1);
  fuzz_check_err (err, errlen);

  p = strstr (str, "://");
  if (p != NULL) {
    auth = p + 3;
    auth_end = auth + strcspn (auth, "/?");
    at = memchr (auth, '@', (size_t) (auth_end - auth));
    while (at && memchr (at + 1, '@', (size_t) (auth_end - at - 1)))
      at = memchr (at + 1, '@', (size_t) (auth_end - at - 1));
    if (at)
      colon = memchr (auth, ':', (size_t) (at - auth));
    if (colon && at > colon + 1) {
      hide_start = (size_t) (colon + 1 - str);
      hide_end = (size_t) (at - str);
    }
  }

  explen = strlen (str) + 64;
  expected = malloc (explen);
  FUZZ_CHECK (expected != NULL);
  if (hide_end > hide_start)
    snprintf (expected, explen, "invalid URI '%.*s****%s': ",
              (int) hide_start, str, str + hide_end);
  else
    snprintf (expected, explen, "invalid URI '%s': ", str);
  /* Only when the message was not truncated before the quote ends. */
  if (strlen (expected) < errlen - 1 &&
      strncmp (err, expected, strlen (expected)) != 0) {
    fprintf (stderr, "message '%s' does not begin with '%s'\n",
             err, expected);
    abort ();
  }
  free (expected);
}

/* Arguments the inputs cannot give. */
int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  struct ssh_uri uri;
  char err[256];

  FUZZ_CHECK (uri_parse (NULL, &uri, err, sizeof err) == -1);
  fuzz_check_err (err, sizeof err);
  FUZZ_CHECK (uri.user == NULL && uri.host == NULL && uri.path == NULL &&
              uri.host_key_check == NULL && uri.port == -1);
  uri_free (NULL);
  return 0;
}

/* jump=/ProxyJump's [user@]host[:port]: the fields are in range, and
 * the spec rebuilt from them parses to the same fields.
 */
static void
check_hostspec (const char *s)
{
  struct ssh_hostspec hs, again;
  char err[128], *spec;
  int r;

  memset (err, 'X', sizeof err);
  r = uri_parse_hostspec (s, &hs, err, sizeof err);
  if (r == -1) {
    FUZZ_CHECK (hs.host == NULL && hs.user == NULL);
    FUZZ_CHECK (memchr (err, '\0', sizeof err) != NULL && err[0] != '\0');
    return;
  }
  FUZZ_CHECK (r == 0);
  FUZZ_CHECK (hs.host != NULL && hs.host[0] != '\0');
  FUZZ_CHECK (hs.port >= 1 && hs.port <= 65535);
  FUZZ_CHECK (hs.user == NULL || strchr (s, '@') != NULL);
  if (asprintf (&spec, "%s%s%s%s%s:%d", hs.user ? hs.user : "",
                hs.user ? "@" : "", strchr (hs.host, ':') ? "[" : "",
                hs.host, strchr (hs.host, ':') ? "]" : "", hs.port) == -1)
    abort ();
  /* A host with ']' or '@' cannot be written back unambiguously. */
  if (strpbrk (hs.host, "]@[") == NULL &&
      (hs.user == NULL || hs.user[0] != '\0')) {
    FUZZ_CHECK (uri_parse_hostspec (spec, &again, err, sizeof err) == 0);
    FUZZ_CHECK (strcmp (again.host, hs.host) == 0);
    FUZZ_CHECK (again.port == hs.port);
    FUZZ_CHECK ((again.user == NULL) == (hs.user == NULL));
    FUZZ_CHECK (hs.user == NULL || strcmp (again.user, hs.user) == 0);
    free (again.user);
    free (again.host);
  }
  free (spec);
  free (hs.user);
  free (hs.host);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char *s = fuzz_cstr (data, size), err[512], tiny[1];
  struct ssh_uri uri;
  int r;

  memset (err, 'X', sizeof err);
  r = uri_parse (s, &uri, err, sizeof err);
  if (r == 0) {
    FUZZ_CHECK (err[0] == '\0');
    check_success (&uri);
  }
  else {
    FUZZ_CHECK (r == -1);
    check_failure (s, &uri, err, sizeof err);
  }
  uri_free (&uri);
  uri_free (&uri);              /* documented as safe */

  /* No room for the message, or no buffer at all. */
  FUZZ_CHECK (uri_parse (s, &uri, tiny, sizeof tiny) == r);
  FUZZ_CHECK (tiny[0] == '\0');
  uri_free (&uri);
  FUZZ_CHECK (uri_parse (s, &uri, NULL, 0) == r);
  uri_free (&uri);

  check_hostspec (s);
  free (s);
  return 0;
}
