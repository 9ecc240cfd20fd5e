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

#include <config.h>

#include <stdbool.h>
#include <stdint.h>

#include "ssh-plugin.h"

/* Flush honesty (see "Flush, FUA and reconnecting" in the man page):
 * the bookkeeping, which every layer may call (it calls nothing).
 *
 * A write acknowledged by the server but not yet fsynced lives in the
 * server's page cache; if its session breaks, nothing says whether it
 * reached the disk, and an fsync on a new session does not cover it.
 * Replaying such writes is not safe either: another connection may
 * have written newer data over them since.  So lost_writes counts the
 * events that may have lost acknowledged writes: a connection that
 * breaks with unflushed writes, and any reconnect while some
 * connection has unflushed writes (the server may have died under all
 * of them, and the others have not noticed yet).  The next flush on
 * every connection of this process (multi-conn: a flush covers the
 * writes of all connections) then fails once with EIO instead of
 * reporting a durability that may be untrue.
 */
static uint64_t lost_writes;    /* atomic */
static unsigned unflushed_conns; /* atomic: connections with unflushed
                                    writes */

uint64_t
durable_lost (void)
{
  return __atomic_load_n (&lost_writes, __ATOMIC_SEQ_CST);
}

/* Acknowledged writes may have been lost (conn.c: a connection broke
 * with unflushed writes, or reconnects while some have them).
 */
void
durable_count_loss (void)
{
  __atomic_add_fetch (&lost_writes, 1, __ATOMIC_SEQ_CST);
}

/* Has some connection unflushed writes? */
bool
durable_any_unflushed (void)
{
  return __atomic_load_n (&unflushed_conns, __ATOMIC_SEQ_CST) > 0;
}

/* The server acknowledged a write on this session (synchronous
 * writes: when the client gets its reply; write-behind: when the
 * server's reply comes, as the writes it has not acknowledged are
 * sent again after a reconnect).
 */
void
durable_write_done (struct ssh_conn *c)
{
  if (!c->unflushed) {
    c->unflushed = true;
    __atomic_add_fetch (&unflushed_conns, 1, __ATOMIC_SEQ_CST);
  }
}

/* The server has fsynced the file (a flush, or a FUA write, which
 * promises only itself): this session's writes are durable.
 */
void
durable_fsync_done (struct ssh_conn *c)
{
  if (c->unflushed) {
    c->unflushed = false;
    __atomic_sub_fetch (&unflushed_conns, 1, __ATOMIC_SEQ_CST);
  }
}

