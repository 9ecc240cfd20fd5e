/* nbdkit-ssh-plugin (libssh2)
 * Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
 * SPDX-License-Identifier: BSD-3-Clause
 */

/* libFuzzer target: known_hosts lines and host matching
 * (plugin/knownhosts.c, with the pattern matcher of match.c and
 * the base64 decoder of fingerprint.c).
 *
 * - knownhosts_parse_line on the input as a NUL-terminated line: 1
 *   gives non-empty blank-free hosts and key type and a non-empty key
 *   whose blob names the key type (for the types OpenSSH knows); 0 and
 *   -1 leave the entry zeroed, -1 with a message;
 * - knownhosts_match_host of the parsed hosts field against fixed
 *   host/port pairs, against a host taken from the input (the text
 *   after the key) and against the field itself: a plain field (no
 *   wildcard, negation, comma or hash) matches itself; "FIELD,!*"
 *   matches nothing; a hashed entry built here for the name matches;
 * - the whole input as a hosts field against fixed hosts.
 * NULL arguments and the longest key are checked once at start-up.
 */

#include <config.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "base64.h"
#include "knownhosts.h"
#include "fuzz-common.h"

static const struct { const char *host; int port; } fixed[] = {
  { "server.example.com", 22 },
  { "server.example.com", 2222 },
  { "SERVER.Example.COM", 0 },
  { "192.0.2.1", 22 },
  { "::1", 22 },
  { "fe80::1%eth0", 2200 },
  { "", 22 },
  { "[odd]:host", -1 },
  { "h", 65535 },
  { "h", 65536 },
  { "h", -2147483647 - 1 },
};

/* The key types whose blob knownhosts.c checks (OpenSSH's names). */
static bool
is_known_type (const char *t)
{
  static const char *const types[] = {
    "ssh-rsa", "ssh-dss", "ssh-ed25519", "ssh-ed448",
    "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
    "sk-ecdsa-sha2-nistp256@openssh.com", "sk-ssh-ed25519@openssh.com",
    "ssh-rsa-cert-v01@openssh.com", "ssh-dss-cert-v01@openssh.com",
    "ssh-ed25519-cert-v01@openssh.com", "ssh-ed448-cert-v01@openssh.com",
    "ecdsa-sha2-nistp256-cert-v01@openssh.com",
    "ecdsa-sha2-nistp384-cert-v01@openssh.com",
    "ecdsa-sha2-nistp521-cert-v01@openssh.com",
    "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com",
    "sk-ssh-ed25519-cert-v01@openssh.com",
  };
  size_t i;

  for (i = 0; i < sizeof types / sizeof types[0]; ++i)
    if (strcmp (t, types[i]) == 0)
      return true;
  return false;
}

/* The name knownhosts_match_host looks up (see knownhosts.h). */
static char *
lookup_name (const char *host, int port)
{
  char *name, *p;

  if (port == 22 || port <= 0)
    name = strdup (host);
  else if (asprintf (&name, "[%s]:%d", host, port) == -1)
    name = NULL;
  FUZZ_CHECK (name != NULL);
  for (p = name; *p; p++)
    if (*p >= 'A' && *p <= 'Z')
      *p = (char) (*p - 'A' + 'a');
  return name;
}

/* "|1|salt|HMAC-SHA1(salt, name)" for host, port: must match. */
static void
check_hashed (const char *host, int port)
{
  unsigned char salt[SHA_DIGEST_LENGTH], md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  char salt64[32], hash64[32], field[80];
  char *name = lookup_name (host, port);

  SHA1 ((const unsigned char *) host, strlen (host), salt);
  FUZZ_CHECK (HMAC (EVP_sha1 (), salt, sizeof salt,
                    (const unsigned char *) name, strlen (name),
                    md, &mdlen) != NULL && mdlen == SHA_DIGEST_LENGTH);
  base64_encode (salt, sizeof salt, salt64, true);
  base64_encode (md, mdlen, hash64, true);
  snprintf (field, sizeof field, "|1|%s|%s", salt64, hash64);
  FUZZ_CHECK (knownhosts_match_host (field, host, port));
  /* The same entry without padding. */
  snprintf (field, sizeof field, "|1|%.27s|%.27s", salt64, hash64);
  FUZZ_CHECK (knownhosts_match_host (field, host, port));
  free (name);
}

