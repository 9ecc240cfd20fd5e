/* nbdkit-ssh-plugin (libssh2): unit tests for plugin/knownhosts.c
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

#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "base64.h"
#include "knownhosts.h"
#include "unit.h"

/* A real ed25519 public key (ssh-keygen -t ed25519) and ecdsa one. */
#define ED25519 \
  "AAAAC3NzaC1lZDI1NTE5AAAAIKulvl2L0WmPehMKOnlgHJaXjz4R3YdoAO/rFvBP/oAK"
#define ECDSA \
  "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBHOnNxumbamvmLOeWJ" \
  "HOun47NhlmLJzkOSUSFsFQy6LixGi/pcTwP/hdaJB3JOjViCw5Vfex3ffquzEWi2Ga67s="

/* From "ssh-keygen -H" (OpenSSH 9.2p1) on a file with the lines
 *   server.example.com ssh-ed25519 <ED25519>
 *   [server.example.com]:2222 ssh-ed25519 <ED25519>
 * (and "ssh-keygen -F" finds them for those names).
 */
#define HASHED_22 \
  "|1|YKodqrSjyldiJTquX8zqgqyjZT4=|iZbatQAFbj0hjdqkGgm8b0wKvtc= " \
  "ssh-ed25519 " ED25519
#define HASHED_2222 \
  "|1|6vIKXJpA9BEJsHUc4V/tJFXI0gw=|hUiUUgcqKwzrQK2sw+xZ+MfaA8w= " \
  "ssh-ed25519 " ED25519

/* Parse a line that must be an entry; returns 1 if it was. */
static int
entry (const char *line, enum kh_marker marker, const char *hosts,
       const char *keytype, size_t keylen)
{
  struct kh_entry e;
  char err[256];
  int r, ok;

  r = knownhosts_parse_line (line, &e, err, sizeof err);
  if (r != 1) {
    fprintf (stderr, "'%s': returned %d (%s)\n", line, r, r ? err : "");
    return 0;
  }
  ok = e.marker == marker && strcmp (e.hosts, hosts) == 0 &&
    strcmp (e.keytype, keytype) == 0 && e.keylen == keylen &&
    e.key != NULL;
  if (!ok)
    fprintf (stderr, "'%s': marker %d hosts '%s' keytype '%s' keylen %zu\n",
             line, (int) e.marker, e.hosts, e.keytype, e.keylen);
  knownhosts_free_entry (&e);
  return ok;
}

static int
skipped (const char *line)
{
  struct kh_entry e;
  char err[256];
  int r = knownhosts_parse_line (line, &e, err, sizeof err);

  if (r != 0)
    fprintf (stderr, "'%s': returned %d, expected 0\n", line, r);
  return r == 0 && e.hosts == NULL && e.key == NULL;
}

static int
refused (const char *line, const char *want)
{
  struct kh_entry e;
  char err[256] = "";
  int r = knownhosts_parse_line (line, &e, err, sizeof err);

  if (r != -1 || strstr (err, want) == NULL) {
    fprintf (stderr, "'%s': returned %d '%s', expected error '%s'\n",
             line, r, err, want);
    if (r == 1)
      knownhosts_free_entry (&e);
    return 0;
  }
  return e.hosts == NULL && e.keytype == NULL && e.key == NULL;
}

