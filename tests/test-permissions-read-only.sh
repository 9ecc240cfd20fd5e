#!/usr/bin/env bash
# shellcheck disable=SC2016  # --run '...' is expanded by nbdkit's shell
# A file the remote user may only read (mode 0444), as an unprivileged
# user (root would bypass file modes; add_key_user): opening it
# read-write fails clearly ("permission denied" and the path), while
# a file it may write (rw.img) opens; with nbdkit -r it is served, and
# a write to that read-only export is refused (EPERM, by nbdkit:
# test-permissions-read-only.py).
#
# (test-permissions-write-denied.sh: writes refused on a handle that is
# already open; test-permissions-multi-conn.sh: such a refused write
# reported on another connection.)

set -e
source "$(dirname "$0")/functions.sh"
set -x

requires su cmp
requires_libnbd_python

add_key_user nbdp
start_sshd "AuthorizedKeysFile .ssh/authorized_keys"
authorize_user_key
cd "$SSHD_DIR"
home="$TEST_HOME"
user_file ro.img 1 0444
user_file rw.img 2 0644

# The user really cannot write ro.img (and the setup works at all).
if su -s /bin/sh -c "test -w '$home/ro.img'" "$TEST_USER"; then
    echo "FAIL: $TEST_USER can write $home/ro.img"; exit 1
fi
run_plugin "${USER_ARGS[@]}" path=rw.img \
    --run 'nbdinfo "$uri" >/dev/null'

# Opening a read-only file read-write.
run_plugin_fail open.err "${USER_ARGS[@]}" path=ro.img \
    --run 'nbdinfo "$uri"'
expect_grep -i open.err "permission denied"
expect_grep open.err "ro.img"

# Read-only (-r): served, and nbdkit itself refuses writes.
run_plugin -r "${USER_ARGS[@]}" path=ro.img \
    --run 'nbdcopy "$uri" out.img'
cmp "$home/ro.img" out.img

run_plugin -r "${USER_ARGS[@]}" path=ro.img \
    --run '/usr/bin/python3 "$srcdir/test-permissions-read-only.py" "$uri"'
cmp "$home/ro.img" out.img