/* Checks on a hosts field that need no parsing of the line. */
static void
check_field (const char *hosts, const char *input_host)
{
  size_t i;
  char *neg;

  for (i = 0; i < sizeof fixed / sizeof fixed[0]; ++i)
    (void) knownhosts_match_host (hosts, fixed[i].host, fixed[i].port);
  (void) knownhosts_match_host (hosts, input_host, 22);
  (void) knownhosts_match_host (hosts, input_host, 2222);

  /* A plain field matches itself, on port 22 or any port <= 0. */
  if (hosts[0] != '\0' && hosts[0] != '|' &&
      strpbrk (hosts, "*?!,") == NULL) {
    FUZZ_CHECK (knownhosts_match_host (hosts, hosts, 22));
    FUZZ_CHECK (knownhosts_match_host (hosts, hosts, 0));
  }

  /* A negated '*' hides every name. */
  if (hosts[0] != '|') {
    neg = malloc (strlen (hosts) + 4);
    FUZZ_CHECK (neg != NULL);
    strcpy (neg, hosts);
    strcat (neg, ",!*");
    FUZZ_CHECK (!knownhosts_match_host (neg, input_host, 22));
    FUZZ_CHECK (!knownhosts_match_host (neg, "server.example.com", 2222));
    free (neg);
  }
}

/* Arguments and lengths the inputs cannot give. */
int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  struct kh_entry e;
  char err[256], *line;
  size_t n;

  FUZZ_CHECK (knownhosts_parse_line (NULL, &e, err, sizeof err) == -1);
  fuzz_check_err (err, sizeof err);
  knownhosts_free_entry (NULL);
  FUZZ_CHECK (!knownhosts_match_host (NULL, "h", 22));
  FUZZ_CHECK (!knownhosts_match_host ("*", NULL, 22));

  /* The longest key accepted, and one quantum more. */
  line = malloc (KH_MAX_KEY_BASE64 + 64);
  FUZZ_CHECK (line != NULL);
  n = (size_t) sprintf (line, "h x-type ");
  memset (line + n, 'A', KH_MAX_KEY_BASE64);
  strcpy (line + n + KH_MAX_KEY_BASE64, " comment\n");
  FUZZ_CHECK (knownhosts_parse_line (line, &e, err, sizeof err) == 1);
  FUZZ_CHECK (e.keylen == KH_MAX_KEY_BASE64 / 4 * 3);
  knownhosts_free_entry (&e);
  memset (line + n, 'A', KH_MAX_KEY_BASE64 + 4);
  strcpy (line + n + KH_MAX_KEY_BASE64 + 4, "\n");
  FUZZ_CHECK (knownhosts_parse_line (line, &e, err, sizeof err) == -1);
  fuzz_check_err (err, sizeof err);
  free (line);
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char *s = fuzz_cstr (data, size), err[256], tiny[1];
  const char *input_host;
  struct kh_entry e, e2;
  int r;

  memset (err, 'X', sizeof err);
  r = knownhosts_parse_line (s, &e, err, sizeof err);
  FUZZ_CHECK (knownhosts_parse_line (s, &e2, tiny, sizeof tiny) == r);
  FUZZ_CHECK (tiny[0] == '\0');
  knownhosts_free_entry (&e2);

  /* A host from the input: the comment after the key, else "x". */
  input_host = "x";
  if (r == 1) {
    const char *k = strstr (s, e.keytype);

    k = k ? k + strlen (e.keytype) : s;
    k += strspn (k, " \t");
    k += strcspn (k, " \t");    /* the key */
    k += strspn (k, " \t");
    if (*k)
      input_host = k;
  }

  if (r == 1) {
    FUZZ_CHECK (e.marker == KH_NONE || e.marker == KH_REVOKED ||
                e.marker == KH_CERT_AUTHORITY);
    FUZZ_CHECK (e.hosts != NULL && e.hosts[0] != '\0' &&
                strpbrk (e.hosts, " \t\n") == NULL);
    FUZZ_CHECK (e.keytype != NULL && e.keytype[0] != '\0' &&
                strpbrk (e.keytype, " \t\n") == NULL);
    FUZZ_CHECK (e.key != NULL && e.keylen > 0);
    if (is_known_type (e.keytype)) {
      size_t tlen = strlen (e.keytype);

      FUZZ_CHECK (e.keylen >= 4 + tlen);
      FUZZ_CHECK (e.key[0] == 0 && e.key[1] == 0 &&
                  ((size_t) e.key[2] << 8 | e.key[3]) == tlen);
      FUZZ_CHECK (memcmp (e.key + 4, e.keytype, tlen) == 0);
    }
    check_field (e.hosts, input_host);
  }
  else {
    static const struct kh_entry zero;

    FUZZ_CHECK (memcmp (&e, &zero, sizeof e) == 0);
    if (r == -1)
      fuzz_check_err (err, sizeof err);
    else
      FUZZ_CHECK (r == 0);
  }
  knownhosts_free_entry (&e);
  knownhosts_free_entry (&e);   /* zeroed: safe again */

  /* The whole input as a hosts field. */
  check_field (s, input_host);
  check_hashed (input_host, 22);
  check_hashed (input_host, 2222);

  free (s);
  return 0;
}