static void
test_parse (void)
{
  struct kh_entry e;
  char err[256];

  CHECK (entry ("server.example.com ssh-ed25519 " ED25519,
                KH_NONE, "server.example.com", "ssh-ed25519", 51));
  CHECK (entry ("a,b,[c]:2222 ecdsa-sha2-nistp256 " ECDSA "\n",
                KH_NONE, "a,b,[c]:2222", "ecdsa-sha2-nistp256", 104));
  /* CRLF, leading blanks, tabs, a trailing comment. */
  CHECK (entry ("  host\tssh-ed25519 \t" ED25519 " user@machine (x) \r\n",
                KH_NONE, "host", "ssh-ed25519", 51));
  /* Markers. */
  CHECK (entry ("@revoked * ssh-ed25519 " ED25519,
                KH_REVOKED, "*", "ssh-ed25519", 51));
  CHECK (entry ("@cert-authority\t*.example.com,!x.example.com "
                "ecdsa-sha2-nistp256 " ECDSA " CA key\n",
                KH_CERT_AUTHORITY, "*.example.com,!x.example.com",
                "ecdsa-sha2-nistp256", 104));
  /* Hashed entries parse like any other. */
  CHECK (entry (HASHED_22, KH_NONE,
                "|1|YKodqrSjyldiJTquX8zqgqyjZT4=|iZbatQAFbj0hjdqkGgm8b0wKvtc=",
                "ssh-ed25519", 51));
  /* Unknown key types are not checked (the caller never matches them). */
  CHECK (entry ("host ssh-future Zm9vYmFy", KH_NONE, "host", "ssh-future",
                6));
  CHECK (entry ("host ssh-future " ED25519, KH_NONE, "host", "ssh-future",
                51));

  /* The blob's contents. */
  CHECK (knownhosts_parse_line ("h ssh-ed25519 " ED25519, &e,
                                err, sizeof err) == 1);
  CHECK (e.keylen == 51 && memcmp (e.key, "\0\0\0\x0bssh-ed25519", 15) == 0);
  knownhosts_free_entry (&e);
  CHECK (e.key == NULL && e.hosts == NULL);
  knownhosts_free_entry (&e);           /* twice is fine */
  knownhosts_free_entry (NULL);

  /* Blank and comment lines. */
  CHECK (skipped (""));
  CHECK (skipped ("\n"));
  CHECK (skipped ("\r\n"));
  CHECK (skipped (" \t \n"));
  CHECK (skipped ("# comment"));
  CHECK (skipped ("   # comment ssh-ed25519 " ED25519 "\r\n"));

  /* Lines that cannot be parsed. */
  CHECK (refused ("garbage", "no key type"));
  CHECK (refused ("this is not a key line", "not valid base64"));
  CHECK (refused ("host ssh-ed25519", "no key"));
  CHECK (refused ("host ssh-ed25519   \r\n", "no key"));
  CHECK (refused ("host # ssh-ed25519 " ED25519, "no key type"));
  CHECK (refused ("host ssh-ed25519 !!!!", "not valid base64"));
  CHECK (refused ("host ssh-ed25519 " ED25519 "=", "not valid base64"));
  CHECK (refused ("host ssh-rsa " ED25519,
                  "key type mismatch: line says ssh-rsa, key blob says "
                  "ssh-ed25519"));
  CHECK (refused ("host ecdsa-sha2-nistp384 " ECDSA, "key type mismatch"));
  CHECK (refused ("host ssh-ed25519 AAAA", "key type mismatch"));
  CHECK (refused ("host ssh-ed25519 /////w", "key type mismatch"));
  CHECK (refused ("host ssh-ed25519 Zm9vYmFyYmF6", "key type mismatch"));
  CHECK (refused ("@bogus host ssh-ed25519 " ED25519, "unknown marker"));
  CHECK (refused ("@revoked", "nothing after"));
  CHECK (refused ("@revoked   ", "nothing after"));
  CHECK (refused ("@revoked @cert-authority h ssh-ed25519 " ED25519,
                  "more than one marker"));
  CHECK (refused ("@REVOKED h ssh-ed25519 " ED25519, "unknown marker"));
  CHECK (refused ("@revoked h", "no key type"));
  CHECK (refused ("host ssh-ed25519 " ED25519 "\nsecond line",
                  "newline inside"));
  CHECK (knownhosts_parse_line (NULL, &e, err, sizeof err) == -1);
  CHECK (knownhosts_parse_line ("garbage", &e, NULL, 0) == -1);
}

/* A hashed host field for name with the given salt, made here with
 * OpenSSL the way ssh-keygen -H does.
 */
static void
make_hashed (const char *name, const unsigned char salt[20], char *out)
{
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen;
  char salt64[64], hash64[64];

  HMAC (EVP_sha1 (), salt, 20, (const unsigned char *) name, strlen (name),
        md, &mdlen);
  base64_encode (salt, 20, salt64, true);
  base64_encode (md, mdlen, hash64, true);
  sprintf (out, "|1|%s|%s", salt64, hash64);
}

