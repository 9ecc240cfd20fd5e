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

/* The plugin: nbdkit's callbacks.  Parameters are config.c's; a
 * connection (conn.c) is opened per NBD connection and registered for
 * keepalives (keepalive.c); requests go to sftp.c through do_request,
 * which reconnects when the connection broke.  dir= exports and the
 * create= lock live here too.
 */

#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <inttypes.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/opensslv.h>

#include "ssh-plugin.h"
#include "errors.h"
#include "auth.h"
#include "conn.h"
#include "durable.h"
#include "keepalive.h"
#include "lock.h"
#include "params.h"
#include "sftp.h"
#include "sftp-wire.h"

/* -D ssh.log=N (1-4), see ssh-plugin.h */
NBDKIT_DLL_PUBLIC int ssh_debug_log = 0;

/* create=true: the first connection creates the file, under this lock
 * (held only while creating).
 */
static pthread_mutex_t create_lock = PTHREAD_MUTEX_INITIALIZER;
static bool created;

static void
ssh_load (void)
{
  if (libssh2_init (0) != 0) {
    nbdkit_error ("cannot initialise libssh2");
    exit (EXIT_FAILURE);
  }
  if (config_help_init () == -1)
    exit (EXIT_FAILURE);
}

static void
ssh_unload (void)
{
  struct ssh_conn *c;

  /* nbdkit 1.32 can exit without closing the last connections; and
   * the warm ones (idle-keep=) are closed here, once the keepalive
   * thread (which also closes them) is gone.
   */
  keepalive_stop ();
  while ((c = keepalive_any_registered ()) != NULL) {
    keepalive_unregister (c);
    conn_free (c);
  }
  durable_free_all ();
  auth_free ();
  config_free ();
  libssh2_exit ();
}

static int
ssh_get_ready (void)
{
  if (!params->verify_remote_host)
    fprintf (stderr,
             "nbdkit: ssh: WARNING: verify-remote-host=false: the host key "
             "of %s is NOT verified; anyone who can intercept the "
             "connection can impersonate the server\n", params->host);
  else if (params->accept_unknown_host)
    fprintf (stderr,
             "nbdkit: ssh: WARNING: ssh_config says StrictHostKeyChecking "
             "no: a host key of %s that is not in known_hosts is NOT "
             "verified (one that contradicts known_hosts is still "
             "refused)\n", params->host);
  return 0;
}

static void
ssh_dump_plugin (void)
{
  static const struct { const char *name; int method; } methods[] = {
    { "kex", LIBSSH2_METHOD_KEX },
    { "hostkey", LIBSSH2_METHOD_HOSTKEY },
    { "ciphers", LIBSSH2_METHOD_CRYPT_CS },
    { "macs", LIBSSH2_METHOD_MAC_CS },
  };
  LIBSSH2_SESSION *session;
  size_t i;

  printf ("ssh_libssh2_version=%s\n", libssh2_version (0));
  printf ("ssh_openssl_version=%s\n", OpenSSL_version (OPENSSL_VERSION));
  session = libssh2_session_init ();
  if (session == NULL)
    return;
  for (i = 0; i < sizeof methods / sizeof methods[0]; ++i) {
    const char **algs;
    int j, n = libssh2_session_supported_algs (session, methods[i].method,
                                               &algs);

    printf ("ssh_%s=", methods[i].name);
    for (j = 0; j < n; ++j)
      printf ("%s%s", j ? "," : "", algs[j]);
    printf ("\n");
    if (n > 0)
      libssh2_free (session, algs);
  }
  libssh2_session_free (session);
}

static int
ssh_after_fork (void)
{
  return keepalive_start ();
}

/* dir=: the export name must name a file directly inside the
 * directory: no '/', not "." or "..", and a name that the listing
 * shows (sftp_list_dir: UTF-8 without control characters).
 */
