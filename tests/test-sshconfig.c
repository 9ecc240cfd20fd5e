/* nbdkit-ssh-plugin (libssh2): unit tests for plugin/sshconfig.c
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

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "expand.h"
#include "match.h"
#include "sshconfig.h"
#include "unit.h"

static char tmpdir[] = "/tmp/test-sshconfig.XXXXXX";
static char sshdir[256];

/* Everything the note callback was given, one message a line, a
 * warning marked "WARN ".
 */
static char debug_log[16384];

static void
debug_cb (int level, const char *msg)
{
  size_t len = strlen (debug_log);

  snprintf (debug_log + len, sizeof debug_log - len, "%s%s\n",
            level == SSHCONFIG_WARN ? "WARN " : "", msg);
}

/* Is text in a line of debug_log marked as a warning? */
static bool
warned (const char *text)
{
  const char *p = strstr (debug_log, text), *line;

  if (p == NULL)
    return false;
  for (line = p; line > debug_log && line[-1] != '\n'; --line)
    ;
  return strncmp (line, "WARN ", 5) == 0;
}

/* Write a file under tmpdir (name may contain one directory level
 * that already exists) and return its path in a static buffer.
 */
static const char *
write_file (const char *name, const char *content)
{
  static char path[512];
  FILE *fp;

  snprintf (path, sizeof path, "%s/%s", tmpdir, name);
  fp = fopen (path, "w");
  if (fp == NULL) {
    perror (path);
    exit (EXIT_FAILURE);
  }
  fputs (content, fp);
  if (fclose (fp) == EOF) {
    perror (path);
    exit (EXIT_FAILURE);
  }
  return path;
}

/* Read file for host with home = tmpdir; returns sshconfig_read's
 * result, the message in err.
 */
static int
read_for (const char *file, const char *host, struct ssh_host_config *cfg,
          char *err, size_t errlen)
{
  debug_log[0] = '\0';
  return sshconfig_read (file, host, tmpdir, false, cfg, debug_cb,
                         err, errlen);
}

