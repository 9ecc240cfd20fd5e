/* nbdkit-ssh-plugin (libssh2)
 * Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
 * SPDX-License-Identifier: BSD-3-Clause
 */

/* match.c: wildcard patterns, OpenSSH pattern lists and comma lists,
 * as OpenSSH's match.c.  Pure: no nbdkit or libssh2 calls, no
 * allocation (tests/test-sshconfig.c, tests/test-knownhosts.c,
 * fuzz/fuzz-sshconfig.c, fuzz/fuzz-knownhosts.c).
 */

#ifndef SSH_PLUGIN_MATCH_H
#define SSH_PLUGIN_MATCH_H

#include <stdbool.h>
#include <stddef.h>

/* Wildcard match of s against the first patlen bytes of pattern: '*'
 * matches any run of characters, '?' any one character (no other
 * metacharacters).  icase: ASCII case-insensitive.  Iterative, at
 * most O(strlen(s) * patlen).
 */
extern bool match_pattern (const char *s, const char *pattern,
                           size_t patlen, bool icase);

/* One pattern of a pattern list (the first len bytes of pat), maybe
 * negated with a leading '!', against s, case-sensitively: 1 if it
 * matches, -1 if it is negated and matches, 0 otherwise.
 */
extern int match_negatable (const char *s, const char *pat, size_t len);

/* OpenSSH pattern-list matching: comma- and/or whitespace-separated
 * patterns with * and ?, each optionally negated with '!'.  True if
 * some pattern matches and no negated pattern matches.  Case-sensitive,
 * like ssh's Host matching.  (sshconfig_read applies the same rule to
 * the words of a Host line, without splitting them at commas, as ssh
 * does.)
 */
extern bool match_pattern_list (const char *list, const char *host);

/* Comma-separated lists (algorithm names, host patterns): the next
 * element of the list at *p (it may be empty, as in "a,,b") goes to
 * elem and len, and *p moves past it and its comma.  False at the end.
 */
extern bool match_list_next (const char **p, const char **elem,
                             size_t *len);

/* Is name an element of the comma-separated list? */
extern bool match_list_has (const char *list, const char *name);

#endif /* SSH_PLUGIN_MATCH_H */
