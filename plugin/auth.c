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

/* Authentication, in OpenSSH's order and only with the methods the
 * server lists: none, ssh-agent (every identity in turn), identity
 * files (identity=, else ~/.ssh/id_ed25519, id_ecdsa, id_rsa),
 * keyboard-interactive and password (both answered with password=).
 * When everything fails, one error says what was tried and what the
 * server accepts.  Secrets never reach a message.
 */

#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdarg.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>

#include <pthread.h>

#include <openssl/crypto.h>

#include "ssh-plugin.h"
#include "errors.h"
#include "auth.h"
#include "base64.h"
#include "blockcache.h"
#include "match.h"
#include "params.h"
#include "session.h"
#include "sftp-wire.h"

/* libssh2 before 1.11 signs RSA keys only with ssh-rsa (SHA-1), which
 * OpenSSH 8.8 and later refuse by default.
 */
#if LIBSSH2_VERSION_NUM < 0x010b00
#define NO_RSA_SHA2 1
#endif

/* What was tried, for the final error message. */
struct tried {
  char buf[2048];
  size_t len;
  bool rsa_refused;
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

/* The key type in an SSH public key blob ("ssh-rsa", ...). */
static void
blob_type (const unsigned char *blob, size_t len, char *out, size_t outlen)
{
  struct sftp_reader r;
  const char *type;
  uint32_t n;

  sftp_wire_reader (&r, blob, len);
  type = sftp_wire_get_string (&r, &n);
  if (r.bad || n >= outlen)
    snprintf (out, outlen, "unknown");
  else {
    memcpy (out, type, n);
    out[n] = '\0';
  }
}

/* Find a private key file's type without decrypting it: PEM headers,
 * or the public key stored in clear in OpenSSH's format.
 */
static void
key_file_type (const char *file, char *out, size_t outlen)
{
  static const char begin[] = "-----BEGIN OPENSSH PRIVATE KEY-----";
  static const char magic[] = "openssh-key-v1";
  char text[16384], b64[16384];
  unsigned char bin[12288];
  size_t n = 0, i, j = 0;
  ssize_t r;
  int fd, len, k;
  struct sftp_reader rd;
  const char *blob;
  uint32_t bloblen;

  snprintf (out, outlen, "unknown");
  fd = open (file, O_RDONLY | O_CLOEXEC);
  if (fd == -1)
    return;
  while (n < sizeof text - 1 &&
         (r = read (fd, text + n, sizeof text - 1 - n)) > 0)
    n += r;
  close (fd);
  text[n] = '\0';

  if (strstr (text, "-----BEGIN RSA PRIVATE KEY-----")) {
    snprintf (out, outlen, "ssh-rsa");
    goto out;
  }
  if (strstr (text, "-----BEGIN EC PRIVATE KEY-----")) {
    snprintf (out, outlen, "ecdsa");
    goto out;
  }
  if (strncmp (text, begin, sizeof begin - 1) != 0)
    goto out;
  for (i = sizeof begin - 1; i < n && text[i] != '-'; ++i)
    if (text[i] != '\n' && text[i] != '\r')
      b64[j++] = text[i];
  len = base64_decode (b64, j, bin, sizeof bin);
  if (len < (int) sizeof magic || memcmp (bin, magic, sizeof magic) != 0)
    goto out;
  /* After the magic: cipher, kdf name, kdf options, number of keys,
   * then the first public key (a string holding the key blob).
   */
  sftp_wire_reader (&rd, bin + sizeof magic, len - sizeof magic);
  for (k = 0; k < 3; ++k)
    sftp_wire_get_string (&rd, &bloblen);
  sftp_wire_get_u32 (&rd);
  blob = sftp_wire_get_string (&rd, &bloblen);
  if (!rd.bad)
    blob_type ((const unsigned char *) blob, bloblen, out, outlen);
 out:
  OPENSSL_cleanse (text, sizeof text);
  OPENSSL_cleanse (b64, sizeof b64);
  OPENSSL_cleanse (bin, sizeof bin);
}

static const char *
rsa_note (struct tried *t, const char *type)
{
#ifdef NO_RSA_SHA2
  if (strcmp (type, "ssh-rsa") == 0) {
    t->rsa_refused = true;
    return " (an RSA key: this libssh2 signs only with SHA-1 ssh-rsa)";
  }
#endif
  return "";
}

/* Returns 1 if authenticated, 0 if not, -1 if the connection failed. */
static int
auth_agent (struct ssh_conn *c, struct tried *t)
{
  LIBSSH2_AGENT *agent;
  struct libssh2_agent_publickey *id = NULL, *prev = NULL;
  const char *sock = getenv ("SSH_AUTH_SOCK");
  char notes[512] = "";
  size_t nlen = 0;
  int rc, n = 0, ret = 0;

  if (sock == NULL || *sock == '\0') {
    ssh_debug ("auth: no ssh-agent (SSH_AUTH_SOCK is not set)");
    tried_add (t, "ssh-agent: not available (SSH_AUTH_SOCK is not set)");
    return 0;
  }
  agent = libssh2_agent_init (c->session);
  if (agent == NULL) {
    tried_add (t, "ssh-agent: %s", session_error (c));
    return 0;
  }
  if (libssh2_agent_connect (agent) != 0) {
    tried_add (t, "ssh-agent: cannot connect to %s: %s", sock,
               session_error (c));
    goto out;
  }
  if (libssh2_agent_list_identities (agent) != 0) {
    tried_add (t, "ssh-agent: cannot list identities: %s", session_error (c));
    goto disconnect;
  }
  while (libssh2_agent_get_identity (agent, &id, prev) == 0) {
    char type[64];
    const char *comment = id->comment ? id->comment : "";

    prev = id;
    n++;
    blob_type (id->blob, id->blob_len, type, sizeof type);
    ssh_debug ("auth: trying ssh-agent key %s (%s)", comment, type);
    CALL_INT (c, rc, libssh2_agent_userauth (agent, c->user, id));
    if (rc == 0) {
      ssh_debug ("auth: authenticated with ssh-agent key %s", comment);
      ret = 1;
      goto disconnect;
    }
    if (c->wait_failed) {
      ret = -1;
      goto disconnect;
    }
    ssh_debug ("auth: ssh-agent key %s refused: %s",
               comment, session_error (c));
    if (nlen < sizeof notes)
      nlen += snprintf (notes + nlen, sizeof notes - nlen, "%s%s%s",
                        nlen ? ", " : "", comment, rsa_note (t, type));
  }
  if (n == 0)
    tried_add (t, "ssh-agent: no keys");
  else
    tried_add (t, "ssh-agent: %d key%s refused (%s)", n, n == 1 ? "" : "s",
               notes);

 disconnect:
  libssh2_agent_disconnect (agent);
 out:
  libssh2_agent_free (agent);
  return ret;
}

/* explicit: named with identity= (else a default ~/.ssh/id_* file). */
static int
auth_identity (struct ssh_conn *c, struct tried *t, const char *file,
               bool explicit)
{
  struct stat st;
  char type[64];
  int rc;

  if (stat (file, &st) == -1 || access (file, R_OK) == -1) {
    if (explicit)
      tried_add (t, "identity %s: %s", file, strerror (errno));
    else
      ssh_debug ("auth: default identity %s: %m (skipped)", file);
    return 0;
  }
  if (st.st_mode & 077) {
    /* As OpenSSH: a key others can read is not a secret any more. */
    ssh_debug ("auth: identity %s: permissions %04o are too open", file,
               (unsigned) (st.st_mode & 07777));
    tried_add (t, "identity %s: refused because its permissions %04o are "
               "too open (readable by group or others; chmod 600 it, as "
               "OpenSSH requires)", file, (unsigned) (st.st_mode & 07777));
    return 0;
  }
  key_file_type (file, type, sizeof type);
  ssh_debug ("auth: trying identity %s (%s)", file, type);
  CALL_INT (c, rc,
            libssh2_userauth_publickey_fromfile_ex (c->session, c->user,
                                                    strlen (c->user),
                                                    NULL, file,
                                                    params->passphrase));
  if (rc == 0) {
    ssh_debug ("auth: authenticated with identity %s", file);
    return 1;
  }
  if (c->wait_failed)
    return -1;
  ssh_debug ("auth: identity %s failed: %s", file, session_error (c));
  if (rc == LIBSSH2_ERROR_FILE)
    /* libssh2 says "Unable to extract public key from private key
     * file" both for a wrong passphrase and a format it cannot read.
     */
    tried_add (t, "identity %s: cannot load the key (%s%s)", file,
               params->passphrase ? "wrong identity-passphrase, or " :
               "encrypted and no identity-passphrase given, or ",
               "a format libssh2 cannot read");
  else
    tried_add (t, "identity %s: %s%s", file,
               rc == LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED ||
               rc == LIBSSH2_ERROR_AUTHENTICATION_FAILED ?
               "refused by the server" : session_error (c),
               rsa_note (t, type));
  return 0;
}

static int
auth_identities (struct ssh_conn *c, struct tried *t)
{
  static const char *defaults[] = { "id_ed25519", "id_ecdsa", "id_rsa" };
  size_t i;
  int r = 0;

  for (i = 0; r == 0 && i < params->identities.len; ++i)
    r = auth_identity (c, t, params->identities.ptr[i], true);
  if (params->identities.len > 0 || params->home == NULL)
    return r;
  for (i = 0; r == 0 && i < sizeof defaults / sizeof defaults[0]; ++i) {
    char file[4096];

    snprintf (file, sizeof file, "%s/.ssh/%s", params->home, defaults[i]);
    r = auth_identity (c, t, file, false);
  }
  return r;
}

/* keyboard-interactive: answer every prompt with password=.  libssh2
 * frees the responses with the session's allocator (free).
 */
/* The password for c: password= for the target, jump-password= for a
 * jump host (as ssh -J, the target's password is never sent to a jump
 * host), or NULL.
 */
static const char *
password_for (struct ssh_conn *c)
{
  return c->is_jump ? params->jump_password : params->password;
}

static const char *
password_param (struct ssh_conn *c)
{
  return c->is_jump ? "jump-password=" : "password=";
}

struct kbd_state {
  int rounds;
  int prompts;
};

static void
kbd_callback (const char *name, int name_len,
              const char *instruction, int instruction_len,
              int num_prompts, const LIBSSH2_USERAUTH_KBDINT_PROMPT *prompts,
              LIBSSH2_USERAUTH_KBDINT_RESPONSE *responses, void **abstract)
{
  struct ssh_conn *c = *abstract;
  struct kbd_state *k = c->kbd;
  int i;

  k->rounds++;
  const char *password = password_for (c);

  for (i = 0; i < num_prompts; ++i) {
    char prompt[128];

    /* The server's text, escaped (it may hold control characters). */
    ssh_debug ("auth: keyboard-interactive prompt \"%s\" answered with %s",
               sftp_wire_escape (prompt, sizeof prompt, prompts[i].text,
                                 prompts[i].length),
               password_param (c));
    k->prompts++;
    /* Don't go on answering a server that keeps asking. */
    if (k->rounds > 4 || password == NULL) {
      responses[i].text = NULL;
      responses[i].length = 0;
      continue;
    }
    /* libssh2 frees the answer with the session's allocator
     * (blockcache.c), so it must come from there.
     */
    responses[i].text = blockcache_alloc (strlen (password) + 1, abstract);
    if (responses[i].text)
      memcpy (responses[i].text, password, strlen (password) + 1);
    responses[i].length = responses[i].text ? strlen (password) : 0;
  }
}

static int
auth_kbd (struct ssh_conn *c, struct tried *t)
{
  struct kbd_state k = { 0, 0 };
  int rc;

  if (password_for (c) == NULL) {
    tried_add (t, "keyboard-interactive: skipped (no %s given)",
               password_param (c));
    return 0;
  }
  ssh_debug ("auth: trying keyboard-interactive");
  c->kbd = &k;
  *libssh2_session_abstract (c->session) = c;
  CALL_INT (c, rc,
            libssh2_userauth_keyboard_interactive_ex (c->session, c->user,
                                                      strlen (c->user),
                                                      kbd_callback));
  c->kbd = NULL;
  if (rc == 0) {
    ssh_debug ("auth: authenticated with keyboard-interactive");
    return 1;
  }
  if (c->wait_failed)
    return -1;
  ssh_debug ("auth: keyboard-interactive failed: %s", session_error (c));
  tried_add (t, "keyboard-interactive: refused (%d prompt%s answered with "
             "%s)", k.prompts, k.prompts == 1 ? "" : "s", password_param (c));
  return 0;
}

static int
auth_password (struct ssh_conn *c, struct tried *t)
{
  const char *password = password_for (c);
  int rc;

  if (password == NULL) {
    tried_add (t, "password: skipped (no %s given)", password_param (c));
    return 0;
  }
  ssh_debug ("auth: trying password");
  CALL_INT (c, rc,
            libssh2_userauth_password_ex (c->session, c->user,
                                          strlen (c->user),
                                          password, strlen (password), NULL));
  if (rc == 0) {
    ssh_debug ("auth: authenticated with password");
    return 1;
  }
  if (c->wait_failed)
    return -1;
  ssh_debug ("auth: password failed: %s", session_error (c));
  tried_add (t, "password: refused");
  return 0;
}

/* The methods the last server logged in to accepted (by user, host
 * and port), so that later connections know whether trying the agent
 * before asking is worth it.
 */
static pthread_mutex_t known_lock = PTHREAD_MUTEX_INITIALIZER;
static char *known_who, *known_methods;

static void
who_of (struct ssh_conn *c, char *who, size_t len)
{
  snprintf (who, len, "%s@%s:%u", c->user, c->host, c->port);
}

/* May the server accept publickey?  Unknown: yes. */
static bool
may_accept_publickey (struct ssh_conn *c)
{
  char who[512];
  bool r = true;

  who_of (c, who, sizeof who);
  pthread_mutex_lock (&known_lock);
  if (known_who && strcmp (known_who, who) == 0)
    r = match_list_has (known_methods, "publickey");
  pthread_mutex_unlock (&known_lock);
  return r;
}

static void
remember_methods (struct ssh_conn *c, const char *methods)
{
  char who[512];
  char *w, *m;

  who_of (c, who, sizeof who);
  w = strdup (who);
  m = strdup (methods);
  if (w == NULL || m == NULL) {
    free (w);
    free (m);
    return;
  }
  pthread_mutex_lock (&known_lock);
  free (known_who);
  free (known_methods);
  known_who = w;
  known_methods = m;
  pthread_mutex_unlock (&known_lock);
}

void
auth_free (void)
{
  free (known_who);
  free (known_methods);
  known_who = known_methods = NULL;
}

int
auth_authenticate (struct ssh_conn *c)
{
  struct tried t = { .len = 0 };
  char *methods;
  char shown[256];              /* methods as messages show them */
  bool agent_tried = false;
  int r = 0;

  /* Asking for the methods costs a round trip (it tries "none"): with
   * an ssh-agent, try its keys first, unless this server is known not
   * to take keys.  Most logins end here.
   */
  if (!params->identities_only && may_accept_publickey (c) &&
      getenv ("SSH_AUTH_SOCK") != NULL && *getenv ("SSH_AUTH_SOCK")) {
    agent_tried = true;
    r = auth_agent (c, &t);
    if (r == 1)
      return 0;
    if (r == -1) {
      ssh_error ("authentication to %s port %u as %s failed: %s",
                 c->host, c->port, c->user, session_error (c));
      return -1;
    }
  }

  /* Asking for the list tries the "none" method. */
  CALL_PTR (c, methods,
            libssh2_userauth_list (c->session, c->user,
                                   strlen (c->user)));
  if (methods == NULL) {
    if (libssh2_userauth_authenticated (c->session)) {
      ssh_debug ("auth: server accepted user %s without authentication",
                 c->user);
      return 0;
    }
    ssh_error ("cannot get the authentication methods of %s port %u "
               "for user %s: %s",
               c->host, c->port, c->user, session_error (c));
    return -1;
  }
  /* libssh2 reuses the buffer: keep a copy for the message. */
  methods = strdup (methods);
  if (methods == NULL) {
    ssh_error ("strdup: %m");
    return -1;
  }
  sftp_wire_escape (shown, sizeof shown, methods, strlen (methods));
  ssh_debug ("auth: server %s accepts: %s", c->host, shown);
  remember_methods (c, methods);

  if (match_list_has (methods, "publickey")) {
    if (params->identities_only)
      tried_add (&t, "ssh-agent: not used (IdentitiesOnly yes)");
    else if (!agent_tried)
      r = auth_agent (c, &t);
    if (r == 0)
      r = auth_identities (c, &t);
  }
  if (r == 0 && match_list_has (methods, "keyboard-interactive"))
    r = auth_kbd (c, &t);
  if (r == 0 && match_list_has (methods, "password"))
    r = auth_password (c, &t);

  if (r == 1) {
    free (methods);
    return 0;
  }
  if (r == -1)
    ssh_error ("authentication to %s port %u as %s failed: %s",
               c->host, c->port, c->user, session_error (c));
  else
    ssh_error ("authentication failed for %s@%s port %u: tried %s; "
               "the server accepts: %s%s",
               c->user, c->host, c->port,
               t.len ? t.buf : "nothing", shown,
               t.rsa_refused ?
               ". This libssh2 cannot make rsa-sha2 signatures, so "
               "OpenSSH 8.8 and later refuse RSA keys from it: use an "
               "ed25519 (or ECDSA) key" : "");
  free (methods);
  return -1;
}
