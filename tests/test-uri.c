/* nbdkit-ssh-plugin (libssh2): unit tests for plugin/uri.c
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

#include "uri.h"
#include "unit.h"

/* Parse s and compare every field (NULL = absent). */
static int
parse_ok (const char *s, const char *user, const char *host, int port,
          const char *path, const char *hkc)
{
  struct ssh_uri uri;
  char err[256];
  int ok;

  if (uri_parse (s, &uri, err, sizeof err) == -1) {
    fprintf (stderr, "unexpected error for '%s': %s\n", s, err);
    return 0;
  }
  ok = streq (uri.user, user) && streq (uri.host, host) &&
    uri.port == port && streq (uri.path, path) &&
    streq (uri.host_key_check, hkc);
  if (!ok)
    fprintf (stderr, "'%s' parsed as user=%s host=%s port=%d path=%s "
             "host_key_check=%s\n", s,
             uri.user ? uri.user : "(null)", uri.host ? uri.host : "(null)",
             uri.port, uri.path ? uri.path : "(null)",
             uri.host_key_check ? uri.host_key_check : "(null)");
  uri_free (&uri);
  return ok;
}

/* s must be refused with a message containing want (and, unless
 * quote_uri is false, the URI itself).
 */
static int
parse_fails_q (const char *s, const char *want, bool quote_uri)
{
  struct ssh_uri uri;
  char err[512] = "";

  if (uri_parse (s, &uri, err, sizeof err) == 0) {
    fprintf (stderr, "'%s' was accepted but should not be\n", s);
    uri_free (&uri);
    return 0;
  }
  /* Left empty on error. */
  if (uri.user || uri.host || uri.path || uri.host_key_check ||
      uri.port != -1) {
    fprintf (stderr, "'%s': uri not left empty on error\n", s);
    return 0;
  }
  if (strstr (err, want) == NULL ||
      (quote_uri && strstr (err, s) == NULL)) {
    fprintf (stderr, "'%s': error message '%s' lacks '%s'%s\n",
             s, err, want, quote_uri ? " or the URI" : "");
    return 0;
  }
  return 1;
}

static int
parse_fails (const char *s, const char *want)
{
  return parse_fails_q (s, want, true);
}