static char *
dir_path (const char *name)
{
  char *path;
  char shown[128];
  size_t len = strlen (params->dir);

  if (*name == '\0' || strchr (name, '/') != NULL ||
      strcmp (name, ".") == 0 || strcmp (name, "..") == 0 ||
      strlen (name) > 255 || !sftp_wire_text_is_plain (name, strlen (name))) {
    nbdkit_error ("export name '%s' is not the name of a file in %s "
                  "(dir= serves the regular files of one directory whose "
                  "names have no control characters; list them with "
                  "nbdinfo --list)",
                  sftp_wire_escape (shown, sizeof shown, name, strlen (name)),
                  params->dir);
    return NULL;
  }
  if (asprintf (&path, "%s%s%s", params->dir,
                len && params->dir[len-1] == '/' ? "" : "/", name) == -1) {
    nbdkit_error ("asprintf: %m");
    return NULL;
  }
  return path;
}

static void *
ssh_open (int readonly)
{
  struct ssh_conn *c;
  int err, r;

  c = calloc (1, sizeof *c);
  if (c == NULL) {
    nbdkit_error ("calloc: %m");
    return NULL;
  }
  err = pthread_mutex_init (&c->lock, NULL);
  if (err != 0) {
    errno = err;
    nbdkit_error ("pthread_mutex_init: %m");
    free (c);
    return NULL;
  }
  c->readonly = readonly;
  if (params->dir) {
    c->path = dir_path (nbdkit_export_name ());
    c->in_dir = true;
  }
  else
    c->path = strdup (params->path);
  if (c->path == NULL) {
    if (!params->dir)
      nbdkit_error ("strdup: %m");
    goto err;
  }

  /* idle-keep=: a session kept warm for this export and mode. */
  if (params->idle_keep > 0) {
    struct ssh_conn *w = keepalive_claim_warm (c->path, readonly);

    if (w != NULL) {
      if (conn_unpark (w) == 0) {
        free (c->path);
        pthread_mutex_destroy (&c->lock);
        free (c);
        return w;
      }
      keepalive_unregister (w);
      conn_free (w);
    }
  }

  if (durable_join (c) == -1) {
    nbdkit_error ("malloc: %m");
    goto err;
  }

  /* create=true: the first connection creates the file while the
   * others wait for it.  The lock is held only then: a connection slow
   * to set up must not hold up the others.
   */
  pthread_mutex_lock (&create_lock);
  if (params->create && !created) {
    c->create = true;
    r = conn_establish (c);
    if (r == 0)
      created = true;
    c->create = false;          /* never again, not on reconnect */
    pthread_mutex_unlock (&create_lock);
  }
  else {
    pthread_mutex_unlock (&create_lock);
    r = conn_establish (c);
  }
  if (r == -1)
    goto err;
  if (keepalive_register (c) == -1) {
    conn_close (c);
    goto err;
  }
  return c;

 err:
  durable_leave (c);
  free (c->path);
  pthread_mutex_destroy (&c->lock);
  free (c);
  return NULL;
}

static void
ssh_close (void *handle)
{
  struct ssh_conn *c = handle;

  /* idle-keep=: kept warm for the next connection (keepalive.c closes
   * it when it expires).
   */
  if (params->idle_keep > 0 && conn_park (c) == 0)
    return;
  /* Its writes are waited for while it is still listed, so that the
   * other connections' reads and flushes see them until then.
   */
  conn_drain (c);
  keepalive_unregister (c);
  conn_free (c);
}

/* dir=: one export per regular file of the directory. */
static int
add_export (void *exports, const char *name, uint64_t size)
{
  char desc[1024];

  snprintf (desc, sizeof desc, "ssh://%s@%s:%u%s%s%s (%" PRIu64 " bytes)",
            params->user, params->host, params->port, params->dir,
            params->dir[strlen (params->dir) - 1] == '/' ? "" : "/", name,
            size);
  return nbdkit_add_export (exports, name, desc);
}

/* The first name in strcmp order, for the default export. */
static int
first_name (void *opaque, const char *name, uint64_t size)
{
  char **first = opaque;

  if (*first == NULL || strcmp (name, *first) < 0) {
    free (*first);
    *first = strdup (name);
    if (*first == NULL) {
      nbdkit_error ("strdup: %m");
      return -1;
    }
  }
  return 0;
}

/* Connect without opening a file and list dir=. */
static int
list_dir (int (*fn) (void *, const char *, uint64_t), void *opaque)
{
  struct ssh_conn c = { .path = NULL, .readonly = true };
  int r;

  if (conn_establish (&c) == -1)
    return -1;
  r = sftp_list_dir (&c, params->dir, fn, opaque);
  conn_close (&c);
  return r;
}

