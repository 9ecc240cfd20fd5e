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

/* Authentication: ssh-agent (every identity in turn), then each
 * identity= file.  When everything fails, one error says what was
 * tried and what the server accepts.
 */

#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdarg.h>
#include <errno.h>
#include <unistd.h>

#include "ssh-plugin.h"

/* What was tried, for the final error message. */
struct tried {
  char buf[1024];
  size_t len;
};

static void __attribute__ ((format (printf, 2, 3)))
tried_add (struct tried *t, const char *fs, ...)
{
  va_list args;

  if (t->len >= sizeof t->buf)
    return;
  if (t->len > 0)
    t->len += snprintf (t->buf + t->len, sizeof t->buf - t->len, "; ");
  if (t->len >= sizeof t->buf)
    return;
  va_start (args, fs);
  t->len += vsnprintf (t->buf + t->len, sizeof t->buf - t->len, fs, args);
  va_end (args);
}

/* Returns 1 if authenticated, 0 if not, -1 if the connection failed. */
static int
auth_agent (struct ssh_conn *c, struct tried *t)
{
  LIBSSH2_AGENT *agent;
  struct libssh2_agent_publickey *id = NULL, *prev = NULL;
  const char *sock = getenv ("SSH_AUTH_SOCK");
  int rc, n = 0, ret = 0;

  if (sock == NULL || *sock == '\0') {
    debug ("auth: no ssh-agent (SSH_AUTH_SOCK is not set)");
    tried_add (t, "ssh-agent: not available (SSH_AUTH_SOCK is not set)");
    return 0;
  }
  agent = libssh2_agent_init (c->session);
  if (agent == NULL) {
    tried_add (t, "ssh-agent: %s", conn_error (c));
    return 0;
  }
  if (libssh2_agent_connect (agent) != 0) {
    tried_add (t, "ssh-agent: cannot connect to %s: %s", sock,
               conn_error (c));
    goto out;
  }
  if (libssh2_agent_list_identities (agent) != 0) {
    tried_add (t, "ssh-agent: cannot list identities: %s", conn_error (c));
    goto disconnect;
  }
  while (libssh2_agent_get_identity (agent, &id, prev) == 0) {
    prev = id;
    n++;
    debug ("auth: trying ssh-agent key %s", id->comment ? id->comment : "");
    CALL_INT (c, rc, libssh2_agent_userauth (agent, params.user, id));
    if (rc == 0) {
      debug ("auth: authenticated with ssh-agent key %s",
             id->comment ? id->comment : "");
      ret = 1;
      goto disconnect;
    }
    if (c->wait_failed) {
      ret = -1;
      goto disconnect;
    }
    debug ("auth: ssh-agent key %s refused: %s",
           id->comment ? id->comment : "", conn_error (c));
  }
  tried_add (t, "ssh-agent: %d key%s refused", n, n == 1 ? "" : "s");

 disconnect:
  libssh2_agent_disconnect (agent);
 out:
  libssh2_agent_free (agent);
  return ret;
}

static int
auth_identity (struct ssh_conn *c, struct tried *t, const char *file)
{
  int rc;

  if (access (file, R_OK) == -1) {
    debug ("auth: identity %s: %m", file);
    tried_add (t, "identity %s: %s", file, strerror (errno));
    return 0;
  }
  debug ("auth: trying identity %s", file);
  CALL_INT (c, rc,
            libssh2_userauth_publickey_fromfile_ex (c->session, params.user,
                                                    strlen (params.user),
                                                    NULL, file, NULL));
  if (rc == 0) {
    debug ("auth: authenticated with identity %s", file);
    return 1;
  }
  if (c->wait_failed)
    return -1;
  debug ("auth: identity %s failed: %s", file, conn_error (c));
  tried_add (t, "identity %s: %s", file,
             rc == LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED ||
             rc == LIBSSH2_ERROR_AUTHENTICATION_FAILED ?
             "refused by the server" : conn_error (c));
  return 0;
}

int
auth_authenticate (struct ssh_conn *c)
{
  struct tried t = { .len = 0 };
  char *methods;
  size_t i;
  int r;

  /* Asking for the list tries the "none" method. */
  CALL_PTR (c, methods,
            libssh2_userauth_list (c->session, params.user,
                                   strlen (params.user)));
  if (methods == NULL) {
    if (libssh2_userauth_authenticated (c->session)) {
      debug ("auth: server accepted user %s without authentication",
             params.user);
      return 0;
    }
    nbdkit_error ("cannot get the authentication methods of %s port %u "
                  "for user %s: %s",
                  params.host, params.port, params.user, conn_error (c));
    return -1;
  }
  /* libssh2 reuses the buffer: keep a copy for the message. */
  methods = strdup (methods);
  if (methods == NULL) {
    nbdkit_error ("strdup: %m");
    return -1;
  }
  debug ("auth: server %s accepts: %s", params.host, methods);

  if (strstr (methods, "publickey") != NULL) {
    r = auth_agent (c, &t);
    for (i = 0; r == 0 && i < params.nr_identities; ++i)
      r = auth_identity (c, &t, params.identities[i]);
    if (r == 0 && params.nr_identities == 0)
      tried_add (&t, "no identity= file given");
    if (r == 1) {
      free (methods);
      return 0;
    }
    if (r == -1) {
      nbdkit_error ("authentication to %s port %u as %s failed: %s",
                    params.host, params.port, params.user, conn_error (c));
      free (methods);
      return -1;
    }
  }
  else
    tried_add (&t, "publickey: not offered by the server");

  nbdkit_error ("authentication failed for %s@%s port %u: tried %s; "
                "the server accepts: %s",
                params.user, params.host, params.port, t.buf, methods);
  free (methods);
  return -1;
}