static void
test_host_blocks (void)
{
  struct ssh_host_config cfg;
  char err[512];
  const char *f;

  f = write_file ("config",
                  "# A comment, then a blank line\n"
                  "\n"
                  "User globaluser\n"
                  "Host other\n"
                  "  HostName other.example.com\n"
                  "  Port 1111\n"
                  "Host web?? !web99 *.example.org\n"
                  "  HostName real-%h.example.com\n"
                  "  Port 2222\n"
                  "  IdentityFile ~/.ssh/id_web\n"
                  "  # A bad value where the block does not apply is not "
                  "checked\n"
                  "Host nomatch\n"
                  "  Port notanumber\n"
                  "Host *\n"
                  "\tHostName fallback\n"
                  "  PORT 22\n"
                  "  user ignored\n"
                  "  IdentityFile ~/.ssh/id_all\n"
                  "  IdentityFile %d/.ssh/id_%r\n"
                  "  IdentitiesOnly yes\n"
                  "  UserKnownHostsFile ~/.ssh/kh1 \"/tmp/kh 2\"\n"
                  "  UserKnownHostsFile ~/.ssh/ignored\n"
                  "  GlobalKnownHostsFile none\n"
                  "  StrictHostKeyChecking accept-new\n"
                  "  StrictHostKeyChecking no\n"
                  "  ConnectTimeout 10\n"
                  "  ServerAliveInterval 1m30s\n"
                  "  ServerAliveCountMax 5\n"
                  "  ProxyJump none\n"
                  "  ProxyCommand ignored because ProxyJump came first\n"
                  "  Frobnicate whatever\n"
                  "  SendEnv LANG LC_*\n"
                  "  UnknownWithoutValue\n"
                  "Host web01\n"
                  "  Port 3333\n");

  /* web01 matches "web??": its block comes first. */
  sshconfig_init (&cfg);
  CHECK (read_for (f, "web01", &cfg, err, sizeof err) == 0);
  CHECK (streq (cfg.hostname, "real-%h.example.com"));
  CHECK (cfg.port == 2222);
  CHECK (streq (cfg.user, "globaluser"));
  CHECK (cfg.identity_files.len == 3);
  CHECK (cfg.identity_files.len == 3 &&
         streq (cfg.identity_files.ptr[0], "~/.ssh/id_web") &&
         streq (cfg.identity_files.ptr[1], "~/.ssh/id_all") &&
         streq (cfg.identity_files.ptr[2], "%d/.ssh/id_%r"));
  CHECK (cfg.identities_only == 1);
  CHECK (cfg.user_known_hosts.len == 2 &&
         streq (cfg.user_known_hosts.ptr[0], "~/.ssh/kh1") &&
         streq (cfg.user_known_hosts.ptr[1], "/tmp/kh 2"));
  CHECK (cfg.global_known_hosts.len == 1 &&
         streq (cfg.global_known_hosts.ptr[0], "none"));
  CHECK (cfg.strict_host_key_checking == 1);
  CHECK (streq (cfg.strict_host_key_checking_word, "accept-new"));
  CHECK (cfg.connect_timeout == 10);
  CHECK (cfg.server_alive_interval == 90);
  CHECK (cfg.server_alive_count_max == 5);
  CHECK (cfg.proxy_jump == NULL && cfg.proxy_jump_set);
  CHECK (cfg.proxy_command == NULL && !cfg.proxy_command_set);
  sshconfig_free (&cfg);
  CHECK (cfg.hostname == NULL && cfg.port == -1 &&
         cfg.identity_files.len == 0 && cfg.identity_files.ptr == NULL);

  /* web99 is excluded by "!web99": only Host * applies. */
  sshconfig_init (&cfg);
  CHECK (read_for (f, "web99", &cfg, err, sizeof err) == 0);
  CHECK (streq (cfg.hostname, "fallback"));
  CHECK (cfg.port == 22);
  CHECK (cfg.identity_files.len == 2);
  CHECK (strstr (debug_log, "negated match for !web99") != NULL);
  sshconfig_free (&cfg);

  /* '?' is exactly one character. */
  sshconfig_init (&cfg);
  CHECK (read_for (f, "web1", &cfg, err, sizeof err) == 0);
  CHECK (streq (cfg.hostname, "fallback"));
  sshconfig_free (&cfg);

  sshconfig_init (&cfg);
  CHECK (read_for (f, "db.example.org", &cfg, err, sizeof err) == 0);
  CHECK (cfg.port == 2222);
  sshconfig_free (&cfg);

  /* Host patterns are case-sensitive, as in ssh. */
  sshconfig_init (&cfg);
  CHECK (read_for (f, "WEB01", &cfg, err, sizeof err) == 0);
  CHECK (cfg.port == 22);
  sshconfig_free (&cfg);

  sshconfig_init (&cfg);
  CHECK (read_for (f, "other", &cfg, err, sizeof err) == 0);
  CHECK (streq (cfg.hostname, "other.example.com"));
  CHECK (cfg.port == 1111);
  CHECK (streq (cfg.user, "globaluser"));
  sshconfig_free (&cfg);

  /* A Host line needs a pattern, and patterns cannot be empty. */
  f = write_file ("config-host", "Host\n");
  sshconfig_init (&cfg);
  CHECK (read_for (f, "h", &cfg, err, sizeof err) == -1);
  CHECK (strstr (err, "config-host:1: missing value for Host") != NULL);
  sshconfig_free (&cfg);
  f = write_file ("config-host", "Host a \"\"\n");
  sshconfig_init (&cfg);
  CHECK (read_for (f, "h", &cfg, err, sizeof err) == -1);
  CHECK (strstr (err, "config-host:1: empty value for Host") != NULL);
  sshconfig_free (&cfg);
}

static void
test_syntax (void)
{
  struct ssh_host_config cfg;
  char err[512];
  const char *f;

  f = write_file ("config-syntax",
                  "Host eq\n"
                  "  Port=2200\n"
                  "  User = \"john smith\"\n"
                  "  HostName= quoted.example.com # a comment\n"
                  "  IdentityFile \"/path/with space/id\"\n"
                  "  IdentityFile '/single quoted/id'\n"
                  "  IdentityFile /escaped\\ space/id#not-a-comment\n"
                  "  IdentitiesOnly=no\n"
                  "  StrictHostKeyChecking =Off\n"
                  "  ConnectTimeout = 0\n"
                  "  ProxyCommand=ssh -W %h:%p jump # comment kept\n"
                  "  ProxyJump jump.example.com\n"
                  "  ServerAliveInterval 2h\n"
                  "Host   eq2\t \n"
                  "  Port 2201   \r\n"
                  "  ProxyJump user@jump:2222\n"
                  "  ProxyCommand nc %h %p\n");
  sshconfig_init (&cfg);
  CHECK (read_for (f, "eq", &cfg, err, sizeof err) == 0);
  CHECK (cfg.port == 2200);
  CHECK (streq (cfg.user, "john smith"));
  CHECK (streq (cfg.hostname, "quoted.example.com"));
  CHECK (cfg.identity_files.len == 3 &&
         streq (cfg.identity_files.ptr[0], "/path/with space/id") &&
         streq (cfg.identity_files.ptr[1], "/single quoted/id") &&
         streq (cfg.identity_files.ptr[2], "/escaped space/id#not-a-comment"));
  CHECK (cfg.identities_only == 0);
  CHECK (cfg.strict_host_key_checking == 0);
  CHECK (streq (cfg.strict_host_key_checking_word, "Off"));
  CHECK (cfg.connect_timeout == 0);
  CHECK (streq (cfg.proxy_command, "ssh -W %h:%p jump # comment kept"));
  CHECK (cfg.proxy_command_set);
  CHECK (cfg.proxy_jump == NULL && !cfg.proxy_jump_set);
  CHECK (cfg.server_alive_interval == 7200);
  sshconfig_free (&cfg);

  sshconfig_init (&cfg);
  CHECK (read_for (f, "eq2", &cfg, err, sizeof err) == 0);
  CHECK (cfg.port == 2201);
  CHECK (streq (cfg.proxy_jump, "user@jump:2222") && cfg.proxy_jump_set);
  CHECK (cfg.proxy_command == NULL && !cfg.proxy_command_set);
  sshconfig_free (&cfg);
}