static int
ssh_list_exports (int readonly, int is_tls, struct nbdkit_exports *exports)
{
  if (params->dir == NULL)
    return nbdkit_use_default_export (exports);
  return list_dir (add_export, exports);
}

static const char *
ssh_default_export (int readonly, int is_tls)
{
  char *first = NULL;
  const char *r;

  if (params->dir == NULL)
    return "";
  if (list_dir (first_name, &first) == -1) {
    free (first);               /* the listing may fail half-way */
    return NULL;
  }
  if (first == NULL) {
    nbdkit_error ("remote directory %s has no regular file to serve",
                  params->dir);
    return NULL;
  }
  r = nbdkit_strdup_intern (first);
  free (first);
  return r;
}

static const char *
ssh_export_description (void *handle)
{
  struct ssh_conn *c = handle;
  char desc[1024];

  snprintf (desc, sizeof desc, "ssh://%s@%s:%u%s%s", params->user,
            params->host, params->port, c->path[0] == '/' ? "" : "/",
            c->path);
  return nbdkit_strdup_intern (desc);
}

static int64_t
ssh_get_size (void *handle)
{
  struct ssh_conn *c = handle;

  return c->size;
}

static int
ssh_can_write (void *handle)
{
  struct ssh_conn *c = handle;

  return !c->readonly;
}

static int
ssh_can_flush (void *handle)
{
  struct ssh_conn *c = handle;

  return c->can_fsync;
}

static int
ssh_can_fua (void *handle)
{
  struct ssh_conn *c = handle;

  return c->can_fsync ? NBDKIT_FUA_NATIVE : NBDKIT_FUA_NONE;
}

static int
ssh_can_multi_conn (void *handle)
{
  struct ssh_conn *c = handle;

  /* fsync on the server covers writes from every connection. */
  return c->readonly || c->can_fsync;
}

static int
ssh_block_size (void *handle,
                uint32_t *minimum, uint32_t *preferred, uint32_t *maximum)
{
  *minimum = 1;
  *preferred = 256 * 1024;
  *maximum = 32 * 1024 * 1024;
  return 0;
}

enum op { OP_READ, OP_WRITE, OP_FLUSH };
static const char *op_names[] = { "read", "write", "flush" };

/* Run one request.  If the connection breaks (transport error or
 * timeout), reconnect and send the request again: reads and writes at
 * explicit offsets are idempotent; a synchronous write is only
 * acknowledged to the client once the server has acknowledged all of
 * it, and write-behind sends again what the server had not
 * acknowledged.  A flush fails (conn_flush) when a write acknowledged
 * on any connection to the file may be missing (durable.c).
 */
static int
do_request (struct ssh_conn *c, enum op op, void *buf, uint32_t count,
            uint64_t offset, uint32_t flags)
{
  unsigned attempt = 0;
  uint64_t sent;
  int r = -1;
  bool quiet;
  char last[4096];

  pthread_mutex_lock (&c->lock);
  for (;;) {
    /* Broken by this request, an earlier one, or the keepalive. */
    while (c->broken) {
      if (attempt >= params->retries) {
        nbdkit_error ("%s: cannot reach %s port %u (%s)%s",
                      op_names[op], params->host, params->port, c->errbuf,
                      params->retries ? "; the next request tries again" :
                      " and retries=0");
        ssh_set_error (EIO);
        goto out;
      }
      conn_reconnect (c, op_names[op], ++attempt);
    }
    /* If this attempt can be followed by another, its errors are
     * debug lines until it is known to be the last (errors.c).
     */
    quiet = attempt < params->retries;
    if (quiet)
      ssh_quiet_begin ();
    switch (op) {
    case OP_READ:
      r = sftp_pread (c, buf, count, offset);
      break;
    case OP_WRITE:
      sent = durable_now (c);
      r = sftp_pwrite (c, buf, count, offset);
      /* Write-behind counts the writes when the server acknowledges
       * them (sftp-write.c).
       */
      if (r == 0 && params->write_behind == 0)
        durable_write_done (c, sent);
      /* FUA promises this write only, which the fsync covers even
       * after a reconnect: it was written on this session.
       */
      if (r == 0 && (flags & NBDKIT_FLAG_FUA))
        r = sftp_flush (c, false);
      break;
    case OP_FLUSH:
      r = conn_flush (c);
      break;
    }
    if (quiet) {
      ssh_quiet_end (last, sizeof last);
      /* Failed, and not tried again: the error is the request's. */
      if (r == -1 && !c->broken && last[0])
        nbdkit_error ("%s", last);
    }
    if (r == 0 || !c->broken)
      break;
  }
 out:
  clock_gettime (CLOCK_MONOTONIC, &c->last_used);
  pthread_mutex_unlock (&c->lock);
  return r;
}

