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
#include "errors.h"
#include "fingerprint.h"
#include "hostkey.h"
#include "knownhosts.h"
#include "match.h"
#include "params.h"
#include "session.h"

static const char *
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

/* How OpenSSH names this host in known_hosts. */
static void
host_label (struct ssh_conn *c, char *buf, size_t len)
{
  if (c->port == 22)
    snprintf (buf, len, "%s", c->host);
  else
    snprintf (buf, len, "[%s]:%u", c->host, c->port);
}

static int
check_pin (struct ssh_conn *c, const char *keytype, const char *sha256)
{
  const char *hash;
  char got[FP_STR_LEN], want[FP_STR_LEN];

  hash = libssh2_hostkey_hash (c->session, params->host_key.hash);
  if (hash == NULL) {
    ssh_error ("cannot compute the %s fingerprint of the host key of "
               "%s port %u: %s",
               fingerprint_hash_name (params->host_key.hash),
               c->host, c->port, session_error (c));
    return -1;
  }
  if (memcmp (hash, params->host_key.digest, params->host_key.len) == 0) {
    ssh_debug ("host key %s %s matches host-key=", keytype, sha256);
    return 0;
  }
  fingerprint_format (params->host_key.hash,
                      params->host_key.digest, params->host_key.len,
                      want);
  fingerprint_format (params->host_key.hash,
                      (const unsigned char *) hash,
                      params->host_key.len, got);
  if (params->host_key.hash == FP_SHA256)
    ssh_error ("host key of %s port %u does not match host-key=%s: "
               "the server offered %s %s; refusing to connect",
               c->host, c->port, want, keytype, sha256);
  else
    ssh_error ("host key of %s port %u does not match host-key=%s: "
               "the server offered %s %s (%s); refusing to connect",
               c->host, c->port, want, keytype, sha256, got);
  return -1;
}

/* What the known_hosts files say about this host. */
struct kh_scan {
  bool match;                   /* a line has the server's key */
  bool revoked;                 /* an @revoked line has it */
  bool mismatch;                /* a line has another key of that type */
  char where[512];              /* file:line of the deciding line */
  char types[256];              /* key types known for the host */
  char files[1024];             /* the files read, for messages */
};

static void
add_type (struct kh_scan *k, const char *type)
{
  size_t n = strlen (k->types), len = strlen (type);

  if (match_list_has (k->types, type))
    return;
  if (n + len + 2 < sizeof k->types)
    snprintf (k->types + n, sizeof k->types - n, "%s%s", n ? "," : "", type);
}

/* Read every known_hosts file line by line (a line that cannot be
 * parsed is skipped with a debug message and hides nothing), looking
 * for this host.  keytype NULL: only collect the key types known.
 */
static void
scan_known_hosts (struct ssh_conn *c, const char *keytype,
                  const unsigned char *key, size_t keylen,
                  struct kh_scan *k)
{
  size_t i, nf = 0;

  memset (k, 0, sizeof *k);
  for (i = 0; i < params->known_hosts.len; ++i) {
    const char *file = params->known_hosts.ptr[i];
    FILE *fp = fopen (file, "r");
    char *line = NULL, err[256];
    size_t cap = 0;
    int lineno = 0;

    if (nf < sizeof k->files)
      nf += snprintf (k->files + nf, sizeof k->files - nf, "%s%s%s",
                      i ? ", " : "", file, fp ? "" : " (cannot read)");
    if (fp == NULL) {
      ssh_debug ("known_hosts %s: %m (skipped)", file);
      continue;
    }
    while (getline (&line, &cap, fp) != -1) {
      struct kh_entry e;
      int r;

      lineno++;
      r = knownhosts_parse_line (line, &e, err, sizeof err);
      if (r == -1)
        ssh_debug ("known_hosts %s:%d: %s (line ignored)", file, lineno, err);
      if (r != 1)
        continue;
      if (knownhosts_match_host (e.hosts, c->host, c->port)) {
        bool same = keytype && e.keylen == keylen &&
          memcmp (e.key, key, keylen) == 0;

        switch (e.marker) {
        case KH_CERT_AUTHORITY:
          ssh_debug ("known_hosts %s:%d: @cert-authority is not supported "
                     "(line ignored)", file, lineno);
          break;
        case KH_REVOKED:
          if (same && !k->revoked) {
            k->revoked = true;
            snprintf (k->where, sizeof k->where, "%s:%d", file, lineno);
          }
          break;
        case KH_NONE:
          add_type (k, e.keytype);
          if (same)
            k->match = true;
          else if (keytype && strcmp (e.keytype, keytype) == 0 &&
                   !k->mismatch && !k->match) {
            k->mismatch = true;
            snprintf (k->where, sizeof k->where, "%s:%d", file, lineno);
          }
          break;
        }
      }
      knownhosts_free_entry (&e);
    }
    free (line);
    fclose (fp);
  }
}