/* The first file read wins over the second (user before system). */
static void
test_first_wins (void)
{
  struct ssh_host_config cfg;
  char err[512];
  char user_file[512];
  const char *f;

  f = write_file ("config-user", "Host h\n  Port 1\n  IdentityFile a\n");
  snprintf (user_file, sizeof user_file, "%s", f);
  f = write_file ("config-system",
                  "Host *\n  Port 2\n  User sys\n  IdentityFile b\n");
  sshconfig_init (&cfg);
  CHECK (read_for (user_file, "h", &cfg, err, sizeof err) == 0);
  CHECK (read_for (f, "h", &cfg, err, sizeof err) == 0);
  CHECK (cfg.port == 1);
  CHECK (streq (cfg.user, "sys"));
  CHECK (cfg.identity_files.len == 2 &&
         streq (cfg.identity_files.ptr[0], "a") &&
         streq (cfg.identity_files.ptr[1], "b"));
  sshconfig_free (&cfg);
}

static void
test_match (void)
{
  struct ssh_host_config cfg;
  char err[512];
  const char *f;

  f = write_file ("config-match",
                  "Match host h exec \"test -f /x\"\n"
                  "  Port 9999\n"
                  "  Include this-would-fail\n"
                  "  Port notchecked\n"
                  "Host h\n"
                  "  User fromhost\n"
                  "Match user bob\n"
                  "  IdentityFile skipped\n"
                  "Match all\n"
                  "  IdentityFile fromall\n"
                  "Match canonical all\n"
                  "  HostName skipped\n"
                  "Match ALL\n"
                  "  Port 22\n");
  sshconfig_init (&cfg);
  CHECK (read_for (f, "h", &cfg, err, sizeof err) == 0);
  CHECK (cfg.port == 22);
  CHECK (streq (cfg.user, "fromhost"));
  CHECK (cfg.hostname == NULL);
  CHECK (cfg.identity_files.len == 1 &&
         streq (cfg.identity_files.ptr[0], "fromall"));
  /* Warnings: the file means something else to ssh. */
  CHECK (warned ("config-match:1: Match host h exec test -f /x ignored"));
  CHECK (warned ("config-match:7: Match user bob ignored"));
  sshconfig_free (&cfg);

  f = write_file ("config-match", "Match\n");
  sshconfig_init (&cfg);
  CHECK (read_for (f, "h", &cfg, err, sizeof err) == -1);
  CHECK (strstr (err, "config-match:1: missing value for Match") != NULL);
  sshconfig_free (&cfg);
}