/* Multi-conn.  With write-behind, a read or write must not overtake a
 * write of the same bytes that another connection still has in
 * flight, and a flush covers the writes of every connection to the
 * file.  So before its own lock is taken, a connection waits for the
 * others' writes that overlap, pumping (and if need be reconnecting)
 * each other connection in turn under that one's lock.  A flush also
 * fsyncs on each connection whose writes were acknowledged before its
 * own session began (after a reconnect, or for a connection opened
 * later): its own fsync proves nothing about those (durable.c).  What
 * was lost on the way is then reported by the flush (conn_flush).
 */
struct drain {
  struct ssh_conn *c;
  uint64_t offset, end;
  const char *what;
  bool flush;
  bool uncovered;               /* fsync every connection with writes
                                 * not yet fsynced (flush_failed), not
                                 * only those c's session cannot cover */
};

/* Must o fsync for d's flush? */
static bool
drain_fsync (struct ssh_conn *o, const struct drain *d)
{
  if (!d->flush)
    return false;
  return d->uncovered ? durable_uncovered (o) : durable_needs_fsync (o, d->c);
}

static int
drain_one (struct ssh_conn *o, void *arg)
{
  struct drain *d = arg;
  unsigned attempt = 0;
  int r = 0;

  if (o == d->c || o->path == NULL || strcmp (o->path, d->c->path) != 0)
    return 0;
  if ((__atomic_load_n (&o->wb_lo, __ATOMIC_SEQ_CST) >= d->end ||
       __atomic_load_n (&o->wb_hi, __ATOMIC_SEQ_CST) <= d->offset) &&
      !drain_fsync (o, d))
    return 0;
  pthread_mutex_lock (&o->lock);
  while (sftp_write_pending (o) &&
         (o->broken || sftp_write_drain (o) == -1)) {
    if (attempt >= params->retries) {
      ssh_error ("%s: another connection to remote file %s has writes "
                 "in flight that it cannot complete (%s)", d->what,
                 o->path, o->errbuf[0] ? o->errbuf : "connection broken");
      ssh_set_error (EIO);
      r = -1;
      break;
    }
    /* Its writes are sent again on the new session. */
    conn_reconnect (o, d->what, ++attempt);
  }
  /* Its own fsync covers its writes, if its session is still the one
   * they were acknowledged on; if it broke, conn_close counts them
   * lost, and this flush reports that.
   */
  if (r == 0 && drain_fsync (o, d)) {
    if (!o->broken && o->sftp != NULL)
      sftp_fsync (o, "flush (on another connection)");
    if (o->broken)
      conn_count_lost (o);
  }
  pthread_mutex_unlock (&o->lock);
  return r;
}

static int
drain_others (struct ssh_conn *c, uint64_t offset, uint64_t len,
              const char *what)
{
  struct drain d = {
    .c = c, .offset = offset, .what = what,
    .end = len > UINT64_MAX - offset ? UINT64_MAX : offset + len,
    .flush = strcmp (what, "flush") == 0,
  };

  if (d.flush ? !conn_others_busy (c) && !durable_others_need_fsync (c)
      : params->write_behind == 0 || !conn_others_busy (c))
    return 0;
  return keepalive_for_each (drain_one, &d);
}

/* drain_one for flush_failed: a connection that cannot finish does
 * not keep the others from being asked.
 */
static int
drain_any (struct ssh_conn *o, void *arg)
{
  drain_one (o, arg);
  return 0;
}