static void
test_good (void)
{
  CHECK (parse_ok ("ssh://host/path", NULL, "host", -1, "/path", NULL));
  CHECK (parse_ok ("sftp://host/path", NULL, "host", -1, "/path", NULL));
  CHECK (parse_ok ("SSH://host/path", NULL, "host", -1, "/path", NULL));
  CHECK (parse_ok ("SfTp://host/path", NULL, "host", -1, "/path", NULL));
  CHECK (parse_ok ("ssh://user@host/path", "user", "host", -1, "/path",
                   NULL));
  CHECK (parse_ok ("ssh://user@host:2222/var/tmp/disk.img", "user", "host",
                   2222, "/var/tmp/disk.img", NULL));
  CHECK (parse_ok ("ssh://host:22/p", NULL, "host", 22, "/p", NULL));
  CHECK (parse_ok ("ssh://host:1/p", NULL, "host", 1, "/p", NULL));
  CHECK (parse_ok ("ssh://host:65535/p", NULL, "host", 65535, "/p", NULL));
  CHECK (parse_ok ("ssh://host:00022/p", NULL, "host", 22, "/p", NULL));
  CHECK (parse_ok ("ssh://192.0.2.1/p", NULL, "192.0.2.1", -1, "/p", NULL));

  /* IPv6 literals. */
  CHECK (parse_ok ("ssh://[::1]/p", NULL, "::1", -1, "/p", NULL));
  CHECK (parse_ok ("ssh://[::1]:2222/p", NULL, "::1", 2222, "/p", NULL));
  CHECK (parse_ok ("ssh://u@[2001:db8::1]:22/p", "u", "2001:db8::1", 22,
                   "/p", NULL));
  CHECK (parse_ok ("ssh://[::ffff:192.0.2.1]/p", NULL, "::ffff:192.0.2.1",
                   -1, "/p", NULL));
  CHECK (parse_ok ("ssh://[fe80::1%25eth0]:22/p", NULL, "fe80::1%eth0", 22,
                   "/p", NULL));

  /* Percent-decoding. */
  CHECK (parse_ok ("ssh://us%65r%40corp@host/my%20disk%2Fimg", "user@corp",
                   "host", -1, "/my disk/img", NULL));
  CHECK (parse_ok ("ssh://h%6Fst/p%3f%23", NULL, "host", -1, "/p?#", NULL));
  CHECK (parse_ok ("ssh://host/%7Euser/disk", NULL, "host", -1,
                   "/~user/disk", NULL));
  CHECK (parse_ok ("ssh://host/~/disk", NULL, "host", -1, "/~/disk", NULL));
  CHECK (parse_ok ("ssh://host//abs/p", NULL, "host", -1, "//abs/p", NULL));
  CHECK (parse_ok ("ssh://host/a:b@c;d=e,f!$'()*+", NULL, "host", -1,
                   "/a:b@c;d=e,f!$'()*+", NULL));

  /* Query. */
  CHECK (parse_ok ("ssh://host/p?host_key_check=no", NULL, "host", -1, "/p",
                   "no"));
  CHECK (parse_ok ("ssh://host/p?host_key_check=yes", NULL, "host", -1, "/p",
                   "yes"));
  CHECK (parse_ok ("ssh://host/p?host_key_check=sha256:00:11:aa", NULL,
                   "host", -1, "/p", "sha256:00:11:aa"));
  CHECK (parse_ok ("ssh://host/p?host_key_check=md5%3A0011", NULL, "host",
                   -1, "/p", "md5:0011"));
  CHECK (parse_ok ("ssh://host/p?host_key_check=known_hosts", NULL, "host",
                   -1, "/p", "known_hosts"));
  CHECK (parse_ok ("ssh://host/p?", NULL, "host", -1, "/p", NULL));
  CHECK (parse_ok ("ssh://host/p?&host_key_check=no&", NULL, "host", -1,
                   "/p", "no"));
  CHECK (parse_ok ("ssh://host/p?host%5Fkey_check=no", NULL, "host", -1,
                   "/p", "no"));
  CHECK (parse_ok ("ssh://host/p?host_key_check=a=b", NULL, "host", -1,
                   "/p", "a=b"));
}