static void
test_include (void)
{
  struct ssh_host_config cfg;
  char err[1024], path[512], line[1200];
  const char *f;

  snprintf (path, sizeof path, "%s/.ssh/conf.d", tmpdir);
  if (mkdir (path, 0700) == -1) {
    perror (path);
    exit (EXIT_FAILURE);
  }
  write_file (".ssh/conf.d/20-b.conf",
              "Host inc\n"
              "  Port 2020\n"
              "  IdentityFile from-b\n");
  write_file (".ssh/conf.d/10-a.conf",
              "# No Host line: applies where included (here: all)\n"
              "IdentityFile from-a\n"
              "Host elsewhere\n"
              "  User nobody\n");
  write_file (".ssh/conf.d/ignored.txt", "Port 1\n");
  write_file (".ssh/sub.conf", "User from-sub\nHost *\n  HostName sub\n");
  write_file (".ssh/bad.conf", "Port bad\n");
  f = write_file ("abs.conf", "ServerAliveCountMax 7\n");
  snprintf (line, sizeof line,
            "Include conf.d/*.conf\n"
            "# Back in this file, and at top level again\n"
            "ConnectTimeout 5\n"
            "Host inc\n"
            "  Include sub.conf missing-*.conf\n"
            "Host nomatch\n"
            "  Include bad.conf\n"
            "Host *\n"
            "  Include %s ~/.ssh/nothing-here\n"
            "  Include=\"~/.ssh/conf.d/ignored.txt\"\n",
            f);
  f = write_file (".ssh/config", line);

  sshconfig_init (&cfg);
  CHECK (read_for (f, "inc", &cfg, err, sizeof err) == 0);
  if (err[0])
    fprintf (stderr, "error: %s\n", err);
  /* 10-a.conf is read before 20-b.conf (glob sorts). */
  CHECK (cfg.identity_files.len == 2 &&
         streq (cfg.identity_files.ptr[0], "from-a") &&
         streq (cfg.identity_files.ptr[1], "from-b"));
  CHECK (cfg.port == 2020);
  CHECK (cfg.connect_timeout == 5);
  CHECK (streq (cfg.user, "from-sub"));
  CHECK (streq (cfg.hostname, "sub"));
  CHECK (cfg.server_alive_count_max == 7);
  CHECK (strstr (debug_log, "missing-*.conf matched no files") != NULL);
  CHECK (strstr (debug_log, "nothing-here matched no files") != NULL);
  CHECK (strstr (debug_log, "Include in a Host block not matching inc")
         != NULL);
  sshconfig_free (&cfg);

  /* For another host, "Host inc" in 20-b.conf does not apply, and
   * the Host line in 10-a.conf does not leak into the includer.
   */
  sshconfig_init (&cfg);
  CHECK (read_for (f, "other", &cfg, err, sizeof err) == 0);
  CHECK (cfg.identity_files.len == 1 &&
         streq (cfg.identity_files.ptr[0], "from-a"));
  CHECK (cfg.port == 1);                /* from ignored.txt, under Host * */
  CHECK (cfg.connect_timeout == 5);
  CHECK (cfg.user == NULL);
  CHECK (cfg.hostname == NULL);
  sshconfig_free (&cfg);

  /* Include inside a matching Host: bad.conf is read and fails, with
   * its own file:line in the message.
   */
  sshconfig_init (&cfg);
  CHECK (read_for (f, "nomatch", &cfg, err, sizeof err) == -1);
  CHECK (strstr (err, ".ssh/bad.conf:1: bad value for Port: 'bad'") != NULL);
  sshconfig_free (&cfg);

  /* Including itself: nesting is limited. */
  f = write_file (".ssh/loop.conf", "Port 1\nInclude loop.conf\n");
  sshconfig_init (&cfg);
  CHECK (read_for (f, "h", &cfg, err, sizeof err) == -1);
  CHECK (strstr (err, "loop.conf:2: Include nested too deeply") != NULL);
  sshconfig_free (&cfg);

  /* Fan-out is limited too (3 ^ 16 files otherwise). */
  f = write_file (".ssh/fan.conf",
                  "Include fan.conf fan.conf fan.conf\n");
  sshconfig_init (&cfg);
  CHECK (read_for (f, "h", &cfg, err, sizeof err) == -1);
  CHECK (strstr (err, "too many configuration files") != NULL ||
         strstr (err, "nested too deeply") != NULL);
  sshconfig_free (&cfg);

  /* Without home, relative Includes are under /etc/ssh and ~ fails. */
  f = write_file ("nohome.conf", "Include ~/x\n");
  sshconfig_init (&cfg);
  CHECK (sshconfig_read (f, "h", NULL, false, &cfg, NULL,
                         err, sizeof err) == -1);
  CHECK (strstr (err, "nohome.conf:1: Include ~/x: home directory not known")
         != NULL);
  sshconfig_free (&cfg);
  f = write_file ("nohome.conf", "Include ~bob/x\n");
  sshconfig_init (&cfg);
  CHECK (read_for (f, "h", &cfg, err, sizeof err) == -1);
  CHECK (strstr (err, "~user is not supported") != NULL);
  sshconfig_free (&cfg);
}

