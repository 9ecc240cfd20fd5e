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

/* Host key verification: fingerprint pinning (host-key=) or
 * known_hosts files, and the messages that refuse a host.
 */

#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>

#include "ssh-plugin.h"

const char *
hostkey_type_name (int type)
{
  switch (type) {
  case LIBSSH2_HOSTKEY_TYPE_RSA: return "ssh-rsa";
  case LIBSSH2_HOSTKEY_TYPE_DSS: return "ssh-dss";
  case LIBSSH2_HOSTKEY_TYPE_ECDSA_256: return "ecdsa-sha2-nistp256";
  case LIBSSH2_HOSTKEY_TYPE_ECDSA_384: return "ecdsa-sha2-nistp384";
  case LIBSSH2_HOSTKEY_TYPE_ECDSA_521: return "ecdsa-sha2-nistp521";
  case LIBSSH2_HOSTKEY_TYPE_ED25519: return "ssh-ed25519";
  }
  return "unknown";
}

static int
knownhost_key_type (int type)
{
  switch (type) {
  case LIBSSH2_HOSTKEY_TYPE_RSA: return LIBSSH2_KNOWNHOST_KEY_SSHRSA;
  case LIBSSH2_HOSTKEY_TYPE_DSS: return LIBSSH2_KNOWNHOST_KEY_SSHDSS;
  case LIBSSH2_HOSTKEY_TYPE_ECDSA_256: return LIBSSH2_KNOWNHOST_KEY_ECDSA_256;
  case LIBSSH2_HOSTKEY_TYPE_ECDSA_384: return LIBSSH2_KNOWNHOST_KEY_ECDSA_384;
  case LIBSSH2_HOSTKEY_TYPE_ECDSA_521: return LIBSSH2_KNOWNHOST_KEY_ECDSA_521;
  case LIBSSH2_HOSTKEY_TYPE_ED25519: return LIBSSH2_KNOWNHOST_KEY_ED25519;
  }
  return LIBSSH2_KNOWNHOST_KEY_UNKNOWN;
}

/* How OpenSSH names this host in known_hosts. */
static void
host_label (struct ssh_conn *c, char *buf, size_t len)
{
  if (c->port == 22)
    snprintf (buf, len, "%s", c->host);
  else
    snprintf (buf, len, "[%s]:%u", c->host, c->port);
}

/* Read one known_hosts file line by line, so that a line libssh2
 * cannot parse does not hide the lines after it.  Returns the number
 * of entries loaded, or -1 if the file cannot be read.
 */
static int
load_known_hosts (LIBSSH2_KNOWNHOSTS *kh, const char *file)
{
  FILE *fp;
  char *line = NULL;
  size_t cap = 0;
  ssize_t len;
  int lineno = 0, n = 0;

  fp = fopen (file, "r");
  if (fp == NULL) {
    debug ("known_hosts %s: %m (skipped)", file);
    return -1;
  }
  while ((len = getline (&line, &cap, fp)) != -1) {
    const char *p = line;

    lineno++;
    while (*p == ' ' || *p == '\t')
      p++;
    if (*p == '#' || *p == '\n' || *p == '\0')
      continue;
    if (libssh2_knownhost_readline (kh, p, strlen (p),
                                    LIBSSH2_KNOWNHOST_FILE_OPENSSH) == 0)
      n++;
    else
      debug ("known_hosts %s:%d: cannot parse this line (ignored)",
             file, lineno);
  }
  free (line);
  fclose (fp);
  debug ("known_hosts %s: %d entries", file, n);
  return n;
}

static int
check_pin (struct ssh_conn *c, const char *keytype, const char *sha256)
{
  const char *hash;
  char got[FP_STR_LEN], want[FP_STR_LEN];

  hash = libssh2_hostkey_hash (c->session, params.host_key.hash);
  if (hash == NULL) {
    nbdkit_error ("cannot compute the %s fingerprint of the host key of "
                  "%s port %u: %s",
                  params_hash_name (params.host_key.hash),
                  c->host, c->port, conn_error (c));
    return -1;
  }
  if (memcmp (hash, params.host_key.digest, params.host_key.len) == 0) {
    debug ("host key %s %s matches host-key=", keytype, sha256);
    return 0;
  }
  params_format_fingerprint (params.host_key.hash,
                             params.host_key.digest, params.host_key.len,
                             want);
  params_format_fingerprint (params.host_key.hash,
                             (const unsigned char *) hash,
                             params.host_key.len, got);
  if (params.host_key.hash == FP_SHA256)
    nbdkit_error ("host key of %s port %u does not match host-key=%s: "
                  "the server offered %s %s; refusing to connect",
                  c->host, c->port, want, keytype, sha256);
  else
    nbdkit_error ("host key of %s port %u does not match host-key=%s: "
                  "the server offered %s %s (%s); refusing to connect",
                  c->host, c->port, want, keytype, sha256, got);
  return -1;
}