static void
test_bad (void)
{
  struct ssh_uri uri;
  char err[512];

  /* Scheme. */
  CHECK (parse_fails ("http://host/path", "unsupported scheme 'http'"));
  CHECK (parse_fails ("sshx://host/path", "unsupported scheme 'sshx'"));
  CHECK (parse_fails ("ssh:host/path", "expected '//'"));
  CHECK (parse_fails ("ssh:/host/path", "expected '//'"));
  CHECK (parse_fails ("host/path", "expected ssh://"));
  CHECK (parse_fails ("://host/path", "expected ssh://"));
  CHECK (parse_fails ("", "expected ssh://"));
  CHECK (parse_fails ("1ssh://host/p", "expected ssh://"));

  /* Passwords are refused, and not repeated in the message. */
  CHECK (parse_fails_q ("ssh://user:secret@host/p",
                        "passwords in URIs are not accepted", false));
  CHECK (uri_parse ("ssh://user:secret@host/p", &uri, err, sizeof err) == -1);
  CHECK (strstr (err, "secret") == NULL);
  CHECK (strstr (err, "ssh://user:****@host/p") != NULL);
  CHECK (strstr (err, "password=") != NULL);
  CHECK (parse_fails_q ("ssh://user:@host/p", "passwords", false));
  CHECK (parse_fails_q ("ssh://:pw@host/p", "passwords", false));
  /* ... also when something else is wrong first. */
  CHECK (uri_parse ("ftp://user:secret@host/p#x", &uri, err, sizeof err)
         == -1);
  CHECK (strstr (err, "secret") == NULL);
  CHECK (uri_parse ("ssh://user:sec#ret@host/p", &uri, err, sizeof err)
         == -1);
  CHECK (strstr (err, "sec") == NULL && strstr (err, "ret") == NULL);

  /* User. */
  CHECK (parse_fails ("ssh://@host/p", "empty user name"));
  CHECK (parse_fails ("ssh://a@b@host/p", "'@' is not allowed in the user"));
  CHECK (parse_fails ("ssh://us er@host/p", "byte 0x20"));
  CHECK (parse_fails ("ssh://us%0aer@host/p", "control character"));

  /* Host. */
  CHECK (parse_fails ("ssh:///path", "no host name"));
  CHECK (parse_fails ("ssh://user@/path", "no host name"));
  CHECK (parse_fails ("ssh://:22/path", "no host name"));
  CHECK (parse_fails ("ssh://ho<st/path", "'<' is not allowed in the host"));
  CHECK (parse_fails ("ssh://::1/path", "IPv6"));
  CHECK (parse_fails ("ssh://[::1/path", "without ']'"));
  CHECK (parse_fails ("ssh://[]/path", "empty IPv6"));
  CHECK (parse_fails ("ssh://[host]/path", "IPv6 address"));
  CHECK (parse_fails ("ssh://[1.2.3.4]/path", "IPv6 address"));
  CHECK (parse_fails ("ssh://[::1]x/path", "after ']'"));
  CHECK (parse_fails ("ssh://[::1]:/path", "empty port"));
  CHECK (parse_fails ("ssh://[fe80::1%25]/path", "empty IPv6 zone"));
  CHECK (parse_fails ("ssh://[fe80::1%eth0]/path", "IPv6 address"));
  CHECK (parse_fails ("ssh://[:]/path", "IPv6 address"));
  CHECK (parse_fails ("ssh://[1::2::3]/path", "IPv6 address"));
  CHECK (parse_fails ("ssh://[0000:0000:0000:0000:0000:0000:0000:0000:0]/p",
                      "IPv6 address"));

  /* Port. */
  CHECK (parse_fails ("ssh://host:/path", "empty port"));
  CHECK (parse_fails ("ssh://host:0/path", "out of range"));
  CHECK (parse_fails ("ssh://host:65536/path", "out of range"));
  CHECK (parse_fails ("ssh://host:99999999999999999999999/path",
                      "out of range"));
  CHECK (parse_fails ("ssh://host:22a/path", "not a number"));
  CHECK (parse_fails ("ssh://host:-1/path", "not a number"));
  CHECK (parse_fails ("ssh://host:+22/path", "not a number"));

  /* Path. */
  CHECK (parse_fails ("ssh://host", "no path"));
  CHECK (parse_fails ("ssh://user@host:22", "no path"));
  CHECK (parse_fails ("ssh://host?host_key_check=no", "no path"));
  CHECK (parse_fails ("ssh://host/", "no file name"));
  CHECK (parse_fails ("ssh://host/a b", "byte 0x20"));
  CHECK (parse_fails ("ssh://host/caf\xc3\xa9", "byte 0xc3"));
  CHECK (parse_fails ("ssh://host/a\"b", "'\"' is not allowed in the path"));
  CHECK (parse_fails ("ssh://host/a%00b", "%00"));
  CHECK (parse_fails ("ssh://host/a%", "invalid percent-escape"));
  CHECK (parse_fails ("ssh://host/a%4", "invalid percent-escape"));
  CHECK (parse_fails ("ssh://host/a%4g", "invalid percent-escape"));
  CHECK (parse_fails ("ssh://host/a%%41", "invalid percent-escape"));

  /* Fragment. */
  CHECK (parse_fails ("ssh://host/p#frag", "fragment"));
  CHECK (parse_fails ("ssh://host/p?host_key_check=no#", "fragment"));

  /* Query. */
  CHECK (parse_fails ("ssh://host/p?foo=bar", "'foo'"));
  CHECK (parse_fails ("ssh://host/p?host_key_check=no&user=x", "'user'"));
  CHECK (parse_fails ("ssh://host/p?host_key_check", "needs a value"));
  CHECK (parse_fails ("ssh://host/p?host_key_check=", "needs a value"));
  CHECK (parse_fails ("ssh://host/p?host_key_check=no&host_key_check=yes",
                      "twice"));
  CHECK (parse_fails ("ssh://host/p?host_key_check=%zz", "percent"));
  CHECK (parse_fails ("ssh://host/p?host_key_check=a b", "byte 0x20"));

  /* NULL and a tiny error buffer are safe. */
  CHECK (uri_parse (NULL, &uri, err, sizeof err) == -1);
  CHECK (uri_parse ("ftp://x/y", &uri, err, 1) == -1 && err[0] == '\0');
  CHECK (uri_parse ("ftp://x/y", &uri, NULL, 0) == -1);
  uri_free (&uri);
  uri_free (NULL);
}