/* file content must fail with want in the message. */
static int
fails_with (const char *content, const char *want)
{
  struct ssh_host_config cfg;
  char err[512] = "";
  const char *f;
  int r, ok;

  f = write_file ("bad-config", content);
  sshconfig_init (&cfg);
  r = read_for (f, "h", &cfg, err, sizeof err);
  ok = r == -1 && strstr (err, want) != NULL && strstr (err, f) != NULL;
  if (!ok)
    fprintf (stderr, "config '%s': got %d '%s', wanted '%s'\n",
             content, r, err, want);
  sshconfig_free (&cfg);
  return ok;
}

static void
test_errors (void)
{
  struct ssh_host_config cfg;
  char err[512], *big;
  const char *f;

  CHECK (fails_with ("Port 22\nPort abc\n",
                     "bad-config:2: bad value for Port: 'abc'"));
  CHECK (fails_with ("Port 0\n", ":1: bad value for Port: '0'"));
  CHECK (fails_with ("Port 65536\n", ":1: bad value for Port: '65536'"));
  CHECK (fails_with ("Port -1\n", ":1: bad value for Port: '-1'"));
  CHECK (fails_with ("Port 99999999999999999999999\n", "bad value for Port"));
  CHECK (fails_with ("Port 22 23\n", ":1: Port takes one value"));
  CHECK (fails_with ("Port\n", ":1: missing value for Port"));
  CHECK (fails_with ("Port =\n", ":1: missing value for Port"));
  CHECK (fails_with ("Port # comment\n", ":1: missing value for Port"));
  CHECK (fails_with ("HostName \"\"\n", ":1: empty value for HostName"));
  CHECK (fails_with ("\n\nUser \"abc\n", "bad-config:3: unterminated quote"));
  CHECK (fails_with ("User 'abc\n", ":1: unterminated quote"));
  CHECK (fails_with ("IdentitiesOnly maybe\n",
                     "bad value for IdentitiesOnly: 'maybe'"));
  CHECK (fails_with ("StrictHostKeyChecking sometimes\n",
                     "bad value for StrictHostKeyChecking: 'sometimes'"));
  CHECK (fails_with ("ConnectTimeout -1\n",
                     "bad value for ConnectTimeout: '-1'"));
  CHECK (fails_with ("ConnectTimeout 10x\n",
                     "bad value for ConnectTimeout: '10x'"));
  CHECK (fails_with ("ServerAliveInterval 99999999999\n",
                     "bad value for ServerAliveInterval"));
  CHECK (fails_with ("ServerAliveCountMax 1.5\n",
                     "bad value for ServerAliveCountMax: '1.5'"));
  CHECK (fails_with ("UserKnownHostsFile a none\n", "must appear alone"));
  CHECK (fails_with ("ProxyCommand\n", "missing value for ProxyCommand"));
  CHECK (fails_with ("Include\n", "missing value for Include"));

  /* Lines longer than SSHCONFIG_MAX_LINE. */
  big = malloc (SSHCONFIG_MAX_LINE + 64);
  if (big == NULL)
    exit (EXIT_FAILURE);
  memset (big, ' ', SSHCONFIG_MAX_LINE + 10);
  memcpy (big + SSHCONFIG_MAX_LINE, "Port 1\n", 8);
  CHECK (fails_with (big, "bad-config:1: line too long"));
  /* ... but exactly SSHCONFIG_MAX_LINE is fine. */
  memset (big, ' ', SSHCONFIG_MAX_LINE);
  memcpy (big + SSHCONFIG_MAX_LINE - 6, "Port 1\n", 8);
  f = write_file ("long-config", big);
  sshconfig_init (&cfg);
  CHECK (read_for (f, "h", &cfg, err, sizeof err) == 0 && cfg.port == 1);
  sshconfig_free (&cfg);
  free (big);

  /* A NUL byte in a line. */
  {
    char path[512];
    FILE *fp;

    snprintf (path, sizeof path, "%s/nul-config", tmpdir);
    fp = fopen (path, "w");
    if (fp == NULL || fwrite ("Port 1\nUser a\0b\n", 1, 16, fp) != 16 ||
        fclose (fp) == EOF) {
      perror (path);
      exit (EXIT_FAILURE);
    }
    sshconfig_init (&cfg);
    CHECK (read_for (path, "h", &cfg, err, sizeof err) == -1);
    CHECK (strstr (err, "nul-config:2: NUL byte") != NULL);
    sshconfig_free (&cfg);
  }

  /* A directory is not a configuration file. */
  sshconfig_init (&cfg);
  CHECK (read_for (tmpdir, "h", &cfg, err, sizeof err) == -1);
  CHECK (strstr (err, "is a directory") != NULL);
  sshconfig_free (&cfg);
}