static void
test_match (void)
{
  unsigned char salt[20];
  char hashed[128];
  size_t i;

  /* Plain names: port 22 only. */
  CHECK (knownhosts_match_host ("server.example.com", "server.example.com",
                                22));
  CHECK (!knownhosts_match_host ("server.example.com", "server.example.com",
                                 2222));
  CHECK (!knownhosts_match_host ("server.example.com", "other.example.com",
                                 22));
  CHECK (!knownhosts_match_host ("server", "server.example.com", 22));

  /* [host]:port for other ports. */
  CHECK (knownhosts_match_host ("[server.example.com]:2222",
                                "server.example.com", 2222));
  CHECK (!knownhosts_match_host ("[server.example.com]:2222",
                                 "server.example.com", 22));
  CHECK (!knownhosts_match_host ("[server.example.com]:2222",
                                 "server.example.com", 2223));
  CHECK (!knownhosts_match_host ("[server.example.com]:22",
                                 "server.example.com", 22));
  CHECK (knownhosts_match_host ("[::1]:2222", "::1", 2222));
  CHECK (knownhosts_match_host ("::1", "::1", 22));

  /* Case-insensitive, like ssh. */
  CHECK (knownhosts_match_host ("Server.Example.COM", "server.example.com",
                                22));
  CHECK (knownhosts_match_host ("server.example.com", "SERVER.example.com",
                                22));

  /* Comma lists. */
  CHECK (knownhosts_match_host ("a.example.com,b.example.com,192.0.2.1",
                                "b.example.com", 22));
  CHECK (knownhosts_match_host ("a.example.com,b.example.com,192.0.2.1",
                                "192.0.2.1", 22));
  CHECK (!knownhosts_match_host ("a.example.com,b.example.com,192.0.2.1",
                                 "c.example.com", 22));
  CHECK (knownhosts_match_host ("a,[b]:2222", "b", 2222));
  CHECK (!knownhosts_match_host (",,", "b", 22));

  /* Wildcards. */
  CHECK (knownhosts_match_host ("*.example.com", "x.example.com", 22));
  CHECK (!knownhosts_match_host ("*.example.com", "example.com", 22));
  CHECK (knownhosts_match_host ("192.0.2.?", "192.0.2.7", 22));
  CHECK (!knownhosts_match_host ("192.0.2.?", "192.0.2.17", 22));
  CHECK (knownhosts_match_host ("[*.example.com]:2222", "x.example.com",
                                2222));
  CHECK (knownhosts_match_host ("*", "anything", 2222));
  CHECK (!knownhosts_match_host ("*.example.com", "x.example.com", 2222));

  /* Negation: a matching negated pattern wins. */
  CHECK (!knownhosts_match_host ("*.example.com,!secret.example.com",
                                 "secret.example.com", 22));
  CHECK (!knownhosts_match_host ("!secret.example.com,*.example.com",
                                 "secret.example.com", 22));
  CHECK (knownhosts_match_host ("*.example.com,!secret.example.com",
                                "public.example.com", 22));
  CHECK (!knownhosts_match_host ("!other", "host", 22));

  /* Hashed, as written by ssh-keygen -H. */
  CHECK (knownhosts_match_host ("|1|YKodqrSjyldiJTquX8zqgqyjZT4=|"
                                "iZbatQAFbj0hjdqkGgm8b0wKvtc=",
                                "server.example.com", 22));
  CHECK (knownhosts_match_host ("|1|YKodqrSjyldiJTquX8zqgqyjZT4=|"
                                "iZbatQAFbj0hjdqkGgm8b0wKvtc=",
                                "Server.Example.com", 22));
  CHECK (!knownhosts_match_host ("|1|YKodqrSjyldiJTquX8zqgqyjZT4=|"
                                 "iZbatQAFbj0hjdqkGgm8b0wKvtc=",
                                 "server.example.com", 2222));
  CHECK (!knownhosts_match_host ("|1|YKodqrSjyldiJTquX8zqgqyjZT4=|"
                                 "iZbatQAFbj0hjdqkGgm8b0wKvtc=",
                                 "other.example.com", 22));
  CHECK (knownhosts_match_host ("|1|6vIKXJpA9BEJsHUc4V/tJFXI0gw=|"
                                "hUiUUgcqKwzrQK2sw+xZ+MfaA8w=",
                                "server.example.com", 2222));
  CHECK (!knownhosts_match_host ("|1|6vIKXJpA9BEJsHUc4V/tJFXI0gw=|"
                                 "hUiUUgcqKwzrQK2sw+xZ+MfaA8w=",
                                 "server.example.com", 22));
  /* The same through the parser. */
  {
    struct kh_entry e;
    char err[256];

    CHECK (knownhosts_parse_line (HASHED_2222 "\n", &e, err, sizeof err)
           == 1);
    CHECK (knownhosts_match_host (e.hosts, "server.example.com", 2222));
    knownhosts_free_entry (&e);
  }

  /* Hashed, made here with a known salt. */
  for (i = 0; i < sizeof salt; ++i)
    salt[i] = (unsigned char) (i * 13 + 7);
  make_hashed ("host.example.net", salt, hashed);
  CHECK (knownhosts_match_host (hashed, "host.example.net", 22));
  CHECK (!knownhosts_match_host (hashed, "host.example.org", 22));
  CHECK (!knownhosts_match_host (hashed, "host.example.net", 23));
  make_hashed ("[host.example.net]:23", salt, hashed);
  CHECK (knownhosts_match_host (hashed, "host.example.net", 23));
  CHECK (!knownhosts_match_host (hashed, "host.example.net", 22));
  /* A hashed field is one name: no commas. */
  strcat (hashed, ",host.example.net");
  CHECK (!knownhosts_match_host (hashed, "host.example.net", 22));
  CHECK (!knownhosts_match_host (hashed, "host.example.net", 23));

  /* Malformed hashed fields never match (and do not crash). */
  CHECK (!knownhosts_match_host ("|1|", "h", 22));
  CHECK (!knownhosts_match_host ("|1|abc", "h", 22));
  CHECK (!knownhosts_match_host ("|1||", "h", 22));
  CHECK (!knownhosts_match_host ("|1|AAAA|BBBB", "h", 22));
  CHECK (!knownhosts_match_host ("|2|YKodqrSjyldiJTquX8zqgqyjZT4=|"
                                 "iZbatQAFbj0hjdqkGgm8b0wKvtc=",
                                 "server.example.com", 22));
  CHECK (!knownhosts_match_host ("|", "h", 22));
  CHECK (!knownhosts_match_host (NULL, "h", 22));
  CHECK (!knownhosts_match_host ("h", NULL, 22));
}

int
main (void)
{
  test_parse ();
  test_match ();
  return unit_done ("test-knownhosts");
}
