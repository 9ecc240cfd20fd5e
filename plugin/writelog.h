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

/* writelog.c: the writes every connection to one remote file has made,
 * so that read-ahead never serves bytes older than a completed write
 * (multi-conn).  No nbdkit or libssh2 calls.
 */

#ifndef SSH_PLUGIN_WRITELOG_H
#define SSH_PLUGIN_WRITELOG_H

#include <stdbool.h>
#include <stdint.h>

/* How many of the latest writes to a file are remembered at least
 * (16 bytes each), and at most while a write-behind window pins an
 * older one (writelog_pin): 4 MiB per file.  A window pinned past
 * WRITELOG_MAX writes by the others (a reconnect that took very
 * long under a heavy random-write load) counts what it cannot check
 * as written over: reported, never silently sent.
 */
#define WRITELOG_SIZE 8192
#define WRITELOG_MAX (256 * 1024)
#define WRITELOG_NO_PIN UINT64_MAX

struct writelog;

/* The log of remote file path, shared by every connection of this
 * process that has it open (counted); NULL if out of memory.
 */
extern struct writelog *writelog_open (const char *path);
extern void writelog_close (struct writelog *w);

/* The generation: how many writes were logged so far. */
extern uint64_t writelog_gen (struct writelog *w);

/* A write of len bytes at offset was acknowledged by the server. */
extern void writelog_add (struct writelog *w, uint64_t offset, uint64_t len);

/* A pin (a slot number, -1 if out of memory): while it holds a
 * generation, every write logged since is kept (up to WRITELOG_MAX).
 * writelog_pin sets it (WRITELOG_NO_PIN: none), writelog_pin_free
 * gives the slot back (-1 is ignored).
 */
extern int writelog_pin_new (struct writelog *w);
extern void writelog_pin (struct writelog *w, int pin, uint64_t gen);
extern void writelog_pin_free (struct writelog *w, int pin);

/* May bytes [offset, offset+len) read by a READ sent at generation
 * since be older than a write logged since?  (Also true when those
 * writes are no longer remembered.)
 */
extern bool writelog_stale (struct writelog *w, uint64_t since,
                            uint64_t offset, uint64_t len);

#endif /* SSH_PLUGIN_WRITELOG_H */