static void
test_missing (void)
{
  struct ssh_host_config cfg;
  char err[512], path[512];

  snprintf (path, sizeof path, "%s/does-not-exist", tmpdir);
  sshconfig_init (&cfg);
  CHECK (sshconfig_read (path, "h", tmpdir, true, &cfg, NULL,
                         err, sizeof err) == 0);
  CHECK (cfg.hostname == NULL && cfg.port == -1 && cfg.user == NULL &&
         cfg.identity_files.len == 0 && cfg.identities_only == -1 &&
         cfg.strict_host_key_checking == -1 && cfg.connect_timeout == -1);
  CHECK (sshconfig_read (path, "h", tmpdir, false, &cfg, NULL,
                         err, sizeof err) == -1);
  CHECK (strstr (err, path) != NULL);
  CHECK (strstr (err, "No such file") != NULL);
  sshconfig_free (&cfg);

  /* /dev/null is an empty configuration (as in ssh -F /dev/null). */
  sshconfig_init (&cfg);
  CHECK (sshconfig_read ("/dev/null", "h", tmpdir, false, &cfg, NULL,
                         err, sizeof err) == 0);
  sshconfig_free (&cfg);
}

/* OpenSSH's token set, as config.c's expand uses it. */
static char *
openssh_expand (const char *s, const char *home, const char *local_user,
                const char *remote_host, const char *remote_user, int port,
                char *err, size_t errlen)
{
  const struct expand_values v = {
    .home = home, .local_user = local_user, .local_host = "box",
    .remote_host = remote_host, .remote_user = remote_user, .port = port,
  };

  return expand_string (EXPAND_OPENSSH, s, &v, err, errlen);
}

static int
expands_to (const char *s, const char *want)
{
  char err[256] = "";
  char *r = openssh_expand (s, "/home/me", "me", "host.example.com",
                            "root", 2222, err, sizeof err);
  int ok = r != NULL && strcmp (r, want) == 0;

  if (!ok)
    fprintf (stderr, "expand '%s': got '%s' (%s), wanted '%s'\n",
             s, r ? r : "(null)", err, want);
  free (r);
  return ok;
}

static int
expand_fails (const char *s, const char *want)
{
  char err[256] = "";
  char *r = openssh_expand (s, "/home/me", "me", "host", NULL, -1,
                            err, sizeof err);
  int ok = r == NULL && strstr (err, want) != NULL;

  if (!ok)
    fprintf (stderr, "expand '%s': got '%s' (%s), wanted error '%s'\n",
             s, r ? r : "(null)", err, want);
  free (r);
  return ok;
}

static void
test_expand (void)
{
  char err[256];

  CHECK (expands_to ("", ""));
  CHECK (expands_to ("plain", "plain"));
  CHECK (expands_to ("~", "/home/me"));
  CHECK (expands_to ("~/.ssh/id_%r@%h:%p", "/home/me/.ssh/id_root@"
                     "host.example.com:2222"));
  CHECK (expands_to ("%d/%u %%h %% 100%%", "/home/me/me %h % 100%"));
  CHECK (expands_to ("a~b/~", "a~b/~"));
  CHECK (expands_to ("%%%%", "%%"));
  CHECK (expand_fails ("%x", "unknown token %x"));
  CHECK (expand_fails ("abc%", "'%' at the end"));
  CHECK (expand_fails ("~bob/x", "~user is not supported"));
  CHECK (expand_fails ("%r", "remote user name not known"));
  CHECK (expand_fails ("%p", "port not known"));
  CHECK (openssh_expand ("~/x", NULL, "me", "h", "r", 22,
                         err, sizeof err) == NULL);
  CHECK (strstr (err, "home directory not known") != NULL);
  CHECK (openssh_expand ("%d", NULL, "me", "h", "r", 22,
                         err, sizeof err) == NULL);
}

/* The table-driven expansion itself, with nbdkit's libssh-based
 * plugin's letters (config.c's table): %d is ~/.ssh there, and %l
 * exists.
 */