/* The host key algorithms to ask for first: those of the keys that
 * known_hosts holds for this host, as OpenSSH does, so that a host
 * known only by its ECDSA key is not refused for offering Ed25519.
 */
void
hostkey_known_algorithms (struct ssh_conn *c, char *out, size_t len)
{
  struct kh_scan k;
  const char *p, *elem;
  size_t n = 0, tl;

  *out = '\0';
  if ((params->have_host_key && !c->is_jump) || !params->verify_remote_host)
    return;
  scan_known_hosts (c, NULL, NULL, 0, &k);
  for (p = k.types; match_list_next (&p, &elem, &tl); ) {
    const char *algs = NULL;
    char type[64];

    snprintf (type, sizeof type, "%.*s", (int) tl, elem);
    if (strcmp (type, "ssh-rsa") == 0)
      algs = "rsa-sha2-512,rsa-sha2-256,ssh-rsa";
    else
      algs = type;
    if (n + strlen (algs) + 2 < len)
      n += snprintf (out + n, len - n, "%s%s", n ? "," : "", algs);
  }
  if (*out)
    ssh_debug ("known_hosts has %s keys for %s: asking for those first",
               k.types, c->host);
}

static int
check_known_hosts (struct ssh_conn *c, const char *key, size_t keylen,
                   const char *keytype, const char *sha256)
{
  struct kh_scan k;
  char label[1100];

  host_label (c, label, sizeof label);
  scan_known_hosts (c, keytype, (const unsigned char *) key, keylen, &k);

  if (k.revoked) {
    ssh_error ("host key of %s (%s %s) is REVOKED (@revoked in %s); "
               "refusing to connect", label, keytype, sha256, k.where);
    return -1;
  }
  if (k.match) {
    ssh_debug ("host key %s %s of %s found in known_hosts", keytype, sha256,
               label);
    return 0;
  }
  if (k.mismatch) {
    ssh_error ("host key MISMATCH for %s: the server offered %s %s, "
               "which is not the key recorded in %s (known_hosts: %s). "
               "Someone could be eavesdropping (man-in-the-middle), or "
               "the host key has changed; refusing to connect",
               label, keytype, sha256, k.where, k.files);
    return -1;
  }
  if (params->accept_unknown_host) {
    nbdkit_debug ("ssh: host key of %s is not in known_hosts (%s): "
                  "accepting %s %s because ssh_config says "
                  "StrictHostKeyChecking no", label, k.files, keytype, sha256);
    return 0;
  }
  ssh_error ("host key of %s is not in known_hosts (%s): the server "
             "offered %s %s%s%s; add it to known_hosts (e.g. with "
             "ssh-keyscan, after checking the fingerprint) or pin it "
             "with host-key=%s",
             label, k.files, keytype, sha256,
             k.types[0] ? ", known_hosts only has keys of type " : "",
             k.types, sha256);
  return -1;
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
    ssh_error ("cannot get the host key of %s port %u: %s",
               c->host, c->port, session_error (c));
    return -1;
  }
  keytype = hostkey_type_name (type);
  fingerprint_format (FP_SHA256, (const unsigned char *) hash, 32,
                      sha256);

  /* host-key= pins the target; jump hosts use known_hosts. */
  if (params->have_host_key && !c->is_jump)
    return check_pin (c, keytype, sha256);
  if (!params->verify_remote_host) {
    ssh_debug ("not verifying host key %s %s (verify-remote-host=false)",
               keytype, sha256);
    return 0;
  }
  return check_known_hosts (c, key, keylen, keytype, sha256);
}