/* jump=/ProxyJump specs. */
static int
hostspec_ok (const char *s, const char *user, const char *host, int port)
{
  struct ssh_hostspec hs;
  char err[128];
  int ok;

  if (uri_parse_hostspec (s, &hs, err, sizeof err) == -1) {
    fprintf (stderr, "hostspec %s: unexpected error: %s\n", s, err);
    return 0;
  }
  ok = streq (hs.user, user) && streq (hs.host, host) && hs.port == port;
  if (!ok)
    fprintf (stderr, "hostspec %s: got %s@%s:%d\n", s,
             hs.user ? hs.user : "(none)", hs.host, hs.port);
  free (hs.user);
  free (hs.host);
  return ok;
}

static int
hostspec_bad (const char *s, const char *want)
{
  struct ssh_hostspec hs;
  char err[128];

  if (uri_parse_hostspec (s, &hs, err, sizeof err) == 0) {
    fprintf (stderr, "hostspec %s: accepted\n", s);
    free (hs.user);
    free (hs.host);
    return 0;
  }
  if (hs.user || hs.host || strstr (err, want) == NULL) {
    fprintf (stderr, "hostspec %s: error '%s', wanted '%s'\n", s, err, want);
    return 0;
  }
  return 1;
}

static void
test_hostspec (void)
{
  CHECK (hostspec_ok ("jump", NULL, "jump", 22));
  CHECK (hostspec_ok ("alice@jump:2222", "alice", "jump", 2222));
  CHECK (hostspec_ok ("a@b@jump", "a@b", "jump", 22));
  CHECK (hostspec_ok ("[::1]:2222", NULL, "::1", 2222));
  CHECK (hostspec_ok ("u@[fe80::1%eth0]", "u", "fe80::1%eth0", 22));
  CHECK (hostspec_ok ("h:65535", NULL, "h", 65535));
  CHECK (hostspec_bad ("", "no host name"));
  CHECK (hostspec_bad ("@host", "empty user name"));
  CHECK (hostspec_bad ("user@", "no host name"));
  CHECK (hostspec_bad ("host:0", "not a number from 1 to 65535"));
  CHECK (hostspec_bad ("host:65536", "not a number"));
  CHECK (hostspec_bad ("host:99999999999999999999", "not a number"));
  CHECK (hostspec_bad ("host:x", "not a number"));
  CHECK (hostspec_bad ("host:", "not a number"));
  CHECK (hostspec_bad ("host:+1", "not a number"));
  CHECK (hostspec_bad ("[::1", "bad [IPv6] address"));
  CHECK (hostspec_bad ("[]", "bad [IPv6] address"));
  CHECK (hostspec_bad ("[::1]x", "bad [IPv6] address"));
  CHECK (hostspec_bad ("::1", "brackets"));
}

int
main (void)
{
  test_good ();
  test_bad ();
  test_hostspec ();
  return unit_done ("test-uri");
}