static void
test_expand_tokens (void)
{
  const struct expand_token libssh[] = {
    { 'd', "/home/me/.ssh", "ssh directory" },
    { 'u', "me", "local user name" },
    { 'l', "box", "local host name" },
    { 'h', "server", "remote host name" },
    { 'r', NULL, "remote user name" },
    { 'p', "22", "port" },
  };
  const size_t n = sizeof libssh / sizeof libssh[0];
  char err[256], small[20];
  char *r;

  r = expand_tokens ("~/kh-%l-%h-%p %d %u 100%%", "/root",
                     libssh, n, err, sizeof err);
  CHECK (r != NULL && streq (r, "/root/kh-box-server-22 /home/me/.ssh "
                             "me 100%"));
  free (r);
  /* No table: only ~ and %%. */
  r = expand_tokens ("~/%%", "/h", NULL, 0, err, sizeof err);
  CHECK (r != NULL && streq (r, "/h/%"));
  free (r);
  CHECK (expand_tokens ("%h", "/h", NULL, 0, err, sizeof err) == NULL);
  CHECK (streq (err, "unknown token %h (supported: %%)"));
  /* The error names the sequence and lists the table's letters. */
  CHECK (expand_tokens ("/x/%k", "/h", libssh, n, err,
                        sizeof err) == NULL);
  CHECK (streq (err, "unknown token %k (supported: %d %u %l %h %r %p %%)"));
  CHECK (expand_tokens ("%r", "/h", libssh, n, err, sizeof err) == NULL);
  CHECK (streq (err, "cannot expand %r: remote user name not known"));
  /* A short error buffer is cut, never overrun. */
  CHECK (expand_tokens ("%k", "/h", libssh, n, small,
                        sizeof small) == NULL);
  CHECK (strlen (small) == sizeof small - 1);
  /* OpenSSH's set lists its own letters. */
  CHECK (openssh_expand ("%l", "/h", "me", "h", "r", 22, err,
                         sizeof err) == NULL);
  CHECK (streq (err, "unknown token %l (supported: %d %u %h %r %p %%)"));
}

/* libssh's set (config.c's expand_path_param): %d is home/.ssh, %l
 * the local host.
 */
static void
test_expand_libssh (void)
{
  struct expand_values v = {
    .home = "/root", .local_user = "me", .local_host = "box",
    .remote_host = "server", .remote_user = "u", .port = 22,
  };
  char err[256];
  char *r;

  r = expand_string (EXPAND_LIBSSH, "~/kh-%l-%h-%p %d %u %r 100%%", &v,
                     err, sizeof err);
  CHECK (r != NULL && streq (r, "/root/kh-box-server-22 /root/.ssh "
                             "me u 100%"));
  free (r);
  CHECK (expand_string (EXPAND_LIBSSH, "%k", &v, err, sizeof err) == NULL);
  CHECK (streq (err, "unknown token %k (supported: %d %u %l %h %r %p %%)"));
  v.home = NULL;
  v.local_host = NULL;
  CHECK (expand_string (EXPAND_LIBSSH, "%d", &v, err, sizeof err) == NULL);
  CHECK (streq (err, "cannot expand %d: ssh directory (~/.ssh) not known"));
  CHECK (expand_string (EXPAND_LIBSSH, "%l", &v, err, sizeof err) == NULL);
  CHECK (streq (err, "cannot expand %l: local host name not known"));
  CHECK (expand_string (EXPAND_LIBSSH, "~", &v, err, sizeof err) == NULL);
  CHECK (strstr (err, "home directory not known") != NULL);
}