static int
check_known_hosts (struct ssh_conn *c, const char *key, size_t keylen,
                   int type, const char *keytype, const char *sha256)
{
  LIBSSH2_KNOWNHOSTS *kh;
  struct libssh2_knownhost *found = NULL;
  char label[1100];
  char files[1024] = "";
  size_t i, n = 0;
  int r;

  host_label (c, label, sizeof label);
  kh = libssh2_knownhost_init (c->session);
  if (kh == NULL) {
    nbdkit_error ("cannot initialise known hosts for %s: %s",
                  label, conn_error (c));
    return -1;
  }
  for (i = 0; i < params.nr_known_hosts; ++i) {
    int entries = load_known_hosts (kh, params.known_hosts[i]);
    if (n < sizeof files)
      n += snprintf (files + n, sizeof files - n, "%s%s%s",
                     i ? ", " : "", params.known_hosts[i],
                     entries < 0 ? " (cannot read)" : "");
  }

  r = libssh2_knownhost_checkp (kh, c->host,
                                c->port == 22 ? -1 : c->port,
                                key, keylen,
                                LIBSSH2_KNOWNHOST_TYPE_PLAIN |
                                LIBSSH2_KNOWNHOST_KEYENC_RAW |
                                knownhost_key_type (type),
                                &found);
  libssh2_knownhost_free (kh);

  switch (r) {
  case LIBSSH2_KNOWNHOST_CHECK_MATCH:
    debug ("host key %s %s of %s found in known_hosts",
           keytype, sha256, label);
    return 0;
  case LIBSSH2_KNOWNHOST_CHECK_MISMATCH:
    nbdkit_error ("host key MISMATCH for %s: the server offered %s %s, "
                  "which is not the key recorded in known_hosts (%s). "
                  "Someone could be eavesdropping (man-in-the-middle), or "
                  "the host key has changed; refusing to connect",
                  label, keytype, sha256, files);
    return -1;
  case LIBSSH2_KNOWNHOST_CHECK_NOTFOUND:
    nbdkit_error ("host key of %s is not in known_hosts (%s): the server "
                  "offered %s %s; add it to known_hosts (e.g. with "
                  "ssh-keyscan, after checking the fingerprint) or pin "
                  "it with host-key=%s",
                  label, files, keytype, sha256, sha256);
    return -1;
  default:
    nbdkit_error ("cannot check the host key of %s against known_hosts: %s",
                  label, conn_error (c));
    return -1;
  }
}

int
hostkey_verify (struct ssh_conn *c)
{
  const char *key, *hash;
  size_t keylen;
  int type;
  const char *keytype;
  char sha256[FP_STR_LEN];

  key = libssh2_session_hostkey (c->session, &keylen, &type);
  hash = libssh2_hostkey_hash (c->session, LIBSSH2_HOSTKEY_HASH_SHA256);
  if (key == NULL || hash == NULL) {
    nbdkit_error ("cannot get the host key of %s port %u: %s",
                  c->host, c->port, conn_error (c));
    return -1;
  }
  keytype = hostkey_type_name (type);
  params_format_fingerprint (FP_SHA256, (const unsigned char *) hash, 32,
                             sha256);

  /* host-key= pins the target; jump hosts use known_hosts. */
  if (params.have_host_key && !c->is_jump)
    return check_pin (c, keytype, sha256);
  if (!params.verify_remote_host) {
    debug ("not verifying host key %s %s (verify-remote-host=false)",
           keytype, sha256);
    return 0;
  }
  return check_known_hosts (c, key, keylen, type, keytype, sha256);
}