/* A flush of c failed, and told c of the loss events it had not heard
 * of (conn_flush).  A write of another connection lost before this
 * flush, but not noticed yet (its session died unseen), would make
 * c's next flush fail once more for a loss this failure already
 * covers: a false alarm.  So every connection with writes not yet
 * fsynced fsyncs now (drain_one: a session that died is found, and
 * its writes counted lost), and what that finds counts as told to c.
 * The flush's error stays the one reported: what this finds is logged
 * (a loss, conn_count_lost) but does not change the flush's errno.
 */
static void
flush_failed (struct ssh_conn *c)
{
  struct drain d = {
    .c = c, .offset = 0, .end = UINT64_MAX, .what = "flush",
    .flush = true, .uncovered = true,
  };
  int err = ssh_last_error ();
  bool told;

  {
    LOCK_FOR_SCOPE (&c->lock);
    /* Broken: nothing was told; the next flush tries again. */
    told = !c->broken;
  }
  if (!told)
    return;
  ssh_quiet_begin ();
  keepalive_for_each (drain_any, &d);
  ssh_quiet_end (NULL, 0);
  durable_seen (c);
  if (err)
    ssh_set_error (err);
}

static int
ssh_pread (void *handle, void *buf, uint32_t count, uint64_t offset,
           uint32_t flags)
{
  if (drain_others (handle, offset, count, "read") == -1)
    return -1;
  return do_request (handle, OP_READ, buf, count, offset, flags);
}

static int
ssh_pwrite (void *handle, const void *buf, uint32_t count, uint64_t offset,
            uint32_t flags)
{
  if (drain_others (handle, offset, count, "write") == -1)
    return -1;
  return do_request (handle, OP_WRITE, (void *) buf, count, offset, flags);
}

static int
ssh_flush (void *handle, uint32_t flags)
{
  struct ssh_conn *c = handle;
  unsigned reconnects, round = 0;
  int r;

  /* A flush that had to reconnect fsynced on a session younger than
   * the others' writes it covers: once more, after the others fsync
   * theirs (drain_one).  Bounded: each round follows a reconnect.
   */
  ssh_set_error (0);             /* ssh_last_error: this flush's */
  for (;;) {
    reconnects = __atomic_load_n (&c->reconnects, __ATOMIC_SEQ_CST);
    if (drain_others (c, 0, UINT64_MAX, "flush") == -1)
      return -1;
    r = do_request (c, OP_FLUSH, NULL, 0, 0, flags);
    if (r == -1) {
      flush_failed (c);
      return -1;
    }
    if (__atomic_load_n (&c->reconnects, __ATOMIC_SEQ_CST) == reconnects ||
        !durable_others_need_fsync (c))
      return r;
    if (++round > params->retries) {
      nbdkit_error ("flush: the connection to %s port %u broke again in "
                    "each of %u attempts, so the writes of other "
                    "connections to remote file %s could not be shown "
                    "durable", c->host, c->port, round, c->path);
      ssh_set_error (EIO);
      return -1;
    }
  }
}

#define THREAD_MODEL NBDKIT_THREAD_MODEL_SERIALIZE_REQUESTS

static struct nbdkit_plugin plugin = {
  .name               = "ssh",
  .longname           = "nbdkit ssh plugin (libssh2)",
  .version            = PACKAGE_VERSION,
  .load               = ssh_load,
  .unload             = ssh_unload,
  .config             = config_param,
  .config_complete    = config_complete,
  .config_help        = config_help,
  .magic_config_key   = CONFIG_MAGIC_KEY,
  .get_ready          = ssh_get_ready,
  .after_fork         = ssh_after_fork,
  .dump_plugin        = ssh_dump_plugin,
  .list_exports       = ssh_list_exports,
  .default_export     = ssh_default_export,
  .export_description = ssh_export_description,
  .open               = ssh_open,
  .close              = ssh_close,
  .get_size           = ssh_get_size,
  .can_write          = ssh_can_write,
  .can_flush          = ssh_can_flush,
  .can_fua            = ssh_can_fua,
  .can_multi_conn     = ssh_can_multi_conn,
  .block_size         = ssh_block_size,
  .pread              = ssh_pread,
  .pwrite             = ssh_pwrite,
  .flush              = ssh_flush,
  .errno_is_preserved = 0,
};

NBDKIT_REGISTER_PLUGIN (plugin)