static void
test_patterns (void)
{
  CHECK (match_pattern_list ("*", "anything"));
  CHECK (match_pattern_list ("*", ""));
  CHECK (!match_pattern_list ("", "host"));
  CHECK (!match_pattern_list (" , ,", "host"));
  CHECK (match_pattern_list ("a,b c", "b"));
  CHECK (match_pattern_list ("a,b c", "c"));
  CHECK (!match_pattern_list ("a,b c", "d"));
  CHECK (match_pattern_list ("h?st", "host"));
  CHECK (!match_pattern_list ("h?st", "hst"));
  CHECK (!match_pattern_list ("h?st", "hoost"));
  CHECK (match_pattern_list ("*.example.com", "a.b.example.com"));
  CHECK (!match_pattern_list ("*.example.com", "example.com"));
  CHECK (match_pattern_list ("*.example.com,!bad.example.com",
                             "good.example.com"));
  CHECK (!match_pattern_list ("*.example.com,!bad.example.com",
                              "bad.example.com"));
  /* A negated match wins wherever it is. */
  CHECK (!match_pattern_list ("!bad* *", "bad1"));
  CHECK (!match_pattern_list ("* !bad*", "bad1"));
  /* Only negated patterns never match. */
  CHECK (!match_pattern_list ("!foo", "bar"));
  CHECK (!match_pattern_list ("!", "bar"));
  CHECK (match_pattern_list ("a*b*c", "axxbyyc"));
  CHECK (match_pattern_list ("a*b*c", "abcbc"));
  CHECK (!match_pattern_list ("a*b*c", "abcb"));
  CHECK (match_pattern_list ("**?**", "x"));
  CHECK (!match_pattern_list ("**?**", ""));
  CHECK (!match_pattern_list ("Host", "host"));
  CHECK (!match_pattern_list (NULL, "host"));
  CHECK (!match_pattern_list ("*", NULL));
  /* Pathological patterns stay fast (no backtracking explosion). */
  CHECK (!match_pattern_list ("*a*a*a*a*a*a*a*a*a*a*a*a*b",
                              "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                              "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
  CHECK (match_pattern ("HOST", "h*t", 3, true));
  CHECK (!match_pattern ("HOST", "h*t", 3, false));
  CHECK (match_pattern ("ho", "hox", 2, false));
}

static void
cleanup (void)
{
  char cmd[600];

  snprintf (cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  if (system (cmd) != 0)
    fprintf (stderr, "could not remove %s\n", tmpdir);
}

/* Comma-separated lists. */
static void
test_lists (void)
{
  const char *p = "a,,bc,", *elem;
  size_t len, n = 0;
  char got[64] = "";

  while (match_list_next (&p, &elem, &len)) {
    n++;
    strncat (got, elem, len);
    strcat (got, "|");
  }
  CHECK (n == 3);
  CHECK (streq (got, "a||bc|"));
  p = "";
  CHECK (!match_list_next (&p, &elem, &len));

  CHECK (match_list_has ("aes128-ctr,aes256-ctr", "aes256-ctr"));
  CHECK (match_list_has ("aes128-ctr,aes256-ctr", "aes128-ctr"));
  CHECK (!match_list_has ("aes128-ctr,aes256-ctr", "aes128"));
  CHECK (!match_list_has ("aes128-ctr,aes256-ctr", "ctr"));
  CHECK (!match_list_has ("aes128-ctr-x", "aes128-ctr"));
  CHECK (!match_list_has ("", "a"));
  CHECK (match_list_has ("a,,b", ""));
}

/* Host and user names that end up in %h and %r. */
static void
test_names (void)
{
  static const char *good_hosts[] = {
    "server", "server.example.com", "127.0.0.1", "::1", "fe80::1%eth0",
    "my_host-1", "xn--bcher-kva.example",
  };
  static const char *bad_hosts[] = {
    "", "-oProxyCommand=x", "a b", "a\tb", "a;b", "a`id`", "a$(id)",
    "a|b", "a&b", "a>b", "a<b", "a'b", "a\"b", "a\\b", "a{b}", "a(b)",
    "../../etc", "a/b", "a\nb", "a\x7f", "a\x01",
  };
  static const char *good_users[] = {
    "root", "user.name", "DOMAIN\\user", "u@realm",
    "user$",
  };
  static const char *bad_users[] = {
    "", "-l", "a;b", "a`id`", "a|b", "a'b", "a/b", "a\nb", "user\\",
    "a&b",
  };
  size_t i;

  for (i = 0; i < sizeof good_hosts / sizeof good_hosts[0]; ++i)
    CHECK (expand_check_hostname (good_hosts[i]) == NULL);
  for (i = 0; i < sizeof bad_hosts / sizeof bad_hosts[0]; ++i)
    CHECK (expand_check_hostname (bad_hosts[i]) != NULL);
  for (i = 0; i < sizeof bad_users / sizeof bad_users[0]; ++i)
    CHECK (expand_check_username (bad_users[i]) != NULL);
  /* White space: OpenSSH only refuses " -"; a shell splits words at
   * any space, so the plugin refuses them all.
   */
  CHECK (expand_check_username ("a -b") != NULL);
  CHECK (expand_check_username ("first last") != NULL);
  for (i = 0; i < sizeof good_users / sizeof good_users[0]; ++i)
    CHECK (expand_check_username (good_users[i]) == NULL);
  CHECK (streq (expand_check_hostname ("a;b"),
                "it contains a shell metacharacter"));
  CHECK (streq (expand_check_hostname ("-x"), "it begins with '-'"));
}

int
main (void)
{
  if (mkdtemp (tmpdir) == NULL) {
    perror ("mkdtemp");
    exit (EXIT_FAILURE);
  }
  atexit (cleanup);
  snprintf (sshdir, sizeof sshdir, "%s/.ssh", tmpdir);
  if (mkdir (sshdir, 0700) == -1) {
    perror (sshdir);
    exit (EXIT_FAILURE);
  }

  test_host_blocks ();
  test_syntax ();
  test_first_wins ();
  test_match ();
  test_include ();
  test_errors ();
  test_missing ();
  test_expand ();
  test_expand_tokens ();
  test_expand_libssh ();
  test_patterns ();
  test_lists ();
  test_names ();
  return unit_done ("test-sshconfig");
}
